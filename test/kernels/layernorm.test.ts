// layernorm: every op in both variants against the float64 references, on odd shapes (N = 1,
// H = 1, H not a multiple of 4, N over one partials chunk), rows far from zero (shifted
// variance), the fused residual+dropout forward with p = 0 and p > 0, dx `=` and `+=`, and the
// forward with a dropout of its output and the backward with a dropout's backward of dx fused in
// (in f32 the same bits as the two kernels each replaces).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { layernormLaunch, layernormChunks, usableLayernormVariants, LAYERNORM_VARIANTS, type LayernormVariant } from '../../src/compiler/kernels/layernorm.js';
import { elementwiseLaunch } from '../../src/compiler/kernels/elementwise.js';
import { dropoutReference } from '../../src/graph/ops/elementwise.js';
import type { DType } from '../../src/plan/types.js';
import { layernormForwardReference, layernormBackwardReference, packStats, residualDropoutLayernormForwardReference, unpackStats } from '../../src/graph/ops/layernorm.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };
const EPS = 1e-5;
const STEP = { step: 1, lr: 0, seed: 77, microStep: 2, mlmScale: 1, nspScale: 1 };

/** The stats as the kernel stores them: f32. */
const pack = (mean: ArrayLike<number>, rstd: ArrayLike<number>): Float32Array => Float32Array.from(packStats(mean, rstd));

const SHAPES: [number, number][] = [[1, 1], [1, 3], [5, 7], [3, 4], [2, 8], [70, 12], [9, 33]];

async function checkForward(N: number, H: number, variant: LayernormVariant, seed: number, offset = 0): Promise<void> {
  const { gpu } = await testGpu();
  const x = randomF32(N * H, seed, 2).map((v) => v + offset);
  const gamma = randomF32(H, seed + 1);
  const beta = randomF32(H, seed + 2);
  const launch = layernormLaunch({ op: 'layernorm_forward', N, H, eps: EPS }, gpu.limits, variant);
  const got = await runLaunch(launch, [{ data: x }, { data: gamma }, { data: beta }, { data: N * H, read: 'f32' }, { data: 2 * N, read: 'f32' }]);
  const ref = layernormForwardReference(x, gamma, beta, N, H, EPS);
  const ctx = `layernorm_forward ${variant} N ${N} H ${H} offset ${offset}`;
  assertClose(got.get(3)!, ref.y, TOL, ctx);
  assertClose(got.get(4)!, pack(ref.mean, ref.rstd), { atol: 1e-4, rtol: 1e-4 }, `${ctx} stats`);
}

async function checkFused(N: number, H: number, p: number, variant: LayernormVariant, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const res = randomF32(N * H, seed, 2);
  const a = randomF32(N * H, seed + 1, 2);
  const gamma = randomF32(H, seed + 2);
  const beta = randomF32(H, seed + 3);
  const stream = 5;
  const launch = layernormLaunch({ op: 'residual_dropout_layernorm_forward', N, H, eps: EPS, p, stream }, gpu.limits, variant);
  const got = await runLaunch(launch, [
    { data: encodeStepState(STEP) },
    { data: res },
    { data: a },
    { data: gamma },
    { data: beta },
    { data: N * H, read: 'f32' },
    { data: N * H, read: 'f32' },
    { data: 2 * N, read: 'f32' },
  ]);
  const ref = residualDropoutLayernormForwardReference(res, a, gamma, beta, N, H, EPS, { p, seed: STEP.seed, stream, microStep: STEP.microStep });
  const ctx = `residual_dropout_layernorm_forward ${variant} N ${N} H ${H} p ${p}`;
  assertClose(got.get(5)!, ref.s, { atol: 1e-6, rtol: 1e-6 }, `${ctx} s`);
  assertClose(got.get(6)!, ref.y, TOL, `${ctx} y`);
  assertClose(got.get(7)!, pack(ref.mean, ref.rstd), TOL, `${ctx} stats`);
  if (p === 0) {
    const s = got.get(5)!;
    for (let i = 0; i < N * H; i++) assert.is(s[i], Math.fround(res[i]! + a[i]!), `${ctx}: p = 0 must be a plain add at [${i}]`);
  }
}

