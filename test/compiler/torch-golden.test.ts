// The whole model against PyTorch (STYLE.md 15; issue 6): scripts/make-torch-fixture.py builds
// the original post-LN BERT with MLM + NSP in plain torch with Hugging Face's BertForPreTraining
// semantics, runs it in float64 on seeded weights and one fixed batch, and commits the result as
// test/fixtures/torch-bert/fixture.json. Here the real compiler and executor run the same
// weights (imported through fromHuggingFace) and batch (through batchToInputs): losses,
// accuracies, every parameter gradient (exported through toHuggingFace, so query/key/value are
// checked separately), the logits, pooled output and last hidden states of the inference plan,
// then five AdamW steps with clipping on the same batch: each step's losses and gradient norm,
// and the final change of every parameter. No Python runs here.
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe, type Recipe } from '../../src/recipe/index.js';
import { compile, type Compiled } from '../../src/compiler/compile.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import { encodeStepState, type StepState } from '../../src/plan/step-state.js';
import { batchToInputs, type PlanInputs } from '../../src/train/batch-inputs.js';
import { fromHuggingFace, toHuggingFace } from '../../src/train/checkpoint/hf-names.js';
import type { NamedTensor } from '../../src/train/checkpoint/safetensors.js';
import { testGpu } from '../support/gpu.js';
import { assertClose } from '../support/harness.js';
import { fixture } from '../support/fixtures.js';
import { readPlanParams, torchTolerance } from '../support/torch-fixture.js';

const FIXTURE_VERSION = 1;

interface TorchFixture {
  version: number;
  config: {
    vocab_size: number;
    hidden_size: number;
    num_hidden_layers: number;
    num_attention_heads: number;
    intermediate_size: number;
    max_position_embeddings: number;
    type_vocab_size: number;
    layer_norm_eps: number;
    batch_size: number;
    seq_len: number;
    max_predictions: number;
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    no_decay: string[];
    clip_grad_norm: number;
    steps: number;
  };
  inputs: {
    input_ids: number[];
    token_type_ids: number[];
    attention_mask: number[];
    masked_positions: number[];
    masked_ids: number[];
    masked_weights: number[];
    nsp_labels: number[];
  };
  forward: { mlm_loss: number; nsp_loss: number; mlm_correct: number; nsp_correct: number; mlm_logits: number[]; nsp_logits: number[]; pooled: number[]; hidden: number[] };
  weights: Record<string, number[]>;
  shapes: Record<string, number[]>;
  grads: Record<string, number[]>;
  steps: Array<{ step: number; mlm_loss: number; nsp_loss: number; grad_norm: number }>;
  delta: Record<string, number[]>;
}

function loadFixture(): TorchFixture {
  const path = fixture('fixtures', 'torch-bert', 'fixture.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: run /usr/bin/python3 scripts/make-torch-fixture.py and commit it`);
  const f = JSON.parse(readFileSync(path, 'utf8')) as TorchFixture;
  if (f.version !== FIXTURE_VERSION) throw new Error(`${path}: version ${f.version}, this test reads version ${FIXTURE_VERSION} (regenerate it)`);
  return f;
}

/** The largest absolute and relative-to-scale difference, for the record. */
function worst(got: ArrayLike<number>, ref: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    abs = Math.max(abs, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return { abs, rel: scale > 0 ? abs / scale : abs };
}

/**
 * Tensors whose torch gradient is zero up to float64 rounding: the attention key biases (a bias
 * added to every key shifts each query's scores by a constant, which softmax ignores).
 */
function zeroGradient(f: TorchFixture, name: string): boolean {
  return f.grads[name]!.every((g) => Math.abs(g) < 1e-12);
}

const report: string[] = [];
function record(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  const w = worst(got, ref);
  report.push(`${what}: max abs ${w.abs.toExponential(2)}, rel ${w.rel.toExponential(2)}`);
}

let setup: Promise<{ f: TorchFixture; recipe: Recipe }> | undefined;
function load(): Promise<{ f: TorchFixture; recipe: Recipe }> {
  setup ??= (async () => {
    const f = loadFixture();
    const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'torch-golden.yaml'));
    return { f, recipe };
  })();
  return setup;
}

