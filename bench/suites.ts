// Every bert-bench suite, in the order `bert-bench` runs them by default.
import type { BenchSuite } from './types.js';
import { matmulSuite } from './matmul.js';
import { dataSuite } from './data.js';

export const suites: readonly BenchSuite[] = [matmulSuite, dataSuite];
