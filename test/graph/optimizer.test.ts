// Optimizer references, float64, no device: hand-computed torch.optim.AdamW steps, the identity
// of the two BERT AdamW forms, Adam's bias correction on a constant gradient, clipping and the
// nonfinite skip, and LAMB's trust ratio (the step length is lr·‖p‖). The optimizer has no
// backward reference, so there is nothing to finite-difference here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adamwUpdateReference, bertAdamReference, gradNormReference, lambUpdateReference } from '../../src/graph/ops/optimizer.js';
import { randomF32 } from '../support/random.js';

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function state(n: number, seed: number) {
  return { p: randomF32(n, seed), g: randomF32(n, seed + 1), m: randomF32(n, seed + 2, 0.1), v: randomF32(n, seed + 3, 0.01).map(Math.abs) };
}

test('adamw: one torch.optim.AdamW step by hand', () => {
  // p = 1, g = 0.5, lr = 0.1, wd = 0.01, betas (0.9, 0.999), eps 1e-8, t = 1:
  // p·(1 − lr·wd) = 0.999; m = 0.05, v = 0.00025; m̂ = 0.5, √v̂ = 0.5; p = 0.999 − 0.1·0.5/(0.5 + 1e-8)
  const out = adamwUpdateReference({ p: [1], g: [0.5], m: [0], v: [0] }, { offset: 0, length: 1 }, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, biasCorrection: true }, { step: 1, lr: 0.1 });
  assert.ok(close(out.m[0]!, 0.05));
  assert.ok(close(out.v[0]!, 0.00025));
  assert.ok(close(out.p[0]!, 0.999 - (0.1 * 0.5) / (0.5 + 1e-8)), `p ${out.p[0]}`);
  assert.is(out.g[0], 0);
});

test('adamw: constant gradient from zero moments moves lr·g/(|g| + eps) every step (bias correction)', () => {
  const h = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0, biasCorrection: true };
  let s = { p: [0.3, -0.2], g: [0.25, -2], m: [0, 0], v: [0, 0] };
  for (let t = 1; t <= 5; t++) {
    const out = adamwUpdateReference(s, { offset: 0, length: 2 }, h, { step: t, lr: 0.01, zeroGrad: false });
    for (let i = 0; i < 2; i++) {
      const g = s.g[i]!;
      assert.ok(close(out.p[i]! - s.p[i]!, (-0.01 * g) / (Math.abs(g) + 1e-6), 1e-9), `t=${t} [${i}]`);
    }
    s = { p: [...out.p], g: [...out.g], m: [...out.m], v: [...out.v] };
  }
});

test('adamw: bias correction off is Google BERT AdamWeightDecayOptimizer', () => {
  const h = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 };
  const s = state(9, 10);
  const range = { offset: 2, length: 6 };
  for (let t = 1; t <= 3; t++) {
    const a = adamwUpdateReference(s, range, { ...h, biasCorrection: false }, { step: t, lr: 0.05, clipScale: 0.7 });
    const b = bertAdamReference(s, range, h, { step: t, lr: 0.05, clipScale: 0.7 });
    for (const k of ['p', 'm', 'v', 'g'] as const) {
      for (let i = 0; i < 9; i++) assert.ok(close(a[k][i]!, b[k][i]!, 1e-14), `${k}[${i}] ${a[k][i]} vs ${b[k][i]}`);
    }
    // Outside the range nothing moves.
    assert.is(a.p[0], s.p[0]);
    assert.is(a.g[8], s.g[8]);
  }
});

test('adamw: clip scale multiplies the gradient; skip leaves p, m, v and zeroes g', () => {
  const h = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, biasCorrection: true };
  const s = state(5, 20);
  const range = { offset: 0, length: 5 };
  const clipped = adamwUpdateReference(s, range, h, { step: 2, lr: 0.01, clipScale: 0.25 });
  const scaled = adamwUpdateReference({ ...s, g: s.g.map((x) => x * 0.25) }, range, h, { step: 2, lr: 0.01 });
  for (let i = 0; i < 5; i++) assert.ok(close(clipped.p[i]!, scaled.p[i]!));
  const skipped = adamwUpdateReference(s, range, h, { step: 2, lr: 0.01, skip: true });
  for (let i = 0; i < 5; i++) {
    assert.is(skipped.p[i], s.p[i]);
    assert.is(skipped.m[i], s.m[i]);
    assert.is(skipped.v[i], s.v[i]);
    assert.is(skipped.g[i], 0);
  }
});

test('grad norm: value, clip scale as torch clip_grad_norm_, nonfinite', () => {
  const r = gradNormReference([{ data: [9, 3, 4], offset: 1, length: 2 }, { data: [12], offset: 0, length: 1 }], 1);
  assert.is(r.norm, 13);
  assert.ok(close(r.clipScale, 1 / (13 + 1e-6)));
  assert.is(r.nonfinite, false);
  assert.is(gradNormReference([{ data: [0.3], offset: 0, length: 1 }], 1).clipScale, 1);
  assert.is(gradNormReference([{ data: [3, 4], offset: 0, length: 2 }], 0).clipScale, 1);
  for (const bad of [NaN, Infinity, 1e20]) {
    const n = gradNormReference([{ data: [1, bad], offset: 0, length: 2 }], 1);
    assert.is(n.nonfinite, true, `${bad}`);
    assert.is(n.clipScale, 1);
  }
});

test('lamb: the step length is lr·‖p‖ when the trust ratio applies; ratio 1 cases', () => {
  const h = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, biasCorrection: true, trustNoDecay: true };
  const s = state(50, 30);
  const range = { offset: 3, length: 40 };
  const out = lambUpdateReference(s, range, h, { step: 3, lr: 0.02 });
  let step = 0;
  let pp = 0;
  for (let i = range.offset; i < range.offset + range.length; i++) {
    step += (out.p[i]! - s.p[i]!) ** 2;
    pp += s.p[i]! ** 2;
  }
  assert.ok(close(Math.sqrt(step), 0.02 * Math.sqrt(pp), 1e-10), `‖Δp‖ ${Math.sqrt(step)} vs lr·‖p‖ ${0.02 * Math.sqrt(pp)}`);
  assert.ok(close(out.trustRatio, out.paramNorm / out.updateNorm));

  // Zero ‖p‖ → ratio 1; wd 0 without trustNoDecay → ratio 1 and the step is Adam's.
  const zeroP = lambUpdateReference({ ...s, p: new Float64Array(50) }, range, h, { step: 3, lr: 0.02 });
  assert.is(zeroP.trustRatio, 1);
  const plain = lambUpdateReference(s, range, { ...h, weightDecay: 0, trustNoDecay: false }, { step: 3, lr: 0.02 });
  assert.is(plain.trustRatio, 1);
  const adam = adamwUpdateReference(s, range, { ...h, weightDecay: 0 }, { step: 3, lr: 0.02 });
  for (let i = 0; i < 50; i++) assert.ok(close(plain.p[i]!, adam.p[i]!, 1e-14), `[${i}]`);
  // Zero ‖u‖ (g = m = 0, wd = 0): nothing moves.
  const still = lambUpdateReference({ ...s, g: new Float64Array(50), m: new Float64Array(50) }, range, { ...h, weightDecay: 0 }, { step: 3, lr: 0.02 });
  assert.is(still.trustRatio, 1);
  for (let i = 0; i < 50; i++) assert.is(still.p[i], s.p[i]);
});

test.run();
