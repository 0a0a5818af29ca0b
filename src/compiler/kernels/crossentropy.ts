// Launch definition of kernels/crossentropy.wgsl: fused softmax cross-entropy forward and
// The lowering of the crossentropy op sits at the end of this file.
// backward (loss, correct, d_logits in place of the logits). See the WGSL header for layouts.
import { grid1d } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant } from './kernel.js';
import type { LoweringTable } from '../lower-context.js';

/** Which step-state scale multiplies loss and gradient: MLM, NSP, or 1 (evaluation). */
export type CrossentropyScale = 'mlm' | 'nsp' | 'one';
const SCALE_SLOTS: Record<CrossentropyScale, number> = { mlm: 0, nsp: 1, one: 2 };

export interface CrossentropyShape {
  /** Rows: masked predictions (MLM) or sequences (NSP). */
  R: number;
  /** Classes: vocabulary size, or 2 for NSP. */
  V: number;
  scale: CrossentropyScale;
  /** Overwrite the logits with d_logits (training); false for evaluation. Default true. */
  writeGrad?: boolean;
  dtype?: DType;
}

export const CROSSENTROPY_VARIANTS = ['rowwise'] as const;
export type CrossentropyVariant = (typeof CROSSENTROPY_VARIANTS)[number];
/** Storage bindings in WGSL order from 1. */
export const CROSSENTROPY_BINDINGS = ['logits', 'labels', 'weights', 'step_state', 'losses', 'correct'] as const;

export function usableCrossentropyVariants(_shape: CrossentropyShape, _limits: DeviceLimits): CrossentropyVariant[] {
  return [...CROSSENTROPY_VARIANTS];
}

export function pickCrossentropyVariant(shape: CrossentropyShape, limits: DeviceLimits, forced?: Record<string, string>): CrossentropyVariant {
  return chooseVariant('crossentropy', usableCrossentropyVariants(shape, limits), 'rowwise', forced);
}

/** Invocations per row: a power of two, no more than the row needs or the device allows. */
export function crossentropyWorkgroupSize(V: number, limits: DeviceLimits): number {
  // GPUs: 256 lanes keep a 30522-wide row at ~120 columns each. CPU rasterizers (lavapipe) run a
  // workgroup on one thread: 16 lanes measured fastest there (2–3× faster than 64 or 256 at
  // 640×30522), more only adds barrier and scheduling cost. Narrow rows (NSP: V = 2) take 8 lanes
  // so the tree reduction is short.
  const preferred = limits.adapter?.isCpu ? 16 : 256;
  const cap = Math.min(preferred, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  let wg = 8;
  while (wg < cap && wg < V) wg *= 2;
  return Math.min(wg, cap);
}

export function crossentropyLaunch(
  shape: CrossentropyShape,
  limits: DeviceLimits,
  variant: CrossentropyVariant = pickCrossentropyVariant(shape, limits),
): KernelLaunch {
  const { R, V } = shape;
  const writeGrad = shape.writeGrad ?? true;
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  const wg = crossentropyWorkgroupSize(V, limits);
  return {
    pipeline: {
      kernel: 'crossentropy',
      entry: variant === 'rowwise' ? 'softmax_crossentropy' : variant,
      dtype,
      features: dtype === 'f16' ? ['shader-f16'] : [],
      overrides: { WG: wg, WRITE_GRAD: writeGrad ? 1 : 0 },
    },
    uniforms: [R, V, SCALE_SLOTS[shape.scale], 0],
    workgroups: grid1d(R, limits),
    // exp + compare per element in pass 1, exp + fma in pass 2.
    flops: R * V * (writeGrad ? 8 : 4),
    // The logits are read once (twice and written once with the gradient); per-row vectors.
    bytes: R * V * elementBytes * (writeGrad ? 3 : 1) + R * 16,
  };
}

// Lowering: one dispatch; the loss scale comes from the step state (mlm or nsp slot).
export const CROSSENTROPY_LOWERING: LoweringTable<'crossentropy'> = {
  crossentropy(op, ctx) {
    const { logits, labels, weights } = op.inputs;
    const [R, V] = ctx.g.get(logits).shape as [number, number];
    const launch = crossentropyLaunch({ R, V, scale: op.attrs.slot === 0 ? 'mlm' : 'nsp', writeGrad: op.attrs.grad, dtype: ctx.dtype(logits) }, ctx.limits);
    ctx.dispatch(op, launch, [logits, labels, weights].map((t) => ctx.slice(t)).concat([ctx.stepState(), ctx.slice(op.outputs.loss), ctx.slice(op.outputs.correct)]));
  },
};
