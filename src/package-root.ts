// Finds the package root (the folder holding package.json) from any compiled file, so kernels/,
// schemas/ and recipes/ are found both from src via tsc output in dist/ and from an install.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'kernels'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package root (with package.json and kernels/) not found');
    dir = parent;
  }
  cached = dir;
  return dir;
}
