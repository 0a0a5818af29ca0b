// Broken recipes: each class of mistake gives its code, the dotted path it blames and the exact
// file:line:col, all problems at once, exit code 2 and no stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatIssue, loadRecipe, RecipeError, type RecipeIssue } from '../../src/recipe/index.js';
import { fixture, recipePath, root } from './root.js';

async function issues(file: string, sets: string[] = []): Promise<RecipeIssue[]> {
  try {
    await loadRecipe(file, { sets, cwd: root });
  } catch (e) {
    assert.instance(e, RecipeError);
    const err = e as RecipeError;
    assert.is(err.exitCode, 2);
    assert.is(err.message, err.issues.map(formatIssue).join('\n'));
    return [...err.issues];
  }
  throw new Error(`${file}: expected a RecipeError`);
}

const F = 'test/recipe/fixtures/';
// [fixture, code, path, file:line:col, message contains]
const table: [string, string, string, string, string][] = [
  ['yaml-syntax.yaml', 'yaml_syntax', '', 'yaml-syntax.yaml:5:11', 'YAML: '],
  ['yaml-tag.yaml', 'yaml_tag', 'name', 'yaml-tag.yaml:3:21', 'tags are not allowed'],
  ['unknown-key.yaml', 'unknown_key', 'model.graph[1].layers[0].attention.heds', 'unknown-key.yaml:9:24', "did you mean 'heads'?"],
  ['wrong-type.yaml', 'wrong_type', 'schedule.steps', 'wrong-type.yaml:5:10', 'must be an integer (got "many")'],
  ['out-of-range.yaml', 'out_of_range', 'tasks.mlm.mask_prob', 'out-of-range.yaml:6:16', 'must be < 1 (got 1.5)'],
  ['bad-enum.yaml', 'bad_value', 'model.graph[1].layers[1].feedforward.activation', 'bad-enum.yaml:10:50', "did you mean 'gelu'?"],
  ['one-of.yaml', 'one_of', 'schedule.optimizer', 'one-of.yaml:5:14', 'needs exactly one of adamw, lamb (found adamw, lamb)'],
  ['no-version.yaml', 'missing_key', 'version', 'no-version.yaml:1:1', 'required key missing'],
  ['heads-divide.yaml', 'heads_divide_hidden', 'model.graph[1].layers[0].attention.heads', 'heads-divide.yaml:10:31', '12 does not divide hidden size 760'],
  ['micro-batch.yaml', 'micro_batch_divides_batch', 'schedule.micro_batch_size', 'micro-batch.yaml:6:21', '8 does not divide batch_size 20'],
  ['seq-len.yaml', 'seq_len_exceeds_max_position', 'data.seq_len', 'seq-len.yaml:5:12', '128 exceeds model.max_position 64'],
  ['replace-sum.yaml', 'replace_sum', 'tasks.mlm.replace', 'replace-sum.yaml:6:14', 'must sum to 1 (got 1.1)'],
  ['max-predictions.yaml', 'max_predictions_exceeds_seq_len', 'tasks.mlm.max_predictions', 'max-predictions.yaml:6:22', '100 exceeds data.seq_len 64'],
  ['phases.yaml', 'phases_not_increasing', 'schedule.phases[1].until_step', 'phases.yaml:7:21', 'greater than the previous'],
  ['warmup.yaml', 'warmup_exceeds_steps', 'schedule.lr.warmup_steps', 'warmup.yaml:6:23', '500 exceeds schedule.steps 100'],
  ['extends-missing.yaml', 'missing_file', 'extends', 'extends-missing.yaml:2:10', 'file not found: recipes/nope.yaml'],
  ['cycle-a.yaml', 'extends_cycle', 'extends', 'cycle-b.yaml:2:10', 'cycle-a.yaml -> test/recipe/fixtures/cycle-b.yaml -> test/recipe/fixtures/cycle-a.yaml'],
  ['corpus-missing.yaml', 'missing_file', 'data.corpus.files[0]', 'corpus-missing.yaml:5:21', 'no file matches no-such-dir/*.txt'],
  ['vocab-missing.yaml', 'missing_file', 'data.tokenizer.vocab', 'vocab-missing.yaml:5:23', 'cannot read missing-vocab.txt'],
];

