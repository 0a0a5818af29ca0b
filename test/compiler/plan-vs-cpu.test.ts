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
import { classificationInputs } from '../../src/train/batch-inputs.js';

const VOCAB = 120;

async function check(name: string, seed: number, variants?: Record<string, string>, entries?: (entries: string[]) => void): Promise<Record<string, number>> {
  const { gpu } = await testGpu();
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', `${name}.yaml`));
  const shape = { batch: 2, seq: recipe.data.seq_len, predictions: recipe.tasks.mlm.max_predictions };
  const compiled = compile(recipe, VOCAB, shape, gpu.limits, { training: true, variants });
  entries?.(compiled.plan.steps.map((s) => s.pipeline?.entry ?? ''));
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

test('bias gradients: summed inside the weight-gradient product (subgroup matmul), or by the bias-gradient kernel after it (other variants); both match float64', async () => {
  await check('post-ln-nsp', 5, undefined, (entries) => {
    assert.ok(entries.some((e) => e.startsWith('matmul_subgroup_row_sum')), 'a fused row sum');
  });
  await check('post-ln-nsp', 5, { matmul: 'blocked' }, (entries) => {
    assert.not.ok(entries.some((e) => e.startsWith('matmul_subgroup_row_sum')), 'no fused row sum');
    assert.ok(entries.includes('bias_grad_partial_vec4') || entries.includes('bias_grad_partial'), 'the bias-gradient kernel');
  });
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

test('fine-tuning head (pooler, classifier dropout, three labels, weight-0 padding row): loss, accuracy and every gradient match float64', async () => {
  const { gpu } = await testGpu();
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'classify.yaml'), { checkInputFiles: false });
  const shape = { batch: 4, seq: recipe.data.seq_len, predictions: 1 };
  const compiled = compile(recipe, VOCAB, shape, gpu.limits, { training: true, classes: 3 });
  const tokens = randomBatch({ ...shape, vocab: VOCAB }, 6);
  const inputs = {
    ...classificationInputs(
      {
        batch: 4,
        seq: shape.seq,
        input_ids: tokens.input_ids as Int32Array,
        token_type_ids: tokens.token_type_ids as Int32Array,
        attention_mask: tokens.attention_mask as Int32Array,
        cls_rows: tokens.cls_rows as Int32Array,
        labels: Int32Array.from([2, 0, 1, 0]),
        weights: Float32Array.from([1, 1, 1, 0]),
        examples: 3,
      },
      VOCAB,
    ),
  };
  const step = { step: 1, lr: 1e-3, seed: 1234, microStep: 3, mlmScale: 1 / 3, nspScale: 0 };
  const run = await runPlanOnce(compiled, inputs, step);
  try {
    assertMatchesCpu('classify', compiled, run, evaluateOnCpu(compiled, run.params, inputs, step));
    assert.ok(run.metrics.cls_correct! <= 3, 'the padding row counts for nothing');
  } finally {
    run.pool.destroy();
  }
});

test('dropout off: two runs give bit-identical losses', async () => {
  const a = await check('post-ln-nsp', 5);
  const b = await check('post-ln-nsp', 5);
  assert.equal(a, b);
});

test.run();
