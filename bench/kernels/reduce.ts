// reduce benchmark cases: the partials pass over a (tokens × inner) array, sum and sum of
// squares (the gradient-norm building block), and the finish over its partials.
import { reducePartialsLaunch, reduceFinishLaunch, reducePartialCount, usableReduceVariants } from '../../src/compiler/kernels/reduce.js';
import type { KernelCase, KernelCaseFactory } from '../kernel-case.js';

export const reduceBenchCases: KernelCaseFactory = (s, limits, quick) => {
  const n = quick ? 256 * 128 : s.tokens * s.inner;
  const label = quick ? '256x128' : `${s.tokens}x${s.inner}`;
  const cases: KernelCase[] = [];
  for (const square of [false, true]) {
    for (const variant of usableReduceVariants({ n })) {
      cases.push({
        name: square ? 'reduce_sumsq_partials' : 'reduce_sum_partials',
        variant,
        shape: label,
        launch: reducePartialsLaunch({ n, square }, limits, variant),
        bindingBytes: [4 * n, 4 * reducePartialCount(n, variant)],
        baseline: variant === 'scalar',
      });
    }
  }
  const count = reducePartialCount(n, 'scalar');
  cases.push({ name: 'reduce_finish', variant: 'scalar', shape: `${count} partials`, launch: reduceFinishLaunch({ count }, limits), bindingBytes: [4 * count, 4] });
  return cases;
};
