// Mixed-precision training end to end (runtime.precision f16): it trains like f32 within f16's
// tolerance, runs dynamic loss scaling by default, stops and resumes exactly, and a device
// without shader-f16 is refused in one line naming the feature.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { train } from '../../src/train/runner.js';
import { openGpu } from '../../src/runtime/device.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { syntheticRunRoot } from '../support/synthetic-corpus.js';

const { root, recipe } = syntheticRunRoot(test, 'bert-f16-train-', 30, 21);

const sets = ['schedule.steps=24', 'schedule.log.every=1', 'schedule.lr.warmup_steps=4', 'schedule.eval.every=0'];

test('f16 trains like f32: every step loss within 2%, the final held-out loss within 1%, with loss scaling on', async () => {
  const { gpu } = await testGpu();
  const f32 = await train({ recipe, gpu, json: true, out: join(root, 'f32'), sets });
  const f16 = await train({ recipe, gpu, json: true, out: join(root, 'f16'), sets: [...sets, 'runtime.precision=f16'] });
  assert.is(f16.steps, 24);
  f16.history.forEach((h, i) => {
    const ref = f32.history[i]!;
    if (!h.skipped) assert.ok(Math.abs(h.loss - ref.loss) <= 0.02 * ref.loss, `step ${h.step}: f16 loss ${h.loss} vs f32 ${ref.loss}`);
  });
  assert.ok(f16.history.every((h) => h.loss_scale !== undefined), 'dynamic loss scaling is on by default with f16');
  assert.ok(f16.history.filter((h) => !h.skipped).length >= 20);
  const [a, b] = [f32.evals.at(-1)!, f16.evals.at(-1)!];
  assert.ok(Math.abs(a.mlm_loss - b.mlm_loss) <= 0.01 * a.mlm_loss, `held-out MLM loss f16 ${b.mlm_loss} vs f32 ${a.mlm_loss}`);
});

test('f16: stop and resume give the same losses and loss scales as one straight run', async () => {
  const { gpu } = await testGpu();
  const f16 = [...sets, 'runtime.precision=f16', 'schedule.steps=10'];
  const straight = await train({ recipe, gpu, json: true, out: join(root, 'straight'), sets: f16 });
  const first = await train({ recipe, gpu, json: true, out: join(root, 'resumed'), sets: f16, stopAfter: 4 });
  const second = await train({ recipe, gpu, json: true, out: join(root, 'resumed'), sets: f16, resume: true });
  const pick = (h: typeof straight.history) => h.map((x) => [x.loss, x.grad_norm, x.loss_scale]);
  assert.equal(pick([...first.history, ...second.history]), pick(straight.history));
});

test('a device without shader-f16 is refused in one line naming the feature', async () => {
  const gpu = await openGpu({ disableFeatures: ['shader-f16'] });
  try {
    await train({ recipe, gpu, json: true, out: join(root, 'no-f16'), sets: [...sets, 'runtime.precision=f16'] });
    assert.unreachable('f16 trained without shader-f16');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as UserError).message, /^runtime\.precision f16 needs the WebGPU feature shader-f16, which .* does not offer$/);
    assert.is((e as UserError).hint, 'set runtime.precision: f32');
  } finally {
    gpu.destroy();
  }
});

test.run();
