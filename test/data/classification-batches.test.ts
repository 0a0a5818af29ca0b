// Classification batches: [CLS] a [SEP] (b [SEP]) with Google's longest-first pair truncation,
// padding and masks, [CLS] rows and class ids; a seeded shuffle per epoch that resumes exactly;
// evaluation batches that cover every example once with weight-0 padding rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BertTokenizer, ClassificationBatches, encodeExample, truncatePair, type Example } from '../../src/data/index.js';

const tokenizer = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'far', 'away']);
const id = (t: string) => tokenizer.tokenToId.get(t)!;

test("pair truncation drops from the end of the longer segment, as Google's _truncate_seq_pair", () => {
  const a = [1, 2, 3, 4, 5, 6];
  const b = [7, 8, 9];
  truncatePair(a, b, 6);
  assert.equal([a, b], [[1, 2, 3], [7, 8, 9]]);
  const c = [1, 2];
  const d = [3, 4, 5, 6, 7];
  truncatePair(c, d, 3);
  assert.equal([c, d], [[1, 2], [3]], 'ties pop from b, as Google does');
});

test('single texts and pairs: ids, token types, truncation to seq_len, label ids', () => {
  const labels = ['neg', 'pos'];
  const single = encodeExample(tokenizer, { text: 'the cat sat on a mat', label: 'pos', where: 'x:1' }, labels, 6);
  assert.equal(Array.from(single.ids), [id('[CLS]'), id('the'), id('cat'), id('sat'), id('on'), id('[SEP]')]);
  assert.equal(Array.from(single.typeIds), [0, 0, 0, 0, 0, 0]);
  assert.is(single.label, 1);
  const pair = encodeExample(tokenizer, { text: 'the cat sat', pair: 'dog ran far away', label: 'neg', where: 'x:2' }, labels, 8);
  // 3 + 4 tokens into 8 − 3 = 5: b (the longer, then tied) loses "away" and "far".
  assert.equal(Array.from(pair.ids), [id('[CLS]'), id('the'), id('cat'), id('sat'), id('[SEP]'), id('dog'), id('ran'), id('[SEP]')]);
  assert.equal(Array.from(pair.typeIds), [0, 0, 0, 0, 0, 1, 1, 1]);
  assert.throws(() => encodeExample(tokenizer, { text: 'the', label: 'maybe', where: 'f.tsv:9' }, labels, 8), /f\.tsv:9: label "maybe" is not one of neg, pos/);
});

const examples: Example[] = Array.from({ length: 10 }, (_, i) => ({ text: i % 2 ? 'the cat sat' : 'a dog ran far away', label: i % 2 ? 'cat' : 'dog', where: `e:${i}` }));

test('batches: padding, masks, [CLS] rows; every example once per epoch; a seeded order', () => {
  const source = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 3);
  const b = source.next(4);
  assert.equal(Array.from(b.cls_rows), [0, 8, 16, 24]);
  assert.ok(Array.from(b.weights).every((w) => w === 1));
  for (let i = 0; i < 4; i++) {
    const row = Array.from(b.input_ids.subarray(i * 8, i * 8 + 8));
    const mask = Array.from(b.attention_mask.subarray(i * 8, i * 8 + 8));
    assert.is(row[0], id('[CLS]'));
    const len = mask.reduce((s, m) => s + m, 0);
    assert.ok(row.slice(len).every((t) => t === id('[PAD]')), 'padding after the sequence');
    assert.is(b.labels[i], row[1] === id('the') ? 0 : 1, 'the label matches the text');
  }
  // Epoch 1 covers the 10 examples exactly once (4 + 4 + 2 of the next batch).
  const seen = [b, source.next(4)].flatMap((x) => Array.from(x.labels));
  const third = source.next(4);
  seen.push(third.labels[0]!, third.labels[1]!);
  assert.equal(seen.filter((l) => l === 0).length, 5);
  assert.ok(source.epoch > 1 && source.epoch < 2);
  const again = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 3).next(4);
  assert.equal(again.input_ids, b.input_ids, 'the same seed, the same order');
});

test('resume: a restored source continues with exactly the batches the straight one makes', () => {
  const straight = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 9);
  const first = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 9);
  for (let i = 0; i < 3; i++) {
    straight.next(3);
    first.next(3);
  }
  const resumed = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 9);
  resumed.restore(JSON.parse(JSON.stringify(first.state())));
  for (let i = 0; i < 5; i++) assert.equal(resumed.next(3), straight.next(3));
  assert.throws(() => resumed.restore({ epoch: 0, position: 11 }), /does not fit 10 examples/);
});

test('evaluation batches: every example once, in order, the short last batch padded with weight 0', () => {
  const source = new ClassificationBatches(tokenizer, examples, ['cat', 'dog'], 8, 1);
  const batches = [...source.inOrder(4)];
  assert.equal(batches.map((b) => b.examples), [4, 4, 2]);
  assert.equal(Array.from(batches[2]!.weights), [1, 1, 0, 0]);
  assert.equal(batches.flatMap((b) => Array.from(b.labels.subarray(0, b.examples))), examples.map((e) => (e.label === 'cat' ? 0 : 1)));
});

test.run();
