// Fine-tuning a regression head (tasks.classify.regression: one output, mean squared error) end
// to end on a generated toy task whose score is how many positive words a text holds: it is
// learned to a high validation correlation; evaluation reports MSE, Pearson and Spearman and keeps
// the best model by Pearson; a resumed run equals a straight one bit for bit; the exported files
// are a BertForSequenceClassification with problem_type regression; `classify` prints scores; and
// bad labels and metrics that do not fit regression are refused in one line naming file and line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/runner.js';
import { InferenceModel } from '../../src/train/inference.js';
import { readSafetensors } from '../../src/train/checkpoint/safetensors.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { testGpu } from '../support/gpu.js';
import { rng } from '../support/random.js';
import { fixture } from '../support/fixtures.js';
import { assertResumeExact, rejects, toyDataHooks, writeToyRecipe } from '../support/finetune.js';

const root = mkdtempSync(join(tmpdir(), 'bert-regression-test-'));
const POSITIVE = ['good', 'great', 'fine', 'nice'];
const FILLER = ['the', 'a', 'day', 'food', 'film', 'was', 'very', 'and', 'it', 'is', 'this', 'quite', 'so', 'we', 'saw'];

/** Texts of filler words with 0 to 3 positive words; the score is their count (written as a decimal). */
function writeToyData(): void {
  const next = rng(4);
  const pick = (list: string[]) => list[Math.floor(next() * list.length)]!;
  const lines: string[] = [];
  for (let i = 0; i < 240; i++) {
    const score = Math.floor(next() * 4);
    const words = Array.from({ length: 3 + Math.floor(next() * 5) }, () => pick(FILLER));
    for (let k = 0; k < score; k++) words.splice(Math.floor(next() * (words.length + 1)), 0, pick(POSITIVE));
    lines.push(JSON.stringify({ sentence: words.join(' '), score: score.toFixed(1) }));
  }
  writeFileSync(join(root, 'toy.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(root, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POSITIVE, ...FILLER].join('\n') + '\n');
}

function writeRecipe(name: string, classify = '{ dropout: 0.0, regression: true }'): string {
  return writeToyRecipe({ dir: root, name, classify, label: 'score', epochs: 12 });
}

toyDataHooks(test, root, writeToyData);

test('a toy score is learned: validation Pearson ≥ 0.85 and Spearman ≥ 0.8, MSE far below the targets\' variance; best model by Pearson', async () => {
  const { gpu } = await testGpu();
  const r = await train({ recipe: writeRecipe('learn'), gpu, json: true });
  // 240 examples, 48 held out: 192 / 16 = 12 steps an epoch.
  assert.is(r.steps, 144);
  assert.equal(r.evals.map((e) => e.step), Array.from({ length: 12 }, (_, i) => 12 * (i + 1)));
  const last = r.evals[r.evals.length - 1]!;
  assert.is(last.examples, 48);
  const targets = readFileSync(join(root, 'toy.jsonl'), 'utf8').trim().split('\n').map((l) => Number((JSON.parse(l) as { score: string }).score));
  const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
  const variance = targets.reduce((a, b) => a + (b - mean) ** 2, 0) / targets.length;
  // Measured here: Pearson 0.93, Spearman 0.90 (capped below 1 by the targets' ties: four values
  // over 48 examples); the untrained model is near 0. The bounds leave room for other CPUs.
  assert.ok(last.pearson! >= 0.85 && last.spearman! >= 0.8, `validation Pearson ${last.pearson}, Spearman ${last.spearman}`);
  assert.ok(last.mse! < 0.25 * variance, `validation MSE ${last.mse} against a variance of ${variance}`);
  // The plan's loss is the same mean squared error the metrics compute on the CPU.
  assert.ok(Math.abs(last.loss! - last.mse!) < 1e-4 * Math.max(1, last.mse!), `loss ${last.loss} vs MSE ${last.mse}`);
  assert.is(r.history[0]!.accuracy, undefined, 'no accuracy field for regression');
  const bestScore = Math.max(...r.evals.map((e) => e.pearson!));
  assert.is(r.best?.step, r.evals.find((e) => e.pearson === bestScore)!.step);
  assert.is(r.best?.score, bestScore);
  assert.match(readFileSync(join(root, 'learn', 'report.html'), 'utf8'), /Validation Pearson and Spearman correlation/);
});

test('the run directory is a BertForSequenceClassification with problem_type regression; score() and the CLI print scores', async () => {
  const dir = join(root, 'learn');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.architectures, ['BertForSequenceClassification']);
  assert.is(config.problem_type, 'regression');
  assert.equal(config.id2label, { '0': 'LABEL_0' });
  assert.equal(config.label2id, { LABEL_0: 0 });
  const tensors = readSafetensors(join(dir, 'model.safetensors')).tensors;
  assert.equal(tensors.get('classifier.weight')?.shape, [1, 32]);
  assert.equal(tensors.get('classifier.bias')?.shape, [1]);
  const { gpu } = await testGpu();
  const model = await InferenceModel.open(join(dir, 'best'), { gpu });
  let scores: number[];
  try {
    assert.is(model.regression, true);
    scores = await model.score([{ text: 'the film was very so' }, { text: 'the food was good' }, { text: 'good day and nice film was great' }]);
    assert.ok(scores[0]! < scores[1]! && scores[1]! < scores[2]!, `scores rise with positive words: ${scores}`);
    // Targets 0 and 3; measured here -0.09 and 2.45: each within a quarter of the range of its end.
    assert.ok(scores[0]! < 0.75 && scores[2]! > 2.25, `scores near 0 and 3: ${scores}`);
    await rejects(() => model.classify([{ text: 'good' }]), /regression model .*scores texts/);
  } finally {
    model.close();
  }
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(fixture('..'), 'bin/bert-run.js'), 'classify', ...args], { encoding: 'utf8' });
  const text = cli(join(dir, 'best'), 'good day and nice film was great');
  assert.is(text.status, 0, text.stderr);
  assert.is(Number(text.stdout.trim()).toFixed(3), scores[2]!.toFixed(3));
  const input = join(root, 'to-score.jsonl');
  writeFileSync(input, '{"text": "the film was very so"}\n\n{"text": "the food was good"}\n');
  const many = cli(join(dir, 'best'), '--input', input);
  assert.is(many.status, 0, many.stderr);
  const rows = many.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; score: number });
  assert.equal(rows.map((r) => r.line), [1, 3]);
  rows.forEach((r, i) => assert.ok(Math.abs(r.score - scores[i]!) < 1e-4, `line ${r.line}: ${r.score} vs ${scores[i]}`));
});

