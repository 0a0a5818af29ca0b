// Fine-tuning end to end (tasks.classify) on a generated, separable toy task: it learns to high
// validation accuracy; the best evaluation's model is kept in run-dir/best; early stopping ends a
// run that stops improving; a resumed run equals a straight one bit for bit; the exported files
// are what transformers' BertForSequenceClassification loads; `classify` labels new text; and the
// recipe refuses fine-tuning settings that do not fit, naming file and line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/runner.js';
import { InferenceModel } from '../../src/train/inference.js';
import { readRecipeLabelled } from '../../src/train/tasks/classification-task.js';
import { readSafetensors } from '../../src/train/checkpoint/safetensors.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { testGpu } from '../support/gpu.js';
import { rng } from '../support/random.js';
import { fixture } from '../support/fixtures.js';
import { assertResumeExact, rejects, toyDataHooks, writeToyRecipe } from '../support/finetune.js';

const root = mkdtempSync(join(tmpdir(), 'bert-finetune-test-'));
const POSITIVE = ['good', 'great', 'fine', 'nice'];
const NEGATIVE = ['bad', 'awful', 'poor', 'ugly'];
const FILLER = ['the', 'a', 'day', 'food', 'film', 'was', 'very', 'and', 'it', 'is', 'this', 'quite', 'so', 'we', 'saw'];

