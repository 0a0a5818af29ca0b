// Launch definitions of kernels/rows.wgsl: gather rows by index and the weighted-guard
// The lowering of gather_rows and scatter_rows_add sits at the end of this file.
// scatter-add (its adjoint). Bindings per op are listed in ROWS_BINDINGS (order from 1).
import { grid1d } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant } from './kernel.js';
import type { LoweringTable } from '../lower-context.js';

export const ROWS_OPS = ['gather_rows', 'scatter_rows_add'] as const;
export type RowsOp = (typeof ROWS_OPS)[number];

/** Storage bindings of each op, in WGSL binding order from 1. idx is i32, weights f32. */
export const ROWS_BINDINGS: Record<RowsOp, readonly string[]> = {
  gather_rows: ['src', 'idx', 'out'],
  scatter_rows_add: ['d_out', 'idx', 'weights', 'd_src'],
};

export const ROWS_VARIANTS = ['scalar', 'vec4'] as const;
export type RowsVariant = (typeof ROWS_VARIANTS)[number];

export interface RowsShape {
  op: RowsOp;
  /** Gathered rows (idx length). */
  R: number;
  H: number;
  /** Rows of src / d_src. */
  N: number;
  dtype?: DType;
}

const WG = 64;

export function usableRowsVariants(shape: Pick<RowsShape, 'H'>): RowsVariant[] {
  return shape.H % 4 === 0 ? ['scalar', 'vec4'] : ['scalar'];
}

export function pickRowsVariant(shape: RowsShape, forced?: Record<string, string>): RowsVariant {
  const usable = usableRowsVariants(shape);
  return chooseVariant('rows', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

export function rowsLaunch(shape: RowsShape, limits: DeviceLimits, variant: RowsVariant = pickRowsVariant(shape)): KernelLaunch {
  const { op, R, H, N } = shape;
  if (variant === 'vec4' && H % 4 !== 0) throw new Error(`rows vec4 needs H % 4 == 0 (H ${H})`);
  if (N < 1) throw new Error('rows: N must be ≥ 1');
  const dtype = shape.dtype ?? 'f32';
  const e = dtype === 'f16' ? 2 : 4;
  return {
    pipeline: { kernel: 'rows', entry: variant === 'vec4' ? `${op}_vec4` : op, dtype, features: dtype === 'f16' ? ['shader-f16'] : [], overrides: { WG } },
    uniforms: [R, H, N, 0],
    workgroups: grid1d(R, limits), // one workgroup per row
    flops: op === 'scatter_rows_add' ? R * H : 0,
    bytes: op === 'gather_rows' ? 4 * R + e * 2 * R * H : 8 * R + e * 3 * R * H,
  };
}

// Lowering: one dispatch each.
export const ROWS_LOWERING: LoweringTable<'gather_rows' | 'scatter_rows_add'> = {
  gather_rows(op, ctx) {
    const { src, idx } = op.inputs;
    const [N, H] = ctx.g.get(src).shape as [number, number];
    const shape = { op: 'gather_rows' as const, R: ctx.g.size(idx), H, N, dtype: ctx.dtype(src) };
    ctx.dispatch(op, rowsLaunch(shape, ctx.limits, pickRowsVariant(shape, ctx.variants)), [ctx.slice(src), ctx.slice(idx), ctx.slice(op.outputs.out)]);
  },
  scatter_rows_add(op, ctx) {
    const { dout, idx, weights } = op.inputs;
    const dsrc = op.outputs.dsrc;
    const [N, H] = ctx.g.get(dsrc).shape as [number, number];
    const shape = { op: 'scatter_rows_add' as const, R: ctx.g.size(idx), H, N, dtype: ctx.dtype(dout) };
    ctx.dispatch(op, rowsLaunch(shape, ctx.limits, pickRowsVariant(shape, ctx.variants)), [dout, idx, weights, dsrc].map((t) => ctx.slice(t)));
  },
};
