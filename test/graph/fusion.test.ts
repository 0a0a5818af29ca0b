// Forward-only graphs fuse projection + activation into one matmul epilogue; training graphs
// keep them apart (the backward needs the pre-activation).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { REFERENCE_LIMITS } from '../../src/plan/types.js';
import { fixture } from '../support/fixtures.js';

test('eval plans fuse gelu and tanh into the matmul epilogue; training plans do not', async () => {
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'post-ln-nsp.yaml'));
  const shape = { batch: 2, seq: 8, predictions: 3 };
  const evalPlan = compile(recipe, 120, shape, REFERENCE_LIMITS, { training: false }).plan;
  const trainPlan = compile(recipe, 120, shape, REFERENCE_LIMITS, { training: true }).plan;
  const fused = evalPlan.steps.filter((s) => s.pipeline.kernel.startsWith('matmul') && (s.pipeline.overrides.EPILOGUE ?? 0) !== 0);
  // 2 layers' intermediate (gelu), the MLM transform (gelu), the pooler (tanh).
  assert.equal(fused.map((s) => s.label).sort(), ['encoder.0.feedforward.intermediate+gelu', 'encoder.1.feedforward.intermediate+gelu', 'mlm.transform.dense+gelu', 'pooler.dense+tanh']);
  assert.not.ok(evalPlan.steps.some((s) => s.pipeline.kernel === 'elementwise' && s.pipeline.entry.startsWith('act_forward')));
  assert.not.ok(trainPlan.steps.some((s) => s.pipeline.kernel.startsWith('matmul') && (s.pipeline.overrides.EPILOGUE ?? 0) !== 0));
  assert.ok(trainPlan.steps.some((s) => s.pipeline.entry.startsWith('act_forward')));
});

test.run();