/** Texts of filler words with one sentiment word each: the label is which list the word is from. */
function writeToyData(): void {
  const next = rng(3);
  const pick = (list: string[]) => list[Math.floor(next() * list.length)]!;
  const lines: string[] = [];
  for (let i = 0; i < 240; i++) {
    const positive = next() < 0.5;
    const words = Array.from({ length: 3 + Math.floor(next() * 6) }, () => pick(FILLER));
    words.splice(Math.floor(next() * (words.length + 1)), 0, pick(positive ? POSITIVE : NEGATIVE));
    lines.push(JSON.stringify({ sentence: words.join(' '), sentiment: positive ? 'pos' : 'neg' }));
  }
  writeFileSync(join(root, 'toy.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(root, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POSITIVE, ...NEGATIVE, ...FILLER].join('\n') + '\n');
}

function writeRecipe(name: string, extra = ''): string {
  return writeToyRecipe({ dir: root, name, classify: '{ dropout: 0.1, best_metric: accuracy }', label: 'sentiment', epochs: 6, extra });
}

toyDataHooks(test, root, writeToyData);

test('a toy separable task is learned: validation accuracy ≥ 0.95 after 6 epochs, one evaluation per epoch, best model kept', async () => {
  const { gpu } = await testGpu();
  const r = await train({ recipe: writeRecipe('learn'), gpu, json: true });
  // 240 examples, 48 held out: 192 / 16 = 12 steps an epoch.
  assert.is(r.steps, 72);
  assert.equal(r.evals.map((e) => e.step), [12, 24, 36, 48, 60, 72]);
  const last = r.evals[r.evals.length - 1]!;
  assert.is(last.examples, 48);
  assert.ok(last.accuracy! >= 0.95, `validation accuracy ${last.accuracy}`);
  assert.ok(last.mcc! >= 0.9, `validation MCC ${last.mcc}`);
  assert.ok(r.history[0]!.loss > 0.5 && r.history[r.history.length - 1]!.loss < 0.2, `training loss ${r.history[0]!.loss} → ${r.history[r.history.length - 1]!.loss}`);
  // Best checkpoint: the first evaluation with the highest accuracy (later ties do not replace it).
  const bestScore = Math.max(...r.evals.map((e) => e.accuracy!));
  assert.is(r.best?.step, r.evals.find((e) => e.accuracy === bestScore)!.step);
  assert.is(r.best?.score, bestScore);
  const best = join(root, 'learn', 'best');
  for (const f of ['model.safetensors', 'config.json', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'recipe.yaml']) assert.ok(existsSync(join(best, f)), `best/${f}`);
  // The run report and its device/plan record, written by the run itself.
  assert.match(readFileSync(join(root, 'learn', 'report.html'), 'utf8'), /Validation accuracy, F1, MCC/);
  const info = JSON.parse(readFileSync(join(root, 'learn', 'run.json'), 'utf8')) as { plans: Array<{ name: string }> };
  assert.equal(info.plans.map((p) => p.name), ['train-16x8']);
});

test('the run directory is a BertForSequenceClassification: names, shapes, config, tokenizer; classify labels new text', async () => {
  const dir = join(root, 'learn');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.architectures, ['BertForSequenceClassification']);
  assert.equal(config.id2label, { '0': 'neg', '1': 'pos' });
  assert.equal(config.label2id, { neg: 0, pos: 1 });
  assert.is(config.problem_type, 'single_label_classification');
  assert.is(config.classifier_dropout, 0.1);
  const tensors = readSafetensors(join(dir, 'model.safetensors')).tensors;
  assert.equal(tensors.get('classifier.weight')?.shape, [2, 32]);
  assert.equal(tensors.get('classifier.bias')?.shape, [2]);
  assert.equal(tensors.get('bert.pooler.dense.weight')?.shape, [32, 32]);
  assert.ok(tensors.has('bert.encoder.layer.0.attention.self.query.weight'), 'query/key/value split as transformers names them');
  assert.ok(![...tensors.keys()].some((n) => n.startsWith('cls.')), 'no pretraining heads');
  const { gpu } = await testGpu();
  const model = await InferenceModel.open(dir, { gpu });
  try {
    const out = await model.classify([{ text: 'the film was very good' }, { text: 'the food was awful' }, { text: 'we saw a nice day' }]);
    assert.equal(out.map((o) => o.label), ['pos', 'neg', 'pos']);
    for (const o of out) assert.ok(Math.abs(o.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    await rejects(() => model.forward(model.pad([model.encode('the film')])), /fine-tuned classifier/);
  } finally {
    model.close();
  }
});

test('CLI: bert-run classify prints the label and probabilities, labels a jsonl file, refuses bad input in one line', () => {
  const repo = fixture('..');
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/bert-run.js'), 'classify', ...args], { encoding: 'utf8' });
  const best = join(root, 'learn', 'best');
  const one = cli(best, 'the film was great', '--json');
  assert.is(one.status, 0, one.stderr);
  const parsed = JSON.parse(one.stdout) as { label: string; probabilities: Record<string, number> };
  assert.is(parsed.label, 'pos');
  assert.equal(Object.keys(parsed.probabilities), ['neg', 'pos']);
  assert.ok(parsed.probabilities.pos! > 0.5);
  const text = cli(best, 'the food was bad');
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^neg\n  0\.\d{4}  neg\n  0\.\d{4}  pos\n$/);
  const input = join(root, 'to-label.jsonl');
  writeFileSync(input, '{"text": "a nice day"}\n\n{"text": "it is ugly"}\n');
  const many = cli(best, '--input', input);
  assert.is(many.status, 0, many.stderr);
  assert.equal(many.stdout.trim().split('\n').map((l) => { const r = JSON.parse(l) as { line: number; label: string }; return [r.line, r.label]; }), [[1, 'pos'], [3, 'neg']]);
  writeFileSync(input, '{"text": "fine"}\n{"txt": "oops"}\n');
  const bad = cli(best, '--input', input);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, new RegExp(`${input}:2: expected \\{"text"`));
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
  const pretrained = cli(join(root, 'no-such-dir'), 'text');
  assert.is(pretrained.status, 1);
});

test('resume: stopped mid-epoch and resumed, the run equals the straight one bit for bit', async () => {
  const { gpu } = await testGpu();
  await assertResumeExact(gpu, (name) => writeRecipe(name), ['step', 'loss', 'accuracy', 'grad_norm']);
});

test('early stopping: evaluations without a better score end the run, with the best model kept', async () => {
  const { gpu } = await testGpu();
  // A learning rate too small to change any prediction: the second evaluation is no better.
  const r = await train({ recipe: writeRecipe('stale', ''), gpu, json: true, sets: ['tasks.classify.early_stopping=1', 'schedule.optimizer.adamw.lr=1e-12'] });
  assert.is(r.stoppedEarly, true);
  assert.is(r.steps, 24, 'stopped after the second epoch');
  assert.is(r.best?.step, 12);
  assert.ok(existsSync(join(root, 'stale', 'best', 'model.safetensors')));
  assert.ok(existsSync(join(root, 'stale', 'model.safetensors')), 'the final model files are written too');
});

test('data.labelled.max_examples trains on a seeded subset and leaves the validation examples as they were', async () => {
  const recipe = writeRecipe('subset');
  const all = readRecipeLabelled((await loadRecipe(recipe)).recipe, root);
  const some = readRecipeLabelled((await loadRecipe(recipe, { sets: ['data.labelled.max_examples=50'] })).recipe, root);
  assert.is(all.train.length, 192);
  assert.is(some.train.length, 50);
  assert.equal(some.validation, all.validation);
  assert.equal(some.labels, all.labels);
  const where = new Set(all.train.map((e) => e.where));
  assert.ok(some.train.every((e) => where.has(e.where)), 'a subset of the training examples');
  const again = readRecipeLabelled((await loadRecipe(recipe, { sets: ['data.labelled.max_examples=50'] })).recipe, root);
  assert.equal(again.train, some.train, 'the same seed picks the same subset');
});

test('mixed precision fine-tunes too: f16 logits decoded for the evaluation, loss scaling on', async () => {
  const { gpu } = await testGpu();
  const r = await train({ recipe: writeRecipe('half'), gpu, json: true, sets: ['runtime.precision=f16'] });
  assert.is(r.steps, 72);
  assert.ok(r.history.every((h) => h.loss_scale !== undefined));
  const last = r.evals[r.evals.length - 1]!;
  assert.ok(last.accuracy! >= 0.95, `f16 validation accuracy ${last.accuracy}`);
});

test('recipes that cannot fine-tune are refused with file:line', async () => {
  const noPooler = writeRecipe('nopool');
  writeFileSync(noPooler, readFileSync(noPooler, 'utf8').replace('    - pooler: { activation: tanh }\n', ''));
  await rejects(() => loadRecipe(noPooler), /nopool.yaml:\d+:\d+: tasks.classify: .*pooler/);
  const nsp = writeRecipe('nsp');
  writeFileSync(nsp, readFileSync(nsp, 'utf8').replace('  classify: {', '  nsp: {}\n  classify: {'));
  await rejects(() => loadRecipe(nsp), /nsp.yaml:\d+:\d+: tasks.nsp: .*remove nsp/);
  const noData = writeRecipe('nodata');
  writeFileSync(noData, readFileSync(noData, 'utf8').replace(/  labelled: .*\n/, ''));
  await rejects(() => loadRecipe(noData), /nodata.yaml:\d+:\d+: tasks.classify: .*data.labelled/);
  const trained = writeRecipe('trainvocab');
  writeFileSync(trained, readFileSync(trained, 'utf8').replace('tokenizer: { vocab: vocab.txt }', 'tokenizer: { wordpiece: {} }'));
  await rejects(() => loadRecipe(trained), /trainvocab.yaml:\d+:\d+: data.tokenizer: .*pretrained model's vocabulary/);
  const pretrain = writeRecipe('pretrain');
  writeFileSync(pretrain, readFileSync(pretrain, 'utf8').replace(/  classify: .*\n/, '  mlm: { max_predictions: 3 }\n').replace('epochs: 6', 'steps: 10'));
  await rejects(() => loadRecipe(pretrain), /pretrain.yaml:\d+:\d+: data.labelled: .*add tasks.classify/);
  const { gpu } = await testGpu();
  writeFileSync(join(root, 'three.jsonl'), '{"sentence": "good", "sentiment": "pos"}\n{"sentence": "bad", "sentiment": "neg"}\n{"sentence": "day", "sentiment": "meh"}\n');
  const f1Three = writeRecipe('f1three');
  writeFileSync(f1Three, readFileSync(f1Three, 'utf8').replace('files: [toy.jsonl]', 'files: [three.jsonl]').replace('best_metric: accuracy', 'best_metric: f1').replace('holdout: 0.2', 'holdout: 0'));
  await rejects(() => train({ recipe: f1Three, gpu, json: true }), /best_metric f1 is the F1 of the second label, for two labels; the data have 3/);
  assert.not.ok(existsSync(join(root, 'f1three')), 'refused before the run directory exists');
  const badLabel = writeRecipe('badlabel');
  writeFileSync(join(root, 'bad.jsonl'), '{"sentence": "good day", "sentiment": "pos"}\n{"sentence": "bad day"}\n');
  writeFileSync(badLabel, readFileSync(badLabel, 'utf8').replace('files: [toy.jsonl]', 'files: [bad.jsonl]'));
  await rejects(() => train({ recipe: badLabel, gpu, json: true }), /bad.jsonl:2: no label column "sentiment"/);
  assert.not.ok(existsSync(join(root, 'badlabel')), 'a refused run leaves no run directory');
});

test.run();
