// The validation switch: op-by-op comparison with the float64 CPU reference passes on a correct
// plan and names the first diverging label on a sabotaged one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import { f32Bits } from '../../src/plan/types.js';
import { initParam } from '../../src/train/init.js';
import { firstNonFinite, validateMicroBatch } from '../../src/train/validate.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { fixture } from '../support/fixtures.js';
import { randomBatch, stepStateFor } from '../support/plan-run.js';

async function setup(sabotage?: string, alpha = 1.5) {
  const { gpu, runtime } = await testGpu();
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'dropout.yaml'));
  const shape = { batch: 2, seq: 8, predictions: 3 };
  const compiled = compile(recipe, 120, shape, gpu.limits, { training: true });
  if (sabotage) {
    const step = compiled.plan.steps.find((s) => s.label === sabotage);
    assert.ok(step, `no step ${sabotage}`);
    step!.uniforms[7] = f32Bits(alpha); // matmul alpha: scales the output
  }
  const pool = new BufferPool(runtime);
  const exec = await PlanExecutor.create(compiled.plan, pool);
  for (const p of compiled.plan.params) runtime.write(pool.get(p.buffer), initParam(p, 3), p.offset);
  const inputs = randomBatch({ ...shape, vocab: 120 }, 8);
  const step = stepStateFor(inputs, 1);
  runtime.write(pool.get('step_state'), encodeStepState(step));
  exec.upload(inputs);
  return { compiled, exec, step, pool };
}

test('every op of a correct plan matches the CPU reference', async () => {
  const { compiled, exec, step, pool } = await setup();
  const r = await validateMicroBatch(compiled, exec, step);
  assert.is(r.ops, compiled.model.graph.ops.length);
  assert.ok(r.worst.rel < 2e-3);
  pool.destroy();
});

test('a sabotaged kernel is reported by its label', async () => {
  const { compiled, exec, step, pool } = await setup('encoder.0.feedforward.output.dw+db.bwd');
  try {
    await validateMicroBatch(compiled, exec, step);
    assert.unreachable('sabotage not detected');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /^validation: encoder\.0\.feedforward\.output\.dw\+db\.bwd \(matmul\) diverges/);
  } finally {
    pool.destroy();
  }
});

test('a non-finite step is traced to the first op whose output holds NaN or Inf', async () => {
  const clean = await setup();
  assert.is(await firstNonFinite(clean.compiled, clean.exec), undefined);
  clean.pool.destroy();
  const { compiled, exec, pool } = await setup('encoder.0.feedforward.output', NaN);
  const bad = await firstNonFinite(compiled, exec);
  assert.equal(bad && { label: bad.label, output: bad.output }, { label: 'encoder.0.feedforward.output', output: 'y' });
  pool.destroy();
});

test.run();
