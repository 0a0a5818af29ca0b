// matmul: every variant against the float64 reference, on odd shapes, transposes, batches,
// bias + epilogues, accumulation, and a grid folded over y by a tiny workgroup limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmulLaunch, MATMUL_VARIANTS, type MatmulShape, type Epilogue } from '../../src/compiler/kernels/matmul.js';
import { matmulReference } from '../../src/graph/ops/matmul.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

async function check(shape: MatmulShape, variant: (typeof MATMUL_VARIANTS)[number], seed: number, limitsOverride?: { maxComputeWorkgroupsPerDimension: number }): Promise<void> {
  const { gpu } = await testGpu();
  const batch = shape.batch ?? 1;
  const { M, N, K } = shape;
  const a = randomF32(batch * M * K, seed);
  const b = randomF32(batch * K * N, seed + 1);
  const bias = randomF32(N, seed + 2);
  const c0 = randomF32(batch * M * N, seed + 3);
  const limits = { ...gpu.limits, ...limitsOverride };
  const launch = matmulLaunch(shape, limits, variant);
  const out = await runLaunch(launch, [{ data: a }, { data: b }, { data: bias }, { data: shape.accumulate ? c0 : batch * M * N, read: 'f32' }]);
  const ref = matmulReference(a, b, { ...shape, epilogue: shape.epilogue }, shape.bias ? bias : undefined, shape.accumulate ? c0 : undefined);
  const tol = { atol: TOL.atol * Math.sqrt(K), rtol: TOL.rtol };
  assertClose(out.get(3)!, ref, tol, `matmul ${variant} ${JSON.stringify(shape)}`);
}

const SHAPES: MatmulShape[] = [
  { M: 1, N: 1, K: 1 },
  { M: 1, N: 37, K: 5 },
  { M: 33, N: 1, K: 9 },
  { M: 17, N: 29, K: 31 },
  { M: 64, N: 64, K: 64 },
  { M: 45, N: 70, K: 3, transA: true },
  { M: 19, N: 26, K: 40, transB: true },
  { M: 7, N: 13, K: 11, transA: true, transB: true },
  { M: 9, N: 10, K: 12, batch: 3 },
  { M: 9, N: 10, K: 12, batch: 2, strideB: 0 },
];

for (const variant of MATMUL_VARIANTS) {
  test(`matmul ${variant}: odd shapes, transposes, batches`, async () => {
    let seed = 10;
    for (const shape of SHAPES) await check(shape, variant, seed++);
  });

  test(`matmul ${variant}: bias and every epilogue, accumulate, alpha`, async () => {
    const epilogues: Epilogue[] = ['none', 'gelu', 'gelu_tanh', 'relu', 'tanh'];
    let seed = 100;
    for (const epilogue of epilogues) await check({ M: 13, N: 21, K: 17, bias: true, epilogue }, variant, seed++);
    await check({ M: 10, N: 6, K: 8, accumulate: true, transA: true }, variant, seed++);
    await check({ M: 5, N: 9, K: 7, alpha: 0.125, transB: true }, variant, seed++);
  });

  test(`matmul ${variant}: grid folded over y when tiles exceed the per-dimension limit`, async () => {
    const shape = { M: 70, N: 75, K: 6 };
    const { gpu } = await testGpu();
    const [x, y] = matmulLaunch(shape, gpu.limits, variant).workgroups;
    // The smallest limit whose square still holds every tile forces a fold over y.
    const limit = Math.ceil(Math.sqrt(x * y));
    const folded = matmulLaunch(shape, { ...gpu.limits, maxComputeWorkgroupsPerDimension: limit }, variant).workgroups;
    assert.ok(folded[1] > 1 && folded[0] <= limit, `grid ${folded} not folded under limit ${limit}`);
    await check(shape, variant, 200, { maxComputeWorkgroupsPerDimension: limit });
  });
}

test.run();
