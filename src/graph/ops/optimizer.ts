// CPU references for the optimizer step, float64, plain loops: global gradient norm with
// clipping and the nonfinite skip, AdamW (torch.optim.AdamW; with bias correction off, Google
// BERT's AdamWeightDecayOptimizer) and LAMB (You et al. 2019). They update one range
// [offset, offset + length) of flat arrays, as the kernels do (kernels/optimizer.wgsl); elements
// outside the range are copied through unchanged. No GPU code, no gradients (nothing
// differentiates through an optimizer step).

/** Parameters, accumulated gradients and the two moments of one arena layout. */
export interface OptimizerArrays {
  p: ArrayLike<number>;
  g: ArrayLike<number>;
  m: ArrayLike<number>;
  v: ArrayLike<number>;
}

export interface OptimizerArrays64 {
  p: Float64Array;
  g: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

export interface RangeRef {
  offset: number;
  length: number;
}

export interface NormState {
  norm: number;
  /** max_norm > 0 and finite: min(1, max_norm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_; divided by the loss scale. */
  clipScale: number;
  /** The sum of squares is NaN/Inf or past the f32 range (the kernels sum in f32). */
  nonfinite: boolean;
  sumsq: number;
}

const F32_MAX = 3.4028234663852886e38;

/**
 * Σ g² over every range of every gradient array; the norm state the update kernels read. The
 * gradients carry the loss scale S: the norm is that of g / S, and the clip factor includes 1/S.
 */
export function gradNormReference(grads: { data: ArrayLike<number>; offset: number; length: number }[], maxNorm: number, lossScale = 1): NormState {
  let sumsq = 0;
  for (const { data, offset, length } of grads) {
    for (let i = offset; i < offset + length; i++) sumsq += data[i]! * data[i]!;
  }
  const nonfinite = !(sumsq <= F32_MAX);
  const norm = Math.sqrt(sumsq) / lossScale;
  const clipScale = (maxNorm > 0 && !nonfinite ? Math.min(1, maxNorm / (norm + 1e-6)) : 1) / lossScale;
  return { norm, clipScale, nonfinite, sumsq };
}

export interface AdamRefHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  biasCorrection: boolean;
}

export interface StepRef {
  /** Optimizer step, 1-based. */
  step: number;
  lr: number;
  /** From the norm state (default 1). */
  clipScale?: number;
  /** The norm state's nonfinite flag: leave p, m, v untouched (default false). */
  skip?: boolean;
  /** Zero the gradient range, also on a skipped step (default true). */
  zeroGrad?: boolean;
}

function copy(a: OptimizerArrays): OptimizerArrays64 {
  return { p: Float64Array.from(a.p), g: Float64Array.from(a.g), m: Float64Array.from(a.m), v: Float64Array.from(a.v) };
}

function biasCorrections(h: AdamRefHyper, step: number): { bc1: number; bc2: number } {
  if (!h.biasCorrection) return { bc1: 1, bc2: 1 };
  return { bc1: 1 - h.beta1 ** step, bc2: 1 - h.beta2 ** step };
}

/**
 * One AdamW step on [offset, offset + length), in torch.optim.AdamW's order (single-tensor path):
 *   p ← p·(1 − lr·wd);  m ← lerp(m, g, 1 − β1);  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / bc1) · m / (√v / √bc2 + eps)
 * with g = grad · clipScale and bc = 1 when bias correction is off.
 */
export function adamwUpdateReference(state: OptimizerArrays, range: RangeRef, h: AdamRefHyper, s: StepRef): OptimizerArrays64 {
  const out = copy(state);
  const { p, g, m, v } = out;
  const end = range.offset + range.length;
  if (!s.skip) {
    const { bc1, bc2 } = biasCorrections(h, s.step);
    const clip = s.clipScale ?? 1;
    for (let i = range.offset; i < end; i++) {
      const grad = g[i]! * clip;
      p[i] = p[i]! * (1 - s.lr * h.weightDecay);
      m[i] = m[i]! + (1 - h.beta1) * (grad - m[i]!);
      v[i] = h.beta2 * v[i]! + (1 - h.beta2) * grad * grad;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps;
      p[i] = p[i]! - (s.lr / bc1) * (m[i]! / denom);
    }
  }
  if (s.zeroGrad ?? true) g.fill(0, range.offset, end);
  return out;
}

