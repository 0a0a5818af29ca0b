// Every bert-bench suite, in the order `bert-bench` runs them by default.
import type { BenchSuite } from './types.js';
import { matmulSuite } from './matmul.js';

export const suites: readonly BenchSuite[] = [matmulSuite];
