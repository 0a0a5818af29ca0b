// BERT basic tokenization and WordPiece on tricky text (expected lists written by hand from
// google-research/bert tokenization.py semantics), vocabulary training and save/load round trips.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer, basicTokenize, trainWordPiece } from '../../src/data/index.js';
import { WordCounter } from '../../src/data/train-wordpiece.js';
import { rng } from '../support/random.js';
import { UserError } from '../../src/errors.js';

const lower = { lowercase: true };
const cased = { lowercase: false };

test('basic: lowercase, whitespace, punctuation (Google test_basic_tokenizer_lower)', () => {
  assert.equal(basicTokenize(' \tHeLLo!how  \n Are yoU?  ', lower), ['hello', '!', 'how', 'are', 'you', '?']);
  assert.equal(basicTokenize('H\u00E9llo', lower), ['hello']);
  assert.equal(basicTokenize(' \tHeLLo!how  \n Are yoU?  ', cased), ['HeLLo', '!', 'how', 'Are', 'yoU', '?']);
  assert.equal(basicTokenize('H\u00E9llo', cased), ['H\u00E9llo']);
  // lowercase without accent stripping (HF strip_accents: false)
  assert.equal(basicTokenize('H\u00E9llo', { lowercase: true, stripAccents: false }), ['h\u00E9llo']);
});

test('basic: accents stripped only when lowercasing', () => {
  assert.equal(basicTokenize('Ångström CAFÉ naïve façade', lower), ['angstrom', 'cafe', 'naive', 'facade']);
  assert.equal(basicTokenize('Ångström', cased), ['Ångström']);
  // Precomposed and decomposed input give the same tokens.
  assert.equal(basicTokenize('cafe\u0301', lower), ['cafe']);
});

test('basic: CJK ideographs are split, kana and hangul are not', () => {
  assert.equal(basicTokenize('ah\u535A\u63A8zz', lower), ['ah', '\u535A', '\u63A8', 'zz']);
  assert.equal(basicTokenize('日本語のテキスト', cased), ['日', '本', '語', 'のテキスト']);
  assert.equal(basicTokenize('我爱北京。', cased), ['我', '爱', '北', '京', '。']);
  // Extension B (astral) ideograph
  assert.equal(basicTokenize('a\u{20000}b', cased), ['a', '\u{20000}', 'b']);
});

test('basic: punctuation by Unicode category, ASCII symbols count as punctuation', () => {
  assert.equal(basicTokenize('a«b»c—d', cased), ['a', '«', 'b', '»', 'c', '—', 'd']);
  // € is Sc (not punctuation); $ + are ASCII, so they are.
  assert.equal(basicTokenize('5€ + 3$', cased), ['5€', '+', '3', '$']);
  assert.equal(basicTokenize("don't stop-me (now)...", lower), ['don', "'", 't', 'stop', '-', 'me', '(', 'now', ')', '.', '.', '.']);
  // U+037E GREEK QUESTION MARK decomposes to ';' when accents are stripped
  assert.equal(basicTokenize('a\u037Eb', lower), ['a', ';', 'b']);
});

test('basic: control characters removed, unicode spaces split', () => {
  assert.equal(basicTokenize('a\u0000b\u200Bc d\u00ADe\uFFFDf', cased), ['abc', 'def']);
  assert.equal(basicTokenize('a\u00A0b\u3000c\u2028d\te\r\nf', cased), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.equal(basicTokenize('\u0007\u001b[0m', cased), ['[', '0m']);
});

test('basic: emoji stay inside words (So is not punctuation)', () => {
  assert.equal(basicTokenize('hi😀! 👍🏽ok', cased), ['hi😀', '!', '👍🏽ok']);
});

// Google's tokenization_test.py vocabulary, plus the specials our class requires.
const googleVocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ','];

