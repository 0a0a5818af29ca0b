// Which parameters get weight decay: schedule.no_decay alone decides (the recipe is the source
// of truth, not the tensor kind). One definition for the optimizer plan and `bert-run check`.
import type { Recipe } from './recipe-types.js';

/** Parameter-name globs (`*` = any characters), case-insensitive: `*norm*` matches LayerNorm. */
export function matchesAny(name: string, globs: readonly string[]): boolean {
  return globs.some((glob) => {
    const re = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    return re.test(name);
  });
}

export function appliesWeightDecay(name: string, recipe: Recipe): boolean {
  return !matchesAny(name, recipe.schedule.no_decay);
}
