// embedding: forward and the three table gradients in both variants against the float64
// references, on odd shapes (N = 1, H = 1, H not a multiple of 4, repeated ids), adding into
// existing gradients; the word gradient only touches the rows of ids present.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddingLaunch, embeddingGroups, usableEmbeddingVariants, EMBEDDING_VARIANTS, type EmbeddingVariant } from '../../src/compiler/kernels/embedding.js';
import { embeddingForwardReference, embeddingBackwardReference, groupRowsById, paddedRowGroups } from '../../src/graph/ops/embedding.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32, randomInt } from '../support/random.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };

interface Case {
  B: number;
  seq: number;
  H: number;
  V: number;
  P: number;
  TV: number;
  /** Distinct ids drawn (default 3: groups with many rows). */
  distinct?: number;
}

const CASES: Case[] = [
  { B: 1, seq: 1, H: 1, V: 1, P: 1, TV: 1 },
  { B: 2, seq: 3, H: 5, V: 4, P: 5, TV: 2 },
  { B: 3, seq: 4, H: 8, V: 7, P: 6, TV: 2 },
  { B: 4, seq: 5, H: 12, V: 50, P: 8, TV: 3 },
  // More rows and groups than a CPU adapter's grid-stride workgroups (16): each loops.
  { B: 8, seq: 9, H: 8, V: 60, P: 9, TV: 2, distinct: 40 },
  // Rows wider than a workgroup (forward and word gradient: 64 lanes striding over 300 columns, or
  // 75 vec4s), and 13 vec4 columns in a 16-lane workgroup.
  { B: 2, seq: 3, H: 300, V: 6, P: 3, TV: 2 },
  { B: 2, seq: 3, H: 52, V: 6, P: 3, TV: 2 },
];

async function check(c: Case, variant: EmbeddingVariant, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const { B, seq, H, V, P, TV } = c;
  const N = B * seq;
  const shape = { N, H, seq, V, P, TV };
  const ids = randomInt(N, seed, Math.min(V, c.distinct ?? 3));
  const types = randomInt(N, seed + 1, TV);
  const word = randomF32(V * H, seed + 2);
  const pos = randomF32(P * H, seed + 3);
  const type = randomF32(TV * H, seed + 4);
  const ctx = `embedding ${variant} ${JSON.stringify(c)}`;
  const fwd = await runLaunch(embeddingLaunch({ op: 'embedding_forward', ...shape }, gpu.limits, variant), [
    { data: ids },
    { data: types },
    { data: word },
    { data: pos },
    { data: type },
    { data: N * H, read: 'f32' },
  ]);
  assertClose(fwd.get(5)!, embeddingForwardReference(ids, types, word, pos, type, N, H, seq), TOL, `${ctx} forward`);

  const dOut = randomF32(N * H, seed + 5);
  const ref = embeddingBackwardReference(dOut, ids, types, N, H, seq, V, P, TV);
  const dWord0 = randomF32(V * H, seed + 6);
  const groups = embeddingGroups(shape);
  const g = paddedRowGroups(groupRowsById(ids), groups);
  const wordGot = await runLaunch(embeddingLaunch({ op: 'embedding_backward_word', ...shape }, gpu.limits, variant), [
    { data: dOut },
    { data: g.unique },
    { data: g.offsets },
    { data: g.rows },
    { data: dWord0, read: 'f32' },
  ]);
  const gotWord = wordGot.get(4)!;
  assertClose(gotWord, ref.dWord.map((v, i) => v + dWord0[i]!), TOL, `${ctx} d_word`);
  for (let i = 0; i < V * H; i++) {
    if (!ids.includes(Math.floor(i / H))) assert.is(gotWord[i], dWord0[i], `${ctx}: d_word row ${Math.floor(i / H)} has no token but changed`);
  }
  const dPos0 = randomF32(P * H, seed + 7);
  const posGot = await runLaunch(embeddingLaunch({ op: 'embedding_backward_position', ...shape }, gpu.limits, variant), [{ data: dOut }, { data: dPos0, read: 'f32' }]);
  assertClose(posGot.get(1)!, ref.dPos.map((v, i) => v + dPos0[i]!), TOL, `${ctx} d_pos`);
  const dType0 = randomF32(TV * H, seed + 8);
  const typeGot = await runLaunch(embeddingLaunch({ op: 'embedding_backward_type', ...shape }, gpu.limits, variant), [{ data: dOut }, { data: types }, { data: dType0, read: 'f32' }]);
  assertClose(typeGot.get(2)!, ref.dType.map((v, i) => v + dType0[i]!), TOL, `${ctx} d_type`);
}

for (const variant of EMBEDDING_VARIANTS) {
  test(`embedding ${variant}: forward and backward (word by CSR groups, position, type)`, async () => {
    let seed = 1;
    for (const c of CASES.filter((c) => usableEmbeddingVariants(c).includes(variant))) await check(c, variant, (seed += 10));
  });
}

test('embedding backward word: the same bits on every run', async () => {
  const { gpu } = await testGpu();
  const shape = { N: 64, H: 8, seq: 16, V: 5, P: 16, TV: 2 };
  const ids = randomInt(64, 3, 5);
  const g = paddedRowGroups(groupRowsById(ids), embeddingGroups(shape));
  const dOut = randomF32(64 * 8, 4);
  const launch = embeddingLaunch({ op: 'embedding_backward_word', ...shape }, gpu.limits);
  const runs: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const got = await runLaunch(launch, [{ data: dOut }, { data: g.unique }, { data: g.offsets }, { data: g.rows }, { data: 5 * 8, read: 'u32' }]);
    runs.push(Array.from(got.get(4)!));
  }
  assert.equal(runs[1], runs[0]);
  assert.equal(runs[2], runs[0]);
});

test.run();
