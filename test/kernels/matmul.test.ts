// matmul: every variant against the float64 reference, on odd shapes, transposes, batches,
// bias + epilogues, accumulation, the pre-activation output (STORE_PRE), and a grid folded over
// y by a tiny workgroup limit. Every launch binds all five buffers (a, b, bias, c, pre), the
// subgroup variants a sixth (the partial accumulators of a K split in chunks, tested below).
// vec4 and subgroup need 4-aligned contiguous dims, so they get their own shape lists (still
// non-multiples of every tile, with size-1 dims where the layout allows them). The subgroup
// variant runs wherever the device fits it; on lavapipe (which has subgroups of 8) a device
// without it fails the test instead of skipping it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  matmulLaunch,
  matmulLaunches,
  matmulKChunk,
  matmulPartialBytes,
  matmulBindings,
  CPU_K_CHUNK,
  CPU_SPLIT_K_ABOVE,
  matmulSubgroupWorkgroup,
  matmulBAligned,
  matmulVec4Aligned,
  pickMatmulVariant,
  tunableMatmulVariants,
  usableMatmulVariants,
  MATMUL_VARIANTS,
  matmulRowSumFits,
  type MatmulShape,
  type MatmulVariant,
  type Epilogue,
} from '../../src/compiler/kernels/matmul.js';
import { matmulReference, rowSumReference } from '../../src/graph/ops/matmul.js';
import { DEFAULT_LIMITS, type DeviceLimits } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };
const ALIGNED_ONLY: readonly MatmulVariant[] = ['vec4', 'subgroup'];

async function check(shape: MatmulShape, variant: MatmulVariant, seed: number, limitsOverride?: { maxComputeWorkgroupsPerDimension: number }): Promise<void> {
  const { gpu } = await testGpu();
  const batch = shape.batch ?? 1;
  const { M, N, K } = shape;
  // Operands sized for their batch strides (a stride of 0 broadcasts one matrix).
  const sizeA = Math.max(1, (batch - 1) * (shape.strideA ?? M * K) + M * K);
  const sizeB = Math.max(1, (batch - 1) * (shape.strideB ?? K * N) + K * N);
  const a = randomF32(sizeA, seed);
  const b = randomF32(sizeB, seed + 1);
  const bias = randomF32(N, seed + 2);
  const c0 = randomF32(batch * M * N, seed + 3);
  const limits = { ...gpu.limits, ...limitsOverride };
  const launches = matmulLaunches(shape, limits, variant);
  // pre: the full output when stored, the activation's input for a backward epilogue (`_grad`),
  // else a spare 16-byte buffer (the binding is always used).
  const gradEpilogue = shape.epilogue?.endsWith('_grad') ?? false;
  const preIn = randomF32(batch * M * N, seed + 4, 2);
  const pre = shape.storePre ? { data: randomF32(batch * M * N, seed + 4), read: 'f32' as const } : gradEpilogue ? { data: preIn } : { data: 4 };
  const out = await runLaunch(launches, [{ data: a }, { data: b }, { data: bias }, { data: shape.accumulate ? c0 : batch * M * N, read: 'f32' }, pre, ...partialBinding(shape, limits, variant)]);
  const ref = matmulReference(a, b, { ...shape, epilogue: shape.epilogue }, shape.bias ? bias : undefined, shape.accumulate ? c0 : undefined, gradEpilogue ? preIn : undefined);
  const tol = { atol: TOL.atol * Math.sqrt(K), rtol: TOL.rtol };
  assertClose(out.get(3)!, ref, tol, `matmul ${variant} ${JSON.stringify(shape)}`);
  if (shape.storePre) {
    // The value after alpha and bias, before the epilogue; never accumulated.
    const preRef = matmulReference(a, b, { ...shape, epilogue: 'none' }, shape.bias ? bias : undefined);
    assertClose(out.get(4)!, preRef, tol, `matmul ${variant} pre ${JSON.stringify(shape)}`);
  }
}

