// Optimizer kernels against the float64 references: global gradient norm (sumsq_partial and its
// many-range form sumsq_partial_segments, bit-identical to it, + grad_norm_finalize), AdamW (every variant, t = 1..5, bias correction on/off, wd 0/0.01,
// clipping, odd offsets and lengths 1, 7, 1000, 5000), LAMB (both stages, trust ratio incl. zero
// norms), the nonfinite skip guarantee (p, m, v, partials bit-identical), elements outside the
// range bit-identical, ZERO_GRAD on/off, a grid folded over y, AdamW over a run of tensors
// bit-identical to per-tensor updates, and bit-identical reruns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADAMW_VARIANTS,
  adamwUpdateLaunch,
  gradNormFinalizeLaunch,
  lambApplyLaunch,
  lambMomentsLaunch,
  lambPartialSlots,
  reductionChunks,
  sumsqPartialLaunch,
  sumsqPartialSlots,
  sumsqSegmentsLaunch,
  type AdamwVariant,
  type LambShape,
} from '../../src/compiler/kernels/optimizer.js';
import { adamwUpdateReference, gradNormReference, lambUpdateReference } from '../../src/graph/ops/optimizer.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import type { DeviceLimits } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

interface F32State {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-6 };
const TOL = { atol: 1e-6, rtol: 2e-5 };

/** Arena of `offset + length` elements plus a tail, padded to whole vec4s (16-byte bindings). */
function arenaLength(offset: number, length: number): number {
  return Math.ceil((offset + length + 5) / 4) * 4;
}

function randomState(n: number, seed: number): F32State {
  const v = randomF32(n, seed + 3, 0.01).map(Math.abs);
  return { p: randomF32(n, seed), g: randomF32(n, seed + 1), m: randomF32(n, seed + 2, 0.1), v };
}

function stepState(step: number, lr: number): Uint32Array {
  return encodeStepState({ step, lr, seed: 0, microStep: 0, mlmScale: 0, nspScale: 0 });
}

function normState(clipScale: number, nonfinite = false): Float32Array {
  return new Float32Array([1, clipScale, nonfinite ? 1 : 0, 1]);
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Elements outside [offset, offset + length) are bit-identical to `before`. */
function assertOutsideUntouched(got: Float32Array, before: Float32Array, offset: number, length: number, context: string): void {
  const g = bits(got);
  const b = bits(before);
  for (let i = 0; i < before.length; i++) {
    if (i >= offset && i < offset + length) continue;
    if (g[i] !== b[i]) assert.unreachable(`${context}: element ${i} outside the range changed: ${before[i]} → ${got[i]}`);
  }
}

function assertBitsEqual(got: Float32Array, want: Float32Array, context: string): void {
  const g = bits(got);
  const w = bits(want);
  assert.is(g.length, w.length, `${context}: length`);
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) assert.unreachable(`${context}: [${i}] ${want[i]} vs ${got[i]} (bits differ)`);
  }
}

function assertZeroed(got: Float32Array, before: Float32Array, offset: number, length: number, zeroed: boolean, context: string): void {
  const want = before.slice();
  if (zeroed) want.fill(0, offset, offset + length);
  assertBitsEqual(got, want, `${context} grads`);
}

async function runAdamw(s: F32State, launch: ReturnType<typeof adamwUpdateLaunch>, step: Uint32Array, norm: Float32Array): Promise<F32State> {
  const out = await runLaunch(launch, [
    { data: s.p, read: 'f32' },
    { data: s.g, read: 'f32' },
    { data: s.m, read: 'f32' },
    { data: s.v, read: 'f32' },
    { data: step },
    { data: norm },
  ]);
  return { p: out.get(0) as Float32Array, g: out.get(1) as Float32Array, m: out.get(2) as Float32Array, v: out.get(3) as Float32Array };
}