/**
 * Google BERT's AdamWeightDecayOptimizer (optimization.py), literally: no bias correction, the
 * decay added to the update. adamwUpdateReference with biasCorrection false is the same map.
 */
export function bertAdamReference(state: OptimizerArrays, range: RangeRef, h: Omit<AdamRefHyper, 'biasCorrection'>, s: StepRef): OptimizerArrays64 {
  const out = copy(state);
  const { p, g, m, v } = out;
  const end = range.offset + range.length;
  if (!s.skip) {
    const clip = s.clipScale ?? 1;
    for (let i = range.offset; i < end; i++) {
      const grad = g[i]! * clip;
      m[i] = h.beta1 * m[i]! + (1 - h.beta1) * grad;
      v[i] = h.beta2 * v[i]! + (1 - h.beta2) * grad * grad;
      const update = m[i]! / (Math.sqrt(v[i]!) + h.eps) + h.weightDecay * p[i]!;
      p[i] = p[i]! - s.lr * update;
    }
  }
  if (s.zeroGrad ?? true) g.fill(0, range.offset, end);
  return out;
}

export interface LambRefHyper extends AdamRefHyper {
  /** Trust ratio also where weightDecay is 0 (paper/NVLAMB); false: apex FusedLAMB's default. */
  trustNoDecay: boolean;
}

export interface LambResult extends OptimizerArrays64 {
  paramNorm: number;
  updateNorm: number;
  trustRatio: number;
}

/**
 * One LAMB step of one tensor (You et al. 2019, Algorithm 2, as NVIDIA's BERT runs it):
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  u = m̂/(√v̂ + eps) + wd·p
 *   r = ‖p‖/‖u‖ (1 if either is 0, or if wd = 0 without trustNoDecay);  p ← p − lr·r·u
 */
export function lambUpdateReference(state: OptimizerArrays, range: RangeRef, h: LambRefHyper, s: StepRef): LambResult {
  const out = copy(state);
  const { p, g, m, v } = out;
  const end = range.offset + range.length;
  let paramNorm = 0;
  let updateNorm = 0;
  let trustRatio = 1;
  if (!s.skip) {
    const { bc1, bc2 } = biasCorrections(h, s.step);
    const clip = s.clipScale ?? 1;
    const u = new Float64Array(range.length); // (length)
    for (let i = range.offset; i < end; i++) {
      const grad = g[i]! * clip;
      m[i] = h.beta1 * m[i]! + (1 - h.beta1) * grad;
      v[i] = h.beta2 * v[i]! + (1 - h.beta2) * grad * grad;
      u[i - range.offset] = m[i]! / bc1 / (Math.sqrt(v[i]! / bc2) + h.eps) + h.weightDecay * p[i]!;
    }
    let pp = 0;
    let uu = 0;
    for (let i = 0; i < range.length; i++) {
      pp += p[range.offset + i]! ** 2;
      uu += u[i]! ** 2;
    }
    paramNorm = Math.sqrt(pp);
    updateNorm = Math.sqrt(uu);
    const adapt = h.weightDecay !== 0 || h.trustNoDecay;
    trustRatio = adapt && paramNorm > 0 && updateNorm > 0 ? paramNorm / updateNorm : 1;
    for (let i = 0; i < range.length; i++) p[range.offset + i] = p[range.offset + i]! - s.lr * trustRatio * u[i]!;
  }
  if (s.zeroGrad ?? true) g.fill(0, range.offset, end);
  return { ...out, paramNorm, updateNorm, trustRatio };
}
