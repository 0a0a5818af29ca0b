// bias_grad benchmark cases: both stages at BERT-base's dense-layer shapes (tokens × hidden,
// tokens × inner), each variant; scalar is the baseline of stage 1.
import { biasGradLaunch, usableBiasGradVariants } from '../../src/compiler/kernels/matmul-bias-grad.js';
import type { KernelCase, KernelCaseFactory } from '../kernel-case.js';

export const matmulBiasGradBenchCases: KernelCaseFactory = (s, limits, quick) => {
  const shapes = quick ? [{ M: 256, N: 128 }] : [{ M: s.tokens, N: s.hidden }, { M: s.tokens, N: s.inner }];
  const cases: KernelCase[] = [];
  for (const shape of shapes) {
    const label = `${shape.M}x${shape.N}`;
    for (const variant of usableBiasGradVariants(shape)) {
      const launch = biasGradLaunch({ ...shape, accumulate: true }, limits, variant);
      cases.push({ name: 'bias_grad_partial', variant, shape: label, launch: launch.partial, bindingBytes: [shape.M * shape.N * 4, launch.scratchElements * 4], baseline: variant === 'scalar' });
      if (variant === 'vec4') {
        cases.push({ name: 'bias_grad_final', variant: 'scalar', shape: label, launch: launch.final, bindingBytes: [launch.scratchElements * 4, shape.N * 4] });
      }
    }
  }
  return cases;
};
