// openPretrainingData end to end on a small corpus: batch shapes and contents, NSP label convention,
// holdout split, determinism, exact resume, prefetch transparency, dynamic masking, cache reuse and
// rebuild of corrupt or truncated caches, reading caches from disk instead of memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPretrainingData, Rng, roundHalfEven, type Batch, type PretrainingDataOptions } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bert-pipe-'));
const words = 'the a of state union nation people congress war peace law year government public great new country states united world'.split(' ');
{
  const rng = new Rng(42);
  const lines: string[] = [];
  for (let d = 0; d < 60; d++) {
    const n = rng.randint(2, 25);
    for (let s = 0; s < n; s++) {
      const len = rng.randint(4, 20);
      const ws = Array.from({ length: len }, () => words[rng.randint(0, words.length - 1)]! + (rng.random() < 0.1 ? 'ing' : ''));
      lines.push(ws.join(' ') + '.');
    }
    lines.push('');
  }
  writeFileSync(join(dir, 'corpus.txt'), lines.join('\n'));
}

const base = (cacheDir: string, over: Partial<PretrainingDataOptions> = {}): PretrainingDataOptions => ({
  corpus: { files: ['corpus.txt'], format: 'lines' },
  baseDir: dir,
  tokenizer: { train: { vocabSize: 200, minFrequency: 1 } },
  seqLen: 32,
  maxPredictions: 5,
  dupeFactor: 2,
  holdout: 0.1,
  seed: 7,
  cacheDir,
  prefetch: 0,
  ...over,
});

const take = (src: { next(b: number, t: number, p: number): Batch }, n: number, T = 32, P = 5) =>
  Array.from({ length: n }, () => src.next(8, T, P));
const same = (a: Batch[], b: Batch[]) => assert.equal(a.map((x) => [...x.input_ids, ...x.masked_positions, ...x.nsp_labels]), b.map((x) => [...x.input_ids, ...x.masked_positions, ...x.nsp_labels]));

test('batches: fixed shapes and consistent contents', async () => {
  const data = await openPretrainingData(base(mkdtempSync(join(dir, 'c-'))));
  const { cls, sep, pad } = data.tokenizer.specials;
  assert.is(data.stats.documents, 60);
  assert.is(data.stats.holdoutDocuments, 6);
  assert.is(data.stats.trainDocuments, 54);
  let nsp1 = 0;
  let rows = 0;
  for (const b of take(data.train, 20)) {
    assert.is(b.input_ids.length, 8 * 32);
    assert.is(b.token_type_ids.length, 8 * 32);
    assert.is(b.attention_mask.length, 8 * 32);
    assert.is(b.masked_positions.length, 8 * 5);
    assert.is(b.masked_weights.length, 8 * 5);
    assert.is(b.nsp_labels.length, 8);
    assert.is(b.attention_mask.reduce((s, x) => s + x, 0), b.num_tokens);
    assert.is(b.masked_weights.reduce((s, x) => s + x, 0), b.num_predictions);
    for (let r = 0; r < 8; r++) {
      rows++;
      nsp1 += b.nsp_labels[r]!;
      const ids = b.input_ids.subarray(r * 32, r * 32 + 32);
      const len = b.attention_mask.subarray(r * 32, r * 32 + 32).reduce((s, x) => s + x, 0);
      assert.is(ids[0], cls);
      assert.is(ids[len - 1], sep);
      for (let j = len; j < 32; j++) assert.is(ids[j], pad);
      const types = [...b.token_type_ids.subarray(r * 32, r * 32 + 32)];
      const firstB = types.indexOf(1);
      assert.ok(firstB > 1 && ids[firstB - 1] === sep, 'B starts after the first [SEP]');
      const nPred = [...b.masked_weights.subarray(r * 5, r * 5 + 5)].filter((w) => w === 1).length;
      assert.is(nPred, Math.min(5, Math.max(1, roundHalfEven(len * 0.15))));
      for (let k = 0; k < nPred; k++) {
        const p = b.masked_positions[r * 5 + k]!;
        assert.ok(p > 0 && p < len);
        assert.ok(b.masked_ids[r * 5 + k] !== cls && b.masked_ids[r * 5 + k] !== sep);
      }
    }
  }
  assert.ok(nsp1 > 0.35 * rows && nsp1 < 0.75 * rows, `nsp random ${nsp1}/${rows}`);
  // The holdout has its own documents and the same shapes.
  const h = data.holdout!.next(4, 32, 5);
  assert.is(h.input_ids.length, 4 * 32);
  data.close();
});

