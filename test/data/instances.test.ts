// Instance creation (create_pretraining_data.py semantics): segment structure and lengths, NSP
// balance and provenance, truncation, masking counts and 80/10/10 statistics, whole-word masking,
// contiguous packing; segment-pair records built by document ranges.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ContiguousPacker,
  Rng,
  createInstancesFromDocument,
  createMaskedLmPredictions,
  roundHalfEven,
  segmentPairRecords,
  truncateSeqPair,
  type DocumentAccess,
  type InstanceSetParams,
  type RawInstance,
  type Vocabulary,
} from '../../src/data/index.js';

const V = 1000;
// ids: 0 pad, 1 unk, 2 cls, 3 sep, 4 mask; 5.. words; ids >= 900 are ## pieces
const isContinuation = new Uint8Array(V);
for (let i = 900; i < V; i++) isContinuation[i] = 1;
const vocab: Vocabulary = { size: V, pad: 0, cls: 2, sep: 3, mask: 4, isContinuation };

// Documents whose token values encode (document, running position): token = 5 + doc * 10000 + k is too
// big for V, so keep a side table instead: tokens are arrays of objects' indices into `origin`.
function makeDocs(nDocs: number, rng: Rng): { docs: number[][][]; origin: Map<number, [number, number]> } {
  const origin = new Map<number, [number, number]>();
  let next = 10;
  const docs: number[][][] = [];
  for (let d = 0; d < nDocs; d++) {
    const doc: number[][] = [];
    const nSent = rng.randint(1, 30);
    let k = 0;
    for (let s = 0; s < nSent; s++) {
      const sent: number[] = [];
      const len = rng.randint(3, 25);
      for (let j = 0; j < len; j++) {
        origin.set(next, [d, k++]);
        sent.push(next++);
      }
      doc.push(sent);
    }
    docs.push(doc);
  }
  return { docs, origin };
}

function collect(docs: number[][][], seqLen: number, shortSeqProb: number, seed: number): RawInstance[] {
  const rng = new Rng(seed);
  const access: DocumentAccess = { numDocs: docs.length, doc: (i) => docs[i]! };
  const out: RawInstance[] = [];
  for (let i = 0; i < docs.length; i++) createInstancesFromDocument(access, i, seqLen, shortSeqProb, rng, (x) => out.push(x), vocab);
  return out;
}

test('segment pairs: [CLS] A [SEP] B [SEP], lengths within seq_len, NSP balance and provenance', () => {
  const { docs, origin } = makeDocs(400, new Rng(1));
  const insts = collect(docs, 64, 0.1, 7);
  assert.ok(insts.length > 1000, `${insts.length} instances`);
  let random = 0;
  for (const x of insts) {
    assert.is(x.tokens.length, x.lenA + x.lenB + 3);
    assert.ok(x.tokens.length <= 64);
    assert.ok(x.lenA >= 1 && x.lenB >= 1);
    assert.is(x.tokens[0], 2);
    assert.is(x.tokens[x.lenA + 1], 3);
    assert.is(x.tokens[x.tokens.length - 1], 3);
    const a = x.tokens.slice(1, 1 + x.lenA).map((t) => origin.get(t)!);
    const b = x.tokens.slice(2 + x.lenA, -1).map((t) => origin.get(t)!);
    // A is contiguous text of one document
    for (let i = 1; i < a.length; i++) assert.ok(a[i]![0] === a[0]![0] && a[i]![1] === a[i - 1]![1] + 1);
    if (x.isRandomNext) {
      random++;
    } else {
      // B continues A in the same document, right after it (truncation only trims the outer ends)
      assert.is(b[0]![0], a[0]![0]);
      assert.ok(b[0]![1] > a[a.length - 1]![1]);
    }
  }
  // Random half the time, plus chunks of a single segment (always random): Google's skew.
  const share = random / insts.length;
  assert.ok(share > 0.48 && share < 0.62, `random share ${share}`);
  // Every document yields at least one instance.
  assert.ok(new Set(insts.map((x) => origin.get(x.tokens[1]!)![0])).size === 400);
});