function batchFor(f: TorchFixture, predictions?: 'every-token'): PlanInputs {
  const c = f.config;
  const B = c.batch_size;
  const T = c.seq_len;
  const i = f.inputs;
  let P = c.max_predictions;
  let masked = { positions: Int32Array.from(i.masked_positions), ids: Int32Array.from(i.masked_ids), weights: Float32Array.from(i.masked_weights) };
  if (predictions === 'every-token') {
    P = T;
    masked = { positions: new Int32Array(B * T).map((_, k) => k % T), ids: new Int32Array(B * T), weights: new Float32Array(B * T).fill(1) };
  }
  return batchToInputs(
    {
      batchSize: B,
      seqLen: T,
      maxPredictions: P,
      input_ids: Int32Array.from(i.input_ids),
      token_type_ids: Int32Array.from(i.token_type_ids),
      attention_mask: Int32Array.from(i.attention_mask),
      masked_positions: masked.positions,
      masked_ids: masked.ids,
      masked_weights: masked.weights,
      nsp_labels: Int32Array.from(i.nsp_labels),
    },
    c.vocab_size,
  );
}

/** The fixture's Hugging Face weights in plan order (query/key/value joined into qkv). */
function planWeights(f: TorchFixture, compiled: Compiled): Map<string, Float32Array> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, data] of Object.entries(f.weights)) tensors.set(name, { name, shape: f.shapes[name]!, data: Float32Array.from(data) });
  const imported = fromHuggingFace(tensors, compiled.plan.params);
  assert.equal(imported.missing, [], 'every plan parameter comes from the torch model');
  assert.equal(imported.unused, [], 'every torch parameter is used by the plan');
  return imported.values;
}

async function upload(compiled: Compiled, weights: Map<string, Float32Array>): Promise<{ executor: PlanExecutor; pool: BufferPool }> {
  const { runtime } = await testGpu();
  const pool = new BufferPool(runtime);
  const executor = await PlanExecutor.create(compiled.plan, pool);
  for (const p of compiled.plan.params) runtime.write(pool.get(p.buffer), weights.get(p.name)!, p.offset);
  return { executor, pool };
}

test('the fixture recipe is the model and optimizer the torch script built', async () => {
  const { f, recipe } = await load();
  const c = f.config;
  const m = recipe.model;
  const blocks = m.graph.filter((g) => g.repeat !== undefined);
  const layers = blocks.flatMap((b) => b.layers ?? []);
  const attention = layers.find((l) => l.attention)!.attention!;
  const ff = layers.find((l) => l.feedforward)!.feedforward!;
  const adamw = recipe.schedule.optimizer.adamw!;
  assert.equal(
    {
      vocab: m.vocab_size,
      hidden: m.hidden,
      layers: blocks.reduce((s, b) => s + (b.repeat ?? 0), 0),
      heads: attention.heads,
      inner: ff.inner,
      max_position: m.max_position,
      type_vocab: m.type_vocab,
      eps: m.layernorm_eps,
      activation: ff.activation,
      batch: recipe.schedule.batch_size,
      seq: recipe.data.seq_len,
      predictions: recipe.tasks.mlm.max_predictions,
      lr: adamw.lr,
      betas: adamw.betas,
      adam_eps: adamw.eps,
      weight_decay: adamw.weight_decay,
      bias_correction: adamw.bias_correction,
      no_decay: recipe.schedule.no_decay,
      clip: recipe.schedule.clip_grad_norm,
      nsp: recipe.tasks.nsp?.weight,
      mlm: recipe.tasks.mlm.weight,
    },
    {
      vocab: c.vocab_size,
      hidden: c.hidden_size,
      layers: c.num_hidden_layers,
      heads: c.num_attention_heads,
      inner: c.intermediate_size,
      max_position: c.max_position_embeddings,
      type_vocab: c.type_vocab_size,
      eps: c.layer_norm_eps,
      activation: 'gelu',
      batch: c.batch_size,
      seq: c.seq_len,
      predictions: c.max_predictions,
      lr: c.lr,
      betas: c.betas,
      adam_eps: c.eps,
      weight_decay: c.weight_decay,
      bias_correction: true,
      no_decay: c.no_decay,
      clip: c.clip_grad_norm,
      nsp: 1,
      mlm: 1,
    },
  );
  assert.ok(f.steps[0]!.grad_norm > c.clip_grad_norm, 'the first step clips (so clipping is exercised)');
});

