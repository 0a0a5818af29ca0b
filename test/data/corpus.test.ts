// Corpus readers (lines, paragraphs, jsonl, the built-in sotu corpus), the glob, the sentence
// splitter, and one-line errors for bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { corpusReaders } from '../support/corpus-reading.js';
import { join } from 'node:path';
import { glob, readCorpus, splitSentences, type CorpusSpec, type Document } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bert-corpus-'));
mkdirSync(join(dir, 'a/b'), { recursive: true });
writeFileSync(join(dir, 'one.txt'), 'First sentence.\nSecond one.\n\n\nDoc two line one.\r\nDoc two line two.\n');
writeFileSync(join(dir, 'a/two.txt'), '\uFEFFThird doc.\n');
writeFileSync(join(dir, 'a/b/three.txt'), 'Fourth doc.\n\n');
writeFileSync(join(dir, 'a/b/skip.md'), 'not text');
writeFileSync(join(dir, 'para.txt'), 'Mr. Smith went to\nWashington. He met the U.S. Senate! Did it work? Yes.\n\n\nNew paragraph\nhere.\n');
writeFileSync(join(dir, 'docs.jsonl'), '{"text": "One. Two."}\n\n{"body": "x", "text": "Three.\\nFour."}\n');
writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{"text": oops}\n');
writeFileSync(join(dir, 'nofield.jsonl'), '{"text": "ok"}\n{"content": "x"}\n');
writeFileSync(join(dir, 'empty.txt'), '\n\n   \n');
writeFileSync(join(dir, 'binary.txt'), Buffer.from('line one\nline\u0000two\n', 'binary'));
writeFileSync(join(dir, 'latin1.txt'), Buffer.concat([Buffer.from('ok\nstill ok\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));

const { all, error } = corpusReaders(dir);

test('glob: *, ?, ** and literal paths', () => {
  const rel = (xs: string[]) => xs.map((x) => x.slice(dir.length + 1));
  assert.equal(rel(glob('**/*.txt', dir)), ['a/b/three.txt', 'a/two.txt', 'binary.txt', 'empty.txt', 'latin1.txt', 'one.txt', 'para.txt']);
  assert.equal(rel(glob('a/*/*', dir)), ['a/b/skip.md', 'a/b/three.txt']);
  assert.equal(rel(glob('???.txt', dir)), ['one.txt']);
  assert.equal(rel(glob('a/**/t*.txt', dir)), ['a/b/three.txt', 'a/two.txt']);
  assert.equal(glob('nothing/*.txt', dir), []);
});

test('lines: blank lines and file ends separate documents; BOM and CR stripped', async () => {
  const docs = await all({ files: ['one.txt', 'a/**/*.txt'], format: 'lines' });
  assert.equal(docs, [['First sentence.', 'Second one.'], ['Doc two line one.', 'Doc two line two.'], ['Fourth doc.'], ['Third doc.']]);
  assert.equal(await all({ files: ['one.txt', 'a/**/*.txt'], format: 'lines' }, 2), docs.slice(0, 2));
});

test('paragraphs: a blank line ends a document, wrapped lines join, then the sentence splitter', async () => {
  assert.equal(await all({ files: ['para.txt'], format: 'paragraphs' }), [
    ['Mr. Smith went to Washington.', 'He met the U.S. Senate!', 'Did it work?', 'Yes.'],
    ['New paragraph here.'],
  ]);
  assert.equal(splitSentences('He said "Stop." Then he left. It cost $3.50 in 1990. Gen. Grant won.'), [
    'He said "Stop."',
    'Then he left.',
    'It cost $3.50 in 1990.',
    'Gen. Grant won.',
  ]);
  assert.equal(splitSentences(''), []);
});

test('jsonl: a document per line, text split into sentences', async () => {
  assert.equal(await all({ files: ['docs.jsonl'], format: 'jsonl' }), [['One.', 'Two.'], ['Three.', 'Four.']]);
  assert.equal(await all({ files: ['docs.jsonl'], format: 'jsonl', textField: 'body' }).catch((e) => (e as Error).message), 'docs.jsonl:1: no string field "body"'.replace('docs.jsonl', join(dir, 'docs.jsonl').replace(process.cwd() + '/', '')));
});

test('bad input: one-line errors naming the file and line', async () => {
  assert.match(await error({ files: ['missing.txt'] }), /^missing\.txt: no such file$/);
  assert.match(await error({ files: ['nope/*.txt'] }), /^nope\/\*\.txt: no files match$/);
  assert.match(await error({ files: ['empty.txt'] }), /empty\.txt: corpus is empty/);
  assert.match(await error({ files: ['binary.txt'] }), /binary\.txt:2: binary file/);
  assert.match(await error({ files: ['latin1.txt'] }), /latin1\.txt:3: not valid UTF-8/);
  assert.match(await error({ files: ['bad.jsonl'], format: 'jsonl' }), /bad\.jsonl:2: invalid JSON/);
  assert.match(await error({ files: ['nofield.jsonl'], format: 'jsonl' }), /nofield\.jsonl:2: no string field "text"/);
  assert.match(await error({ source: 'nope' } as unknown as CorpusSpec), /unknown source "nope"/);
});

test('content hash follows content and settings', async () => {
  writeFileSync(join(dir, 'h.txt'), 'a b c\n');
  const h1 = await readCorpus({ files: ['h.txt'] }, dir).contentHash();
  assert.is(await readCorpus({ files: ['h.txt'] }, dir).contentHash(), h1);
  assert.is.not(await readCorpus({ files: ['h.txt'], format: 'paragraphs' }, dir).contentHash(), h1);
  assert.is.not(await readCorpus({ files: ['h.txt'] }, dir, { maxDocuments: 1 }).contentHash(), h1);
  writeFileSync(join(dir, 'h.txt'), 'a b d\n');
  assert.is.not(await readCorpus({ files: ['h.txt'] }, dir).contentHash(), h1);
});

test('built-in corpus: State of the Union addresses', async () => {
  const c = readCorpus({ source: 'sotu' }, '.', { maxDocuments: 2 });
  assert.ok(c.files.length >= 230, `${c.files.length} files`);
  assert.match(c.files[0]!, /1790_george_washington/);
  const docs: Document[] = [];
  for await (const d of c) docs.push(d);
  assert.is(docs.length, 2);
  assert.match(docs[0]![0]!, /^Fellow-Citizens of the Senate and House of Representatives: /);
  assert.ok(docs[0]!.length > 20, 'split into sentences');
  for (const s of docs[0]!) assert.ok(s.length < 2000, 'no runaway sentence');
});

test.run();
