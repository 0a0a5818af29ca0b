// crossentropy: the fused kernel against the float64 reference on odd widths (V = 1, 2, 7, 300,
// 1000), large logits (stability), padding and out-of-range labels, every scale slot, the
// evaluation flag (logits untouched) and a grid folded over y.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crossentropyLaunch, CROSSENTROPY_VARIANTS, type CrossentropyShape } from '../../src/compiler/kernels/crossentropy.js';
import { crossentropyReference } from '../../src/graph/ops/crossentropy.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import type { DeviceLimits } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32, randomInt, rng } from '../support/random.js';

const TOL = { atol: 1e-5, rtol: 1e-4 };
const MLM_SCALE = 0.37;
const NSP_SCALE = 1.75;
const SCALES = { mlm: MLM_SCALE, nsp: NSP_SCALE, one: 1 };

async function check(shape: CrossentropyShape, seed: number, opts: { logitScale?: number; badLabels?: boolean; limits?: Partial<DeviceLimits> } = {}): Promise<void> {
  const { gpu } = await testGpu();
  const { R, V } = shape;
  const logits = randomF32(R * V, seed, opts.logitScale ?? 3);
  const labels = randomInt(R, seed + 1, V);
  const next = rng(seed + 2);
  const weights = new Float32Array(R);
  for (let r = 0; r < R; r++) weights[r] = next() < 0.25 ? 0 : 0.5 + next();
  if (opts.badLabels) {
    labels[0] = -1;
    if (R > 1) labels[R - 1] = V;
  }
  const state = encodeStepState({ step: 3, lr: 1e-4, seed: 9, microStep: 2, mlmScale: MLM_SCALE, nspScale: NSP_SCALE });
  const variant = CROSSENTROPY_VARIANTS[0];
  const launch = crossentropyLaunch(shape, { ...gpu.limits, ...opts.limits }, variant);
  const out = await runLaunch(launch, [
    { data: logits.slice(), read: 'f32' },
    { data: labels },
    { data: weights },
    { data: state },
    { data: R, read: 'f32' },
    { data: R, read: 'f32' },
  ]);
  const ref = crossentropyReference(logits, labels, weights, shape, SCALES[shape.scale]);
  const context = `crossentropy ${variant} ${JSON.stringify(shape)} wg ${launch.pipeline.overrides.WG}`;
  assertClose(out.get(4)!, ref.losses, TOL, `${context} losses`);
  assertClose(out.get(5)!, ref.correct, { atol: 0, rtol: 0 }, `${context} correct`);
  if (shape.writeGrad ?? true) assertClose(out.get(0)!, ref.dLogits, { atol: 1e-6, rtol: 1e-4 }, `${context} d_logits`);
  else assertClose(out.get(0)!, logits, { atol: 0, rtol: 0 }, `${context} logits untouched`);
}

test('crossentropy: odd widths, padding weights, every scale slot', async () => {
  let seed = 1;
  await check({ R: 1, V: 1, scale: 'mlm' }, seed++);
  await check({ R: 5, V: 2, scale: 'nsp' }, seed++);
  await check({ R: 6, V: 7, scale: 'one' }, seed++);
  await check({ R: 9, V: 300, scale: 'mlm' }, seed++);
  await check({ R: 4, V: 1000, scale: 'nsp' }, seed++);
});

test('crossentropy: large logits stay finite (max subtraction)', async () => {
  await check({ R: 7, V: 513, scale: 'mlm' }, 20, { logitScale: 80 });
  await check({ R: 3, V: 2, scale: 'nsp' }, 21, { logitScale: 200 });
});

test('crossentropy: out-of-range labels count as weight 0', async () => {
  await check({ R: 6, V: 33, scale: 'mlm' }, 30, { badLabels: true });
  await check({ R: 2, V: 2, scale: 'nsp' }, 31, { badLabels: true });
});

test('crossentropy: evaluation flag leaves the logits untouched', async () => {
  await check({ R: 5, V: 129, scale: 'one', writeGrad: false }, 40);
});

test('crossentropy: rows folded over y when they exceed the per-dimension limit', async () => {
  const { gpu } = await testGpu();
  const shape: CrossentropyShape = { R: 23, V: 40, scale: 'mlm' };
  const folded = crossentropyLaunch(shape, { ...gpu.limits, maxComputeWorkgroupsPerDimension: 5 }).workgroups;
  assert.ok(folded[1] > 1 && folded[0] <= 5, `grid ${folded} not folded`);
  await check(shape, 50, { limits: { maxComputeWorkgroupsPerDimension: 5 } });
});

test('crossentropy: narrow workgroups on wide rows', async () => {
  // A device that allows only 16 invocations per workgroup: each lane strides over many columns.
  await check({ R: 3, V: 1001, scale: 'mlm' }, 60, { limits: { maxComputeInvocationsPerWorkgroup: 16 } });
});

test('crossentropy: the 256-lane workgroup a non-CPU adapter gets', async () => {
  const { gpu } = await testGpu();
  const adapter = { vendor: 'test', architecture: 'test', description: 'not a CPU', isCpu: false };
  assert.is(crossentropyLaunch({ R: 2, V: 3000, scale: 'mlm' }, { ...gpu.limits, adapter }).pipeline.overrides.WG, 256);
  await check({ R: 4, V: 3000, scale: 'mlm' }, 70, { limits: { adapter } });
});

test.run();
