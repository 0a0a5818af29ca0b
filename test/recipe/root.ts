// Paths for the recipe tests: the package root (tests run from dist/, fixtures stay in test/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}

export const root = findRoot();
export const fixture = (name: string): string => join(root, 'test/recipe/fixtures', name);
export const recipePath = (name: string): string => join(root, 'recipes', name);
