// The training runner end to end on a synthetic corpus: it learns, resumes exactly, writes
// checkpoints other tools can read, survives an interrupted checkpoint write, refuses corrupt
// checkpoints, and starts from a Hugging Face-named checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/runner.js';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint/checkpoints.js';
import { readSafetensors, writeSafetensors } from '../../src/train/checkpoint/safetensors.js';
import { BertTokenizer } from '../../src/data/index.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { writeSyntheticCorpus, writeTinyRecipe } from '../support/synthetic-corpus.js';

const root = mkdtempSync(join(tmpdir(), 'bert-train-test-'));
writeSyntheticCorpus(root, 60, 5);
const recipe = writeTinyRecipe(root);
const quiet = { json: true };
let log = console.log;

test.before(() => {
  log = console.log;
  console.log = () => {}; // --json progress lines would flood the test output
});
test.after(() => {
  console.log = log;
  rmSync(root, { recursive: true, force: true });
});

test('a tiny run learns: held-out MLM loss falls well below its start and beats the unigram baseline', async () => {
  const { gpu } = await testGpu();
  const out = join(root, 'learn');
  const r = await train({ recipe, out, gpu, ...quiet, sets: ['schedule.steps=600'] });
  assert.is(r.steps, 600);
  const first = r.history[0]! as Required<(typeof r.history)[0]>;
  const final = r.evals[r.evals.length - 1]!;
  assert.ok(first.mlm_loss > 4 && first.mlm_loss < 6, `initial MLM loss ${first.mlm_loss} should be near ln(vocab) = ${Math.log(160).toFixed(2)}`);
  assert.ok(final.mlm_loss < first.mlm_loss - 1.5, `held-out MLM loss ${final.mlm_loss} vs first step ${first.mlm_loss}`);
  assert.ok(final.mlm_acc > final.baseline_acc + 0.05, `held-out MLM accuracy ${final.mlm_acc} vs unigram baseline ${final.baseline_acc}`);
  assert.ok(final.mlm_loss < final.baseline_loss - 0.2, `held-out MLM loss ${final.mlm_loss} vs unigram ${final.baseline_loss}`);
  for (const f of ['model.safetensors', 'config.json', 'vocab.txt', 'tokenizer.json', 'recipe.yaml', 'metrics.jsonl']) assert.ok(existsSync(join(out, f)), `${f} in the run dir`);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.eval === true && l.mlm_acc === final.mlm_acc));
  assert.ok(lines.filter((l) => !l.eval).every((l) => Number.isFinite(l.loss) && l.tokens_per_s > 0 && typeof l.grad_norm === 'number'));
});

test('resume: 2N straight steps and N + N resumed steps give the same losses (dropout on)', async () => {
  const { gpu } = await testGpu();
  const sets = ['schedule.steps=6', 'model.graph[1].layers[0].attention.dropout=0.1', 'model.graph[1].layers[1].feedforward.probs_dropout=0.1'.replace('feedforward.probs_dropout', 'feedforward.dropout'), 'model.graph[0].embeddings.dropout=0.1', 'tasks.mlm.masking=dynamic'];
  const straight = await train({ recipe, out: join(root, 'straight'), gpu, ...quiet, sets });
  const firstHalf = await train({ recipe, out: join(root, 'resumed'), gpu, ...quiet, sets, stopAfter: 3 });
  assert.is(firstHalf.steps, 3);
  assert.is(listCheckpoints(join(root, 'resumed')).length, 1);
  const secondHalf = await train({ recipe, out: join(root, 'resumed'), gpu, ...quiet, sets, resume: true });
  assert.is(secondHalf.steps, 6);
  const a = straight.history.map((h) => h.loss);
  const b = [...firstHalf.history, ...secondHalf.history].map((h) => h.loss);
  assert.equal(b, a);
  // Not a vacuous comparison: the losses move.
  assert.ok(new Set(a).size > 3);
});

test('sequence-length phases: a short-sequence phase, then the full length, each with its own plan', async () => {
  const { gpu } = await testGpu();
  const r = await train({ recipe, out: join(root, 'phases'), gpu, ...quiet, sets: ['schedule.steps=6', 'schedule.phases=[{until_step: 3, seq_len: 16, max_predictions: 3, micro_batch_size: 4}]'] });
  assert.is(r.steps, 6);
  assert.is(r.history.length, 6);
  assert.ok(r.history.every((h) => Number.isFinite(h.loss) && !h.skipped));
  const lines = readFileSync(join(root, 'phases', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.eval === true && l.step === 6));
});

test('LAMB: the same recipe trains with the layer-wise trust ratio optimizer', async () => {
  const { gpu } = await testGpu();
  const r = await train({ recipe, out: join(root, 'lamb'), gpu, ...quiet, sets: ['schedule.steps=120', 'schedule.optimizer.lamb.lr=0.01', 'schedule.optimizer.lamb.weight_decay=0.01'] });
  assert.ok(r.history.every((h) => Number.isFinite(h.loss) && !h.skipped));
  const last = r.evals[r.evals.length - 1]!;
  assert.ok(last.mlm_loss! < r.history[0]!.mlm_loss! - 0.5, `LAMB: held-out MLM loss ${last.mlm_loss} vs first ${r.history[0]!.mlm_loss}`);
});

