// The norm state: four f32 words the optimizer stage's grad_norm_finalize writes and every update
// reads (kernels/optimizer.wgsl), and that the trainer reads back after each step to learn the
// gradient norm and whether the step was skipped. Plan format, shared by compiler and runtime.

/** f32 words of the norm state. */
export const NORM_STATE_WORDS = 4;
/** Word indices in the norm state. */
export const NORM_STATE = { norm: 0, clipScale: 1, nonfinite: 2, sumsq: 3 } as const;

export interface NormState {
  /** Global gradient norm (before clipping). */
  gradNorm: number;
  /** The factor the update scaled gradients by (1 when no clipping applied). */
  clipScale: number;
  /** A gradient was NaN or Inf: the update was skipped and the gradients zeroed. */
  nonFinite: boolean;
}

export function decodeNormState(words: Float32Array): NormState {
  return { gradNorm: words[NORM_STATE.norm]!, clipScale: words[NORM_STATE.clipScale]!, nonFinite: words[NORM_STATE.nonfinite] !== 0 };
}
