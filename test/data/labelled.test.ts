// Labelled data for classification: GLUE layouts in jsonl, csv (quoted fields) and tsv (quotes
// as text, with and without a header row), text pairs, integer and string labels, the label set,
// file or holdout validation splits, numeric labels for regression, the built-in Spam Assassin
// corpus, and a file:line error for every kind of bad row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { labelSet, labelValue, readLabelled, spamAssassinExamples } from '../../src/data/index.js';
import { UserError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bert-labelled-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};
const shown = (name: string) => {
  const rel = relative(process.cwd(), join(dir, name));
  return rel && !rel.startsWith('..') ? rel : join(dir, name);
};

test('SST-2-style tsv with a header: a lone quote is text; integer labels sort numerically', () => {
  file('sst2.tsv', 'sentence\tlabel\nit \'s a "charming journey\t1\nunflinchingly bleak\t0\nterrific\t1\n');
  const d = readLabelled({ files: ['sst2.tsv'], text: 'sentence', label: 'label' }, { baseDir: dir, seed: 1 });
  assert.equal(d.train.map((e) => [e.text, e.label]), [['it \'s a "charming journey', '1'], ['unflinchingly bleak', '0'], ['terrific', '1']]);
  assert.equal(d.labels, ['0', '1']);
  assert.equal(d.validation, []);
  assert.is(d.train[1]!.where, `${shown('sst2.tsv')}:3`);
});

test('CoLA-style tsv without a header: columns by index', () => {
  file('cola.tsv', 'gj04\t1\t\tOur friends won\'t buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n');
  const d = readLabelled({ files: ['cola.tsv'], text: 3, label: 1, header: false }, { baseDir: dir, seed: 1 });
  assert.equal(d.train.map((e) => [e.text, e.label]), [["Our friends won't buy this analysis.", '1'], ['They drank the pub.', '0']]);
});

test('MRPC-style csv pairs with quoted commas and newlines; string labels; validation files', () => {
  file('mrpc.csv', 'label,s1,s2\nyes,"He said, ""hi""","A quoted\nline"\nno,plain,other\n');
  file('mrpc-dev.csv', 'label,s1,s2\nno,x,y\n');
  const d = readLabelled({ files: ['mrpc.csv'], text: 's1', textPair: 's2', label: 'label' }, { baseDir: dir, seed: 1, validation: { files: ['mrpc-dev.csv'], text: 's1', textPair: 's2', label: 'label' } });
  assert.equal(d.train.map((e) => [e.text, e.pair, e.label]), [['He said, "hi"', 'A quoted\nline', 'yes'], ['plain', 'other', 'no']]);
  assert.equal(d.validation.map((e) => e.label), ['no']);
  assert.equal(d.labels, ['no', 'yes']);
  assert.is(d.train[1]!.where, `${shown('mrpc.csv')}:4`, 'the line of the record, after a quoted newline');
});

test('QNLI-style jsonl; a seeded holdout is the same for the same seed and differs for another', () => {
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ question: `q${i}`, sentence: `s${i}`, label: i % 2 ? 'entailment' : 'not_entailment' }));
  file('qnli.jsonl', lines.join('\n') + '\n');
  const spec = { files: ['qnli.jsonl'], text: 'question', textPair: 'sentence', label: 'label' };
  const a = readLabelled(spec, { baseDir: dir, seed: 7, holdout: 0.25 });
  const b = readLabelled(spec, { baseDir: dir, seed: 7, holdout: 0.25 });
  const c = readLabelled(spec, { baseDir: dir, seed: 8, holdout: 0.25 });
  assert.is(a.validation.length, 10);
  assert.is(a.train.length, 30);
  assert.equal(a.validation.map((e) => e.text), b.validation.map((e) => e.text));
  assert.not.equal(a.validation.map((e) => e.text), c.validation.map((e) => e.text));
  assert.equal(a.labels, ['entailment', 'not_entailment']);
  assert.equal(labelSet([{ text: 'x', label: '10', where: '' }, { text: 'y', label: '9', where: '' }, { text: 'z', label: '-1', where: '' }]), ['-1', '9', '10']);
});

