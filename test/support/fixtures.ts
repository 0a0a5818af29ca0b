// Paths of test fixtures: tests run from dist/, fixtures stay in the source tree.
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

export function fixture(...parts: string[]): string {
  return join(packageRoot(), 'test', ...parts);
}
