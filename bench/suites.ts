// Every bert-bench suite, in the order `bert-bench` runs them by default.
import type { BenchSuite } from './types.js';
import { kernelSuite } from './kernel-suite.js';
import { stepSuite } from './step.js';
import { dataSuite } from './data.js';
import { matmulSuite } from './matmul.js';
import { autotuneSuite } from './autotune.js';
import { abSuite } from './ab.js';

// ab needs a --variant to compare, so a bare `bert-bench` does not run it.
export const suites: readonly BenchSuite[] = [kernelSuite, stepSuite, dataSuite, matmulSuite, autotuneSuite, abSuite];