/** Both LAMB stages; returns the state after stage 2 and the partials between them. */
async function runLamb(s: F32State, shape: LambShape, limits: DeviceLimits, step: Uint32Array, norm: Float32Array, partials0?: Float32Array): Promise<{ state: F32State; partials: Float32Array; afterMoments: F32State }> {
  const slots = shape.slot + 2 * lambPartialSlots(shape, limits);
  const partialsIn = partials0 ?? new Float32Array(slots + 3).fill(-7);
  const one = await runLaunch(lambMomentsLaunch(shape, limits), [
    { data: s.p, read: 'f32' },
    { data: s.g, read: 'f32' },
    { data: s.m, read: 'f32' },
    { data: s.v, read: 'f32' },
    { data: step },
    { data: norm },
    { data: partialsIn, read: 'f32' },
  ]);
  const mid: F32State = { p: one.get(0) as Float32Array, g: one.get(1) as Float32Array, m: one.get(2) as Float32Array, v: one.get(3) as Float32Array };
  const partials = one.get(6) as Float32Array;
  const two = await runLaunch(lambApplyLaunch(shape, limits), [
    { data: mid.p, read: 'f32' },
    { data: mid.g, read: 'f32' },
    { data: mid.m, read: 'f32' },
    { data: mid.v, read: 'f32' },
    { data: step },
    { data: norm },
    { data: partials, read: 'f32' },
  ]);
  const state = { p: two.get(0) as Float32Array, g: two.get(1) as Float32Array, m: two.get(2) as Float32Array, v: two.get(3) as Float32Array };
  return { state, partials, afterMoments: mid };
}

const RANGES = [
  { offset: 0, length: 1 },
  { offset: 3, length: 7 },
  { offset: 5, length: 1000 },
  { offset: 8, length: 1024 },
  { offset: 2, length: 5000 },
];

for (const variant of ADAMW_VARIANTS) {
  test(`adamw_update ${variant}: t = 1..5, bias correction on/off, wd 0 and 0.01, clipping, odd ranges`, async () => {
    const { gpu } = await testGpu();
    let seed = 1000;
    let combo = 0;
    for (const range of RANGES) {
      for (const biasCorrection of [true, false]) {
        const weightDecay = combo % 2 === 0 ? 0.01 : 0;
        const clipScale = combo % 3 === 0 ? 0.37 : 1;
        combo++;
        const hyper = { ...HYPER, weightDecay, biasCorrection };
        const launch = adamwUpdateLaunch({ ...range, ...hyper }, gpu.limits, variant as AdamwVariant);
        let state = randomState(arenaLength(range.offset, range.length), seed++);
        for (let t = 1; t <= 5; t++) {
          // A fresh accumulated gradient each step, the moments and parameters carried over.
          state = { ...state, g: randomF32(state.p.length, seed++) };
          const lr = 0.01 / t;
          const got = await runAdamw(state, launch, stepState(t, lr), normState(clipScale));
          const ref = adamwUpdateReference(state, range, hyper, { step: t, lr, clipScale });
          const ctx = `adamw ${variant} ${JSON.stringify({ ...range, t, biasCorrection, weightDecay, clipScale })}`;
          assertClose(got.p, ref.p, TOL, `${ctx} p`);
          assertClose(got.m, ref.m, TOL, `${ctx} m`);
          assertClose(got.v, ref.v, TOL, `${ctx} v`);
          for (const k of ['p', 'm', 'v'] as const) assertOutsideUntouched(got[k], state[k], range.offset, range.length, `${ctx} ${k}`);
          assertZeroed(got.g, state.g, range.offset, range.length, true, ctx);
          state = got;
        }
      }
    }
  });

  test(`adamw_update ${variant}: nonfinite norm state leaves p, m, v bit-identical; ZERO_GRAD off keeps g`, async () => {
    const { gpu } = await testGpu();
    const range = { offset: 3, length: 1000 };
    const state = randomState(arenaLength(range.offset, range.length), 77);
    for (const zeroGrad of [true, false]) {
      const launch = adamwUpdateLaunch({ ...range, ...HYPER, weightDecay: 0.01, biasCorrection: true, zeroGrad }, gpu.limits, variant as AdamwVariant);
      const skipped = await runAdamw(state, launch, stepState(3, 0.01), normState(1, true));
      for (const k of ['p', 'm', 'v'] as const) assertBitsEqual(skipped[k], state[k], `adamw ${variant} skipped step ${k}`);
      assertZeroed(skipped.g, state.g, range.offset, range.length, zeroGrad, `adamw ${variant} skipped step zeroGrad=${zeroGrad}`);
      // Without the skip and without ZERO_GRAD the update happens and g is untouched.
      const stepped = await runAdamw(state, launch, stepState(3, 0.01), normState(1));
      const ref = adamwUpdateReference(state, range, { ...HYPER, weightDecay: 0.01, biasCorrection: true }, { step: 3, lr: 0.01, zeroGrad });
      assertClose(stepped.p, ref.p, TOL, `adamw ${variant} zeroGrad=${zeroGrad} p`);
      assertZeroed(stepped.g, state.g, range.offset, range.length, zeroGrad, `adamw ${variant} zeroGrad=${zeroGrad}`);
    }
  });
}

