// bias_grad (column sums, two stages): every variant against the float64 reference, on odd
// shapes, size-1 dims, chunk counts above 1, accumulation and a folded grid.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { biasGradLaunch, usableBiasGradVariants, pickBiasGradVariant, BIAS_GRAD_VARIANTS, type BiasGradShape, type BiasGradVariant } from '../../src/compiler/kernels/matmul-bias-grad.js';
import { biasGradReference } from '../../src/graph/ops/matmul-bias-grad.js';
import { DEFAULT_LIMITS } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

async function check(shape: BiasGradShape, variant: BiasGradVariant, seed: number, limitsOverride?: Partial<typeof DEFAULT_LIMITS>): Promise<void> {
  const { gpu } = await testGpu();
  const { M, N } = shape;
  const limits = { ...gpu.limits, ...limitsOverride };
  const dy = randomF32(M * N, seed);
  const db0 = randomF32(N, seed + 1);
  const launch = biasGradLaunch(shape, limits, variant);
  const partial = await runLaunch(launch.partial, [{ data: dy }, { data: launch.scratchElements, read: 'f32' }]);
  const out = await runLaunch(launch.final, [{ data: partial.get(1)! }, { data: shape.accumulate ? db0 : N, read: 'f32' }]);
  const ref = biasGradReference(dy, M, N, shape.accumulate ? db0 : undefined);
  assertClose(out.get(1)!, ref, { atol: 1e-5 * Math.sqrt(M), rtol: 1e-5 }, `bias_grad ${variant} ${JSON.stringify(shape)} chunks ${launch.scratchElements / N}`);
}

const SHAPES: BiasGradShape[] = [
  { M: 1, N: 1 },
  { M: 1, N: 4 },
  { M: 7, N: 1 },
  { M: 300, N: 36 }, // more than one chunk on every device kind
  { M: 33, N: 70 },
  { M: 513, N: 132, accumulate: true },
  { M: 5, N: 8, accumulate: true },
];

for (const variant of BIAS_GRAD_VARIANTS) {
  test(`bias_grad ${variant}: odd shapes, size-1 dims, chunks, accumulate`, async () => {
    let seed = 1;
    for (const shape of SHAPES.filter((s) => usableBiasGradVariants(s).includes(variant))) await check(shape, variant, seed++);
  });

  test(`bias_grad ${variant}: GPU-style short chunks and a grid folded over y`, async () => {
    const { gpu } = await testGpu();
    const shape = { M: 200, N: 260 };
    // Short chunks (a non-CPU adapter) give many stage-1 workgroups; fold them over y.
    const gpuLike = { ...gpu.limits, adapter: { vendor: '', architecture: '', description: '', isCpu: false } };
    const [x, y] = biasGradLaunch(shape, gpuLike, variant).partial.workgroups;
    const limit = Math.ceil(Math.sqrt(x * y));
    const folded = biasGradLaunch(shape, { ...gpuLike, maxComputeWorkgroupsPerDimension: limit }, variant).partial.workgroups;
    assert.ok(folded[1] > 1, `grid ${folded} not folded under ${limit}`);
    await check(shape, variant, 50, { adapter: gpuLike.adapter, maxComputeWorkgroupsPerDimension: limit });
  });
}

test('bias_grad: variant choice and scratch size', () => {
  const cpu = { ...DEFAULT_LIMITS, adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe', isCpu: true } };
  assert.is(pickBiasGradVariant({ M: 4096, N: 768 }, cpu, {}), 'vec4');
  assert.is(pickBiasGradVariant({ M: 4096, N: 30522 }, cpu, {}), 'scalar');
  const l = biasGradLaunch({ M: 4096, N: 768 }, cpu);
  assert.is(l.scratchElements, 16 * 768);
  assert.is(biasGradLaunch({ M: 4096, N: 768 }, DEFAULT_LIMITS).scratchElements, 128 * 768);
});

test.run();
