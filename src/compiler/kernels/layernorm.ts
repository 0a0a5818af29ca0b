// Launch definitions of kernels/layernorm.wgsl: LayerNorm forward, the fused post-LN
// residual + dropout + LayerNorm forward, and the backward as three launches (dx, with a dropout's
// backward of it where the graph fused one; per-chunk dgamma/dbeta partials; a fixed-order finish
// that adds into dgamma/dbeta). The lowering of the LayerNorm ops sits at the end of this file.
// Bindings per op are listed in LAYERNORM_BINDINGS (WGSL binding order from 1).
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, otherTypes } from './kernel.js';
import type { LowerContext, LoweringTable } from '../lower-context.js';
import type { Op } from '../../graph/ir.js';
import type { BufferSlice } from '../../plan/types.js';

export const LAYERNORM_OPS = ['layernorm_forward', 'layernorm_forward_dropout', 'residual_dropout_layernorm_forward', 'layernorm_backward', 'layernorm_backward_dropout', 'layernorm_backward_params', 'layernorm_backward_params_finish'] as const;
export type LayernormOp = (typeof LAYERNORM_OPS)[number];

/** Storage bindings of each op, in WGSL binding order from 1. stats: (N, 2) f32 = (mean, rstd). */
export const LAYERNORM_BINDINGS: Record<LayernormOp, readonly string[]> = {
  layernorm_forward: ['x', 'gamma', 'beta', 'y', 'stats'],
  layernorm_forward_dropout: ['x', 'gamma', 'beta', 'y', 'stats', 'step_state'],
  residual_dropout_layernorm_forward: ['step_state', 'residual', 'a', 'gamma', 'beta', 's', 'y', 'stats'],
  layernorm_backward: ['dy', 'x', 'gamma', 'stats', 'dx'],
  layernorm_backward_dropout: ['dy', 'x', 'gamma', 'stats', 'dx', 'step_state', 'dropped'],
  layernorm_backward_params: ['dy', 'x', 'stats', 'partials'],
  layernorm_backward_params_finish: ['partials', 'dgamma', 'dbeta'],
};

export const LAYERNORM_VARIANTS = ['scalar', 'vec4'] as const;
export type LayernormVariant = (typeof LAYERNORM_VARIANTS)[number];

export interface LayernormShape {
  op: LayernormOp;
  /** Rows (tokens). */
  N: number;
  /** Columns (hidden). */
  H: number;
  /** BERT: 1e-12. */
  eps?: number;
  /** Dropout probability and per-site stream: of the sublayer output a (residual_dropout_layernorm_forward), of y (layernorm_forward_dropout), of `dropped` (layernorm_backward_dropout). */
  p?: number;
  stream?: number;
  /** layernorm_backward[_dropout]: `+=` into dx (post-LN: the residual branch already wrote it). */
  accumulate?: boolean;
  dtype?: DType;
  /** Element type of dgamma/dbeta (alias TG), when it differs: f32 for an f16 plan's parameter gradients. */
  gradDtype?: DType;
}

const WG = 64;

export function usableLayernormVariants(shape: Pick<LayernormShape, 'H'>): LayernormVariant[] {
  return shape.H % 4 === 0 ? ['scalar', 'vec4'] : ['scalar'];
}

