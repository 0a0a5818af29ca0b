// Every shipped recipe compiles for every phase under the reference limits, and the compiled
// graph's parameters agree with the recipe statistics (`bert-run check`) tensor by tensor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { loadRecipe } from '../../src/recipe/index.js';
import { modelStats } from '../../src/graph/stats.js';
import { compile } from '../../src/compiler/compile.js';
import { REFERENCE_LIMITS } from '../../src/plan/types.js';
import { plannedVocab } from '../../src/cli/commands/plan.js';
import { phasesOf } from '../../src/train/phases.js';
import { appliesWeightDecay } from '../../src/compiler/optimizer-plan.js';
import { fixture } from '../support/fixtures.js';

const recipes = readdirSync(fixture('..', 'recipes')).filter((f) => f.endsWith('.yaml')).sort();

for (const file of recipes) {
  test(`${file}: every phase compiles; parameters match bert-run check's count and decay sets`, async () => {
    // The fine-tuning recipes read runs/tiny (the quick start's): its files are not needed here.
    const { recipe } = await loadRecipe(fixture('..', 'recipes', file), { checkInputFiles: false });
    const { vocab } = plannedVocab(recipe);
    const classes = recipe.tasks.classify ? (recipe.tasks.classify.regression ? 1 : 2) : undefined;
    const stats = modelStats(recipe, { vocabSize: vocab, classes });
    for (const phase of phasesOf(recipe)) {
      const { plan } = compile(recipe, vocab, { batch: phase.microBatch, seq: phase.seq, predictions: phase.predictions }, REFERENCE_LIMITS, { training: true, classes });
      assert.is(plan.summary.params, stats.totalParams, `${file} seq ${phase.seq}: plan ${plan.summary.params} vs check ${stats.totalParams}`);
      // Same decay decision as bert-run check for every tensor (the optimizer applies no_decay).
      const planDecay = plan.params.filter((p) => appliesWeightDecay(p.name, recipe)).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
      const checkDecay = stats.parameters.filter((t) => t.decay).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
      assert.is(planDecay, checkDecay, `${file}: parameters with weight decay`);
      assert.ok(plan.summary.bytes.activations_peak < plan.summary.bytes.activations_unplanned);
    }
  });
}

test('BERT-base at micro-batch 32 x 128: liveness planning saves over 40% of activation memory', async () => {
  const { recipe } = await loadRecipe(fixture('..', 'recipes', 'base.yaml'));
  const { plan } = compile(recipe, 30522, { batch: 32, seq: 128, predictions: 20 }, REFERENCE_LIMITS, { training: true });
  const b = plan.summary.bytes;
  assert.is(plan.summary.params, 110106428);
  assert.ok(b.activations_peak < 0.6 * b.activations_unplanned, `${b.activations_peak} vs ${b.activations_unplanned}`);
});

test.run();