test('adamw_update: bias corrections 1 − βᵗ to f32 precision for t up to 1e6 (p = 0 isolates the step)', async () => {
  const { gpu } = await testGpu();
  const range = { offset: 0, length: 8 };
  const base = randomState(arenaLength(0, 8), 810);
  const state = { ...base, p: new Float32Array(base.p.length) };
  for (const [beta1, beta2] of [[0.9, 0.999], [0.9, 0.98], [0.5, 0.75], [0.99, 0.9999]] as const) {
    const hyper = { beta1, beta2, eps: 1e-8, weightDecay: 0, biasCorrection: true };
    for (const variant of ADAMW_VARIANTS) {
      const launch = adamwUpdateLaunch({ ...range, ...hyper }, gpu.limits, variant);
      for (const t of [1, 2, 5, 20, 100, 1000, 10_000, 1_000_000]) {
        const got = await runAdamw(state, launch, stepState(t, 0.01), normState(1));
        const ref = adamwUpdateReference(state, range, hyper, { step: t, lr: 0.01 });
        // 1 − pow(f32(0.999), 1) would be 1.3e-5 off; the kernel's series keep it at f32 rounding.
        assertClose(got.p, ref.p, { atol: 0, rtol: 2e-6 }, `adamw ${variant} β=(${beta1}, ${beta2}) t=${t} p`);
      }
    }
  }
});

test('adamw_update vec4: GPU split (many chunks), grid folded over y by a small per-dimension limit', async () => {
  const { gpu } = await testGpu();
  const range = { offset: 1, length: 5000 };
  const hyper = { ...HYPER, weightDecay: 0.01, biasCorrection: true };
  const limits = { ...gpuSplit(gpu.limits), maxComputeWorkgroupsPerDimension: 3 };
  const launch = adamwUpdateLaunch({ ...range, ...hyper }, limits, 'vec4');
  assert.ok(launch.workgroups[1] > 1 && launch.workgroups[0] <= 3, `grid ${launch.workgroups} not folded`);
  const state = randomState(arenaLength(range.offset, range.length), 91);
  const got = await runAdamw(state, launch, stepState(2, 0.01), normState(1));
  const ref = adamwUpdateReference(state, range, hyper, { step: 2, lr: 0.01 });
  assertClose(got.p, ref.p, TOL, 'adamw folded p');
  assertClose(got.v, ref.v, TOL, 'adamw folded v');
});

/** sumsq_partial over each range into consecutive slots, then grad_norm_finalize. */
async function gradNorm(grads: { data: Float32Array; offset: number; length: number }[], maxNorm: number, limits: DeviceLimits, lossScale = 1): Promise<{ norm: Float32Array; partials: Float32Array }> {
  const total = grads.reduce((n, r) => n + sumsqPartialSlots(r, limits), 0);
  let partials: Float32Array = new Float32Array(total + 2).fill(-1);
  let slot = 0;
  for (const r of grads) {
    const out = await runLaunch(sumsqPartialLaunch({ offset: r.offset, length: r.length, slot }, limits), [{ data: r.data }, { data: partials, read: 'f32' }]);
    partials = out.get(1) as Float32Array;
    slot += sumsqPartialSlots(r, limits);
  }
  const state = encodeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1, nspScale: 1, lossScale });
  const fin = await runLaunch(gradNormFinalizeLaunch({ count: total, maxNorm }, limits), [{ data: partials }, { data: new Float32Array(4), read: 'f32' }, { data: state }]);
  return { norm: fin.get(1) as Float32Array, partials };
}