test('inference plan: MLM logits of every token, NSP logits, pooled output and last hidden states match torch', async () => {
  const { f, recipe } = await load();
  const { gpu } = await testGpu();
  const c = f.config;
  const compiled = compile(recipe, c.vocab_size, { batch: c.batch_size, seq: c.seq_len, predictions: c.seq_len }, gpu.limits, { training: false, inference: true });
  const { executor, pool } = await upload(compiled, planWeights(f, compiled));
  try {
    executor.upload(batchFor(f, 'every-token'));
    await executor.run('microbatch');
    for (const [name, ref] of [
      ['mlm_logits', f.forward.mlm_logits],
      ['nsp_logits', f.forward.nsp_logits],
      ['pooled', f.forward.pooled],
      ['hidden', f.forward.hidden],
    ] as const) {
      const got = await executor.readOutput(name);
      assertClose(got, ref, torchTolerance(ref), `inference ${name}`);
      record(`inference ${name}`, got, ref);
    }
  } finally {
    pool.destroy();
  }
});

test('training plan: losses, accuracies, every gradient, then five AdamW steps match torch', async () => {
  const { f, recipe } = await load();
  const { gpu, runtime } = await testGpu();
  const c = f.config;
  const compiled = compile(recipe, c.vocab_size, { batch: c.batch_size, seq: c.seq_len, predictions: c.max_predictions }, gpu.limits, { training: true });
  const initial = planWeights(f, compiled);
  const { executor, pool } = await upload(compiled, initial);
  try {
    const inputs = batchFor(f);
    const predictions = f.inputs.masked_weights.reduce((a, b) => a + b, 0);
    const stepState = (t: number): StepState => ({ step: t, lr: c.lr, seed: 1234, microStep: t - 1, mlmScale: 1 / predictions, nspScale: 1 / c.batch_size });
    executor.upload(inputs);

    // One micro-batch: the forward and the gradients of mlm + nsp.
    runtime.write(pool.get('step_state'), encodeStepState(stepState(1)));
    await executor.run('microbatch');
    const metrics = await executor.readMetrics();
    for (const name of ['mlm_loss', 'nsp_loss'] as const) {
      assertClose([metrics[name]!], [f.forward[name]], { atol: 1e-5, rtol: 1e-5 }, name);
      record(name, [metrics[name]!], [f.forward[name]]);
    }
    assert.is(metrics.mlm_correct, f.forward.mlm_correct, 'mlm_correct');
    assert.is(metrics.nsp_correct, f.forward.nsp_correct, 'nsp_correct');
    const grads = toHuggingFace(await readPlanParams(compiled, pool, 'grad'), { tiedDecoder: true });
    assert.equal(grads.map((g) => g.name).sort(), Object.keys(f.grads).sort(), 'a gradient for every torch parameter');
    let gradWorst = { abs: 0, rel: 0, name: '' };
    let zeroNoise = 0;
    for (const g of grads) {
      const ref = f.grads[g.name]!;
      assertClose(g.data, ref, torchTolerance(ref), `grad of ${g.name}`);
      const w = worst(g.data, ref);
      if (zeroGradient(f, g.name)) zeroNoise = Math.max(zeroNoise, w.abs);
      else if (w.rel > gradWorst.rel) gradWorst = { ...w, name: g.name };
    }
    report.push(`grads (${grads.length} tensors): worst ${gradWorst.name}: max abs ${gradWorst.abs.toExponential(2)}, rel ${gradWorst.rel.toExponential(2)}`);
    report.push(`key biases (gradient exactly 0 in exact arithmetic): ours at most ${zeroNoise.toExponential(2)}`);

    // AdamW steps on the same batch: step t's losses come from the weights after t − 1 updates.
    const got: Array<{ mlm: number; nsp: number; norm: number }> = [];
    for (let t = 1; t <= c.steps; t++) {
      if (t > 1) {
        executor.resetMetrics();
        runtime.write(pool.get('step_state'), encodeStepState(stepState(t)));
        await executor.run('microbatch');
      }
      runtime.write(pool.get('step_state'), encodeStepState(stepState(t)));
      await executor.run('optimizer');
      const snap = await executor.snapshot();
      got.push({ mlm: snap.metrics.mlm_loss!, nsp: snap.metrics.nsp_loss!, norm: snap.norm!.gradNorm });
    }
    for (let t = 0; t < c.steps; t++) {
      const ref = f.steps[t]!;
      assertClose([got[t]!.mlm, got[t]!.nsp], [ref.mlm_loss, ref.nsp_loss], { atol: 2e-5, rtol: 1e-5 }, `step ${t + 1} losses`);
      assertClose([got[t]!.norm], [ref.grad_norm], { atol: 1e-5, rtol: 2e-4 }, `step ${t + 1} gradient norm`);
    }
    record(`step losses (${c.steps})`, got.flatMap((s) => [s.mlm, s.nsp]), f.steps.flatMap((s) => [s.mlm_loss, s.nsp_loss]));
    record(`step gradient norms (${c.steps})`, got.map((s) => s.norm), f.steps.map((s) => s.grad_norm));

    // The parameters after the last update: their change from the start, per tensor.
    const initialHf = new Map(toHuggingFace(compiled.plan.params.map((p) => ({ name: p.name, shape: p.shape, data: initial.get(p.name)! })), { tiedDecoder: true }).map((t) => [t.name, t.data]));
    let deltaWorst = { abs: 0, rel: 0, name: '' };
    let zeroDrift = 0;
    for (const p of toHuggingFace(await readPlanParams(compiled, pool, 'param'), { tiedDecoder: true })) {
      const start = initialHf.get(p.name)!;
      const delta = p.data.map((v, i) => v - start[i]!);
      const ref = f.delta[p.name]!;
      if (zeroGradient(f, p.name)) {
        // AdamW turns a rounding-noise gradient g into steps of lr·g/(|g| + eps): the change stays
        // far below lr per step only while the noise stays well below eps (1e-6).
        const bound = 0.05 * c.lr * c.steps;
        assertClose(delta, ref, { atol: bound, rtol: 0 }, `change of ${p.name} (zero gradient) after ${c.steps} AdamW steps`);
        zeroDrift = Math.max(zeroDrift, worst(delta, ref).abs);
        continue;
      }
      assertClose(delta, ref, torchTolerance(ref), `change of ${p.name} after ${c.steps} AdamW steps`);
      const w = worst(delta, ref);
      if (w.rel > deltaWorst.rel) deltaWorst = { ...w, name: p.name };
    }
    report.push(`parameter change after ${c.steps} steps: worst ${deltaWorst.name}: max abs ${deltaWorst.abs.toExponential(2)}, rel ${deltaWorst.rel.toExponential(2)}`);
    report.push(`key biases after ${c.steps} steps: drift at most ${zeroDrift.toExponential(2)} (torch float64: ~1e-15)`);
  } finally {
    pool.destroy();
  }
});

test('differences from torch (for the record)', () => {
  if (process.env.TORCH_GOLDEN_REPORT) console.log(report.join('\n'));
  assert.ok(report.length > 0);
});

test.run();