test('wordpiece: greedy longest match with ## and [UNK] (Google test_wordpiece_tokenizer)', () => {
  const t = new BertTokenizer(googleVocab, lower);
  assert.equal(t.tokenize(''), []);
  assert.equal(t.tokenize('unwanted running'), ['un', '##want', '##ed', 'runn', '##ing']);
  assert.equal(t.tokenize('unwantedX running'), ['[UNK]', 'runn', '##ing']);
  assert.equal(t.tokenize('UNwant\u00E9d,running'), ['un', '##want', '##ed', ',', 'runn', '##ing']);
  assert.equal(t.encode('unwanted running'), [9, 6, 7, 10, 11]);
  assert.equal(t.specials, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
});

test('wordpiece: very long words become [UNK]; the limit counts code points', () => {
  const vocab = [...googleVocab, 'a', '##a', '😀', '##😀'];
  const t = new BertTokenizer(vocab, { lowercase: true, maxCharsPerWord: 5 });
  assert.equal(t.tokenize('aaaaa'), ['a', '##a', '##a', '##a', '##a']);
  assert.equal(t.tokenize('aaaaaa'), ['[UNK]']);
  // five emoji are 10 UTF-16 units but 5 characters
  assert.equal(t.tokenize('😀😀😀😀😀'), ['😀', '##😀', '##😀', '##😀', '##😀']);
  assert.equal(t.tokenize('😀😀😀😀😀😀'), ['[UNK]']);
  const hf = new BertTokenizer(vocab, lower);
  assert.equal(hf.maxCharsPerWord, 100);
  assert.equal(hf.tokenize('a'.repeat(100)).length, 100);
  assert.equal(hf.tokenize('a'.repeat(101)), ['[UNK]']);
});

test('decode joins ## pieces and cleans up spaces', () => {
  const t = new BertTokenizer(googleVocab, lower);
  assert.is(t.decode(t.encode('unwanted, running')), 'unwanted, running');
  assert.is(t.decode([2, 9, 6, 3, 0, 0]), '[CLS] unwant [SEP]');
});

const sample = [
  ['The quick brown fox jumps over the lazy dog.', 'Jumping foxes are quicker than lazy dogs.'],
  ['A dog jumped; the fox ran.', 'Foxes, dogs and the quickest jumpers!'],
  ['Unbelievable: the dog outran the fox.', 'Running, jumping, outrunning.'],
];

test('trainWordPiece: specials first, alphabet present, no [UNK] on training text, size bound', () => {
  const t = trainWordPiece(sample, { vocabSize: 120, minFrequency: 1, lowercase: true });
  assert.equal(t.vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(t.vocab.length <= 120, `size ${t.vocab.length}`);
  assert.ok(t.vocab.length > 60);
  for (const ch of 'abcdefghijklmnopqrstuvwxyz'.replace(/[kvz]/g, '')) assert.ok(t.tokenToId.has(ch) || t.tokenToId.has('##' + ch), ch);
  for (const doc of sample) for (const s of doc) assert.not.ok(t.tokenize(s).includes('[UNK]'), s);
  assert.equal(new Set(t.vocab).size, t.vocab.length, 'no duplicates');
  // frequent words become single tokens
  assert.equal(t.tokenize('the fox'), ['the', 'fox']);
  // deterministic
  assert.equal(trainWordPiece(sample, { vocabSize: 120, minFrequency: 1, lowercase: true }).vocab, t.vocab);
  // a higher minimum frequency merges less
  const t5 = trainWordPiece(sample, { vocabSize: 120, minFrequency: 5, lowercase: true });
  assert.ok(t5.vocab.length < t.vocab.length);
});

test('WordCounter: past maxWords the rarest words are dropped (never more than maxWords kept); words seen often keep exact counts; merging in order equals counting in order', () => {
  const next = rng(7);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const common = ['the', 'fox', 'jumps', 'over', 'lazy', 'dog', 'again', 'and'];
  // Zipf-like: common words in every sentence, a long tail of made-up words seen once or twice.
  const docs: string[][] = Array.from({ length: 200 }, () =>
    Array.from({ length: 5 }, () => [...common, ...Array.from({ length: 4 }, () => Array.from({ length: 5 }, () => letters[Math.floor(next() * 26)]).join(''))].join(' ')),
  );
  const exact = new WordCounter({ vocabSize: 200 });
  const bounded = new WordCounter({ vocabSize: 200, maxWords: 300 });
  let most = 0;
  for (const d of docs) {
    exact.addDocument(d);
    bounded.addDocument(d);
    most = Math.max(most, bounded.counts.size);
  }
  assert.ok(exact.counts.size > 3000, `the tail is long (${exact.counts.size} distinct words)`);
  assert.ok(most <= 300, `kept at most maxWords (${most})`);
  assert.ok(bounded.pruned.prunes >= 10, `pruned ${bounded.pruned.prunes} times`);
  assert.is(bounded.pruned.maxDroppedCount, 1, 'only words seen once had to go');
  for (const w of common) assert.is(bounded.counts.get(w), exact.counts.get(w), w);
  assert.is(exact.pruned.prunes, 0);
  // A counter fed the same stream in two halves through merge() ends the same (order included).
  const halves = [new WordCounter({ vocabSize: 200 }), new WordCounter({ vocabSize: 200 })];
  docs.forEach((d, i) => halves[i < 100 ? 0 : 1]!.addDocument(d));
  const merged = new WordCounter({ vocabSize: 200 });
  for (const h of halves) merged.merge({ words: [...h.counts.keys()], counts: [...h.counts.values()] });
  assert.equal([...merged.counts], [...exact.counts]);
  // The bounded vocabulary still holds every common word whole.
  const t = bounded.train();
  for (const w of common) assert.equal(t.tokenize(w), [w], w);
});

test('vocab.txt and tokenizer.json round trip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-tok-'));
  const t = trainWordPiece(sample, { vocabSize: 100, minFrequency: 1, lowercase: true });
  t.saveVocab(join(dir, 'vocab.txt'));
  t.saveTokenizerJson(join(dir, 'tokenizer.json'));
  const v = BertTokenizer.fromVocabFile(join(dir, 'vocab.txt'), { lowercase: true });
  const j = BertTokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
  assert.equal(v.vocab, t.vocab);
  assert.equal(j.vocab, t.vocab);
  assert.is(j.lowercase, true);
  const text = 'The Unbelievable FOX, jumping — 狐狸!';
  assert.equal(v.encode(text), t.encode(text));
  assert.equal(j.encode(text), t.encode(text));
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  assert.is(json.normalizer.type, 'BertNormalizer');
  assert.is(json.normalizer.lowercase, true);
  assert.is(json.normalizer.strip_accents, null);
  assert.is(json.pre_tokenizer.type, 'BertPreTokenizer');
  assert.is(json.model.type, 'WordPiece');
  assert.is(json.model.unk_token, '[UNK]');
  assert.is(json.model.vocab['[MASK]'], 4);
  assert.is(json.post_processor.type, 'TemplateProcessing');
  assert.equal(json.post_processor.special_tokens['[CLS]'].ids, [2]);
  assert.equal(json.added_tokens.map((a: { content: string }) => a.content), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  // a cased tokenizer keeps its case through tokenizer.json
  const c = new BertTokenizer(t.vocab, { lowercase: false });
  c.saveTokenizerJson(join(dir, 'cased.json'));
  assert.is(BertTokenizer.fromTokenizerJson(join(dir, 'cased.json')).lowercase, false);
});

