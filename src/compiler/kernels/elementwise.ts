// Launch definitions of kernels/elementwise.wgsl: copy, fill, add, scale, activations and their
// The lowering of the elementwise ops sits at the end of this file.
// gradients, GEGLU and standalone dropout, each a flat map over n elements.
// Bindings per op are listed in ELEMENTWISE_BINDINGS (WGSL binding order from 1).
import { grid1d, gridStride, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { ActivationName } from '../../graph/ops/activation.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, otherTypes } from './kernel.js';
import type { LowerContext, LoweringTable } from '../lower-context.js';
import type { Op } from '../../graph/ir.js';
import type { BufferSlice } from '../../plan/types.js';

export const ELEMENTWISE_OPS = [
  'copy',
  'fill',
  'add',
  'scale',
  'scale_inplace',
  'act_forward',
  'act_backward',
  'geglu_forward',
  'geglu_backward',
  'dropout_forward',
  'dropout_backward',
  'convert',
] as const;
export type ElementwiseOp = (typeof ELEMENTWISE_OPS)[number];

/** Storage bindings of each op, in WGSL binding order from 1. */
export const ELEMENTWISE_BINDINGS: Record<ElementwiseOp, readonly string[]> = {
  copy: ['x', 'out'],
  fill: ['out'],
  add: ['a', 'b', 'out'],
  scale: ['x', 'out'],
  scale_inplace: ['out'],
  act_forward: ['x', 'out'],
  // For activation 'tanh' the second binding is the forward OUTPUT y, not x.
  act_backward: ['dy', 'x', 'dx'],
  geglu_forward: ['inp', 'out'],
  geglu_backward: ['dy', 'inp', 'd_in'],
  dropout_forward: ['step_state', 'x', 'out'],
  dropout_backward: ['step_state', 'dy', 'dx'],
  // x is the input element type (alias TI, shape.inDtype), out is T: f32 master weights to f16 copies.
  convert: ['x', 'out'],
};

export const ELEMENTWISE_VARIANTS = ['scalar', 'vec4'] as const;
export type ElementwiseVariant = (typeof ELEMENTWISE_VARIANTS)[number];

export const ACTIVATION_CODES: Record<ActivationName, number> = { gelu: 1, gelu_tanh: 2, relu: 3, tanh: 4 };

export interface ElementwiseShape {
  op: ElementwiseOp;
  /** Elements of the output (GEGLU: rows·F, the halved output). */
  n: number;
  /** GEGLU: F, the output columns (input rows are 2F wide). */
  cols?: number;
  /** fill value, or the scale factor of scale / scale_inplace. */
  alpha?: number;
  /** Dropout probability (dropout ops). */
  p?: number;
  /** convert: the input's element type (alias TI); the output is dtype. */
  inDtype?: DType;
  /** Dropout stream: a per-call-site constant assigned by the compiler. */
  stream?: number;
  /** act_* and geglu_* (GEGLU default gelu). */
  activation?: ActivationName;
  /** `+=` into the output instead of `=` (all ops except copy, fill, scale_inplace). */
  accumulate?: boolean;
  dtype?: DType;
}

const ACCUMULATING: ReadonlySet<ElementwiseOp> = new Set(['add', 'scale', 'act_forward', 'act_backward', 'geglu_forward', 'geglu_backward', 'dropout_forward', 'dropout_backward']);

/** vec4 needs every bound tensor's length (and GEGLU's row halves) to be multiples of 4. */
export function usableElementwiseVariants(shape: ElementwiseShape): ElementwiseVariant[] {
  const aligned = shape.n % 4 === 0 && (!shape.op.startsWith('geglu') || (shape.cols ?? 0) % 4 === 0);
  return aligned ? ['scalar', 'vec4'] : ['scalar'];
}

export function pickElementwiseVariant(shape: ElementwiseShape, forced?: Record<string, string>): ElementwiseVariant {
  const usable = usableElementwiseVariants(shape);
  // vec4: a quarter of the load instructions (lavapipe's cost) and full-width transactions on GPUs.
  return chooseVariant('elementwise', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

/** Bytes each op moves per output element, in units of the element size (reads + writes). */
function elementsMoved(op: ElementwiseOp, accumulate: boolean): number {
  const acc = accumulate ? 1 : 0;
  switch (op) {
    case 'copy':
    case 'convert': return 2;
    case 'fill': return 1;
    case 'add': return 3 + acc;
    case 'scale': return 2 + acc;
    case 'scale_inplace': return 2;
    case 'act_forward': return 2 + acc;
    case 'act_backward': return 3 + acc;
    case 'geglu_forward': return 3 + acc;
    case 'geglu_backward': return 5 + 2 * acc;
    case 'dropout_forward': return 2 + acc;
    case 'dropout_backward': return 2 + acc;
  }
}

function flopsPerElement(op: ElementwiseOp, activation: ActivationName): number {
  const actFlops = activation === 'relu' ? 1 : 20; // erf/tanh polynomials, roughly
  switch (op) {
    case 'copy':
    case 'convert':
    case 'fill': return 0;
    case 'act_forward': return actFlops;
    case 'act_backward': return actFlops + 1;
    case 'geglu_forward': return actFlops + 1;
    case 'geglu_backward': return 2 * actFlops + 3;
    default: return 1;
  }
}

export function elementwiseLaunch(shape: ElementwiseShape, limits: DeviceLimits, variant: ElementwiseVariant = pickElementwiseVariant(shape)): KernelLaunch {
  const { op, n } = shape;
  if (variant === 'vec4' && !usableElementwiseVariants(shape).includes('vec4')) throw new Error(`elementwise ${op}: vec4 needs n and cols multiples of 4 (n ${n}, cols ${shape.cols})`);
  if (op.startsWith('geglu') && !(shape.cols && shape.cols > 0 && n % shape.cols === 0)) throw new Error(`elementwise ${op}: cols must divide n (n ${n}, cols ${shape.cols})`);
  const accumulate = shape.accumulate ?? false;
  if (accumulate && !ACCUMULATING.has(op)) throw new Error(`elementwise ${op} cannot accumulate`);
  const activation = shape.activation ?? 'gelu';
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  const wg = 64;
  const invocations = variant === 'vec4' ? n / 4 : n;
  const p = shape.p ?? 0;
  if (op.startsWith('dropout') && !(p >= 0 && p < 1)) throw new Error(`dropout p must be in [0, 1) (got ${p})`);
  if (op === 'convert' && !(dtype === 'f16' && shape.inDtype === 'f32')) throw new Error(`elementwise convert: f32 to f16 only (got ${shape.inDtype} to ${dtype})`);
  const alpha = op.startsWith('dropout') ? 1 / (1 - p) : shape.alpha ?? (op === 'fill' ? 0 : 1);
  return {
    pipeline: {
      kernel: 'elementwise',
      entry: variant === 'vec4' ? `${op}_vec4` : op,
      dtype,
      ...otherTypes(dtype, { TI: op === 'convert' ? shape.inDtype : undefined }),
      features: dtype === 'f16' || shape.inDtype === 'f16' ? ['shader-f16'] : [],
      overrides: { ACT: ACTIVATION_CODES[activation], ACCUMULATE: accumulate ? 1 : 0, WG: wg },
    },
    uniforms: [n, shape.cols ?? 0, f32Bits(alpha), f32Bits(p), (shape.stream ?? 0) >>> 0, 0, 0, 0],
    workgroups: op.startsWith('geglu') ? grid1d(n / shape.cols!, limits) : gridStride(ceilDiv(invocations, wg), limits),
    flops: n * flopsPerElement(op, activation),
    bytes: n * elementBytes * elementsMoved(op, accumulate) + (op.startsWith('dropout') ? 32 : 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Lowering: every elementwise op is one flat dispatch over its elements.

function dispatchElementwise(ctx: LowerContext, op: Op, shape: ElementwiseShape, bindings: BufferSlice[]): void {
  ctx.dispatch(op, elementwiseLaunch(shape, ctx.limits, pickElementwiseVariant(shape, ctx.variants)), bindings);
}

export const ELEMENTWISE_LOWERING: LoweringTable<'activation' | 'activation_backward' | 'geglu' | 'geglu_backward' | 'dropout' | 'dropout_backward' | 'add' | 'fill'> = {
  activation(op, ctx) {
    dispatchElementwise(ctx, op, { op: 'act_forward', n: ctx.g.size(op.inputs.x), activation: op.attrs.fn, dtype: ctx.dtype(op.inputs.x) }, [ctx.slice(op.inputs.x), ctx.slice(op.outputs.y)]);
  },
  activation_backward(op, ctx) {
    // tanh's derivative is taken from its output y; the others from the input x.
    const source = op.attrs.fn === 'tanh' ? op.inputs.y : op.inputs.x;
    const shape: ElementwiseShape = { op: 'act_backward', n: ctx.g.size(op.inputs.dy), activation: op.attrs.fn, accumulate: op.accumulate.includes('dx'), dtype: ctx.dtype(op.inputs.dy) };
    dispatchElementwise(ctx, op, shape, [ctx.slice(op.inputs.dy), ctx.slice(source), ctx.slice(op.outputs.dx)]);
  },
  geglu(op, ctx) {
    const y = op.outputs.y;
    dispatchElementwise(ctx, op, { op: 'geglu_forward', n: ctx.g.size(y), cols: ctx.g.get(y).shape[1]!, activation: 'gelu', dtype: ctx.dtype(y) }, [ctx.slice(op.inputs.x), ctx.slice(y)]);
  },
  geglu_backward(op, ctx) {
    const dy = op.inputs.dy;
    const shape: ElementwiseShape = { op: 'geglu_backward', n: ctx.g.size(dy), cols: ctx.g.get(dy).shape[1]!, activation: 'gelu', accumulate: op.accumulate.includes('dx'), dtype: ctx.dtype(dy) };
    dispatchElementwise(ctx, op, shape, [ctx.slice(dy), ctx.slice(op.inputs.x), ctx.slice(op.outputs.dx)]);
  },
  dropout(op, ctx) {
    dispatchElementwise(ctx, op, { op: 'dropout_forward', n: ctx.g.size(op.inputs.x), p: op.attrs.p, stream: op.attrs.stream, dtype: ctx.dtype(op.inputs.x) }, [ctx.stepState(), ctx.slice(op.inputs.x), ctx.slice(op.outputs.y)]);
  },
  dropout_backward(op, ctx) {
    const shape: ElementwiseShape = { op: 'dropout_backward', n: ctx.g.size(op.inputs.dy), p: op.attrs.p, stream: op.attrs.stream, accumulate: op.accumulate.includes('dx'), dtype: ctx.dtype(op.inputs.dy) };
    dispatchElementwise(ctx, op, shape, [ctx.stepState(), ctx.slice(op.inputs.dy), ctx.slice(op.outputs.dx)]);
  },
  add(op, ctx) {
    dispatchElementwise(ctx, op, { op: 'add', n: ctx.g.size(op.outputs.y), dtype: ctx.dtype(op.outputs.y) }, [ctx.slice(op.inputs.a), ctx.slice(op.inputs.b), ctx.slice(op.outputs.y)]);
  },
  fill(op, ctx) {
    dispatchElementwise(ctx, op, { op: 'fill', n: ctx.g.size(op.outputs.out), alpha: op.attrs.value, dtype: ctx.dtype(op.outputs.out) }, [ctx.slice(op.outputs.out)]);
  },
};