export function pickLayernormVariant(shape: LayernormShape, forced?: Record<string, string>): LayernormVariant {
  const usable = usableLayernormVariants(shape);
  // vec4 quarters the load instructions (lavapipe's cost) and widens GPU transactions.
  return chooseVariant('layernorm', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

/**
 * Rows per chunk of the dgamma/dbeta partials. Enough chunks that chunks·H invocations fill
 * the device, few enough that the finish (one invocation per column, looping chunks) stays
 * short: about 64 rows per chunk, but at most 256 chunks.
 */
export function layernormChunkRows(N: number): number {
  return Math.max(64, ceilDiv(N, 256));
}

export function layernormChunks(N: number): number {
  return ceilDiv(N, layernormChunkRows(N));
}

/** Bytes of the f32 partials scratch the backward needs: (chunks, 2, H). */
export function layernormPartialsBytes(N: number, H: number): number {
  return layernormChunks(N) * 2 * H * 4;
}

export function layernormLaunch(shape: LayernormShape, limits: DeviceLimits, variant: LayernormVariant = pickLayernormVariant(shape)): KernelLaunch {
  const { op, N, H } = shape;
  if (variant === 'vec4' && H % 4 !== 0) throw new Error(`layernorm vec4 needs H % 4 == 0 (H ${H})`);
  const accumulate = shape.accumulate ?? false;
  if (accumulate && op !== 'layernorm_backward' && op !== 'layernorm_backward_dropout') throw new Error(`${op} cannot accumulate (only layernorm_backward's dx)`);
  const p = shape.p ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`dropout p must be in [0, 1) (got ${p})`);
  const dtype = shape.dtype ?? 'f32';
  const e = dtype === 'f16' ? 2 : 4;
  const cols = variant === 'vec4' ? H / 4 : H;
  const chunkRows = layernormChunkRows(N);
  const chunks = layernormChunks(N);
  let invocations: number;
  let bytes: number;
  let flops: number;
  switch (op) {
    case 'layernorm_forward':
      invocations = N;
      bytes = e * (2 * N * H + 2 * H) + 8 * N;
      flops = 7 * N * H;
      break;
    case 'layernorm_forward_dropout':
      invocations = N;
      bytes = e * (2 * N * H + 2 * H) + 8 * N + 32;
      flops = 8 * N * H;
      break;
    case 'residual_dropout_layernorm_forward':
      invocations = N;
      bytes = e * (4 * N * H + 2 * H) + 8 * N + 32;
      flops = 9 * N * H;
      break;
    case 'layernorm_backward':
      invocations = N;
      bytes = e * ((accumulate ? 4 : 3) * N * H + H) + 8 * N;
      flops = 12 * N * H;
      break;
    case 'layernorm_backward_dropout':
      invocations = N;
      bytes = e * ((accumulate ? 5 : 4) * N * H + H) + 8 * N + 32;
      flops = 14 * N * H;
      break;
    case 'layernorm_backward_params':
      invocations = chunks * cols;
      bytes = e * 2 * N * H + 8 * N + 4 * chunks * 2 * H;
      flops = 4 * N * H;
      break;
    case 'layernorm_backward_params_finish':
      invocations = cols;
      bytes = 4 * chunks * 2 * H + e * 4 * H;
      flops = 2 * chunks * H;
      break;
  }
  return {
    pipeline: {
      kernel: 'layernorm',
      entry: variant === 'vec4' ? `${op}_vec4` : op,
      dtype,
      ...otherTypes(dtype, { TG: op === 'layernorm_backward_params_finish' ? shape.gradDtype : undefined }),
      features: dtype === 'f16' ? ['shader-f16'] : [],
      overrides: { ACCUMULATE: accumulate ? 1 : 0, WG },
    },
    uniforms: [N, H, f32Bits(shape.eps ?? 1e-12), f32Bits(p), f32Bits(1 / (1 - p)), (shape.stream ?? 0) >>> 0, chunkRows, chunks],
    workgroups: grid1d(ceilDiv(invocations, WG), limits),
    flops,
    bytes,
  };
}

// ---------------------------------------------------------------------------------------------
// Lowering: layernorm and the fused post-LN sublayer end are one dispatch; the backward is dx,
// then (when gamma/beta need gradients) the partials and their fixed-order finish.

function dispatchLayernorm(ctx: LowerContext, op: Op, shape: LayernormShape, bindings: BufferSlice[], suffix?: string): void {
  ctx.dispatch(op, layernormLaunch(shape, ctx.limits, pickLayernormVariant(shape, ctx.variants)), bindings, suffix);
}

export const LAYERNORM_LOWERING: LoweringTable<'layernorm' | 'residual_dropout_layernorm' | 'layernorm_backward'> = {
  layernorm(op, ctx) {
    const { x, gamma, beta } = op.inputs;
    const [N, H] = ctx.g.get(x).shape as [number, number];
    const slices = [x, gamma, beta, op.outputs.y, op.outputs.stats].map((t) => ctx.slice(t));
    const { eps, dropout } = op.attrs;
    if (dropout) dispatchLayernorm(ctx, op, { op: 'layernorm_forward_dropout', N, H, eps, p: dropout.p, stream: dropout.stream, dtype: ctx.dtype(x) }, [...slices, ctx.stepState()]);
    else dispatchLayernorm(ctx, op, { op: 'layernorm_forward', N, H, eps, dtype: ctx.dtype(x) }, slices);
  },
  residual_dropout_layernorm(op, ctx) {
    const { a, residual, gamma, beta } = op.inputs;
    const { s, y, stats } = op.outputs;
    const [N, H] = ctx.g.get(a).shape as [number, number];
    const shape: LayernormShape = { op: 'residual_dropout_layernorm_forward', N, H, eps: op.attrs.eps, p: op.attrs.p, stream: op.attrs.stream, dtype: ctx.dtype(a) };
    dispatchLayernorm(ctx, op, shape, [ctx.stepState(), ...[residual, a, gamma, beta, s, y, stats].map((t) => ctx.slice(t))]);
  },
  layernorm_backward(op, ctx) {
    const { dy, x, gamma, stats } = op.inputs;
    const [N, H] = ctx.g.get(x).shape as [number, number];
    const accumulate = op.accumulate.includes('dx');
    const { dropped } = op.outputs;
    const { dropout } = op.attrs;
    const dxSlices = [dy, x, gamma, stats, op.outputs.dx].map((t) => ctx.slice(t));
    if (dropped !== undefined && dropout) {
      const shape: LayernormShape = { op: 'layernorm_backward_dropout', N, H, accumulate, p: dropout.p, stream: dropout.stream, dtype: ctx.dtype(x) };
      dispatchLayernorm(ctx, op, shape, [...dxSlices, ctx.stepState(), ctx.slice(dropped)], 'dx');
    } else dispatchLayernorm(ctx, op, { op: 'layernorm_backward', N, H, accumulate, dtype: ctx.dtype(x) }, dxSlices, 'dx');
    const { dgamma, dbeta } = op.outputs;
    if (dgamma !== undefined && dbeta !== undefined) {
      const partials = ctx.scratch('layernorm_partials', layernormPartialsBytes(N, H));
      dispatchLayernorm(ctx, op, { op: 'layernorm_backward_params', N, H, dtype: ctx.dtype(x) }, [ctx.slice(dy), ctx.slice(x), ctx.slice(stats), partials], 'params');
      dispatchLayernorm(ctx, op, { op: 'layernorm_backward_params_finish', N, H, dtype: ctx.dtype(x), gradDtype: ctx.dtype(dgamma) }, [partials, ctx.slice(dgamma), ctx.slice(dbeta)], 'params_finish');
    }
  },
};
