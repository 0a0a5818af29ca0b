// Fine-tuning against PyTorch: scripts/make-torch-classifier-fixture.py builds transformers'
// BertForSequenceClassification in plain torch (pooled [CLS] → dropout → linear `classifier`,
// cross-entropy averaged over the batch), runs it in float64 on seeded weights and one fixed
// batch (a text pair, a single text, padding) and commits test/fixtures/torch-bert/classifier.json
// (three labels, cross-entropy) and regression.json (one output, MSELoss against float targets:
// tasks.classify.regression). Here the real compiler and executor run the same weights and batch:
// the evaluation plan's logits, the training plan's loss, correct count and every parameter
// gradient, then five AdamW steps with clipping (losses, gradient norms, the final change of
// every parameter). No Python runs here.
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe, type Recipe } from '../../src/recipe/index.js';
import { compile, type Compiled } from '../../src/compiler/compile.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import { encodeStepState, type StepState } from '../../src/plan/step-state.js';
import { classificationInputs, type PlanInputs } from '../../src/train/batch-inputs.js';
import { fromHuggingFace, toHuggingFace } from '../../src/train/checkpoint/hf-names.js';
import type { NamedTensor } from '../../src/train/checkpoint/safetensors.js';
import { testGpu } from '../support/gpu.js';
import { assertClose } from '../support/harness.js';
import { fixture } from '../support/fixtures.js';
import { readPlanParams, torchTolerance } from '../support/torch-fixture.js';

const FIXTURE_VERSION = 1;

interface ClassifierFixture {
  version: number;
  config: { vocab_size: number; hidden_size: number; num_labels: number; batch_size: number; seq_len: number; lr: number; clip_grad_norm: number; steps: number };
  inputs: { input_ids: number[]; token_type_ids: number[]; attention_mask: number[]; labels: number[] };
  forward: { loss: number; correct?: number; logits: number[] };
  weights: Record<string, number[]>;
  shapes: Record<string, number[]>;
  grads: Record<string, number[]>;
  steps: Array<{ step: number; loss: number; grad_norm: number }>;
  delta: Record<string, number[]>;
}

type Kind = 'classifier' | 'regression';