test('determinism, exact resume, prefetch transparency', async () => {
  const cacheDir = mkdtempSync(join(dir, 'c-'));
  const a = await openPretrainingData(base(cacheDir));
  const straight = take(a.train, 12);
  a.close();
  // Same seed: same batches (from the cache this time).
  const b = await openPretrainingData(base(cacheDir));
  same(take(b.train, 12), straight);
  // Resume from state after 5 batches, through a JSON round trip, into a fresh source.
  b.train.reset();
  take(b.train, 5);
  const state = JSON.parse(JSON.stringify(b.train.state()));
  b.close();
  const c = await openPretrainingData(base(cacheDir, { prefetch: 3 }));
  c.train.restore(state);
  const resumed: Batch[] = [];
  for (let i = 0; i < 7; i++) {
    resumed.push(c.train.next(8, 32, 5));
    await new Promise((r) => setImmediate(r)); // let the prefetch queue fill
  }
  same(resumed, straight.slice(5));
  // state() reflects what was consumed, not what was prefetched
  assert.equal(JSON.parse(JSON.stringify(c.train.state())), JSON.parse(JSON.stringify({ ...state, cursors: { '32/5': { epoch: state.cursors['32/5'].epoch, position: state.cursors['32/5'].position + 56 } } })));
  c.close();
  // Another seed: other batches.
  const d = await openPretrainingData(base(mkdtempSync(join(dir, 'c-')), { seed: 8 }));
  assert.not.equal([...take(d.train, 1)[0]!.input_ids], [...straight[0]!.input_ids]);
  d.close();
});

test('epochs wrap, and dynamic masking draws new masks each epoch', async () => {
  const data = await openPretrainingData(base(mkdtempSync(join(dir, 'c-')), { mlm: { masking: 'dynamic' }, dupeFactor: 1 }));
  const n = data.train.size(32, 5);
  assert.ok(n > 20);
  // Epoch 0 and epoch 1 contain the same instances with different masks.
  const rows = (count: number) => {
    const out: string[] = [];
    const masks: string[] = [];
    for (let i = 0; i < count; i++) {
      const b = data.train.next(1, 32, 5);
      const orig = [...b.input_ids];
      for (let k = 0; k < 5; k++) if (b.masked_weights[k]) orig[b.masked_positions[k]!] = b.masked_ids[k]!;
      out.push(orig.join(','));
      masks.push([...b.masked_positions].join(','));
    }
    return { out, masks };
  };
  const e0 = rows(n);
  const e1 = rows(n);
  assert.equal([...e0.out].sort(), [...e1.out].sort(), 'same instances each epoch');
  const byRow0 = new Map(e0.out.map((r, i) => [r, e0.masks[i]]));
  const changed = e1.out.filter((r, i) => byRow0.get(r) !== e1.masks[i]).length;
  assert.ok(changed > n * 0.8, `${changed}/${n} masks changed`);
  data.close();
});

test('MLM-only packing without NSP: full sequences, one segment', async () => {
  const data = await openPretrainingData(base(mkdtempSync(join(dir, 'c-')), { nsp: false }));
  const b = data.train.next(16, 32, 5);
  assert.is(b.token_type_ids.reduce((s, x) => s + x, 0), 0);
  assert.is(b.nsp_labels.reduce((s, x) => s + x, 0), 0);
  assert.ok(b.num_tokens > 16 * 30, `${b.num_tokens} tokens`);
  data.close();
});

test('cache: reused on a second run; corrupt or truncated caches are rebuilt, never used', async () => {
  const cacheDir = mkdtempSync(join(dir, 'c-'));
  const first = await openPretrainingData(base(cacheDir));
  const ref = take(first.train, 4);
  first.close();
  assert.is(first.stats.cache.tokens, 'built');
  assert.is(first.stats.cache.tokenizer, 'built');
  const again = await openPretrainingData(base(cacheDir));
  assert.equal(again.stats.cache, { tokenizer: 'hit', tokens: 'hit', instances: { 'train/32/5': 'hit', 'holdout/32/5': 'hit' } });
  again.close();
  const files = readdirSync(cacheDir);
  const inst = files.filter((f) => f.startsWith('instances-')).map((f) => join(cacheDir, f));
  const tokens = join(cacheDir, files.find((f) => f.startsWith('tokens-'))!);
  // Flip one body byte of every instance file; truncate the token file.
  for (const f of inst) {
    const buf = readFileSync(f);
    buf[4096 + 100] ^= 0xff;
    writeFileSync(f, buf);
  }
  truncateSync(tokens, statSync(tokens).size - 10);
  const third = await openPretrainingData(base(cacheDir));
  assert.is(third.stats.cache.tokens, 'rebuilt');
  assert.equal(third.stats.cache.instances, { 'train/32/5': 'rebuilt', 'holdout/32/5': 'rebuilt' });
  same(take(third.train, 4), ref);
  third.close();
  // A different data setting is a different cache entry.
  const other = await openPretrainingData(base(cacheDir, { dupeFactor: 3 }));
  assert.is(other.stats.cache.tokens, 'hit');
  assert.is(other.stats.cache.instances['train/32/5'], 'built');
  other.close();
});

test('sequence-length phases and reading caches from disk give the same batches', async () => {
  const cacheDir = mkdtempSync(join(dir, 'c-'));
  const mem = await openPretrainingData(base(cacheDir, { phases: [{ seqLen: 64, maxPredictions: 10 }] }));
  assert.ok(mem.stats.instanceSets['train/64/10']);
  const m128 = take(mem.train, 3, 64, 10);
  const m32 = take(mem.train, 3);
  mem.close();
  const disk = await openPretrainingData(base(cacheDir, { cacheReadWholeBytes: 0 }));
  same(take(disk.train, 3, 64, 10), m128);
  same(take(disk.train, 3), m32);
  assert.is(m128[0]!.input_ids.length, 8 * 64);
  disk.close();
});

test.run();
