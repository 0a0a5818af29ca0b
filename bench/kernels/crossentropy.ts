// crossentropy benchmark cases: the fused MLM loss (training: loss + in-place gradient, and
// evaluation: loss only) over BERT-base's masked predictions × vocabulary, and NSP (V = 2). GB/s.
import { crossentropyLaunch, usableCrossentropyVariants, type CrossentropyShape } from '../../src/compiler/kernels/crossentropy.js';
import type { KernelCase, KernelCaseFactory } from '../kernel-case.js';

export function crossentropyCases(shapes: { label: string; shape: CrossentropyShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    for (const variant of usableCrossentropyVariants(shape, limits)) {
      cases.push({
        name: shape.writeGrad === false ? 'softmax_crossentropy_forward' : 'softmax_crossentropy',
        variant,
        shape: label,
        launch: crossentropyLaunch(shape, limits, variant),
        bindingBytes: [shape.R * shape.V * 4, shape.R * 4, shape.R * 4, 32, shape.R * 4, shape.R * 4],
        // Labels must be class indices.
        intBindings: { 1: shape.V },
      });
    }
  }
  return cases;
}

export const crossentropyBenchCases: KernelCaseFactory = (s, limits, quick) => {
  if (quick) return crossentropyCases([{ label: '64x4096', shape: { R: 64, V: 4096, scale: 'mlm' } }], limits);
  return crossentropyCases(
    [
      { label: `${s.predictions}x${s.vocab}`, shape: { R: s.predictions, V: s.vocab, scale: 'mlm' } },
      { label: `${s.predictions}x${s.vocab} eval`, shape: { R: s.predictions, V: s.vocab, scale: 'one', writeGrad: false } },
      { label: `${s.batch}x2`, shape: { R: s.batch, V: 2, scale: 'nsp' } },
    ],
    limits,
  );
};
