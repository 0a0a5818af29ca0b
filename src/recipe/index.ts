// Public surface of src/recipe: load a recipe, its types (generated from the schema), its errors,
// and the recipe-level rules (vocabulary rows, weight decay) that the graph and the compiler share.
export { loadRecipe, type LoadOptions, type LoadedRecipe } from './load.js';
export { RecipeError, formatIssue, type RecipeIssue, type RecipeIssueCode } from './errors.js';
export { vocabRows } from './vocab-rows.js';
export { appliesWeightDecay } from './weight-decay.js';
export { tokenizerFileVocabSize } from './checks.js';
export { schemaFile, recipeSchema } from './schema.js';
export type * from './recipe-types.js';