function gradRanges(seed: number): { data: Float32Array; offset: number; length: number }[] {
  return RANGES.map((r, i) => ({ data: randomF32(arenaLength(r.offset, r.length), seed + i, 0.5), ...r }));
}

/** The same device planned as a GPU (isCpu false): small chunks, many workgroups. */
function gpuSplit(limits: DeviceLimits): DeviceLimits {
  return { ...limits, adapter: { vendor: '', architecture: '', description: '', isCpu: false } };
}

test('grad norm: sumsq_partial + grad_norm_finalize, clipping on and off, CPU and GPU splits', async () => {
  const { gpu } = await testGpu();
  const grads = [...gradRanges(300), { data: randomF32(40_008, 310, 0.5), offset: 4, length: 40_001 }];
  for (const [maxNorm, limits] of [[0, gpu.limits], [1, gpu.limits], [1e6, gpu.limits], [1, gpuSplit(gpu.limits)]] as const) {
    const { norm, partials } = await gradNorm(grads, maxNorm, limits);
    const ref = gradNormReference(grads, maxNorm);
    assertClose(norm, [ref.norm, ref.clipScale, 0, ref.sumsq], { atol: 0, rtol: 1e-5 }, `grad norm maxNorm=${maxNorm} isCpu=${limits.adapter?.isCpu}`);
    if (maxNorm === 1) assert.ok(ref.clipScale < 0.1, 'the test clips');
    if (maxNorm === 0 || maxNorm === 1e6) assert.is(norm[1], 1);
    assert.is(partials[partials.length - 1], -1, 'slots past the last range untouched');
  }
  // The reduction split: at least one slot, at most the cap, chunks that cover the range.
  for (const length of [0, 1, 2048, 2049, 3_000_000, 40_000_000]) {
    const { chunk, count } = reductionChunks({ offset: 3, length }, 1024);
    assert.ok(count >= 1 && count <= 1024 && chunk * count * 4 >= length, `split of ${length}: ${chunk}×${count}`);
  }
});

test('sumsq_partial_segments: many ranges of one slice in one dispatch write the partials of one sumsq_partial per range, bit for bit', async () => {
  const { gpu } = await testGpu();
  // Tensors laid out as the memory planner does (16-byte aligned offsets, padding between them),
  // their slots in another order than their offsets (slots follow graph order, the dispatch goes
  // by memory); odd lengths; one past a CPU chunk and one past the GPU cap on partials.
  const layout = [
    { offset: 4096, length: 7 },
    { offset: 0, length: 1 },
    { offset: 8, length: 1000 },
    { offset: 1024, length: 2049 },
    { offset: 4104, length: 40_001 },
  ];
  const arena = randomF32(arenaLength(4104, 40_001), 420, 0.5);
  for (const limits of [gpu.limits, gpuSplit(gpu.limits)]) {
    const slots = layout.reduce((n, r) => n + sumsqPartialSlots(r, limits), 0);
    let want: Float32Array = new Float32Array(3 + slots + 2).fill(-1);
    let slot = 3;
    for (const r of layout) {
      want = (await runLaunch(sumsqPartialLaunch({ ...r, slot }, limits), [{ data: arena }, { data: want, read: 'f32' }])).get(1) as Float32Array;
      slot += sumsqPartialSlots(r, limits);
    }
    // The ranges in memory order, each with its slot (the slots follow the layout's order).
    const slotted = layout.map((r, i) => ({ ...r, slot: 3 + layout.slice(0, i).reduce((n, q) => n + sumsqPartialSlots(q, limits), 0) }));
    const launch = sumsqSegmentsLaunch({ segments: [...slotted].sort((a, b) => a.offset - b.offset) }, limits);
    const got = (await runLaunch(launch, [{ data: arena }, { data: new Float32Array(want.length).fill(-1), read: 'f32' }])).get(1) as Float32Array;
    assertBitsEqual(got, want, `sumsq segments isCpu=${limits.adapter?.isCpu} (${launch.workgroups} workgroups)`);
    assert.is(got[0], -1, 'slots before `slot` untouched');
    assert.is(got[got.length - 1], -1, 'slots past the last range untouched');
  }
  assert.throws(() => sumsqSegmentsLaunch({ segments: [{ offset: 2, length: 5, slot: 0 }] }, gpu.limits), /not a multiple of 4/);
  assert.throws(() => sumsqSegmentsLaunch({ segments: Array.from({ length: 65 }, (_, i) => ({ offset: 4 * i, length: 1, slot: i })) }, gpu.limits), /1 to 64 ranges/);
});