for (const [file, code, path, where, text] of table) {
  test(`${file}: ${code} at ${where}`, async () => {
    const got = await issues(fixture(file));
    assert.is(got.length, 1, JSON.stringify(got));
    const i = got[0]!;
    assert.is(i.code, code);
    assert.is(i.path, path);
    assert.is(`${i.file}:${i.line}:${i.col}`, F + where);
    assert.ok(i.message.includes(text), i.message);
  });
}

test('all errors of a recipe come at once, in file order', async () => {
  const got = await issues(fixture('many.yaml'));
  assert.equal(
    got.map((i) => [i.code, i.path, i.line, i.col]),
    [
      ['unknown_key', 'model.hiden', 5, 3],
      ['out_of_range', 'schedule.steps', 7, 10],
      ['bad_value', 'runtime.backend', 10, 12],
    ],
  );
  assert.ok(got[0]!.message.includes("did you mean 'hidden'?"));
});

test('errors in --set values blame the flag', async () => {
  const got = await issues(recipePath('tiny.yaml'), ['model.hiddn=3', 'schedule.batch_size=abc']);
  assert.equal(
    got.map((i) => [i.code, i.path, i.file, i.set]),
    [
      ['unknown_key', 'model.hiddn', '--set', '--set model.hiddn=3'],
      ['wrong_type', 'schedule.batch_size', '--set', '--set schedule.batch_size=abc'],
    ],
  );
  const bad = await issues(recipePath('tiny.yaml'), ['no-equals-sign']);
  assert.is(bad[0]!.code, 'bad_set');
});

test('cross-field errors blame the file that wrote the value, through extends', async () => {
  // heads 2 comes from tiny.yaml; the hidden size from --set.
  const got = await issues(recipePath('tiny.yaml'), ['model.hidden=129']);
  assert.is(got[0]!.code, 'heads_divide_hidden');
  assert.is(`${got[0]!.file}:${got[0]!.line}:${got[0]!.col}`, 'recipes/tiny.yaml:21:31');
});

test('a missing recipe file is one error', async () => {
  const got = await issues(join(root, 'recipes/does-not-exist.yaml'));
  assert.equal([got[0]!.code, got[0]!.file], ['missing_file', 'recipes/does-not-exist.yaml']);
});

test('bert-run check: one line per error, exit 2, no stack trace', () => {
  const run = spawnSync(process.execPath, [join(root, 'dist/src/cli/bert-run.js'), 'check', F + 'many.yaml'], { cwd: root, encoding: 'utf8' });
  assert.is(run.status, 2);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines, [
    `bert-run: ${F}many.yaml:5:3: model.hiden: unknown key (did you mean 'hidden'?)`,
    `${F}many.yaml:7:10: schedule.steps: must be ≥ 1 (got 0)`,
    `${F}many.yaml:10:12: runtime.backend: must be one of auto, vulkan, metal, d3d12 (got "vulkn"; did you mean 'vulkan'?)`,
  ]);
  assert.not.match(run.stderr, /at .*\.js:\d+/);
});

test('bert-run check --json reports the counts', () => {
  const run = spawnSync(process.execPath, [join(root, 'dist/src/cli/bert-run.js'), 'check', 'recipes/base.yaml', '--json'], { cwd: root, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { totalParams: number; flops: { trainingPerToken: number }; memory: { total: number } };
  assert.is(report.totalParams, 110_106_428);
  assert.ok(report.flops.trainingPerToken > 0 && report.memory.total > 0);
  const text = spawnSync(process.execPath, [join(root, 'dist/src/cli/bert-run.js'), 'check', 'recipes/large.yaml'], { cwd: root, encoding: 'utf8' });
  assert.is(text.status, 0);
  assert.match(text.stdout, /total\s+336,226,108/);
  assert.match(text.stdout, /encoder\.0-23\.attention\s+24/);
});

test.run();