test('resume: stopped mid-epoch and resumed, the regression run equals the straight one bit for bit', async () => {
  const { gpu } = await testGpu();
  await assertResumeExact(gpu, (name) => writeRecipe(name), ['step', 'loss', 'grad_norm']);
});

test('refused in one line: a label that is not a number (file:line), a classification metric for regression and the reverse (recipe line)', async () => {
  const { gpu } = await testGpu();
  writeFileSync(join(root, 'bad.jsonl'), '{"sentence": "good day", "score": "2.5"}\n{"sentence": "bad day", "score": "low"}\n');
  const bad = writeRecipe('badlabel');
  writeFileSync(bad, readFileSync(bad, 'utf8').replace('files: [toy.jsonl]', 'files: [bad.jsonl]'));
  await rejects(() => train({ recipe: bad, gpu, json: true }), /bad.jsonl:2: label "low" is not a number/);
  assert.not.ok(existsSync(join(root, 'badlabel')), 'a refused run leaves no run directory');
  await rejects(() => loadRecipe(writeRecipe('acc', '{ regression: true, best_metric: accuracy }')), /acc.yaml:17:\d+: tasks.classify.best_metric: accuracy is a classification metric; regression picks .*pearson/);
  await rejects(() => loadRecipe(writeRecipe('spear', '{ best_metric: spearman }')), /spear.yaml:17:\d+: tasks.classify.best_metric: spearman is a regression metric/);
  const defaults = await loadRecipe(writeRecipe('defaults', '{ regression: true }'));
  assert.is(defaults.recipe.tasks.classify!.best_metric, 'pearson');
  assert.is((await loadRecipe(writeRecipe('cls', '{ dropout: 0.1 }'))).recipe.tasks.classify!.best_metric, 'accuracy');
});

test.run();