test('adamw_update over a run of tensors (zero padding between them) equals one update per tensor, bit for bit', async () => {
  const { gpu } = await testGpu();
  const tensors = [{ offset: 0, length: 5 }, { offset: 8, length: 1000 }, { offset: 1008, length: 3 }];
  const n = arenaLength(1011, 0);
  const state = randomState(n, 930);
  // The planner's padding (elements 5..7 and 1011..) is zero in every arena.
  for (const k of ['p', 'g', 'm', 'v'] as const) for (const i of [5, 6, 7, ...Array.from({ length: n - 1011 }, (_, j) => 1011 + j)]) state[k][i] = 0;
  const hyper = { ...HYPER, weightDecay: 0.01, biasCorrection: true };
  for (const variant of ADAMW_VARIANTS) {
    let each = state;
    for (const r of tensors) each = await runAdamw(each, adamwUpdateLaunch({ ...r, ...hyper }, gpu.limits, variant), stepState(4, 0.01), normState(0.5));
    const run = await runAdamw(state, adamwUpdateLaunch({ offset: 0, length: 1011, ...hyper }, gpu.limits, variant), stepState(4, 0.01), normState(0.5));
    for (const k of ['p', 'g', 'm', 'v'] as const) assertBitsEqual(run[k], each[k], `adamw ${variant} run vs per tensor: ${k}`);
  }
});

test('grad norm with a loss scale S: the norm of the unscaled gradients, the clip factor divided by S, exactly', async () => {
  const { gpu } = await testGpu();
  const grads = gradRanges(350);
  const S = 2 ** 12;
  const scaled = grads.map((r) => ({ ...r, data: r.data.map((x) => x * S) }));
  for (const maxNorm of [0, 1]) {
    const plain = (await gradNorm(grads, maxNorm, gpu.limits)).norm;
    const { norm } = await gradNorm(scaled, maxNorm, gpu.limits, S);
    // Scaling by a power of two is exact, so the unscaled norm is bit for bit the plain one.
    assertBitsEqual(norm.subarray(0, 1), plain.subarray(0, 1), `norm maxNorm=${maxNorm}`);
    assertBitsEqual(norm.subarray(1, 2), new Float32Array([plain[1]! / S]), `clip maxNorm=${maxNorm}`);
    const ref = gradNormReference(scaled, maxNorm, S);
    assertClose(norm.subarray(0, 2), [ref.norm, ref.clipScale], { atol: 0, rtol: 1e-5 }, `reference maxNorm=${maxNorm}`);
  }
  // A scale too large overflows the f32 sum of squares: the step is flagged (and skipped).
  const { norm } = await gradNorm(grads.map((r) => ({ ...r, data: r.data.map((x) => x * 2 ** 70) })), 1, gpu.limits, 2 ** 70);
  assert.is(norm[2], 1);
});

