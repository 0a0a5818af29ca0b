// The model's vocabulary rows, a recipe-level rule: model.vocab_size (or the tokenizer's size, or
// the size a trained tokenizer will have) rounded up to pad_vocab_to_multiple_of.
import type { Recipe } from './recipe-types.js';

/** Embedding rows: model.vocab_size (or the tokenizer's) rounded up to pad_vocab_to_multiple_of. */
export function vocabRows(recipe: Recipe, tokenizerVocab?: number): number {
  const m = recipe.model;
  const v = typeof m.vocab_size === 'number' ? m.vocab_size : (tokenizerVocab ?? recipe.data.tokenizer.wordpiece?.train.vocab_size);
  if (v === undefined) throw new Error('vocabRows: vocab_size is from-tokenizer and the tokenizer file was not read; pass its size');
  const k = m.pad_vocab_to_multiple_of;
  return Math.ceil(v / k) * k;
}