test('bad vocabulary files: one-line errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-tok-'));
  const expectError = (f: () => unknown, re: RegExp) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, re);
      assert.not.match((e as Error).message, /\n/);
      return;
    }
    assert.unreachable('no error');
  };
  expectError(() => BertTokenizer.fromVocabFile(join(dir, 'missing.txt')), /missing\.txt: no such file/);
  writeFileSync(join(dir, 'nospecial.txt'), 'a\nb\n');
  expectError(() => BertTokenizer.fromVocabFile(join(dir, 'nospecial.txt')), /nospecial\.txt: missing special token \[PAD\]/);
  writeFileSync(join(dir, 'bin.txt'), Buffer.from([0x5b, 0x00, 0x01]));
  expectError(() => BertTokenizer.fromVocabFile(join(dir, 'bin.txt')), /bin\.txt: binary file/);
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  expectError(() => BertTokenizer.fromVocabFile(join(dir, 'latin1.txt')), /latin1\.txt: not valid UTF-8/);
  writeFileSync(join(dir, 'bpe.json'), JSON.stringify({ model: { type: 'BPE', vocab: {} } }));
  expectError(() => BertTokenizer.fromTokenizerJson(join(dir, 'bpe.json')), /bpe\.json: not a WordPiece tokenizer\.json/);
});

test.run();
