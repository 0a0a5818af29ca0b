// elementwise benchmark cases at BERT-base activation sizes: `copy` is the bandwidth yardstick
// every memory-bound kernel is compared with; the scalar forms are the baselines of vec4.
import { elementwiseLaunch, usableElementwiseVariants, ELEMENTWISE_BINDINGS, type ElementwiseShape } from '../../src/compiler/kernels/elementwise.js';
import { STEP_STATE_BYTES } from '../../src/plan/step-state.js';
import { withF16, type KernelCase, type KernelCaseFactory } from '../kernel-case.js';

function bindingBytes(shape: ElementwiseShape): number[] {
  const n = shape.n * 4;
  return ELEMENTWISE_BINDINGS[shape.op].map((name) => {
    if (name === 'step_state') return STEP_STATE_BYTES;
    if (name === 'inp' || name === 'd_in') return 2 * n;
    return n;
  });
}

export function elementwiseCases(shapes: { label: string; shape: ElementwiseShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    for (const variant of usableElementwiseVariants(shape)) {
      cases.push({ name: shape.op, variant, shape: label, launch: elementwiseLaunch(shape, limits, variant), bindingBytes: bindingBytes(shape), baseline: variant === 'scalar' });
    }
  }
  return cases;
}

export const elementwiseBenchCases: KernelCaseFactory = (s, limits, quick) => {
  if (quick) return elementwiseCases(withF16([{ label: '256x128', shape: { op: 'copy', n: 256 * 128 } as ElementwiseShape }], limits), limits);
  const hidden = s.tokens * s.hidden;
  const inner = s.tokens * s.inner;
  const H = `${s.tokens}x${s.hidden}`;
  const I = `${s.tokens}x${s.inner}`;
  return elementwiseCases(
    withF16([
      { label: H, shape: { op: 'copy', n: hidden } },
      { label: I, shape: { op: 'copy', n: inner } },
      { label: I, shape: { op: 'fill', n: inner } },
      { label: H, shape: { op: 'add', n: hidden, accumulate: true } },
      { label: H, shape: { op: 'scale', n: hidden, alpha: 0.5 } },
      { label: I, shape: { op: 'act_forward', n: inner, activation: 'gelu' } },
      { label: I, shape: { op: 'act_backward', n: inner, activation: 'gelu' } },
      { label: `${s.tokens}x${s.hidden}`, shape: { op: 'act_backward', n: s.batch * s.hidden, activation: 'tanh' } },
      { label: `${s.tokens}x2x${s.inner}`, shape: { op: 'geglu_forward', n: inner, cols: s.inner } },
      { label: `${s.tokens}x2x${s.inner}`, shape: { op: 'geglu_backward', n: inner, cols: s.inner } },
      { label: H, shape: { op: 'dropout_forward', n: hidden, p: 0.1, stream: 7 } },
      { label: H, shape: { op: 'dropout_backward', n: hidden, p: 0.1, stream: 7 } },
    ] as { label: string; shape: ElementwiseShape }[], limits),
    limits,
  );
};
