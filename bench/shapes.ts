// The recipe a bench run is sized by: loads it (recipes/base.yaml by default) and derives the
// kernel shapes of one micro-batch (tokens, hidden, heads, inner, vocabulary, predictions).
import { join } from 'node:path';
import { loadRecipe, vocabRows, type Recipe } from '../src/recipe/index.js';
import { packageRoot } from '../src/package-root.js';
import type { BenchShapes } from './kernel-case.js';

export interface BenchRecipe {
  recipe: Recipe;
  /** Short name for rows: the recipe's `name`. */
  name: string;
  /** Embedding rows (vocabulary padded as the model allocates it). */
  vocab: number;
}

export function defaultRecipePath(file = 'base.yaml'): string {
  return join(packageRoot(), 'recipes', file);
}

export async function benchRecipe(path: string): Promise<BenchRecipe> {
  const { recipe } = await loadRecipe(path);
  // from-tokenizer recipes: the vocabulary the tokenizer is trained to (no tokenizer file needed).
  return { recipe, name: recipe.name, vocab: vocabRows(recipe) };
}

/** First attention and feedforward layer of the graph (the repeated block). */
function firstLayers(recipe: Recipe): { heads: number; inner: number } {
  let heads: number | undefined;
  let inner: number | undefined;
  for (const item of recipe.model.graph) {
    for (const layer of item.layers ?? []) {
      heads ??= layer.attention?.heads;
      inner ??= layer.feedforward?.inner;
    }
  }
  return { heads: heads ?? 1, inner: inner ?? 4 * recipe.model.hidden };
}

export function recipeShapes(r: BenchRecipe, microBatch: number, seq = r.recipe.data.seq_len): BenchShapes {
  const { heads, inner } = firstLayers(r.recipe);
  return {
    tokens: microBatch * seq,
    batch: microBatch,
    seq,
    hidden: r.recipe.model.hidden,
    heads,
    inner,
    vocab: r.vocab,
    predictions: microBatch * r.recipe.tasks.mlm.max_predictions,
  };
}