/** The subgroup variants' sixth binding: the partial accumulators (16 bytes when K is whole). */
function partialBinding(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant): { data: number }[] {
  return matmulBindings(variant).length > 5 ? [{ data: matmulPartialBytes(shape, limits, variant) / 4 }] : [];
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

// Contiguous dims multiples of 4 (A: K, or M with transA; B: N, or K with transB); the
// others odd or 1. 260 rows take two row tiles of the subgroup variant (of 160 rows: 40 invocations × 4).
const ALIGNED_SHAPES: MatmulShape[] = [
  { M: 1, N: 4, K: 4 },
  { M: 1, N: 1, K: 8, transB: true },
  { M: 4, N: 4, K: 1, transA: true },
  { M: 4, N: 12, K: 7, transA: true },
  { M: 33, N: 20, K: 12 },
  { M: 260, N: 44, K: 8 },
  { M: 37, N: 13, K: 24, transB: true },
  { M: 260, N: 9, K: 16, transB: true },
  { M: 28, N: 36, K: 13, transA: true },
  { M: 12, N: 5, K: 20, transA: true, transB: true },
  { M: 9, N: 12, K: 16, batch: 3 },
  { M: 9, N: 8, K: 12, batch: 2, strideB: 0, transB: true },
];

/** The trainer's three layouts at a small size: forward (transB), dX (none), dW (transA, +=). */
const LAYOUTS: MatmulShape[] = [
  { M: 70, N: 36, K: 44, transB: true, bias: true, epilogue: 'gelu' },
  { M: 70, N: 44, K: 36 },
  { M: 36, N: 44, K: 70, transA: true, accumulate: true },
];

/** A not vec4-aligned (K, M with transA, or its batch stride), B aligned: subgroup_scalar_a's case. */
const UNALIGNED_A_SHAPES: MatmulShape[] = [
  { M: 37, N: 20, K: 30 },
  { M: 30, N: 12, K: 9, transA: true },
  { M: 18, N: 8, K: 262 },
  { M: 262, N: 36, K: 17, transA: true, accumulate: true },
  { M: 5, N: 8, K: 7, batch: 2, strideA: 37 },
  { M: 9, N: 44, K: 12, batch: 2, strideA: 110, bias: true, epilogue: 'gelu' },
];

function shapesFor(variant: MatmulVariant, shapes: MatmulShape[]): MatmulShape[] {
  if (variant === 'subgroup_scalar_a') return shapes.filter(matmulBAligned);
  return ALIGNED_ONLY.includes(variant) ? shapes.filter(matmulVec4Aligned) : shapes;
}

/** Whether the device runs this variant; lavapipe must run all of them (STYLE.md 16). */
async function runs(variant: MatmulVariant): Promise<boolean> {
  const { gpu } = await testGpu();
  const usable = usableMatmulVariants({ M: 8, N: 8, K: 8 }, gpu.limits);
  if (usable.includes(variant)) return true;
  const lavapipe = /llvmpipe|lavapipe/i.test(gpu.limits.adapter?.description ?? '');
  assert.ok(!lavapipe, `matmul ${variant} is not usable on lavapipe (features ${gpu.limits.features}, subgroup sizes ${gpu.limits.subgroupMinSize}..${gpu.limits.subgroupMaxSize}): it must be tested there`);
  console.log(`matmul ${variant}: not usable on this device (${gpu.limits.adapter?.description}); not run`);
  return false;
}

for (const variant of MATMUL_VARIANTS) {
  test(`matmul ${variant}: odd shapes, transposes, batches`, async () => {
    if (!(await runs(variant))) return;
    let seed = 10;
    const shapes = variant === 'subgroup_scalar_a' ? shapesFor(variant, [...UNALIGNED_A_SHAPES, ...ALIGNED_SHAPES, ...SHAPES]) : ALIGNED_ONLY.includes(variant) ? ALIGNED_SHAPES : SHAPES;
    for (const shape of shapes) await check(shape, variant, seed++);
  });

  test(`matmul ${variant}: bias and every epilogue, accumulate, alpha, the trainer's layouts`, async () => {
    if (!(await runs(variant))) return;
    const epilogues: Epilogue[] = ['none', 'gelu', 'gelu_tanh', 'relu', 'tanh'];
    let seed = 100;
    for (const epilogue of epilogues) await check({ M: 13, N: 20, K: 16, bias: true, epilogue }, variant, seed++);
    // Backward epilogues (C = product · act′(pre), pre read): plain, and accumulating in the dX layout.
    for (const epilogue of ['gelu_grad', 'gelu_tanh_grad', 'relu_grad'] as const) {
      await check({ M: 13, N: 20, K: 16, epilogue }, variant, seed++);
      await check({ M: 70, N: 44, K: 36, epilogue, accumulate: true }, variant, seed++);
    }
    for (const shape of shapesFor(variant, [
      { M: 10, N: 6, K: 8, accumulate: true, transA: true },
      { M: 12, N: 8, K: 7, accumulate: true, transA: true },
      { M: 5, N: 9, K: 8, alpha: 0.125, transB: true },
      ...LAYOUTS,
    ])) {
      await check(shape, variant, seed++);
    }
  });

  test(`matmul ${variant}: STORE_PRE writes the pre-activation with every epilogue`, async () => {
    if (!(await runs(variant))) return;
    const epilogues: Epilogue[] = ['none', 'gelu', 'gelu_tanh', 'relu', 'tanh'];
    let seed = 300;
    for (const epilogue of epilogues) {
      // The training forward layout (transB, bias), an odd-N one (scalar stores in the subgroup
      // variant), and accumulate + alpha (pre is still `=`).
      for (const shape of shapesFor(variant, [
        { M: 70, N: 36, K: 44, transB: true, bias: true, epilogue, storePre: true },
        { M: 37, N: 13, K: 24, transB: true, bias: true, epilogue, storePre: true },
        { M: 12, N: 8, K: 7, transA: true, bias: true, accumulate: true, alpha: 0.5, epilogue, storePre: true },
      ])) {
        await check(shape, variant, seed++);
      }
    }
  });

  test(`matmul ${variant}: grid folded over y when tiles exceed the per-dimension limit`, async () => {
    if (!(await runs(variant))) return;
    // Enough tiles for a fold in every variant (the subgroup tile is 256 × 32).
    const shape = { M: 300, N: 76, K: 8 };
    const { gpu } = await testGpu();
    const [x, y] = matmulLaunch(shape, gpu.limits, variant).workgroups;
    // The smallest limit whose square still holds every tile forces a fold over y.
    const limit = Math.ceil(Math.sqrt(x * y));
    const folded = matmulLaunch(shape, { ...gpu.limits, maxComputeWorkgroupsPerDimension: limit }, variant).workgroups;
    assert.ok(folded[1] > 1 && folded[0] <= limit, `grid ${folded} not folded under limit ${limit}`);
    await check(shape, variant, 200, { maxComputeWorkgroupsPerDimension: limit });
  });
}

test('matmul subgroup_scalar_a: bit-identical to subgroup where both run', async () => {
  const { gpu } = await testGpu();
  let seed = 900;
  for (const shape of [...LAYOUTS, { M: 70, N: 36, K: 44, transB: true, bias: true, epilogue: 'gelu', storePre: true }, { M: 9, N: 12, K: 16, batch: 3 }] as MatmulShape[]) {
    const batch = shape.batch ?? 1;
    const { M, N, K } = shape;
    const a = randomF32(batch * M * K, seed++);
    const b = randomF32(batch * K * N, seed++);
    const bias = randomF32(N, seed++);
    const c0 = randomF32(batch * M * N, seed++);
    const run = (variant: MatmulVariant) =>
      runLaunch(matmulLaunch(shape, gpu.limits, variant), [{ data: a }, { data: b }, { data: bias }, { data: shape.accumulate ? c0 : batch * M * N, read: 'f32' }, shape.storePre ? { data: batch * M * N, read: 'f32' } : { data: 4 }, { data: 4 }]);
    const plain = await run('subgroup');
    const scalar = await run('subgroup_scalar_a');
    assert.equal(Array.from(scalar.get(3)!), Array.from(plain.get(3)!), `C of ${JSON.stringify(shape)}`);
    if (shape.storePre) assert.equal(Array.from(scalar.get(4)!), Array.from(plain.get(4)!), `PRE of ${JSON.stringify(shape)}`);
  }
});

// A K past CPU_SPLIT_K_ABOVE runs in CPU_K_CHUNK chunks on a CPU adapter: chunk boundaries,
// a K that is not a multiple of 4 (the last slice clamped), accumulation, bias + epilogue +
// pre, batches, every layout and the scalar-A form. Each must match the reference and be
// bit-identical to one launch over all of K (the same sums in the same order).
test('matmul subgroup: a long K in chunks matches the reference and one launch, bit for bit', async () => {
  const { gpu } = await testGpu();
  if (!gpu.limits.adapter?.isCpu || !usableMatmulVariants({ M: 4, N: 4, K: 4 }, gpu.limits).includes('subgroup')) return;
  const K = CPU_SPLIT_K_ABOVE + 2 * CPU_K_CHUNK + 8;
  const shapes: [MatmulShape, MatmulVariant][] = [
    [{ M: 36, N: 12, K: K - 4, batch: 2, strideB: 0, transA: true, accumulate: true }, 'subgroup'],
    [{ M: 12, N: 40, K, transB: true, bias: true, epilogue: 'gelu', storePre: true }, 'subgroup'],
    [{ M: 7, N: 44, K: K - 3, bias: true, epilogue: 'tanh', accumulate: true }, 'subgroup_scalar_a'],
  ];
  let seed = 1300;
  for (const [shape, variant] of shapes) {
    const chunks = matmulLaunches(shape, gpu.limits, variant);
    assert.is(chunks.length, Math.ceil(shape.K / CPU_K_CHUNK), `chunks of ${JSON.stringify(shape)}`);
    await check(shape, variant, seed);
    const batch = shape.batch ?? 1;
    const { M, N } = shape;
    const sizeA = (batch - 1) * (shape.strideA ?? M * shape.K) + M * shape.K;
    const sizeB = Math.max(1, (batch - 1) * (shape.strideB ?? shape.K * N) + shape.K * N);
    const buffers = () => [
      { data: randomF32(sizeA, seed) },
      { data: randomF32(sizeB, seed + 1) },
      { data: randomF32(N, seed + 2) },
      { data: shape.accumulate ? randomF32(batch * M * N, seed + 3) : batch * M * N, read: 'f32' as const },
      shape.storePre ? { data: batch * M * N, read: 'f32' as const } : { data: 4 },
      { data: matmulPartialBytes(shape, gpu.limits, variant) / 4 },
    ];
    const split = await runLaunch(chunks, buffers());
    const whole = await runLaunch(matmulLaunch(shape, gpu.limits, variant), buffers());
    assert.equal(Array.from(split.get(3)!), Array.from(whole.get(3)!), `C of ${variant} ${JSON.stringify(shape)}`);
    if (shape.storePre) assert.equal(Array.from(split.get(4)!), Array.from(whole.get(4)!), `PRE of ${JSON.stringify(shape)}`);
    seed += 10;
  }
});

// Row sums of op(A) in the subgroup product's own launch (a fused bias gradient: db = Σ_k dYᵀ[m, k]):
// A in both layouts, K not a multiple of 4, several row and column tiles, N odd (scalar C stores) and
// a multiple of 4 (vec4 stores), `=` and `+=`; C stays what it was without them. Where the kernel
// cannot (another variant, a K chunk, a batch) the launch refuses.
test('matmul subgroup: row sums of op(A) alongside the product (fused bias gradient)', async () => {
  const { gpu } = await testGpu();
  if (!usableMatmulVariants({ M: 4, N: 4, K: 4 }, gpu.limits).includes('subgroup')) return;
  const shapes: MatmulShape[] = [
    { M: 36, N: 44, K: 70, transA: true, accumulate: true },
    { M: 260, N: 37, K: 16, transA: true, transB: true },
    { M: 12, N: 8, K: 1, transA: true, accumulate: true },
    { M: 33, N: 68, K: 24 },
  ];
  let seed = 1500;
  for (const base of shapes) {
    for (const rowSumAccumulate of [false, true]) {
      const shape: MatmulShape = { ...base, rowSum: true, rowSumAccumulate };
      const { M, N, K } = shape;
      assert.ok(matmulRowSumFits(shape, gpu.limits, 'subgroup'), JSON.stringify(shape));
      const a = randomF32(M * K, seed);
      const b = randomF32(K * N, seed + 1);
      const c0 = randomF32(M * N, seed + 3);
      const sums0 = randomF32(M, seed + 5);
      const launch = matmulLaunch(shape, gpu.limits, 'subgroup');
      assert.ok(launch.pipeline.entry.startsWith('matmul_subgroup_row_sum'), launch.pipeline.entry);
      const out = await runLaunch(launch, [{ data: a }, { data: b }, { data: 4 }, { data: shape.accumulate ? c0 : M * N, read: 'f32' }, { data: 4 }, { data: 4 }, { data: rowSumAccumulate ? sums0 : M, read: 'f32' }]);
      const context = `row sums ${JSON.stringify(shape)}`;
      assertClose(out.get(3)!, matmulReference(a, b, shape, undefined, shape.accumulate ? c0 : undefined), { atol: 1e-4 * Math.sqrt(K), rtol: 1e-4 }, `${context} C`);
      const sums = rowSumReference(a, M, K, shape.transA ?? false);
      if (rowSumAccumulate) sums.forEach((v, i) => (sums[i] = v + sums0[i]!));
      assertClose(out.get(6)!, sums, { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 }, `${context} sums`);
      seed += 10;
    }
  }
  const dw: MatmulShape = { M: 36, N: 44, K: 70, transA: true, rowSum: true };
  assert.not.ok(matmulRowSumFits(dw, gpu.limits, 'blocked'));
  assert.not.ok(matmulRowSumFits({ ...dw, batch: 2 }, gpu.limits, 'subgroup'));
  assert.throws(() => matmulLaunch(dw, gpu.limits, 'blocked'), /row sums need the subgroup variant/);
  if (gpu.limits.adapter?.isCpu) assert.not.ok(matmulRowSumFits({ ...dw, K: CPU_SPLIT_K_ABOVE + 4 }, gpu.limits, 'subgroup'));
});

test('matmul: usable variants and the heuristic', () => {
  const cpu: DeviceLimits = {
    ...DEFAULT_LIMITS,
    features: ['subgroups'],
    subgroupMinSize: 8,
    subgroupMaxSize: 8,
    adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe', isCpu: true },
  };
  const gpu: DeviceLimits = { ...cpu, subgroupMinSize: 32, subgroupMaxSize: 32, adapter: { vendor: 'nvidia', architecture: '', description: '', isCpu: false } };
  const aligned: MatmulShape = { M: 4096, N: 768, K: 768, transB: true };
  const odd: MatmulShape = { M: 4096, N: 30522, K: 30522 };
  assert.equal(usableMatmulVariants(aligned, cpu), [...MATMUL_VARIANTS]);
  // f16 operands take the same kernels.
  const half: MatmulShape = { ...aligned, dtype: 'f16' };
  assert.equal(usableMatmulVariants(half, cpu), [...MATMUL_VARIANTS]);
  assert.is(pickMatmulVariant(half, cpu, {}), 'subgroup');
  assert.is(pickMatmulVariant(half, gpu, {}), 'tiled');
  assert.is(matmulLaunch(half, cpu, 'subgroup').pipeline.entry, 'matmul_subgroup_c4');
  assert.is(matmulLaunch({ M: 37, N: 13, K: 24, transB: true, dtype: 'f16' }, cpu, 'subgroup').pipeline.entry, 'matmul_subgroup');
  assert.equal(usableMatmulVariants(odd, cpu), ['naive', 'blocked', 'tiled']);
  // BERT's decoder gradients: A's contiguous dim is the 30,522-word vocabulary, B is aligned.
  const decoderDx: MatmulShape = { M: 640, N: 768, K: 30522 };
  const decoderDw: MatmulShape = { M: 30522, N: 768, K: 640, transA: true, accumulate: true };
  for (const shape of [decoderDx, decoderDw]) {
    assert.equal(usableMatmulVariants(shape, cpu), ['naive', 'blocked', 'subgroup_scalar_a', 'tiled']);
    assert.is(pickMatmulVariant(shape, cpu, {}), 'subgroup_scalar_a');
    assert.is(pickMatmulVariant(shape, gpu, {}), 'tiled');
  }
  assert.is(matmulLaunch(decoderDx, cpu, 'subgroup_scalar_a').pipeline.entry, 'matmul_subgroup_scalar_a_c4');
  // Not for a K of a few slices (the NSP head's gradient, K = 2).
  assert.is(pickMatmulVariant({ M: 16, N: 128, K: 2 }, cpu, {}), 'blocked');
  assert.throws(() => matmulLaunch(odd, cpu, 'subgroup_scalar_a'), /B's contiguous dim/);
  // Where subgroup runs, the scalar-A form is not worth timing.
  assert.not.ok(tunableMatmulVariants(aligned, cpu).includes('subgroup_scalar_a'));
  assert.ok(tunableMatmulVariants(decoderDx, cpu).includes('subgroup_scalar_a'));
  assert.is(pickMatmulVariant(aligned, cpu, {}), 'subgroup');
  assert.is(pickMatmulVariant(aligned, { ...cpu, features: [] }, {}), 'vec4');
  assert.is(pickMatmulVariant(odd, cpu, {}), 'blocked');
  assert.is(pickMatmulVariant(aligned, gpu, {}), 'tiled');
  assert.is(pickMatmulVariant({ M: 1, N: 768, K: 768 }, cpu, {}), 'naive');
  // Subgroups smaller than 8, or unknown sizes, rule the subgroup kernel out.
  assert.not.ok(usableMatmulVariants(aligned, { ...cpu, subgroupMinSize: 4 }).includes('subgroup'));
  assert.not.ok(usableMatmulVariants(aligned, { ...cpu, subgroupMinSize: undefined }).includes('subgroup'));
  // Short matrices get a smaller subgroup workgroup (4 rows per invocation), a multiple of the
  // largest subgroup size.
  assert.is(matmulSubgroupWorkgroup(1, cpu), 8);
  assert.is(matmulSubgroupWorkgroup(32, cpu), 8);
  assert.is(matmulSubgroupWorkgroup(33, cpu), 16);
  assert.is(matmulSubgroupWorkgroup(4096, cpu), 64);
  // Longer ones split into as few 256-row tiles as before, each just wide enough: 384 rows in
  // two tiles of 48 invocations (not 512 rows), 640 in three of 56 (672 rows, not 768).
  assert.is(matmulSubgroupWorkgroup(384, cpu), 48);
  assert.is(matmulSubgroupWorkgroup(640, cpu), 56);
  assert.is(matmulSubgroupWorkgroup(257, cpu), 40);
  assert.is(matmulSubgroupWorkgroup(30522, cpu), 64);
  assert.equal(matmulLaunch({ M: 384, N: 128, K: 1024, transA: true }, cpu, 'subgroup').workgroups, [2 * 4, 1, 1]);
  assert.is(matmulSubgroupWorkgroup(384, gpu), 64);
  // A K past CPU_SPLIT_K_ABOVE is split for the subgroup variants on a CPU adapter only.
  const dw = { M: 768, N: 768, K: 4096, transA: true, accumulate: true };
  assert.is(matmulKChunk(dw, cpu, 'subgroup'), CPU_K_CHUNK);
  assert.is(matmulKChunk({ ...dw, K: CPU_SPLIT_K_ABOVE }, cpu, 'subgroup'), CPU_SPLIT_K_ABOVE);
  assert.is(matmulKChunk(dw, gpu, 'subgroup'), 4096);
  assert.is(matmulKChunk(dw, cpu, 'vec4'), 4096);
  const chunks = matmulLaunches(dw, cpu, 'subgroup');
  assert.equal(chunks.map((l) => l.uniforms.slice(8)), [[0, 1024], [1024, 2048], [2048, 3072], [3072, 4096]]);
  assert.equal(chunks.map((l) => [l.pipeline.overrides.PARTIAL_IN, l.pipeline.overrides.PARTIAL_OUT]), [[0, 1], [1, 1], [1, 1], [1, 0]]);
  assert.is(chunks.reduce((s, l) => s + l.flops, 0), 2 * 768 * 768 * 4096);
  assert.is(matmulPartialBytes(dw, cpu, 'subgroup'), 768 * 768 * 4);
  assert.is(matmulPartialBytes({ ...dw, K: 1024 }, cpu, 'subgroup'), 16);
  assert.throws(() => matmulLaunch(dw, cpu, 'subgroup', { begin: 2, end: 1024, partialIn: true, partialOut: true, partialBytes: 16 }), /multiples of 4/);
  assert.throws(() => matmulLaunch(dw, cpu, 'vec4', { begin: 0, end: 1024, partialIn: false, partialOut: true, partialBytes: 16 }), /only the subgroup variants/);
  assert.is(matmulSubgroupWorkgroup(32, gpu), 32);
  assert.is(matmulLaunch({ M: 32, N: 768, K: 768 }, cpu, 'subgroup').pipeline.overrides.WG, 8);
  // Whole 4-deep k-slices let the subgroup kernel skip clamping k (K_ALIGNED); the shapes above
  // with K = 7 or 31 and transA run the clamped loads on the device.
  assert.is(matmulLaunch({ M: 512, N: 128, K: 1024, transA: true }, cpu, 'subgroup').pipeline.overrides.K_ALIGNED, 1);
  assert.is(matmulLaunch({ M: 12, N: 8, K: 7, transA: true }, cpu, 'subgroup').pipeline.overrides.K_ALIGNED, 0);
  // STORE_PRE: an override, and one more M×N write in the traffic.
  const stored = matmulLaunch({ M: 32, N: 64, K: 16, epilogue: 'gelu', storePre: true }, cpu, 'blocked');
  assert.is(stored.pipeline.overrides.STORE_PRE, 1);
  assert.is(stored.bytes, 4 * (32 * 16 + 16 * 64 + 2 * 32 * 64));
  assert.is(matmulLaunch({ M: 32, N: 64, K: 16 }, cpu, 'blocked').pipeline.overrides.STORE_PRE, 0);
  // The subgroup tile is 4 rows per invocation × 32 columns; C is stored as vec4s when every
  // row and batch of C starts on a vec4 (the odd-N and odd-stride shapes above run the scalar
  // stores on the device).
  assert.equal(matmulLaunch({ M: 1024, N: 128, K: 128, transB: true }, cpu, 'subgroup').workgroups, [4 * 4, 1, 1]);
  assert.is(matmulLaunch({ M: 1024, N: 128, K: 128, transB: true }, cpu, 'subgroup').pipeline.entry, 'matmul_subgroup_c4');
  assert.is(matmulLaunch({ M: 37, N: 13, K: 24, transB: true }, cpu, 'subgroup').pipeline.entry, 'matmul_subgroup');
  assert.is(matmulLaunch({ M: 8, N: 12, K: 8, batch: 2, strideC: 98 }, cpu, 'subgroup').pipeline.entry, 'matmul_subgroup');
  // A forced variant wins only where usable.
  assert.is(pickMatmulVariant(aligned, cpu, { matmul: 'tiled' }), 'tiled');
  assert.is(pickMatmulVariant(odd, cpu, { matmul: 'subgroup' }), 'blocked');
});

test.run();