function loadFixture(kind: Kind): ClassifierFixture {
  const path = fixture('fixtures', 'torch-bert', `${kind}.json`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run /usr/bin/python3 scripts/make-torch-classifier-fixture.py and commit it`);
  const f = JSON.parse(readFileSync(path, 'utf8')) as ClassifierFixture;
  if (f.version !== FIXTURE_VERSION) throw new Error(`${path}: version ${f.version}, this test reads version ${FIXTURE_VERSION} (regenerate it)`);
  return f;
}

/** The attention key biases: their gradient is 0 in exact arithmetic (softmax ignores a per-query constant). */
const zeroGradient = (f: ClassifierFixture, name: string): boolean => f.grads[name]!.every((g) => Math.abs(g) < 1e-12);

const setups = new Map<Kind, Promise<{ f: ClassifierFixture; recipe: Recipe }>>();
function load(kind: Kind): Promise<{ f: ClassifierFixture; recipe: Recipe }> {
  if (!setups.has(kind)) {
    setups.set(kind, (async () => {
      const f = loadFixture(kind);
      const sets = kind === 'regression' ? ['tasks.classify.regression=true'] : [];
      const { recipe } = await loadRecipe(fixture('compiler', 'fixtures', 'torch-classifier.yaml'), { checkInputFiles: false, sets });
      return { f, recipe };
    })());
  }
  return setups.get(kind)!;
}

function batchFor(f: ClassifierFixture): PlanInputs {
  const { batch_size: B, seq_len: T, vocab_size: V } = f.config;
  return classificationInputs(
    {
      batch: B,
      seq: T,
      input_ids: Int32Array.from(f.inputs.input_ids),
      token_type_ids: Int32Array.from(f.inputs.token_type_ids),
      attention_mask: Int32Array.from(f.inputs.attention_mask),
      cls_rows: Int32Array.from({ length: B }, (_, b) => b * T),
      ...(f.config.num_labels === 1 ? { labels: new Int32Array(B), targets: Float32Array.from(f.inputs.labels) } : { labels: Int32Array.from(f.inputs.labels) }),
      weights: new Float32Array(B).fill(1),
      examples: B,
    },
    V,
  );
}

function compiled(f: ClassifierFixture, recipe: Recipe, training: boolean, limits: Parameters<typeof compile>[3]): Compiled {
  const c = f.config;
  return compile(recipe, c.vocab_size, { batch: c.batch_size, seq: c.seq_len, predictions: 1 }, limits, { training, classes: c.num_labels });
}

async function upload(c: Compiled, f: ClassifierFixture): Promise<{ executor: PlanExecutor; pool: BufferPool; initial: Map<string, Float32Array> }> {
  const { runtime } = await testGpu();
  const tensors = new Map<string, NamedTensor>();
  for (const [name, data] of Object.entries(f.weights)) tensors.set(name, { name, shape: f.shapes[name]!, data: Float32Array.from(data) });
  const imported = fromHuggingFace(tensors, c.plan.params);
  assert.equal(imported.missing, [], 'every plan parameter comes from the torch model');
  assert.equal(imported.unused, [], 'every torch parameter is used by the plan');
  const pool = new BufferPool(runtime);
  const executor = await PlanExecutor.create(c.plan, pool);
  for (const p of c.plan.params) runtime.write(pool.get(p.buffer), imported.values.get(p.name)!, p.offset);
  return { executor, pool, initial: imported.values };
}

for (const kind of ['classifier', 'regression'] as const) {
  test(`${kind}: evaluation plan: the classifier logits of a pair, a single text and a padded pair match torch`, async () => {
    const { f, recipe } = await load(kind);
    const { gpu } = await testGpu();
    const c = compiled(f, recipe, false, gpu.limits);
    const { executor, pool } = await upload(c, f);
    try {
      executor.upload(batchFor(f));
      executor.writeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1 / f.config.batch_size, nspScale: 0 });
      await executor.run('microbatch');
      const logits = await executor.readOutput('logits');
      assertClose(logits, f.forward.logits, torchTolerance(f.forward.logits), 'logits');
      const m = await executor.readMetrics();
      assertClose([m.cls_loss!], [f.forward.loss], { atol: 1e-5, rtol: 1e-5 }, 'evaluation loss');
      assert.is(m.cls_correct, f.forward.correct, 'correct (classification only)');
    } finally {
      pool.destroy();
    }
  });

  test(`${kind}: training plan: loss, every gradient, then five AdamW steps with clipping match torch`, async () => {
    const { f, recipe } = await load(kind);
    const { gpu, runtime } = await testGpu();
    const cfg = f.config;
    const c = compiled(f, recipe, true, gpu.limits);
    const { executor, pool, initial } = await upload(c, f);
    try {
      const stepState = (t: number): StepState => ({ step: t, lr: cfg.lr, seed: 7, microStep: t - 1, mlmScale: 1 / cfg.batch_size, nspScale: 0 });
      executor.upload(batchFor(f));
      runtime.write(pool.get('step_state'), encodeStepState(stepState(1)));
      await executor.run('microbatch');
      const m = await executor.readMetrics();
      assertClose([m.cls_loss!], [f.forward.loss], { atol: 1e-5, rtol: 1e-5 }, 'loss');
      assert.is(m.cls_correct, f.forward.correct, 'correct (classification only)');
      const grads = toHuggingFace(await readPlanParams(c, pool, 'grad'), { tiedDecoder: false });
      assert.equal(grads.map((g) => g.name).sort(), Object.keys(f.grads).sort(), 'a gradient for every torch parameter');
      for (const g of grads) assertClose(g.data, f.grads[g.name]!, torchTolerance(f.grads[g.name]!), `grad of ${g.name}`);

      const got: Array<{ loss: number; norm: number }> = [];
      for (let t = 1; t <= cfg.steps; t++) {
        if (t > 1) {
          executor.resetMetrics();
          runtime.write(pool.get('step_state'), encodeStepState(stepState(t)));
          await executor.run('microbatch');
        }
        runtime.write(pool.get('step_state'), encodeStepState(stepState(t)));
        await executor.run('optimizer');
        const snap = await executor.snapshot();
        got.push({ loss: snap.metrics.cls_loss!, norm: snap.norm!.gradNorm });
      }
      assert.ok(f.steps[0]!.grad_norm > cfg.clip_grad_norm, 'the first step clips (so clipping is exercised)');
      for (let t = 0; t < cfg.steps; t++) {
        assertClose([got[t]!.loss], [f.steps[t]!.loss], { atol: 2e-5, rtol: 1e-5 }, `step ${t + 1} loss`);
        assertClose([got[t]!.norm], [f.steps[t]!.grad_norm], { atol: 1e-5, rtol: 2e-4 }, `step ${t + 1} gradient norm`);
      }
      const start = new Map(toHuggingFace(c.plan.params.map((p) => ({ name: p.name, shape: p.shape, data: initial.get(p.name)! })), { tiedDecoder: false }).map((t) => [t.name, t.data]));
      for (const p of toHuggingFace(await readPlanParams(c, pool, 'param'), { tiedDecoder: false })) {
        const delta = p.data.map((v, i) => v - start.get(p.name)![i]!);
        const ref = f.delta[p.name]!;
        // A rounding-noise gradient moves AdamW by up to lr per step (see torch-golden.test.ts).
        if (zeroGradient(f, p.name)) assertClose(delta, ref, { atol: 0.05 * cfg.lr * cfg.steps, rtol: 0 }, `change of ${p.name} (zero gradient)`);
        else assertClose(delta, ref, torchTolerance(ref), `change of ${p.name} after ${cfg.steps} AdamW steps`);
      }
    } finally {
      pool.destroy();
    }
  });
}

test.run();