async function checkBackward(N: number, H: number, accumulate: boolean, variant: LayernormVariant, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const x = randomF32(N * H, seed, 2);
  const gamma = randomF32(H, seed + 1);
  const beta = randomF32(H, seed + 2);
  const dy = randomF32(N * H, seed + 3);
  const dx0 = randomF32(N * H, seed + 4);
  const dgamma0 = randomF32(H, seed + 5);
  const dbeta0 = randomF32(H, seed + 6);
  const fwd = layernormForwardReference(x, gamma, beta, N, H, EPS);
  const stats = pack(fwd.mean, fwd.rstd);
  const { mean, rstd } = unpackStats(stats); // the f32 stats the kernel sees
  const ref = layernormBackwardReference(dy, x, gamma, mean, rstd, N, H);
  const ctx = `layernorm_backward ${variant} N ${N} H ${H} accumulate ${accumulate}`;
  const limits = gpu.limits;
  const dxLaunch = layernormLaunch({ op: 'layernorm_backward', N, H, accumulate }, limits, variant);
  const dx = await runLaunch(dxLaunch, [{ data: dy }, { data: x }, { data: gamma }, { data: stats }, { data: accumulate ? dx0 : N * H, read: 'f32' }]);
  assertClose(dx.get(4)!, accumulate ? ref.dx.map((v, i) => v + dx0[i]!) : ref.dx, TOL, `${ctx} dx`);
  const chunks = layernormChunks(N);
  const partials = await runLaunch(layernormLaunch({ op: 'layernorm_backward_params', N, H }, limits, variant), [{ data: dy }, { data: x }, { data: stats }, { data: chunks * 2 * H, read: 'f32' }]);
  const fin = await runLaunch(layernormLaunch({ op: 'layernorm_backward_params_finish', N, H }, limits, variant), [
    { data: partials.get(3)! as Float32Array },
    { data: dgamma0, read: 'f32' },
    { data: dbeta0, read: 'f32' },
  ]);
  const tol = { atol: 1e-4 * Math.sqrt(N), rtol: 1e-4 };
  assertClose(fin.get(1)!, ref.dgamma.map((v, i) => v + dgamma0[i]!), tol, `${ctx} dgamma`);
  assertClose(fin.get(2)!, ref.dbeta.map((v, i) => v + dbeta0[i]!), tol, `${ctx} dbeta`);
}

for (const variant of LAYERNORM_VARIANTS) {
  const shapes = SHAPES.filter(([, H]) => usableLayernormVariants({ H }).includes(variant));
  test(`layernorm ${variant}: forward on odd shapes and offset rows`, async () => {
    let seed = 1;
    for (const [N, H] of shapes) await checkForward(N, H, variant, seed++);
    await checkForward(6, 12, variant, seed++, 50);
  });

  test(`layernorm ${variant}: fused residual + dropout + layernorm forward`, async () => {
    let seed = 100;
    for (const [N, H] of shapes) {
      await checkFused(N, H, 0, variant, seed++);
      await checkFused(N, H, 0.3, variant, seed++);
    }
  });

  test(`layernorm ${variant}: backward dx (=, +=), dgamma/dbeta (+=, chunked)`, async () => {
    let seed = 200;
    for (const [N, H] of shapes) await checkBackward(N, H, N % 2 === 1, variant, seed++);
  });
}

// dx and its dropped copy from layernorm_backward_dropout, against layernorm_backward then
// elementwise.wgsl's dropout_backward over its dx, and (f32) float64.
async function checkBackwardDropout(N: number, H: number, accumulate: boolean, variant: LayernormVariant, dtype: DType, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const f16 = dtype === 'f16';
  const x = randomF32(N * H, seed, 2);
  const gamma = randomF32(H, seed + 1);
  const dy = randomF32(N * H, seed + 3);
  const dx0 = randomF32(N * H, seed + 4);
  const fwd = layernormForwardReference(x, gamma, gamma, N, H, EPS);
  const stats = pack(fwd.mean, fwd.rstd);
  const p = 0.3;
  const stream = 9;
  const read = f16 ? 'f16' : 'f32';
  const inputs = [{ data: dy, f16 }, { data: x, f16 }, { data: gamma, f16 }, { data: stats }];
  const dxInit = { data: accumulate ? dx0 : N * H, f16, read } as const;
  const fused = await runLaunch(layernormLaunch({ op: 'layernorm_backward_dropout', N, H, accumulate, p, stream, dtype }, gpu.limits, variant), [
    ...inputs,
    dxInit,
    { data: encodeStepState(STEP) },
    { data: N * H, f16, read },
  ]);
  const ctx = `layernorm_backward_dropout ${variant} ${dtype} N ${N} H ${H} accumulate ${accumulate}`;
  const plain = (await runLaunch(layernormLaunch({ op: 'layernorm_backward', N, H, accumulate, dtype }, gpu.limits, variant), [...inputs, dxInit])).get(4)! as Float32Array;
  const dx = fused.get(4)! as Float32Array;
  const dropped = fused.get(6)! as Float32Array;
  assert.equal(Array.from(dx), Array.from(plain), `${ctx}: dx differs from layernorm_backward's`);
  const separate = (await runLaunch(elementwiseLaunch({ op: 'dropout_backward', n: N * H, p, stream, dtype }, gpu.limits), [{ data: encodeStepState(STEP) }, { data: dx, f16 }, { data: N * H, f16, read }])).get(2)!;
  // f32: the same bits. f16: dropped is rounded once from dx's f32 value, the two kernels round
  // twice (dx to f16, then the product): an f16 ulp apart at most (2^-10 relative).
  if (f16) assertClose(dropped, separate, { atol: 0, rtol: 2 ** -10 }, `${ctx}: dropped against dropout_backward's`);
  else assert.equal(Array.from(dropped), Array.from(separate), `${ctx}: dropped differs from dropout_backward's`);
  if (!f16) {
    const { mean, rstd } = unpackStats(stats);
    const ref = layernormBackwardReference(dy, x, gamma, mean, rstd, N, H).dx.map((v, i) => v + (accumulate ? dx0[i]! : 0));
    assertClose(dx, ref, TOL, `${ctx} dx`);
    assertClose(dropped, dropoutReference(ref, { p, stream, seed: STEP.seed, microStep: STEP.microStep }), TOL, `${ctx} dropped`);
    assert.ok(dropped.some((v) => v === 0) && dropped.some((v) => v !== 0), `${ctx}: the mask drops some and keeps some`);
  }
}

