// Training without subgroups: a second device opened with the `subgroups` feature left off, a
// plan compiled for its limits (so the heuristics must fall back: matmul to vec4/blocked,
// attention to plain), and test/compiler/plan-vs-cpu.test.ts's check on it: losses, accuracies
// and every parameter gradient against the float64 CPU evaluation, attention dropout on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { openGpu, type Gpu } from '../../src/runtime/device.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { fixture } from '../support/fixtures.js';
import { assertMatchesCpu, evaluateOnCpu, randomBatch, runPlanOnce, stepStateFor } from '../support/plan-run.js';

const VOCAB = 120;

let device: Promise<{ gpu: Gpu; runtime: Runtime }> | undefined;

type CleanupHooks = { __bertTestCleanup?: Array<() => void | Promise<void>> };

/** The device without subgroups, opened once; destroyed when the run ends (as testGpu()'s is). */
function noSubgroups(): Promise<{ gpu: Gpu; runtime: Runtime }> {
  device ??= openGpu({ disableFeatures: ['subgroups'] }).then((gpu) => {
    ((globalThis as CleanupHooks).__bertTestCleanup ??= []).push(() => gpu.destroy());
    return { gpu, runtime: new Runtime(gpu) };
  });
  return device;
}

async function check(name: string, seed: number, vec4: boolean, variants?: Record<string, string>): Promise<void> {
  const dev = await noSubgroups();
  const { limits } = dev.gpu;
  assert.not.ok(limits.features.includes('subgroups'), 'the second device must have subgroups disabled');
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', `${name}.yaml`));
  const shape = { batch: 2, seq: recipe.data.seq_len, predictions: recipe.tasks.mlm.max_predictions };
  const compiled = compile(recipe, VOCAB, shape, limits, { training: true, ...(variants ? { variants } : {}) });
  const pipelines = compiled.plan.pipelines;
  assert.ok(pipelines.every((p) => !p.features.includes('subgroups')), `${name}: a pipeline needs subgroups`);
  const attention = pipelines.filter((p) => p.kernel.startsWith('attention'));
  assert.ok(attention.length >= 5, `${name}: ${attention.length} attention pipelines`);
  assert.ok(attention.every((p) => p.kernel === 'attention-plain'), `${name}: attention kernels ${attention.map((p) => p.kernel)}`);
  assert.is(attention.every((p) => p.entry.endsWith('_vec4')), vec4, `${name}: attention entries ${attention.map((p) => p.entry)}`);
  const inputs = randomBatch({ ...shape, vocab: VOCAB }, seed);
  const step = stepStateFor(inputs, recipe.tasks.nsp?.weight ?? 0);
  const run = await runPlanOnce(compiled, inputs, step, 99, dev);
  try {
    assertMatchesCpu(name, compiled, run, evaluateOnCpu(compiled, run.params, inputs, step));
  } finally {
    run.pool.destroy();
  }
}

test('no subgroups: post-LN with dropout everywhere trains (attention plain_vec4), every gradient matches float64', async () => {
  await check('dropout', 4, true);
});

test('no subgroups: the scalar plain attention forced by runtime variants', async () => {
  await check('post-ln-nsp', 1, false, { attention: 'plain' });
});

test.run();