test('short_seq_prob: full-length sequences by default, shorter ones at the given rate', () => {
  const { docs } = makeDocs(300, new Rng(2));
  const mean = (xs: RawInstance[]) => xs.reduce((s, x) => s + x.tokens.length, 0) / xs.length;
  const full = collect(docs, 128, 0, 3);
  const short = collect(docs, 128, 1, 3);
  assert.ok(mean(full) > 100, `mean ${mean(full)}`);
  assert.ok(mean(short) < mean(full) - 20, `short ${mean(short)} vs ${mean(full)}`);
});

test('determinism: same seed, same instances; other seed, other instances', () => {
  const { docs } = makeDocs(50, new Rng(3));
  assert.equal(collect(docs, 64, 0.1, 11), collect(docs, 64, 0.1, 11));
  assert.not.equal(collect(docs, 64, 0.1, 11), collect(docs, 64, 0.1, 12));
});

test('truncate_seq_pair trims the longer segment at either end', () => {
  const rng = new Rng(5);
  let front = 0;
  let back = 0;
  for (let trial = 0; trial < 200; trial++) {
    const a = Array.from({ length: 30 }, (_, i) => i);
    const b = [100, 101, 102];
    truncateSeqPair(a, b, 20, rng);
    assert.is(a.length + b.length, 20);
    assert.equal(b, [100, 101, 102]);
    if (a[0] !== 0) front++;
    if (a[a.length - 1] !== 29) back++;
  }
  assert.ok(front > 150 && back > 150);
});

test('python rounding for the number of predictions', () => {
  assert.is(roundHalfEven(2.5), 2);
  assert.is(roundHalfEven(3.5), 4);
  assert.is(roundHalfEven(19.2), 19);
  assert.is(roundHalfEven(0.5), 0);
});

const masking = { maskProb: 0.15, replace: { mask: 0.8, random: 0.1, keep: 0.1 }, wholeWord: false };

test('masking: fixed count, never specials, 80/10/10 on a large sample', () => {
  const rng = new Rng(9);
  let n = 0;
  let masked = 0;
  let kept = 0;
  let randomized = 0;
  for (let trial = 0; trial < 4000; trial++) {
    const len = rng.randint(10, 128);
    const tokens = Array.from({ length: len }, () => rng.randint(10, 899));
    tokens[0] = 2;
    tokens[len - 1] = 3;
    tokens[rng.randint(1, len - 2)] = 3;
    const m = createMaskedLmPredictions(tokens, len, masking, 20, vocab, rng);
    assert.is(m.positions.length, Math.min(20, Math.max(1, roundHalfEven(len * 0.15))));
    for (let k = 0; k < m.positions.length; k++) {
      const p = m.positions[k]!;
      if (k > 0) assert.ok(p > m.positions[k - 1]!, 'sorted, distinct');
      assert.ok(tokens[p] !== 2 && tokens[p] !== 3, 'never [CLS]/[SEP]');
      const r = m.replacements[k]!;
      n++;
      if (r === 4) masked++;
      else if (r === tokens[p]) kept++;
      else randomized++;
    }
  }
  assert.ok(n > 40000);
  const tol = 0.01;
  assert.ok(Math.abs(masked / n - 0.8) < tol, `mask ${masked / n}`);
  assert.ok(Math.abs(kept / n - 0.1) < tol, `keep ${kept / n}`);
  assert.ok(Math.abs(randomized / n - 0.1) < tol, `random ${randomized / n}`);
});

test('masking: other replacement mix and probability', () => {
  const rng = new Rng(10);
  const tokens = [2, ...Array.from({ length: 200 }, (_, i) => 10 + i), 3];
  let n = 0;
  let masked = 0;
  for (let trial = 0; trial < 500; trial++) {
    const m = createMaskedLmPredictions(tokens, tokens.length, { maskProb: 0.3, replace: { mask: 0.5, random: 0.5, keep: 0 }, wholeWord: false }, 1000, vocab, rng);
    assert.is(m.positions.length, roundHalfEven(202 * 0.3));
    for (let k = 0; k < m.positions.length; k++) {
      n++;
      if (m.replacements[k] === 4) masked++;
    }
  }
  assert.ok(Math.abs(masked / n - 0.5) < 0.02, `mask ${masked / n}`);
});

