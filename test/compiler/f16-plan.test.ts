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
  // Masters, gradients and moments stay f32 (aligned to twice the binding alignment, so that the
  // copies can mirror them at half the offsets: a little padding more); the copies add half.
  assert.ok(f16.params >= f32.params && f16.params < 1.0001 * f32.params, `f16 masters ${f16.params} vs f32 ${f32.params}`);
  assert.is(f16.grads, f16.params);
  assert.ok(f16.param_copies! >= f32.params / 2 && f16.param_copies! < 0.51 * f32.params);
  assert.is(f32.param_copies, undefined);
});

test('f16 copies mirror their masters at half the offset, aligned and apart; one convert per run of masters', async () => {
  const base = (await loadRecipe(fixture('..', 'recipes', 'base.yaml'))).recipe;
  const compiled = compile({ ...base, runtime: { ...base.runtime, precision: 'f16' } }, 30522, { batch: 2, seq: 128, predictions: 20 }, REFERENCE_LIMITS, { training: true });
  const g = compiled.model.graph;
  const copies = g.tensors.filter((t) => t.role === 'param_copy');
  assert.is(copies.length, compiled.plan.params.length);
  const spans: Array<[string, number, number]> = [];
  for (const c of copies) {
    const copy = compiled.slice(c.id);
    const master = compiled.slice(c.copyOf!);
    assert.is(copy.buffer, master.buffer.replace('params', 'params16'), c.name);
    assert.is(copy.offset * 2, master.offset, `${c.name}: element i of the master is element i of the copy`);
    assert.is(copy.offset % REFERENCE_LIMITS.minStorageBufferOffsetAlignment, 0, `${c.name}: a bindable offset`);
    spans.push([copy.buffer, copy.offset, copy.offset + copy.size]);
  }
  spans.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  for (let i = 1; i < spans.length; i++) if (spans[i]![0] === spans[i - 1]![0]) assert.ok(spans[i]![1] >= spans[i - 1]![2], `copies overlap at ${spans[i]![0]}:${spans[i]![1]}`);
  const converts = compiled.plan.steps.filter((st) => st.stage === 'copies');
  assert.ok(converts.length <= 4, `${converts.length} converts for ${copies.length} copies`);
  for (const st of converts) assert.is(st.bindings[1]!.offset * 2, st.bindings[0]!.offset);
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
