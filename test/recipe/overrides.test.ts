// Precedence: tiny.yaml < parent.yaml < child.yaml (deep merge, lists replaced, naming another
// variant of an exactly-one-of mapping replaces the old one) < --set in order < --steps/--out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadRecipe } from '../../src/recipe/index.js';
import { fixture, recipePath, root } from './root.js';

const child = fixture('chain/child.yaml');

test('extends: deep merge, later files win, lists replace', async () => {
  const { recipe, file, text } = await loadRecipe(child, { cwd: root });
  assert.is(file, child);
  assert.is(recipe.name, 'child'); // child over parent
  assert.is(recipe.seed, 7); // parent over tiny
  assert.is(recipe.model.hidden, 64); // parent
  assert.is(recipe.model.max_position, 128); // child
  assert.is(recipe.model.pad_vocab_to_multiple_of, 8); // tiny, through two levels
  assert.is(recipe.model.graph[1]!.repeat, 3); // the parent's list replaced tiny's
  assert.is(recipe.model.graph[1]!.layers![0]!.attention!.heads, 4);
  assert.is(recipe.model.graph[1]!.layers![0]!.attention!.dropout, 0.1); // schema default
  assert.is(recipe.schedule.steps, 400);
  assert.equal(recipe.schedule.no_decay, ['*norm*']);
  assert.is(recipe.schedule.batch_size, 16); // tiny
  assert.is('extends' in recipe, false);
  assert.is(recipe.runtime.out, 'runs/child');
  assert.match(text, /^name: child$/m);
});

test('extends: naming another variant replaces the inherited one', async () => {
  const { recipe } = await loadRecipe(child, { cwd: root });
  assert.equal(Object.keys(recipe.schedule.optimizer), ['lamb']);
  assert.is(recipe.schedule.optimizer.lamb!.weight_decay, 0.1);
  assert.is(recipe.schedule.optimizer.lamb!.lr, 1e-4); // schema default, not adamw's 0.002
  assert.is(recipe.data.corpus.source, undefined);
  // corpus globs resolve relative to the file that wrote them
  assert.equal(recipe.data.corpus.files, [join(root, 'test/recipe/fixtures/corpus/*.txt')]);
});

test('--set beats every file, applies in order, and is typed by the schema', async () => {
  const { recipe } = await loadRecipe(child, {
    cwd: root,
    sets: ['schedule.steps=500', 'schedule.steps=600', 'name=123', 'model.graph[1].layers[0].attention.heads=8', 'model.graph.1.repeat=5', 'schedule.optimizer.lamb.betas=[0.8, 0.9]', 'tasks.mlm.whole_word=true', 'model.vocab_size=4096', 'runtime.variants.matmul=blocked'],
  });
  assert.is(recipe.schedule.steps, 600);
  assert.is(recipe.name, '123'); // a string in the schema stays a string
  assert.is(recipe.model.graph[1]!.layers![0]!.attention!.heads, 8);
  assert.is(recipe.model.graph[1]!.repeat, 5);
  assert.equal(recipe.schedule.optimizer.lamb!.betas, [0.8, 0.9]);
  assert.is(recipe.tasks.mlm.whole_word, true);
  assert.is(recipe.model.vocab_size, 4096);
  assert.equal(recipe.runtime.variants, { matmul: 'blocked' });
});

test('--set can switch a variant and name a value that is otherwise a default', async () => {
  const { recipe } = await loadRecipe(recipePath('tiny.yaml'), { cwd: root, sets: ['schedule.optimizer.lamb.lr=0.01', 'model.vocab_size=from-tokenizer', 'data.tokenizer.wordpiece.train.vocab_size=1000'] });
  assert.equal(Object.keys(recipe.schedule.optimizer), ['lamb']);
  assert.is(recipe.schedule.optimizer.lamb!.lr, 0.01);
  assert.is(recipe.model.vocab_size, 'from-tokenizer');
  assert.is(recipe.data.tokenizer.wordpiece!.train.vocab_size, 1000);
});

test('--steps and --out come last', async () => {
  const { recipe, text } = await loadRecipe(child, { cwd: root, sets: ['schedule.steps=500', 'runtime.out=elsewhere'], steps: 90, out: 'runs/x' });
  assert.is(recipe.schedule.steps, 90);
  assert.is(recipe.runtime.out, 'runs/x');
  assert.match(text, /^ {2}steps: 90$/m);
});

test('--steps below warmup_steps: a quick run clamps the warmup with one warning line', async () => {
  const { recipe, warnings } = await loadRecipe(recipePath('tiny.yaml'), { cwd: root, steps: 10 });
  assert.is(recipe.schedule.steps, 10);
  assert.is(recipe.schedule.lr.warmup_steps, 10);
  assert.equal(warnings, ['--steps 10: schedule.lr.warmup_steps 80 clamped to 10, the steps of this run']);
  const plain = await loadRecipe(recipePath('tiny.yaml'), { cwd: root });
  assert.equal(plain.warnings, []);
});

test('--steps below the phases: the phase that reaches past it ends there, later ones are dropped', async () => {
  const { recipe, warnings } = await loadRecipe(recipePath('base.yaml'), { cwd: root, steps: 20 });
  assert.equal(recipe.schedule.phases.map((p) => [p.until_step, p.seq_len]), [[20, 128]]);
  assert.is(recipe.schedule.lr.warmup_steps, 20);
  assert.equal(warnings, ['--steps 20: schedule.lr.warmup_steps 10000 clamped to 20, the steps of this run', '--steps 20: schedule.phases[0] now ends at step 20 (was 900000); 1 later phase dropped']);
});

test('a warmup the user set past the flag steps stays an error, blamed on the flag that set it', async () => {
  try {
    await loadRecipe(recipePath('tiny.yaml'), { cwd: root, steps: 10, sets: ['schedule.lr.warmup_steps=50'] });
    assert.unreachable('expected an error');
  } catch (e) {
    const issues = (e as { issues?: { code: string; path: string; set?: string }[] }).issues;
    assert.equal(issues?.map((i) => [i.code, i.path, i.set]), [['warmup_exceeds_steps', 'schedule.lr.warmup_steps', '--set schedule.lr.warmup_steps=50']]);
  }
});

test.run();
