// Finds the package root (the folder holding package.json) from any compiled file, so kernels/,
// schemas/ and recipes/ are found both from src via tsc output in dist/ and from an install.
import { existsSync, readFileSync } from 'node:fs';
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

/** `bert-webgpu 0.1.0 (webgpu 0.6.2, node v20.20.2)`: what `--version` prints and bug reports quote. */
export function versionLine(program: string): string {
  const read = (file: string): string | undefined => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const root = packageRoot();
  const own = read(join(root, 'package.json')) ?? 'unknown';
  const webgpu = read(join(root, 'node_modules', 'webgpu', 'package.json')) ?? 'not installed';
  return `${program} ${own} (webgpu ${webgpu}, node ${process.version})`;
}