test('grad norm: NaN or Inf gradients set the nonfinite flag; the update then leaves everything untouched', async () => {
  const { gpu } = await testGpu();
  for (const bad of [NaN, Infinity, -Infinity, 3e30]) {
    const grads = gradRanges(400);
    grads[2]!.data[grads[2]!.offset + 500] = bad; // 3e30² overflows the f32 sum: also nonfinite
    const { norm } = await gradNorm(grads, 1, gpu.limits);
    assert.is(norm[2], 1, `nonfinite flag for ${bad}`);
    assert.is(norm[1], 1, `clip scale 1 for ${bad}`);
    assert.ok(gradNormReference(grads, 1).nonfinite, `reference flags ${bad}`);
    // End to end: that norm state into AdamW and LAMB.
    const range = RANGES[2]!;
    const state = { ...randomState(grads[2]!.data.length, 401), g: grads[2]!.data };
    for (const variant of ADAMW_VARIANTS) {
      const got = await runAdamw(state, adamwUpdateLaunch({ ...range, ...HYPER, weightDecay: 0.01, biasCorrection: true }, gpu.limits, variant), stepState(1, 0.01), norm);
      for (const k of ['p', 'm', 'v'] as const) assertBitsEqual(got[k], state[k], `adamw ${variant} after ${bad} ${k}`);
    }
    const partials0 = new Float32Array(2 * lambPartialSlots(range, gpu.limits) + 3).fill(-7);
    const lamb = await runLamb(state, { ...range, ...HYPER, weightDecay: 0.01, biasCorrection: true, slot: 0 }, gpu.limits, stepState(1, 0.01), norm, partials0);
    for (const k of ['p', 'm', 'v'] as const) assertBitsEqual(lamb.state[k], state[k], `lamb after ${bad} ${k}`);
    assertBitsEqual(lamb.partials, partials0, `lamb partials after ${bad}`);
    assertZeroed(lamb.state.g, state.g, range.offset, range.length, true, `lamb after ${bad}`);
  }
});

test('lamb: both stages vs reference, t = 1..5, bias correction, wd, trust ratio modes, odd ranges', async () => {
  const { gpu } = await testGpu();
  let seed = 2000;
  let combo = 0;
  for (const range of RANGES) {
    for (const biasCorrection of [true, false]) {
      const weightDecay = combo % 2 === 0 ? 0.01 : 0;
      const trustNoDecay = combo % 4 < 2;
      const clipScale = combo % 3 === 0 ? 0.5 : 1;
      combo++;
      const hyper = { ...HYPER, weightDecay, biasCorrection, trustNoDecay };
      const slot = 3; // odd slot base: the partials of other tensors come first
      const shape: LambShape = { ...range, ...hyper, slot };
      let state = randomState(arenaLength(range.offset, range.length), seed++);
      for (let t = 1; t <= 5; t++) {
        state = { ...state, g: randomF32(state.p.length, seed++) };
        const lr = 0.02;
        const { state: got, partials } = await runLamb(state, shape, gpu.limits, stepState(t, lr), normState(clipScale));
        const ref = lambUpdateReference(state, range, hyper, { step: t, lr, clipScale });
        const ctx = `lamb ${JSON.stringify({ ...range, t, biasCorrection, weightDecay, trustNoDecay, clipScale })}`;
        assertClose(got.p, ref.p, TOL, `${ctx} p`);
        assertClose(got.m, ref.m, TOL, `${ctx} m`);
        assertClose(got.v, ref.v, TOL, `${ctx} v`);
        for (const k of ['p', 'm', 'v'] as const) assertOutsideUntouched(got[k], state[k], range.offset, range.length, `${ctx} ${k}`);
        assertZeroed(got.g, state.g, range.offset, range.length, true, ctx);
        // The partials hold Σp², Σu² of this tensor.
        const count = lambPartialSlots(range, gpu.limits);
        let pp = 0;
        let uu = 0;
        for (let i = 0; i < count; i++) {
          pp += partials[slot + i]!;
          uu += partials[slot + count + i]!;
        }
        assertClose([Math.sqrt(pp), Math.sqrt(uu)], [ref.paramNorm, ref.updateNorm], { atol: 0, rtol: 1e-5 }, `${ctx} norms`);
        assert.is(partials[0], -7, `${ctx}: slots before the tensor untouched`);
        state = got;
      }
    }
  }
});

