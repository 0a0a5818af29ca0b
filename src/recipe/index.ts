// Public surface of src/recipe: load a recipe, its types (generated from the schema), its errors,
// and the model statistics that `bert-run check` prints and the compiler is cross-checked against.
export { loadRecipe, type LoadOptions, type LoadedRecipe } from './load.js';
export { RecipeError, formatIssue, type RecipeIssue, type RecipeIssueCode } from './errors.js';
export { modelStats, vocabRows, type ModelStats, type StatsOptions, type ParamTensor, type ParamGroup, type LayerRow } from './model-stats.js';
export { tokenizerFileVocabSize } from './checks.js';
export { schemaFile, recipeSchema } from './schema.js';
export type * from './recipe-types.js';
