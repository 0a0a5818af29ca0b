// Hostile and careless recipe input: alias bombs, huge files, non-regular files, keys that name
// JavaScript prototypes (in the file and in --set), list indexes far past the end, unknown keys
// created by a flag, and settings training refuses. Each is one clean RecipeError line, fast.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadRecipe, RecipeError, type RecipeIssue } from '../../src/recipe/index.js';
import { recipePath, root } from './root.js';

const dir = mkdtempSync(join(tmpdir(), 'bert-hostile-recipe-'));
const tiny = readFileSync(recipePath('tiny.yaml'), 'utf8');

async function issues(file: string, sets: string[] = []): Promise<RecipeIssue[]> {
  try {
    await loadRecipe(file, { sets, cwd: root });
  } catch (e) {
    assert.instance(e, RecipeError);
    return [...(e as RecipeError).issues];
  }
  throw new Error(`${file}: expected a RecipeError`);
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('an alias bomb is refused at once, without expanding it', async () => {
  let text = 'version: 1\nname: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 12; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  const t0 = performance.now();
  const got = await issues(write('bomb.yaml', text));
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  assert.equal(got.map((i) => i.code), ['yaml_alias']);
  assert.match(got[0]!.message, /alias bomb/);
});

test('modest anchors and aliases still work', async () => {
  const text = tiny.replace('  graph:\n', '  graph:\n').replace(
    /- attention: \{ heads: 2, dropout: 0.1, probs_dropout: 0.1, norm: post \}/,
    '- attention: &attn { heads: 2, dropout: 0.1, probs_dropout: 0.1, norm: post }',
  ).replace('    - pooler: { activation: tanh }', '    - repeat: 1\n      layers: [ { attention: *attn } ]\n    - pooler: { activation: tanh }');
  const { recipe } = await loadRecipe(write('anchors.yaml', text), { cwd: dir });
  assert.is(recipe.model.graph[2]!.layers![0]!.attention!.heads, 2);
});

test('a recipe over 1 MiB is refused before it is parsed', async () => {
  const big = write('big.yaml', 'version: 1\nx: [' + Array(400_000).fill('1').join(', ') + ']\n');
  const t0 = performance.now();
  const got = await issues(big);
  assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`);
  assert.equal(got.map((i) => i.code), ['too_large']);
  assert.match(formatIssue(got[0]!), /big\.yaml: recipe file is 1\.\d MiB; recipes are limited to 1 MiB$/);
});

test('a FIFO or a device as the recipe is refused, not read forever', async () => {
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  for (const file of [fifo, '/dev/zero']) {
    const got = await issues(file);
    assert.equal(got.map((i) => [i.code, i.message]), [['missing_file', 'recipe is not a regular file']]);
  }
  const parent = write('extends-fifo.yaml', 'version: 1\nextends: fifo.yaml\n');
  const got = await issues(parent);
  assert.equal(got.map((i) => i.code), ['missing_file']);
  assert.match(got[0]!.message, /not a regular file/);
});

test('__proto__, constructor and prototype: refused in --set and as recipe keys; Object.prototype untouched', async () => {
  for (const set of ['__proto__.polluted=1', 'model.__proto__.polluted=1', 'constructor.prototype.polluted=1', 'model.graph[0].prototype=1']) {
    const got = await issues(recipePath('tiny.yaml'), [set]);
    assert.equal(got.map((i) => [i.code, i.set]), [['forbidden_key', `--set ${set}`]], set);
    assert.is(formatIssue(got[0]!).split('\n').length, 1);
  }
  const file = write('proto.yaml', tiny.replace('seed: 1234', 'seed: 1234\n__proto__: { polluted: 1 }\nmodel_extra: { constructor: 1 }'));
  const got = await issues(file);
  assert.equal(got.map((i) => [i.code, i.path, i.line]), [['forbidden_key', '__proto__', 11], ['forbidden_key', 'model_extra.constructor', 12]]);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('a --set index far past the end of a list: one line naming the flag', async () => {
  const got = await issues(recipePath('tiny.yaml'), ['model.graph.99.repeat=3']);
  assert.equal(got.map((i) => [i.code, i.set]), [['bad_set', '--set model.graph.99.repeat=3']]);
  assert.is(formatIssue(got[0]!), '--set model.graph.99.repeat=3: model.graph[99]: index 99 is out of range: model.graph has 3 items (use [0] to [3])');
  // Appending right after the last item is allowed (and then validated like any item).
  const appended = await issues(recipePath('tiny.yaml'), ['model.graph[3].pooler.activation=tanh']);
  assert.equal(appended.map((i) => i.code), ['graph_order']);
});

test('an unknown key created by --set is blamed on the --set, not on a line of the recipe', async () => {
  const got = await issues(recipePath('tiny.yaml'), ['foo.bar=1']);
  assert.equal(got.length, 1);
  assert.is(formatIssue(got[0]!).split(':')[0], '--set foo.bar=1');
  assert.is(got[0]!.code, 'unknown_key');
  assert.is(got[0]!.line, undefined);
});

test('mixed precision is a recipe setting check accepts, reporting the activation memory of both precisions', async () => {
  const { recipe } = await loadRecipe(recipePath('tiny.yaml'), { cwd: root, sets: ['runtime.precision=f16'] });
  assert.is(recipe.runtime.precision, 'f16');
  const cli = spawnSync(process.execPath, [join(root, 'bin/bert-run.js'), 'check', recipePath('tiny.yaml'), '--set', 'runtime.precision=f16'], { encoding: 'utf8' });
  assert.is(cli.status, 0, cli.stderr);
  const line = cli.stdout.split('\n').find((l) => l.startsWith('compiled plan'))!;
  const [f16, f32] = [/f16\): activations ([\d.]+) MiB/.exec(line), /precision f32: ([\d.]+) MiB/.exec(line)].map((m) => Number(m?.[1]));
  assert.ok(f16 > 0 && f32 > 0 && f16 < 0.6 * f32, line);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
