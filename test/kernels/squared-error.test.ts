// squared-error: the regression loss kernel against the float64 reference on odd row counts
// (1, 7, 300), padding weights, every scale slot, the evaluation flag (predictions untouched), a
// grid folded over y, and f16 predictions (T = f16) with f32 targets and losses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { squaredErrorLaunch, type SquaredErrorShape } from '../../src/compiler/kernels/squared-error.js';
import { squaredErrorReference } from '../../src/graph/ops/squared-error.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import type { DeviceLimits } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, roundToHalf, runLaunch } from '../support/harness.js';
import { randomF32, rng } from '../support/random.js';

const MLM_SCALE = 0.37;
const NSP_SCALE = 1.75;
const SCALES = { mlm: MLM_SCALE, nsp: NSP_SCALE, one: 1 };

async function check(shape: SquaredErrorShape, seed: number, limits: Partial<DeviceLimits> = {}): Promise<void> {
  const { gpu } = await testGpu();
  const { R } = shape;
  const f16 = shape.dtype === 'f16';
  const predictions = f16 ? roundToHalf(randomF32(R, seed, 3)) : randomF32(R, seed, 3);
  const targets = randomF32(R, seed + 1, 2);
  const next = rng(seed + 2);
  const weights = new Float32Array(R);
  for (let r = 0; r < R; r++) weights[r] = next() < 0.25 ? 0 : 0.5 + next();
  const state = encodeStepState({ step: 3, lr: 1e-4, seed: 9, microStep: 2, mlmScale: MLM_SCALE, nspScale: NSP_SCALE });
  const launch = squaredErrorLaunch(shape, { ...gpu.limits, ...limits });
  const out = await runLaunch(launch, [
    { data: predictions.slice(), ...(f16 ? { f16: true, read: 'f16' as const } : { read: 'f32' as const }) },
    { data: targets },
    { data: weights },
    { data: state },
    { data: R, read: 'f32' },
  ]);
  const ref = squaredErrorReference(predictions, targets, weights, SCALES[shape.scale]);
  const context = `squared_error ${JSON.stringify(shape)}`;
  assertClose(out.get(4)!, ref.losses, { atol: 1e-6, rtol: 1e-5 }, `${context} losses`);
  if (shape.writeGrad === false) assertClose(out.get(0)!, predictions, { atol: 0, rtol: 0 }, `${context} predictions untouched`);
  else assertClose(out.get(0)!, ref.dPredictions, f16 ? { atol: 1e-4, rtol: 1.5e-3 } : { atol: 1e-6, rtol: 1e-5 }, `${context} d_predictions`);
}

test('squared_error: odd row counts, padding weights, every scale slot', async () => {
  await check({ R: 1, scale: 'mlm' }, 1);
  await check({ R: 7, scale: 'nsp' }, 2);
  await check({ R: 300, scale: 'one' }, 3);
});

test('squared_error: evaluation flag leaves the predictions untouched', async () => {
  await check({ R: 65, scale: 'one', writeGrad: false }, 4);
});

test('squared_error: workgroups folded over y', async () => {
  const { gpu } = await testGpu();
  const shape: SquaredErrorShape = { R: 700, scale: 'mlm' };
  const folded = squaredErrorLaunch(shape, { ...gpu.limits, maxComputeWorkgroupsPerDimension: 5 }).workgroups;
  assert.ok(folded[1] > 1 && folded[0] <= 5, `grid ${folded} not folded`);
  await check(shape, 5, { maxComputeWorkgroupsPerDimension: 5 });
});

test('squared_error: f16 predictions, f32 targets and losses', async () => {
  await check({ R: 37, scale: 'mlm', dtype: 'f16' }, 6);
});

test.run();