test('STS-B-style tsv pairs with scores (regression): numbers as written, no label set; a label that is not a number is file:line', () => {
  file('stsb.tsv', 'index\tsentence1\tsentence2\tscore\n0\tA plane is taking off.\tAn air plane is taking off.\t5.000\n1\tA man plays.\tA cat sleeps.\t0.25\n2\ta\tb\t-1e-1\n');
  const spec = { files: ['stsb.tsv'], text: 'sentence1', textPair: 'sentence2', label: 'score' };
  const d = readLabelled(spec, { baseDir: dir, seed: 1, regression: true });
  assert.equal(d.train.map((e) => e.label), ['5.000', '0.25', '-1e-1']);
  assert.equal(d.train.map(labelValue), [5, 0.25, -0.1]);
  assert.equal(d.labels, []);
  for (const bad of ['high', '0x10', '', 'NaN', 'Infinity', '1,5']) {
    file('stsb-bad.tsv', `sentence1\tsentence2\tscore\nx\ty\t1\nx\ty\t${bad}\n`);
    try {
      readLabelled({ ...spec, files: ['stsb-bad.tsv'] }, { baseDir: dir, seed: 1, regression: true });
      assert.unreachable(`label ${JSON.stringify(bad)} accepted`);
    } catch (e) {
      assert.instance(e, UserError);
      const message = (e as Error).message;
      if (bad === '') assert.is(message, `${shown('stsb-bad.tsv')}:3: empty label`);
      else assert.is(message, `${shown('stsb-bad.tsv')}:3: label ${JSON.stringify(bad)} is not a number (tasks.classify.regression reads labels as scores)`);
    }
  }
});

test('bad rows: one line naming the file and line', () => {
  const cases: Array<[string, string, object, RegExp]> = [
    ['bad.jsonl', '{"t": "a", "l": 1}\n{"t": oops}\n', { text: 't', label: 'l' }, /bad\.jsonl:2: invalid JSON/],
    ['nofield.jsonl', '{"t": "a", "l": 1}\n{"l": 0}\n', { text: 't', label: 'l' }, /nofield\.jsonl:2: no text column "t"/],
    ['nolabel.jsonl', '{"t": "a", "l": null}\n', { text: 't', label: 'l' }, /nolabel\.jsonl:1: the label column "l" holds null, not text/],
    ['empty.jsonl', '{"t": "  ", "l": 1}\n', { text: 't', label: 'l' }, /empty\.jsonl:1: empty text/],
    ['ragged.csv', 'text,label\na,1\nb,0,extra\n', { text: 'text', label: 'label' }, /ragged\.csv:3: /],
    ['missing.csv', 'text,lab\na,1\n', { text: 'text', label: 'label' }, /missing\.csv:2: no label column "label"/],
    ['latin1.tsv', 'text\tlabel\ncaf\xe9\t1\n', { text: 'text', label: 'label' }, /latin1\.tsv: not valid UTF-8/],
    ['one-label.tsv', 'text\tlabel\na\t1\nb\t1\n', { text: 'text', label: 'label' }, /a single label \(1\)/],
  ];
  for (const [name, text, columns, pattern] of cases) {
    writeFileSync(join(dir, name), name === 'latin1.tsv' ? Buffer.from(text, 'latin1') : text);
    try {
      readLabelled({ files: [name], ...columns } as never, { baseDir: dir, seed: 1 });
      assert.unreachable(`${name} accepted`);
    } catch (e) {
      assert.instance(e, UserError, String(e));
      assert.match((e as Error).message, pattern);
      assert.not.match((e as Error).message, /\n/);
    }
  }
  file('dev-new-label.tsv', 'text\tlabel\nz\t2\n');
  assert.throws(
    () => readLabelled({ files: ['sst2.tsv'], text: 'sentence', label: 'label' }, { baseDir: dir, seed: 1, validation: { files: ['dev-new-label.tsv'], text: 'text', label: 'label' } }),
    /dev-new-label\.tsv:2: label "2" never occurs in the training data \(labels: 0, 1\)/,
  );
  assert.throws(() => readLabelled({ files: ['nothing/*.tsv'], text: 0, label: 1 }, { baseDir: dir, seed: 1 }), /nothing\/\*\.tsv: no files match/);
  assert.throws(() => readLabelled({ files: ['data.txt'], text: 0, label: 1 }, { baseDir: file('data.txt', 'x') && dir, seed: 1 }), /cannot tell the format/);
});

test('the built-in Spam Assassin corpus: ham and spam, subject and body without headers', () => {
  const all = spamAssassinExamples();
  assert.is(all.length, 6046, 'the corpus: 2500 + 1400 easy ham, 250 hard ham, 500 + 1396 spam');
  const counts = { ham: all.filter((e) => e.label === 'ham').length, spam: all.filter((e) => e.label === 'spam').length };
  assert.equal(counts, { ham: 4150, spam: 1896 });
  // The subject line, then the body; the mail's own headers are gone (7 bodies quote forwarded ones).
  const first = all.find((e) => e.where.startsWith('spam-1/00001.'))!;
  assert.ok(first.text.startsWith('Life Insurance - Why Pay More?\n<!DOCTYPE HTML'), first.text.slice(0, 80));
  assert.ok(all.filter((e) => /^Return-Path:/m.test(e.text)).length < 10);
  const d = readLabelled({ source: 'spam-assassin' }, { seed: 3, holdout: 0.1 });
  assert.equal(d.labels, ['ham', 'spam']);
  assert.is(d.validation.length, Math.round(all.length * 0.1));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
