// Projection + activation fuse into one matmul epilogue. Forward-only graphs drop the
// pre-activation; training graphs have the same matmul store it (STORE_PRE) for the
// activation's backward, except tanh, whose derivative comes from its output. After autodiff,
// an activation's backward joins the product that makes its dy (a backward epilogue reading the
// stored pre-activation), a bias gradient joins its layer's weight-gradient product, and a
// sublayer's dropout backward joins the LayerNorm backward of its residual add.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { REFERENCE_LIMITS } from '../../src/plan/types.js';
import { fixture } from '../support/fixtures.js';

const FUSED = ['encoder.0.feedforward.intermediate+gelu', 'encoder.1.feedforward.intermediate+gelu', 'mlm.transform.dense+gelu', 'pooler.dense+tanh'];

test('eval and training plans fuse gelu and tanh into the matmul epilogue; training stores the pre-activation', async () => {
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'post-ln-nsp.yaml'));
  const shape = { batch: 2, seq: 8, predictions: 3 };
  const evalPlan = compile(recipe, 120, shape, REFERENCE_LIMITS, { training: false }).plan;
  const trainPlan = compile(recipe, 120, shape, REFERENCE_LIMITS, { training: true }).plan;
  // Forward epilogues (codes 1-4; 5-7 are the backward ones).
  const fused = (plan: typeof evalPlan) => plan.steps.filter((s) => s.pipeline.kernel.startsWith('matmul') && (s.pipeline.overrides.EPILOGUE ?? 0) !== 0 && (s.pipeline.overrides.EPILOGUE ?? 0) < 5);
  // 2 layers' intermediate (gelu), the MLM transform (gelu), the pooler (tanh).
  assert.equal(fused(evalPlan).map((s) => s.label).sort(), FUSED);
  assert.equal(fused(trainPlan).map((s) => s.label).sort(), FUSED);
  for (const plan of [evalPlan, trainPlan]) {
    assert.not.ok(plan.steps.some((s) => s.pipeline.kernel === 'elementwise' && s.pipeline.entry.startsWith('act_forward')), `${plan.name}: act_forward dispatch left`);
  }
  // Eval plans never store the pre-activation.
  assert.ok(fused(evalPlan).every((s) => s.pipeline.overrides.STORE_PRE === 0));
  const step = (label: string) => trainPlan.steps.find((s) => s.label === label)!;
  const intermediate = step('encoder.0.feedforward.intermediate+gelu');
  assert.is(intermediate.pipeline.overrides.STORE_PRE, 1);
  // The pre-activation (binding 5) is a real tensor, not the spare buffer.
  assert.not.ok(intermediate.bindings[4]!.buffer.endsWith('dummy_out'));
  assert.is(step('mlm.transform.dense+gelu').pipeline.overrides.STORE_PRE, 1);
  assert.is(step('pooler.dense+tanh').pipeline.overrides.STORE_PRE, 0);
  assert.ok(step('pooler.dense+tanh').bindings[4]!.buffer.endsWith('dummy_out'));
  // The FFN's GELU backward is the epilogue of the down projection's dX product (EPILOGUE 5,
  // gelu′), which reads the stored pre-activation; no act_backward dispatch is left for it.
  const down = step('encoder.0.feedforward.output.dx+gelu.bwd');
  assert.is(down.pipeline.overrides.EPILOGUE, 5);
  assert.is(down.pipeline.overrides.STORE_PRE, 0);
  assert.equal(down.bindings[4], intermediate.bindings[4]);
  assert.not.ok(trainPlan.steps.some((s) => s.label.startsWith('encoder.0.feedforward.intermediate+gelu.act.bwd')));
  // The MLM transform's GELU (its dy comes from a LayerNorm backward) and the pooler's tanh keep theirs.
  assert.ok(trainPlan.steps.some((s) => s.label === 'mlm.transform.dense+gelu.act.bwd'));
  assert.ok(trainPlan.steps.some((s) => s.label === 'pooler.dense+tanh.act.bwd'));
  // Bias gradients are the weight-gradient products' (here on reference limits, without subgroups,
  // the bias-gradient kernel right after the product: the `.db.` dispatches carry its label).
  assert.ok(trainPlan.steps.some((s) => s.label === 'encoder.0.attention.qkv.dw+db.bwd'));
  assert.ok(trainPlan.steps.some((s) => s.label === 'encoder.0.attention.qkv.dw+db.bwd.db.partial'));
  assert.not.ok(trainPlan.steps.some((s) => s.label.startsWith('encoder.0.attention.qkv.db.bwd')));
});

test("post-LN training plans: each sublayer's dropout backward is the LayerNorm backward's second output", async () => {
  const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'dropout.yaml'));
  const plan = compile(recipe, 120, { batch: 2, seq: 8, predictions: 3 }, REFERENCE_LIMITS, { training: true }).plan;
  const step = (label: string) => plan.steps.find((s) => s.label === label);
  for (const sublayer of ['attention', 'feedforward']) {
    const dx = step(`encoder.0.${sublayer}.residual+dropout.bwd.dx`);
    assert.ok(dx, `${sublayer}: no fused LayerNorm backward`);
    assert.ok(dx!.pipeline.entry.startsWith('layernorm_backward_dropout'), dx!.pipeline.entry);
    assert.not.ok(plan.steps.some((s) => s.label.startsWith(`encoder.0.${sublayer}.residual.dropout.bwd`)), `${sublayer}: dropout_backward dispatch left`);
    // The dropped gradient (binding 7) is what the sublayer's output projection reads as dY.
    const output = sublayer === 'attention' ? 'attention.output' : 'feedforward.output';
    const dw = plan.steps.find((s) => s.label.startsWith(`encoder.0.${output}.dw`))!;
    assert.ok(dw.bindings.some((b) => b.buffer === dx!.bindings[6]!.buffer && b.offset === dx!.bindings[6]!.offset), `${sublayer}: dW does not read the dropped gradient`);
  }
  // The embeddings' dropout comes after their LayerNorm: its backward runs before the LayerNorm's,
  // alone, and in the forward the LayerNorm makes the dropped output itself.
  assert.ok(step('embeddings.dropout.bwd'));
  assert.ok(step('embeddings.layernorm.bwd.dx'));
  const forward = step('embeddings.layernorm+dropout');
  assert.ok(forward && forward.pipeline.entry.startsWith('layernorm_forward_dropout'), forward?.pipeline.entry);
  assert.not.ok(plan.steps.some((s) => s.label === 'embeddings.dropout'), 'dropout_forward dispatch left');
});

test.run();
