// Launch definitions of kernels/reduce.wgsl: a deterministic two-pass sum or sum of squares.
// The lowering of the sum op sits at the end of this file.
// reducePartialsLaunch writes (or adds into) G = reducePartialCount(n) f32 partials;
// reduceFinishLaunch sums `count` partials into out[0] (=|+=), scaled by alpha.
// Bindings: REDUCE_BINDINGS (WGSL binding order from 1).
import { grid1d, ceilDiv, f32Bits } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant } from './kernel.js';
import type { LoweringTable } from '../lower-context.js';

export const REDUCE_BINDINGS = {
  reduce_partials: ['x', 'partials'],
  reduce_finish: ['partials', 'out'],
} as const;

export const REDUCE_VARIANTS = ['scalar', 'vec4'] as const;
export type ReduceVariant = (typeof REDUCE_VARIANTS)[number];

export interface ReducePartialsShape {
  /** Elements of x. */
  n: number;
  /** Σ x² instead of Σ x. */
  square?: boolean;
  /** `+=` into the partials (several arrays into one result). */
  accumulate?: boolean;
  dtype?: DType;
}

export interface ReduceFinishShape {
  /** Partials to sum (reducePartialCount of the largest array reduced into them). */
  count: number;
  /** out = alpha·Σ (e.g. 1/count for a mean). */
  alpha?: number;
  accumulate?: boolean;
}

// 64 invocations × 64 items: one partial per 4096 elements (16384 as vec4) keeps the tree's
// barriers rare (lavapipe: barriers are costly) and the finish short.
const WG = 64;
const ITEMS = 64;

export function usableReduceVariants(shape: Pick<ReducePartialsShape, 'n'>): ReduceVariant[] {
  return shape.n % 4 === 0 ? ['scalar', 'vec4'] : ['scalar'];
}

export function pickReduceVariant(shape: ReducePartialsShape, forced?: Record<string, string>): ReduceVariant {
  const usable = usableReduceVariants(shape);
  return chooseVariant('reduce', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

/** Elements one partial covers. */
export function reduceChunk(variant: ReduceVariant): number {
  return WG * ITEMS * (variant === 'vec4' ? 4 : 1);
}

/** Partials reduce_partials writes for n elements (at least 1 slot is always reserved). */
export function reducePartialCount(n: number, variant: ReduceVariant = pickReduceVariant({ n })): number {
  return Math.max(1, ceilDiv(n, reduceChunk(variant)));
}

export function reducePartialsLaunch(shape: ReducePartialsShape, limits: DeviceLimits, variant: ReduceVariant = pickReduceVariant(shape)): KernelLaunch {
  const { n } = shape;
  if (variant === 'vec4' && n % 4 !== 0) throw new Error(`reduce vec4 needs n % 4 == 0 (n ${n})`);
  const dtype = shape.dtype ?? 'f32';
  const groups = ceilDiv(n, reduceChunk(variant));
  return {
    pipeline: {
      kernel: 'reduce',
      entry: variant === 'vec4' ? 'reduce_partials_vec4' : 'reduce_partials',
      dtype,
      features: dtype === 'f16' ? ['shader-f16'] : [],
      overrides: { SQUARE: shape.square ? 1 : 0, ACCUMULATE: shape.accumulate ? 1 : 0, WG, ITEMS },
    },
    uniforms: [n, 0, f32Bits(1), 0],
    workgroups: grid1d(groups, limits),
    flops: n * (shape.square ? 2 : 1),
    bytes: n * (dtype === 'f16' ? 2 : 4) + 4 * groups * (shape.accumulate ? 2 : 1),
  };
}

export function reduceFinishLaunch(shape: ReduceFinishShape, _limits: DeviceLimits): KernelLaunch {
  return {
    pipeline: { kernel: 'reduce', entry: 'reduce_finish', dtype: 'f32', features: [], overrides: { ACCUMULATE: shape.accumulate ? 1 : 0, WG } },
    uniforms: [0, shape.count, f32Bits(shape.alpha ?? 1), 0],
    workgroups: [1, 1, 1],
    flops: shape.count,
    bytes: 4 * shape.count + 4,
  };
}

// Lowering: partials into a scratch buffer, then a fixed-order finish (=|+= into out). An array
// of one chunk or less (a step's metric sums: 160 masked predictions, 16 sequences) has a single
// partial: the partials launch writes (or adds) it straight into out, one dispatch instead of
// two. The same value: the finish would add zeros to it and scale it by 1.
export const REDUCE_LOWERING: LoweringTable<'sum'> = {
  sum(op, ctx) {
    const x = op.inputs.x;
    const n = ctx.g.size(x);
    const variant = pickReduceVariant({ n }, ctx.variants);
    const count = reducePartialCount(n, variant);
    const accumulate = op.accumulate.includes('out');
    if (count === 1) {
      ctx.dispatch(op, reducePartialsLaunch({ n, accumulate }, ctx.limits, variant), [ctx.slice(x), ctx.slice(op.outputs.out)]);
      return;
    }
    const partials = ctx.scratch('reduce_partials', count * 4);
    ctx.dispatch(op, reducePartialsLaunch({ n }, ctx.limits, variant), [ctx.slice(x), partials], 'partials');
    ctx.dispatch(op, reduceFinishLaunch({ count, accumulate }, ctx.limits), [partials, ctx.slice(op.outputs.out)], 'finish');
  },
};