// y of layernorm_forward_dropout against layernorm_forward then elementwise.wgsl's
// dropout_forward, and (f32) float64; the stats as layernorm_forward's.
async function checkForwardDropout(N: number, H: number, variant: LayernormVariant, dtype: DType, seed: number): Promise<void> {
  const { gpu } = await testGpu();
  const f16 = dtype === 'f16';
  const x = randomF32(N * H, seed, 2);
  const gamma = randomF32(H, seed + 1);
  const beta = randomF32(H, seed + 2);
  const p = 0.3;
  const stream = 4;
  const read = f16 ? 'f16' : 'f32';
  const inputs = [{ data: x, f16 }, { data: gamma, f16 }, { data: beta, f16 }, { data: N * H, f16, read }, { data: 2 * N, read: 'f32' }] as const;
  const fused = await runLaunch(layernormLaunch({ op: 'layernorm_forward_dropout', N, H, eps: EPS, p, stream, dtype }, gpu.limits, variant), [...inputs, { data: encodeStepState(STEP) }]);
  const plain = await runLaunch(layernormLaunch({ op: 'layernorm_forward', N, H, eps: EPS, dtype }, gpu.limits, variant), [...inputs]);
  const ctx = `layernorm_forward_dropout ${variant} ${dtype} N ${N} H ${H}`;
  const y = fused.get(3)! as Float32Array;
  assert.equal(Array.from(fused.get(4)!), Array.from(plain.get(4)!), `${ctx}: stats differ from layernorm_forward's`);
  const separate = (await runLaunch(elementwiseLaunch({ op: 'dropout_forward', n: N * H, p, stream, dtype }, gpu.limits), [{ data: encodeStepState(STEP) }, { data: plain.get(3)! as Float32Array, f16 }, { data: N * H, f16, read }])).get(2)!;
  // f32: the same bits; f16: one rounding against two, an ulp apart at most.
  if (f16) assertClose(y, separate, { atol: 0, rtol: 2 ** -10 }, `${ctx}: y against dropout_forward's`);
  else assert.equal(Array.from(y), Array.from(separate), `${ctx}: y differs from dropout_forward's`);
  if (!f16) {
    const ref = layernormForwardReference(x, gamma, beta, N, H, EPS);
    assertClose(y, dropoutReference(ref.y, { p, stream, seed: STEP.seed, microStep: STEP.microStep }), TOL, `${ctx} y`);
    assert.ok(y.some((v) => v === 0) && y.some((v) => v !== 0), `${ctx}: the mask drops some and keeps some`);
  }
}

for (const variant of LAYERNORM_VARIANTS) {
  test(`layernorm ${variant}: forward with a dropout of y fused in (f32; f16 on vec4)`, async () => {
    const { gpu } = await testGpu();
    let seed = 600;
    // f16 on the vec4 entries only: the scalar ones share the code, and each pipeline costs a cold test run its compile.
    for (const dtype of variant === 'vec4' && gpu.limits.features.includes('shader-f16') ? (['f32', 'f16'] as const) : (['f32'] as const)) {
      for (const [N, H] of [[5, 8], [70, 12], [9, 36]] as const) {
        if (usableLayernormVariants({ H }).includes(variant)) await checkForwardDropout(N, H, variant, dtype, seed++);
      }
    }
  });

  test(`layernorm ${variant}: backward with the dropout's backward of dx fused in (f32; f16 on vec4; =, +=)`, async () => {
    const { gpu } = await testGpu();
    let seed = 500;
    // f16 on the vec4 entries only: the scalar ones share the code, and each pipeline costs a cold test run its compile.
    for (const dtype of variant === 'vec4' && gpu.limits.features.includes('shader-f16') ? (['f32', 'f16'] as const) : (['f32'] as const)) {
      for (const [N, H] of [[5, 8], [70, 12], [9, 36]] as const) {
        if (!usableLayernormVariants({ H }).includes(variant)) continue;
        await checkBackwardDropout(N, H, N % 2 === 1, variant, dtype, seed++);
      }
    }
  });
}

test('layernorm backward params: over 256 chunks worth of rows still sums every row', async () => {
  assert.ok(layernormChunks(64 * 300) <= 256);
  await checkBackward(130, 4, false, 'vec4', 400);
});

test.run();
