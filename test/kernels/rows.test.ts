// rows: gather_rows and scatter_rows_add in both variants against the float64 references, on
// odd shapes (R = 1, H = 1, H not a multiple of 4), padding rows (idx 0, weight 0) that must
// not touch row 0, and `+=` into an existing gradient.
import { test } from 'uvu';
import { rowsLaunch, usableRowsVariants, ROWS_VARIANTS, type RowsVariant } from '../../src/compiler/kernels/rows.js';
import { gatherRowsReference, scatterRowsAddReference } from '../../src/graph/ops/rows.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

const SHAPES: { N: number; H: number; idx: number[]; weights: number[] }[] = [
  { N: 1, H: 1, idx: [0], weights: [1] },
  { N: 5, H: 3, idx: [4, 1, 0, 0], weights: [1, 0.5, 0, 0] },
  { N: 9, H: 8, idx: [0, 8, 3, 0, 0], weights: [2, 1, 1, 0, 0] },
  { N: 12, H: 20, idx: [6, 0, 11, 2, 0, 0], weights: [1, 1, 1, 1, 0, 0] },
];

async function check(s: (typeof SHAPES)[number], variant: RowsVariant, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const { N, H, idx, weights } = s;
  const R = idx.length;
  const ctx = `rows ${variant} ${JSON.stringify(s)}`;
  const src = randomF32(N * H, seed);
  const gathered = await runLaunch(rowsLaunch({ op: 'gather_rows', R, H, N }, gpu.limits, variant), [{ data: src }, { data: Int32Array.from(idx) }, { data: R * H, read: 'f32' }]);
  assertClose(gathered.get(2)!, gatherRowsReference(src, idx, H), { atol: 0, rtol: 0 }, `${ctx} gather`);
  const dOut = randomF32(R * H, seed + 1);
  const dSrc0 = randomF32(N * H, seed + 2);
  const scattered = await runLaunch(rowsLaunch({ op: 'scatter_rows_add', R, H, N }, gpu.limits, variant), [
    { data: dOut },
    { data: Int32Array.from(idx) },
    { data: Float32Array.from(weights) },
    { data: dSrc0, read: 'f32' },
  ]);
  assertClose(scattered.get(3)!, scatterRowsAddReference(dOut, idx, weights, N, H, dSrc0), { atol: 1e-6, rtol: 1e-6 }, `${ctx} scatter`);
}

for (const variant of ROWS_VARIANTS) {
  test(`rows ${variant}: gather and weighted scatter-add`, async () => {
    let seed = 1;
    for (const s of SHAPES.filter((s) => usableRowsVariants(s).includes(variant))) await check(s, variant, (seed += 5));
  });
}

test.run();
