// The executed training plan against a float64 CPU evaluation of the same graph: losses,
// accuracies and every parameter gradient, for the original post-LN BERT with NSP, a pre-LN
// MLM-only model, a GEGLU/no-bias block, and post-LN with every dropout on (the RNG must agree
// bit for bit). With dropout off, two runs give bit-identical losses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { testGpu } from '../support/gpu.js';
import { fixture } from '../support/fixtures.js';
import { assertMatchesCpu, evaluateOnCpu, randomBatch, runPlanOnce, stepStateFor } from '../support/plan-run.js';

const VOCAB = 120;

async function check(name: string, seed: number): Promise<Record<string, number>> {
  const { gpu } = await testGpu();
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', `${name}.yaml`));
  const shape = { batch: 2, seq: recipe.data.seq_len, predictions: recipe.tasks.mlm.max_predictions };
  const compiled = compile(recipe, VOCAB, shape, gpu.limits, { training: true });
  const inputs = randomBatch({ ...shape, vocab: VOCAB }, seed);
  const step = stepStateFor(inputs, recipe.tasks.nsp?.weight ?? 0);
  const run = await runPlanOnce(compiled, inputs, step);
  try {
    assertMatchesCpu(name, compiled, run, evaluateOnCpu(compiled, run.params, inputs, step));
    return run.metrics;
  } finally {
    run.pool.destroy();
  }
}

test('post-LN BERT with MLM + NSP: losses, accuracies and every gradient match float64', async () => {
  await check('post-ln-nsp', 1);
});

test('pre-LN, MLM only, final norm: every gradient matches float64', async () => {
  await check('pre-ln-mlm', 2);
});

test('GEGLU feed-forward without biases: every gradient matches float64', async () => {
  await check('geglu', 3);
});

test('post-LN with dropout everywhere: the GPU and CPU draw the same masks', async () => {
  await check('dropout', 4);
});

test('dropout off: two runs give bit-identical losses', async () => {
  const a = await check('post-ln-nsp', 5);
  const b = await check('post-ln-nsp', 5);
  assert.equal(a, b);
});

test.run();