test('starting a run over existing checkpoints without --resume is refused in one line', async () => {
  const { gpu } = await testGpu();
  try {
    await train({ recipe, out: join(root, 'straight'), gpu, ...quiet, sets: ['schedule.steps=6'] });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /already holds checkpoints.*--resume/);
    assert.not.match((e as Error).message, /\n/);
  }
});

test('checkpoint round trip: safetensors with Hugging Face names and [out, in] layout, config.json', async () => {
  const dir = join(root, 'straight');
  const ckpt = listCheckpoints(dir).pop()!;
  const loaded = loadCheckpoint(ckpt.dir);
  const names = [...loaded.model.keys()];
  for (const n of ['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.1.attention.self.value.bias', 'bert.encoder.layer.0.attention.output.LayerNorm.weight', 'bert.encoder.layer.1.intermediate.dense.weight', 'bert.pooler.dense.weight', 'cls.predictions.transform.dense.weight', 'cls.predictions.bias', 'cls.seq_relationship.weight']) {
    assert.ok(names.includes(n), `checkpoint has ${n}`);
  }
  assert.equal(loaded.model.get('bert.encoder.layer.1.intermediate.dense.weight')!.shape, [64, 32]);
  assert.equal(loaded.model.get('cls.seq_relationship.weight')!.shape, [2, 32]);
  const config = JSON.parse(readFileSync(join(ckpt.dir, 'config.json'), 'utf8'));
  assert.is(config.model_type, 'bert');
  assert.is(config.hidden_size, 32);
  assert.is(config.num_hidden_layers, 2);
  assert.is(config.intermediate_size, 64);
  assert.is(config.vocab_size, loaded.model.get('bert.embeddings.word_embeddings.weight')!.shape[0]);
  // The final export at the run root equals the newest checkpoint.
  const exported = readSafetensors(join(dir, 'model.safetensors')).tensors;
  assert.equal(Array.from(exported.get('cls.predictions.bias')!.data), Array.from(loaded.model.get('cls.predictions.bias')!.data));
  // Optimizer moments are kept for every parameter.
  assert.ok(loaded.moments.has('m.bert.embeddings.word_embeddings.weight') && loaded.moments.has('v.cls.predictions.bias'));
});

test('an interrupted checkpoint write leaves the previous checkpoint intact and resumable', async () => {
  const dir = join(root, 'straight');
  const before = listCheckpoints(dir);
  const good = loadCheckpoint(before[before.length - 1]!.dir);
  const tokenizer = BertTokenizer.fromVocabFile(join(dir, 'vocab.txt'), { lowercase: true });
  const broken = Object.create(tokenizer) as BertTokenizer;
  broken.saveTokenizerJson = () => {
    throw new Error('disk full (simulated)');
  };
  assert.throws(() =>
    saveCheckpoint(dir, { params: [...good.model.values()], moments: [...good.moments.values()], state: { ...good.state, step: 99 }, tiedDecoder: true, config: {}, tokenizer: broken, recipeText: '' }, 2),
  );
  const after = listCheckpoints(dir);
  assert.equal(after, before);
  assert.equal(Array.from(loadCheckpoint(after[after.length - 1]!.dir).model.get('cls.predictions.bias')!.data), Array.from(good.model.get('cls.predictions.bias')!.data));
});

test('a corrupt or truncated checkpoint is refused with a one-line error naming the file', async () => {
  const { gpu } = await testGpu();
  const dir = join(root, 'resumed');
  const ckpt = listCheckpoints(dir).pop()!;
  const file = join(ckpt.dir, 'model.safetensors');
  truncateSync(file, 1000);
  for (const attempt of [() => loadCheckpoint(ckpt.dir), () => train({ recipe, out: dir, gpu, ...quiet, sets: ['schedule.steps=8'], resume: true })]) {
    try {
      await attempt();
      assert.unreachable('corrupt checkpoint accepted');
    } catch (e) {
      assert.instance(e, UserError);
      assert.ok((e as Error).message.includes(file), (e as Error).message);
      assert.not.match((e as Error).message, /\n/);
    }
  }
  writeFileSync(file, 'not a safetensors file at all');
  assert.throws(() => loadCheckpoint(ckpt.dir), /not a valid safetensors file/);
});

test('model.init: continue pretraining from a Hugging Face-named checkpoint (legacy gamma/beta, no decoder weight)', async () => {
  const { gpu } = await testGpu();
  const source = readSafetensors(join(root, 'straight', 'model.safetensors')).tensors;
  const legacy = [...source.values()].map((t) => ({ ...t, name: t.name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta') }));
  assert.ok(legacy.some((t) => t.name.endsWith('LayerNorm.gamma')));
  assert.ok(!legacy.some((t) => t.name === 'cls.predictions.decoder.weight'));
  const initFile = join(root, 'hf-init.safetensors');
  writeSafetensors(initFile, legacy);
  // lr 1e-30: updates vanish below f32 resolution, so the weights come out exactly as they went in.
  const r = await train({ recipe, out: join(root, 'from-init'), gpu, ...quiet, sets: ['schedule.steps=1', 'schedule.lr.warmup_steps=0', `model.init=${initFile}`, 'schedule.optimizer.adamw.lr=1e-30', 'schedule.optimizer.adamw.weight_decay=0'] });
  assert.is(r.steps, 1);
  const after = readSafetensors(join(root, 'from-init', 'model.safetensors')).tensors;
  for (const [name, t] of source) assert.equal(Array.from(after.get(name)!.data), Array.from(t.data), name);
});

test.run();
