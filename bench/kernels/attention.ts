// attention benchmark cases: each of the five launches (forward: scores, context; backward:
// grad_v, grad_scores, grad_qk) at BERT-base's shape (B·NH·T·T·D products, GFLOP/s), for every
// variant the device can run; the scalar-load `plain` variant (no subgroups, any device) is the
// baseline of every stage.
import { attentionLaunch, ATTENTION_STAGES, usableAttentionVariants, type AttentionShape } from '../../src/compiler/kernels/attention.js';
import { withF16, type KernelCase, type KernelCaseFactory } from '../kernel-case.js';

/** Byte size of every binding of a stage, in its WGSL order. */
function bindingBytes(shape: AttentionShape, stage: (typeof ATTENTION_STAGES)[number]): number[] {
  const { B, T, H, heads } = shape;
  const qkv = B * T * 3 * H * 4;
  const act = B * T * H * 4;
  const probs = B * heads * T * T * 4;
  const state = 32;
  switch (stage) {
    case 'scores':
      return [qkv, B * T * 4, probs];
    case 'context':
      return [qkv, probs, state, act];
    case 'grad_v':
      return [act, probs, state, qkv];
    case 'grad_scores':
      return [act, probs, state, qkv, act];
    case 'grad_qk':
      return [qkv, probs, qkv];
  }
}

export function attentionCases(shapes: { label: string; shape: AttentionShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    for (const variant of usableAttentionVariants(shape, limits)) {
      for (const stage of ATTENTION_STAGES) {
        // The vec4 variant changes only scores and grad_scores; the other stages are the same pipeline.
        if (variant === 'subgroup_vec4' && stage !== 'scores' && stage !== 'grad_scores') continue;
        cases.push({
          name: `attention_${stage}`,
          variant,
          shape: label,
          launch: attentionLaunch(shape, limits, stage, variant),
          bindingBytes: bindingBytes(shape, stage),
          baseline: variant === 'plain',
          // The mask must hold 0/1; random words elsewhere are fine (step_state's seed included).
          ...(stage === 'scores' ? { intBindings: { 1: 2 } } : {}),
        });
      }
    }
  }
  return cases;
}

export const attentionBenchCases: KernelCaseFactory = (s, limits, quick) => {
  if (quick) return attentionCases(withF16([{ label: 'B2xT64xH128x2', shape: { B: 2, T: 64, H: 128, heads: 2, dropout: 0.1 } as AttentionShape }], limits), limits);
  const shape: AttentionShape = { B: s.batch, T: s.seq, H: s.hidden, heads: s.heads, dropout: 0.1, stream: 1 };
  return attentionCases(withF16([{ label: `B${s.batch}xT${s.seq}xH${s.hidden}x${s.heads}`, shape }], limits), limits);
};