test('lamb: many partial slots per tensor (the CPU cap of 8 and the GPU split)', async () => {
  const { gpu } = await testGpu();
  const range = { offset: 1, length: 70_000 };
  const hyper = { ...HYPER, weightDecay: 0.01, biasCorrection: true, trustNoDecay: true };
  const state = randomState(arenaLength(range.offset, range.length), 450);
  for (const isCpu of [true, false]) {
    const limits = isCpu ? { ...gpu.limits, adapter: { vendor: '', architecture: '', description: '', isCpu } } : gpuSplit(gpu.limits);
    const count = lambPartialSlots(range, limits);
    assert.ok(isCpu ? count === 8 : count > 8, `isCpu=${isCpu}: ${count} slots`);
    const { state: got } = await runLamb(state, { ...range, ...hyper, slot: 1 }, limits, stepState(2, 0.01), normState(0.8));
    const ref = lambUpdateReference(state, range, hyper, { step: 2, lr: 0.01, clipScale: 0.8 });
    assertClose(got.p, ref.p, TOL, `lamb isCpu=${isCpu} p`);
    assertClose(got.v, ref.v, TOL, `lamb isCpu=${isCpu} v`);
  }
});

test('lamb: zero parameter norm or zero update norm gives trust ratio 1', async () => {
  const { gpu } = await testGpu();
  const range = { offset: 1, length: 7 };
  const n = arenaLength(range.offset, range.length);
  const base = randomState(n, 500);
  const zeros = new Float32Array(n);
  const cases: { name: string; state: F32State; weightDecay: number }[] = [
    // ‖p‖ = 0: ratio 1, p moves by lr·u.
    { name: '‖p‖ = 0', state: { ...base, p: zeros.slice() }, weightDecay: 0.01 },
    // g = m = 0 and wd = 0: u = 0, ‖u‖ = 0: ratio 1 and nothing moves.
    { name: '‖u‖ = 0', state: { ...base, g: zeros.slice(), m: zeros.slice() }, weightDecay: 0 },
  ];
  for (const c of cases) {
    const hyper = { ...HYPER, weightDecay: c.weightDecay, biasCorrection: true, trustNoDecay: true };
    const { state: got } = await runLamb(c.state, { ...range, ...hyper, slot: 0 }, gpu.limits, stepState(2, 0.1), normState(1));
    const ref = lambUpdateReference(c.state, range, hyper, { step: 2, lr: 0.1 });
    assert.is(ref.trustRatio, 1, `${c.name}: reference ratio`);
    assertClose(got.p, ref.p, TOL, `lamb ${c.name} p`);
    for (const v of got.p) assert.ok(Number.isFinite(v), `lamb ${c.name}: finite`);
  }
});

test('lamb: ZERO_GRAD off keeps the gradients', async () => {
  const { gpu } = await testGpu();
  const range = { offset: 2, length: 1000 };
  const state = randomState(arenaLength(range.offset, range.length), 600);
  const hyper = { ...HYPER, weightDecay: 0.01, biasCorrection: true, trustNoDecay: true };
  const { state: got } = await runLamb(state, { ...range, ...hyper, slot: 0, zeroGrad: false }, gpu.limits, stepState(1, 0.01), normState(1));
  const ref = lambUpdateReference(state, range, hyper, { step: 1, lr: 0.01, zeroGrad: false });
  assertClose(got.p, ref.p, TOL, 'lamb zeroGrad=false p');
  assertZeroed(got.g, state.g, range.offset, range.length, false, 'lamb zeroGrad=false');
});

test('determinism: norm, AdamW and LAMB twice on the same inputs are bit-identical', async () => {
  const { gpu } = await testGpu();
  const grads = gradRanges(700);
  const range = RANGES[4]!;
  const state = { ...randomState(grads[4]!.data.length, 701), g: grads[4]!.data };
  const once = async () => {
    const { norm, partials } = await gradNorm(grads, 1, gpu.limits);
    const adamw = await runAdamw(state, adamwUpdateLaunch({ ...range, ...HYPER, weightDecay: 0.01, biasCorrection: true }, gpu.limits), stepState(4, 0.01), norm);
    const lamb = await runLamb(state, { ...range, ...HYPER, weightDecay: 0.01, biasCorrection: true, slot: 0 }, gpu.limits, stepState(4, 0.01), norm);
    return [norm, partials, adamw.p, adamw.m, adamw.v, lamb.state.p, lamb.state.m, lamb.state.v, lamb.partials];
  };
  const a = await once();
  const b = await once();
  a.forEach((x, i) => assertBitsEqual(b[i]!, x, `rerun output ${i}`));
});

test.run();
