// Golden snapshot of tiny.yaml's training plan under the reference limits (STYLE.md 7): a
// compiler refactor leaves it identical, or the commit regenerates it and explains the diff.
// Regenerate with: UPDATE_SNAPSHOTS=1 npm test -- plan-snapshot
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadRecipe } from '../../src/recipe/index.js';
import { compile } from '../../src/compiler/compile.js';
import { REFERENCE_LIMITS } from '../../src/plan/types.js';
import { plannedVocab } from '../../src/cli/commands/plan.js';
import { fixture } from '../support/fixtures.js';

test('tiny.yaml plan matches its golden snapshot', async () => {
  const { recipe } = await loadRecipe(fixture('..', 'recipes', 'tiny.yaml'));
  const { vocab } = plannedVocab(recipe);
  const shape = { batch: recipe.schedule.micro_batch_size, seq: recipe.data.seq_len, predictions: recipe.tasks.mlm.max_predictions };
  const { plan } = compile(recipe, vocab, shape, REFERENCE_LIMITS, { training: true });
  const text = JSON.stringify(plan, null, 1) + '\n';
  const path = fixture('compiler', 'snapshots', 'tiny.plan.json');
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(path)) {
    if (process.env.CI) assert.unreachable(`${path} is missing; regenerate it with UPDATE_SNAPSHOTS=1`);
    writeFileSync(path, text);
  }
  const expected = readFileSync(path, 'utf8');
  if (text !== expected) {
    const a = expected.split('\n');
    const b = text.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    assert.unreachable(`plan differs from ${path} at line ${at + 1}:\n  snapshot: ${a[at]}\n  now:      ${b[at]}\n(regenerate with UPDATE_SNAPSHOTS=1 if the change is intended)`);
  }
  // The snapshot is real: spot-check what it must contain.
  assert.ok(plan.steps.some((s) => s.label === 'encoder.1.attention.core.scores'));
  assert.ok(plan.steps.some((s) => s.label.startsWith('optimizer.adamw.bert.embeddings.word_embeddings.weight')));
  assert.ok(plan.summary.bytes.activations_peak < 0.7 * plan.summary.bytes.activations_unplanned);
  // A metric sum of one reduce chunk (160 masked predictions) is one dispatch, no finish.
  assert.equal(plan.steps.filter((s) => s.label.startsWith('mlm.loss.sum')).map((s) => s.pipeline.entry), ['reduce_partials_vec4']);
});

test.run();