test('whole-word masking: a word and all its ## pieces together', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 500; trial++) {
    const tokens = [2];
    while (tokens.length < 100) {
      tokens.push(rng.randint(10, 899));
      const pieces = rng.randint(0, 3);
      for (let j = 0; j < pieces; j++) tokens.push(rng.randint(900, 999));
    }
    tokens.push(3);
    const m = createMaskedLmPredictions(tokens, tokens.length, { ...masking, wholeWord: true }, 20, vocab, rng);
    const set = new Set(m.positions);
    assert.ok(m.positions.length <= Math.min(20, roundHalfEven(tokens.length * 0.15)));
    assert.ok(m.positions.length >= 10);
    for (const p of m.positions) {
      if (isContinuation[tokens[p]!]) assert.ok(set.has(p - 1), 'piece masked without its word start');
      if (p + 1 < tokens.length && isContinuation[tokens[p + 1]!]) assert.ok(set.has(p + 1), 'word masked without its pieces');
    }
  }
});

test('contiguous packing: full sequences, text in order, [SEP] between documents', () => {
  const out: RawInstance[] = [];
  const p = new ContiguousPacker(8, vocab, (x) => out.push(x));
  p.addDocument([[10, 11, 12], [13, 14, 15, 16]]);
  p.addDocument([[20, 21, 22, 23, 24, 25, 26]]);
  p.finish();
  assert.equal(out.map((x) => x.tokens), [
    [2, 10, 11, 12, 13, 14, 15, 3],
    [2, 16, 3, 20, 21, 22, 23, 3],
    [2, 24, 25, 26, 3],
  ]);
  assert.ok(out.every((x) => x.lenB === 0 && !x.isRandomNext));
});

test.run();

test('segment-pair records: each (pass, document) draws from its own stream, so document ranges built apart concatenate to the whole', () => {
  const { docs } = makeDocs(40, new Rng(11));
  const sentences = docs.map((d) => d.map((s) => Int32Array.from(s.map((t) => 5 + (t % 800)))));
  const access: DocumentAccess = { numDocs: sentences.length, doc: (i) => sentences[i]! };
  const params: InstanceSetParams = { split: 'train', seqLen: 48, maxPredictions: 6, shortSeqProb: 0.1, dupeFactor: 2, nsp: true, masking: { maskProb: 0.15, replace: { mask: 0.8, random: 0.1, keep: 0.1 }, wholeWord: false }, seed: 5 };
  for (const pass of [0, 1]) {
    const whole = segmentPairRecords(access, pass, 0, 40, params, vocab, 4);
    const parts = [[0, 7], [7, 8], [8, 31], [31, 40]].map(([a, b]) => segmentPairRecords(access, pass, a!, b!, params, vocab, 4));
    assert.ok(whole.count > 40, `${whole.count} instances`);
    assert.is(parts.reduce((n, p) => n + p.count, 0), whole.count);
    assert.is(parts.reduce((n, p) => n + p.randomNext, 0), whole.randomNext);
    assert.is(parts.reduce((n, p) => n + p.predictions, 0), whole.predictions);
    assert.equal(Buffer.concat(parts.map((p) => p.bytes)), Buffer.from(whole.bytes));
    assert.is(whole.bytes.byteLength, whole.count * (4 + 48 + 12) * 4);
  }
  // Another pass draws other pairs and masks; another seed too.
  const pass1 = segmentPairRecords(access, 1, 0, 40, params, vocab, 4);
  assert.not.equal(Buffer.from(pass1.bytes), Buffer.from(segmentPairRecords(access, 0, 0, 40, params, vocab, 4).bytes));
  assert.not.equal(Buffer.from(segmentPairRecords(access, 1, 0, 40, { ...params, seed: 6 }, vocab, 4).bytes), Buffer.from(pass1.bytes));
});
