#!/usr/bin/env node
// Writes the training mails of a spam-assassin fine-tuning recipe as an unlabelled pretraining
// corpus (jsonl, one mail a line: {"text": subject and body}), for in-domain pretraining before
// fine-tuning (recipes/spam-mlm.yaml). The split is the recipe's own (its seed and holdout), so the
// validation mails never reach pretraining. Needs `npx tsc -p .` first (reads dist/).
//   node scripts/make-spam-corpus.mjs [recipes/spam-scratch.yaml] [runs/spam-mails.jsonl]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadRecipe } from '../dist/src/recipe/load.js';
import { readRecipeLabelled } from '../dist/src/train/tasks/classification-task.js';

const [recipeFile = 'recipes/spam-scratch.yaml', out = 'runs/spam-mails.jsonl'] = process.argv.slice(2);
try {
  const { recipe } = await loadRecipe(recipeFile);
  const { labelled } = recipe.data;
  if (!labelled) throw Object.assign(new Error(`${recipeFile}: no data.labelled (expected a fine-tuning recipe such as recipes/spam-scratch.yaml)`), { name: 'UserError' });
  const { train, validation } = readRecipeLabelled({ ...recipe, data: { ...recipe.data, labelled: { ...labelled, max_examples: undefined } } }, dirname(recipeFile));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.partial`, train.map((e) => JSON.stringify({ text: e.text })).join('\n') + '\n');
  renameSync(`${out}.partial`, out);
  const bytes = train.reduce((n, e) => n + Buffer.byteLength(e.text), 0);
  console.log(`${out}: ${train.length} training mails (${(bytes / 1e6).toFixed(1)} MB of text); ${validation.length} held out, not written`);
} catch (e) {
  // Bad input (a recipe error, a missing file) is one line; anything else is a bug and keeps its stack.
  if (e?.name !== 'UserError' && e?.name !== 'RecipeError' && !e?.code) throw e;
  console.error(`make-spam-corpus: ${String(e.message).split('\n').join('; ')}`);
  process.exit(e.exitCode ?? 1);
}
