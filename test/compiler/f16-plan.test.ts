// Mixed-precision training plans (runtime.precision f16): f16 activations and parameter copies,
// f32 masters, gradients, statistics and losses. The executed plan against the float64 CPU
// evaluation of the same graph (fed the same f16-rounded copies), with the looser tolerances
// f16 activations call for; and the activation memory it saves at BERT-base sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe, type Recipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { REFERENCE_LIMITS } from '../../src/plan/types.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import { initParam } from '../../src/train/init.js';
import { evaluate, type Values } from '../../src/graph/cpu-eval.js';
import { testGpu } from '../support/gpu.js';
import { fixture } from '../support/fixtures.js';
import { assertClose, roundToHalf } from '../support/harness.js';
import { randomBatch, stepStateFor } from '../support/plan-run.js';

const VOCAB = 120;

async function mixed(file: string): Promise<Recipe> {
  const { recipe } = await loadRecipe(file);
  // The loader refuses f16 until training with it ships; the compiler is what is tested here.
  return { ...recipe, runtime: { ...recipe.runtime, precision: 'f16' } };
}

test('BERT-base at micro-batch 32 x 128: f16 activations take at most 55% of the f32 memory', async () => {
  const base = (await loadRecipe(fixture('..', 'recipes', 'base.yaml'))).recipe;
  const shape = { batch: 32, seq: 128, predictions: 20 };
  const f32 = compile(base, 30522, shape, REFERENCE_LIMITS, { training: true }).plan.summary.bytes;
  const f16 = compile({ ...base, runtime: { ...base.runtime, precision: 'f16' } }, 30522, shape, REFERENCE_LIMITS, { training: true }).plan.summary.bytes;
  assert.ok(f16.activations_peak <= 0.55 * f32.activations_peak, `f16 ${f16.activations_peak} vs f32 ${f32.activations_peak}`);
  // Masters, gradients and moments stay f32; the copies add half the parameters.
  assert.is(f16.params, f32.params);
  assert.is(f16.grads, f32.grads);
  assert.ok(f16.param_copies! >= f32.params / 2 && f16.param_copies! < 0.51 * f32.params);
  assert.is(f32.param_copies, undefined);
});

for (const [name, seed] of [['post-ln-nsp', 11], ['pre-ln-mlm', 12], ['geglu', 13]] as const) {
  test(`${name} in f16: losses and every parameter gradient match the float64 evaluation`, async () => {
    const { gpu, runtime } = await testGpu();
    const recipe = await mixed(fixture('compiler', 'fixtures', `${name}.yaml`));
    const shape = { batch: 2, seq: recipe.data.seq_len, predictions: recipe.tasks.mlm.max_predictions };
    const compiled = compile(recipe, VOCAB, shape, gpu.limits, { training: true });
    const { plan } = compiled;
    const g = compiled.model.graph;
    assert.ok(g.tensors.some((t) => t.role === 'param_copy' && t.dtype === 'f16'));
    assert.ok(plan.steps.some((s) => s.stage === 'copies'));
    const inputs = randomBatch({ ...shape, vocab: VOCAB }, seed);
    const step = stepStateFor(inputs, recipe.tasks.nsp?.weight ?? 0);
    const pool = new BufferPool(runtime);
    try {
      const exec = await PlanExecutor.create(plan, pool);
      const params = new Map<string, Float32Array>();
      for (const p of plan.params) {
        const data = initParam(p, seed);
        params.set(p.name, data);
        runtime.write(pool.get(p.buffer), data, p.offset);
      }
      await exec.run('copies');
      exec.writeStepState(step);
      exec.upload(inputs);
      await exec.run('microbatch');
      const metrics = await exec.readMetrics();
      // The CPU reads what the GPU reads: masters, and their f16-rounded copies.
      const values: Values = new Map();
      for (const t of g.tensors) {
        if (t.role === 'param') values.set(t.id, Float64Array.from(params.get(t.name)!));
        if (t.role === 'param_copy') values.set(t.id, Float64Array.from(roundToHalf(params.get(g.get(t.copyOf!).name)!)));
        if (t.role === 'input') values.set(t.id, Float64Array.from(inputs[t.name]!));
      }
      evaluate(g, values, step);
      for (const [metric, id] of Object.entries(compiled.model.metrics)) {
        if (id === undefined || metric.endsWith('correct')) continue;
        assertClose([metrics[metric]!], [values.get(id)![0]!], { atol: 1e-2, rtol: 1e-2 }, `${name} f16: ${metric}`);
      }
      let checked = 0;
      for (const p of plan.params) {
        if (!p.grad) continue;
        const got = new Float32Array(await runtime.read(pool.get(p.grad.buffer), p.grad.offset, p.grad.size));
        const ref = values.get(g.tensors.find((t) => t.role === 'grad' && g.get(t.gradOf!).name === p.name)!.id)!;
        const scale = Math.max(...Array.from(ref, Math.abs));
        // f16 activations: a few f16 ulps of each tensor's scale.
        assertClose(got, ref, { atol: 1e-4 + 3e-2 * scale, rtol: 3e-2 }, `${name} f16: grad of ${p.name}`);
        checked++;
      }
      assert.is(checked, plan.params.length);
      exec.destroy();
    } finally {
      pool.destroy();
    }
  });
}

test.run();
