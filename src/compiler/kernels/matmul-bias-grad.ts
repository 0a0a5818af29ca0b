// Launch definition of kernels/matmul-bias-grad.wgsl: the bias gradient db[n] (+)= Σ_m dY[m, n]
// The lowering of the bias_grad op sits at the end of this file.
// of a dense layer, in two dispatches (row-chunk partial sums into an f32 scratch buffer, then
// one pass over the chunks). Deterministic: the summation order depends only on the shape.
import { grid1d, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits, ShaderFeature } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, otherTypes } from './kernel.js';
import type { LowerContext, LoweringTable } from '../lower-context.js';
import type { Op } from '../../graph/ir.js';

export interface BiasGradShape {
  /** Rows of dY (tokens). */
  M: number;
  /** Columns of dY = length of db. */
  N: number;
  /** db += instead of db = (gradient accumulation over micro-batches). */
  accumulate?: boolean;
  dtype?: DType;
  /** Element type of db (alias TG), when it differs: f32 for an f16 plan's parameter gradient. */
  gradDtype?: DType;
}

/** scalar: one column per invocation, any N. vec4: 4 columns per load, N % 4 == 0. */
export const BIAS_GRAD_VARIANTS = ['scalar', 'vec4'] as const;
export type BiasGradVariant = (typeof BIAS_GRAD_VARIANTS)[number];
/** Stage 1 (partial) bindings, then stage 2 (final) bindings, each in WGSL order from 1. */
export const BIAS_GRAD_PARTIAL_BINDINGS = ['dy', 'partial'] as const;
export const BIAS_GRAD_FINAL_BINDINGS = ['partial', 'db'] as const;

const WG = 64;

export interface BiasGradLaunch {
  /** Stage 1: bindings (dy (M, N) as T, partial scratch (chunks, N) f32); writes partial `=`. */
  partial: KernelLaunch;
  /** Stage 2: bindings (partial, db (N) as T); writes db `=`, or `+=` with accumulate. */
  final: KernelLaunch;
  /** Size of the partial scratch buffer, f32 elements (= biasGradScratchElements). */
  scratchElements: number;
}

/**
 * Rows summed per invocation in stage 1. CPU rasterizers (lavapipe): few, long chunks, since
 * each invocation's running sum costs nothing but its loads, and stage 2 should stay tiny;
 * 256 rows still give 48 workgroups at 4096 × 768 for the (few) CPU threads. Real GPUs: short
 * chunks (32 rows) for thousands of invocations in flight.
 */
export function biasGradRowsPerChunk(shape: BiasGradShape, limits: DeviceLimits): number {
  return Math.max(1, Math.min(shape.M, limits.adapter?.isCpu ? 256 : 32));
}

/** f32 elements of the stage-1 scratch buffer: chunks × N. */
export function biasGradScratchElements(shape: BiasGradShape, limits: DeviceLimits): number {
  return ceilDiv(shape.M, biasGradRowsPerChunk(shape, limits)) * shape.N;
}

export function usableBiasGradVariants(shape: BiasGradShape): BiasGradVariant[] {
  return BIAS_GRAD_VARIANTS.filter((v) => v === 'scalar' || shape.N % 4 === 0);
}

export function pickBiasGradVariant(shape: BiasGradShape, _limits: DeviceLimits, forced?: Record<string, string>): BiasGradVariant {
  // vec4 loads whenever rows are 16-byte aligned: 4× fewer loads (lavapipe) or wider ones (GPUs).
  const usable = usableBiasGradVariants(shape);
  return chooseVariant('bias_grad', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

export function biasGradLaunch(shape: BiasGradShape, limits: DeviceLimits, variant: BiasGradVariant = pickBiasGradVariant(shape, limits)): BiasGradLaunch {
  const { M, N } = shape;
  if (!(M >= 1 && N >= 1)) throw new Error(`bias_grad needs M, N ≥ 1 (got ${M}×${N})`);
  if (variant === 'vec4' && N % 4 !== 0) throw new Error(`bias_grad vec4 needs N % 4 == 0 (got N = ${N})`);
  const rows = biasGradRowsPerChunk(shape, limits);
  const chunks = ceilDiv(M, rows);
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  const features: ShaderFeature[] = dtype === 'f16' ? ['shader-f16'] : [];
  const uniforms = [M, N, rows, chunks];
  const columnsPerInvocation = variant === 'vec4' ? 4 : 1;
  const blocks = ceilDiv(ceilDiv(N, columnsPerInvocation), WG);
  return {
    partial: {
      pipeline: { kernel: 'matmul-bias-grad', entry: variant === 'vec4' ? 'bias_grad_partial_vec4' : 'bias_grad_partial', dtype, features, overrides: { WG } },
      uniforms,
      workgroups: grid1d(chunks * blocks, limits),
      flops: M * N,
      bytes: elementBytes * M * N + 4 * chunks * N,
    },
    final: {
      pipeline: { kernel: 'matmul-bias-grad', entry: 'bias_grad_final', dtype, ...otherTypes(dtype, { TG: shape.gradDtype }), features, overrides: { WG, ACCUMULATE: shape.accumulate ? 1 : 0 } },
      uniforms,
      workgroups: grid1d(ceilDiv(N, WG), limits),
      flops: chunks * N,
      bytes: 4 * chunks * N + elementBytes * N * (shape.accumulate ? 2 : 1),
    },
    scratchElements: chunks * N,
  };
}

// Lowering: row-chunk partials into a scratch buffer, then the final pass (=|+= into db). Also
// what a weight-gradient matmul with a fused bias gradient (rowSum) runs when its kernel cannot
// sum the rows itself (kernels/matmul.ts); `prefix` starts the dispatches' label suffixes then.
export function dispatchBiasGrad(ctx: LowerContext, op: Op, dy: number, db: number, accumulate: boolean, prefix?: string): void {
  const [M, N] = ctx.g.get(dy).shape as [number, number];
  const shape = { M, N, accumulate, dtype: ctx.dtype(dy), gradDtype: ctx.dtype(db) };
  const launch = biasGradLaunch(shape, ctx.limits, pickBiasGradVariant(shape, ctx.limits, ctx.variants));
  const scratch = ctx.scratch('bias_grad_partials', launch.scratchElements * 4);
  const label = (stage: string) => (prefix ? `${prefix}.${stage}` : stage);
  ctx.dispatch(op, launch.partial, [ctx.slice(dy), scratch], label('partial'));
  ctx.dispatch(op, launch.final, [scratch, ctx.slice(db)], label('final'));
}

export const BIAS_GRAD_LOWERING: LoweringTable<'bias_grad'> = {
  bias_grad(op, ctx) {
    dispatchBiasGrad(ctx, op, op.inputs.dy, op.outputs.db, op.accumulate.includes('db'));
  },
};
