// Launch definitions of kernels/embedding.wgsl: the summed BERT input embeddings and the three
// The lowering of the embedding ops sits at the end of this file.
// deterministic table gradients (word by CSR groups of rows, position, token type).
// Bindings per op are listed in EMBEDDING_BINDINGS (WGSL binding order from 1).
import { grid1d, gridStride, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, otherTypes } from './kernel.js';
import type { LoweringTable } from '../lower-context.js';

export const EMBEDDING_OPS = ['embedding_forward', 'embedding_backward_word', 'embedding_backward_position', 'embedding_backward_type'] as const;
export type EmbeddingOp = (typeof EMBEDDING_OPS)[number];

/** Storage bindings of each op, in WGSL binding order from 1. ids/types/unique/offsets/rows are i32. */
export const EMBEDDING_BINDINGS: Record<EmbeddingOp, readonly string[]> = {
  embedding_forward: ['ids', 'types', 'word', 'pos', 'type', 'out'],
  embedding_backward_word: ['d_out', 'unique', 'offsets', 'rows', 'd_word'],
  embedding_backward_position: ['d_out', 'd_pos'],
  embedding_backward_type: ['d_out', 'types', 'd_type'],
};

export const EMBEDDING_VARIANTS = ['scalar', 'vec4'] as const;
export type EmbeddingVariant = (typeof EMBEDDING_VARIANTS)[number];

export interface EmbeddingShape {
  op: EmbeddingOp;
  /** Token rows (batch·seq). */
  N: number;
  H: number;
  /** Sequence length: row n has position n % seq. */
  seq: number;
  /** Rows of the word, position and token-type tables. */
  V: number;
  P: number;
  TV: number;
  /**
   * embedding_backward_word: group capacity G, the length of `unique` (offsets has G + 1);
   * default min(N, V), enough for any batch. Pad with paddedRowGroups.
   */
  groups?: number;
  dtype?: DType;
  /** Element type of the table gradients (alias TG), when it differs: f32 for an f16 plan. */
  gradDtype?: DType;
}

const WG = 64;

/**
 * Invocations per workgroup. Forward and word gradient: a workgroup takes a row, its lanes stride
 * over the row's columns, so it needs no more lanes than columns (powers of two from 8, lavapipe's
 * SIMD width, to 64): tiny.yaml's 32 vec4 columns in 64 lanes left half of every row's lanes idle
 * (forward 0.44 -> 0.40 ms, word gradient 0.62 -> 0.56 ms at 32, in one process). The others: 64.
 */
function embeddingWorkgroup(op: EmbeddingOp, cols: number): number {
  if (op !== 'embedding_forward' && op !== 'embedding_backward_word') return WG;
  let wg = 8;
  while (wg < WG && wg < cols) wg *= 2;
  return wg;
}

export function usableEmbeddingVariants(shape: Pick<EmbeddingShape, 'H'>): EmbeddingVariant[] {
  return shape.H % 4 === 0 ? ['scalar', 'vec4'] : ['scalar'];
}

export function pickEmbeddingVariant(shape: EmbeddingShape, forced?: Record<string, string>): EmbeddingVariant {
  const usable = usableEmbeddingVariants(shape);
  return chooseVariant('embedding', usable, usable.includes('vec4') ? 'vec4' : 'scalar', forced);
}

export function embeddingGroups(shape: Pick<EmbeddingShape, 'N' | 'V' | 'groups'>): number {
  return shape.groups ?? Math.min(shape.N, shape.V);
}

export function embeddingLaunch(shape: EmbeddingShape, limits: DeviceLimits, variant: EmbeddingVariant = pickEmbeddingVariant(shape)): KernelLaunch {
  const { op, N, H, seq, V, P, TV } = shape;
  if (variant === 'vec4' && H % 4 !== 0) throw new Error(`embedding vec4 needs H % 4 == 0 (H ${H})`);
  if (!(seq >= 1 && V >= 1 && P >= 1 && TV >= 1)) throw new Error(`embedding: seq, V, P, TV must be ≥ 1`);
  const dtype = shape.dtype ?? 'f32';
  const e = dtype === 'f16' ? 2 : 4;
  const cols = variant === 'vec4' ? H / 4 : H;
  const groups = embeddingGroups(shape);
  const wg = embeddingWorkgroup(op, cols);
  let rows: number;
  let bytes: number;
  switch (op) {
    case 'embedding_forward':
      rows = N;
      bytes = 8 * N + e * 4 * N * H; // ids, types; three gathered rows + the output per token
      break;
    case 'embedding_backward_word':
      rows = groups;
      bytes = 4 * (2 * groups + 1 + N) + e * (N * H + 2 * Math.min(groups, N) * H);
      break;
    case 'embedding_backward_position':
      rows = Math.min(seq, P);
      bytes = e * (N * H + 2 * rows * H);
      break;
    case 'embedding_backward_type':
      rows = TV;
      bytes = 4 * N + e * (N * H + 2 * TV * H);
      break;
  }
  return {
    pipeline: { kernel: 'embedding', entry: variant === 'vec4' ? `${op}_vec4` : op, dtype, ...otherTypes(dtype, { TG: op === 'embedding_forward' ? undefined : shape.gradDtype }), features: dtype === 'f16' ? ['shader-f16'] : [], overrides: { WG: wg } },
    uniforms: [N, H, seq, V, P, TV, groups, 0],
    // Forward and word gradient: workgroups stride over the rows (gridStride); position/type: an invocation per element.
    workgroups: op === 'embedding_forward' || op === 'embedding_backward_word' ? gridStride(rows, limits) : grid1d(ceilDiv(rows * cols, wg), limits),
    flops: (op === 'embedding_forward' ? 2 : 1) * N * H,
    bytes,
  };
}

// ---------------------------------------------------------------------------------------------
// Lowering: the summed input embeddings in one dispatch; the backward one dispatch per table.

export const EMBEDDING_LOWERING: LoweringTable<'embedding' | 'embedding_backward'> = {
  embedding(op, ctx) {
    const { ids, types, word, pos, type } = op.inputs;
    const [V, H] = ctx.g.get(word).shape as [number, number];
    const P = pos !== undefined ? ctx.g.get(pos).shape[0]! : 1;
    const TV = type !== undefined ? ctx.g.get(type).shape[0]! : 1;
    const shape: EmbeddingShape = { op: 'embedding_forward', N: ctx.g.size(ids), H, seq: op.attrs.seq, V, P, TV, dtype: ctx.dtype(word) };
    // A graph without learned positions or token types binds never-written (zero) tables.
    const posSlice = pos !== undefined ? ctx.slice(pos) : ctx.scratch('zero_positions', P * H * 4);
    const typeSlice = type !== undefined ? ctx.slice(type) : ctx.scratch('zero_types', TV * H * 4);
    ctx.dispatch(op, embeddingLaunch(shape, ctx.limits, pickEmbeddingVariant(shape, ctx.variants)), [ctx.slice(ids), ctx.slice(types), ctx.slice(word), posSlice, typeSlice, ctx.slice(op.outputs.out)]);
  },
  embedding_backward(op, ctx) {
    const { dout, types, unique, offsets, rows } = op.inputs;
    const { dword, dpos, dtype } = op.outputs;
    const [N, H] = ctx.g.get(dout).shape as [number, number];
    const V = dword !== undefined ? ctx.g.get(dword).shape[0]! : 1;
    const P = dpos !== undefined ? ctx.g.get(dpos).shape[0]! : 1;
    const TV = dtype !== undefined ? ctx.g.get(dtype).shape[0]! : 1;
    const groups = ctx.g.size(unique);
    const launch = (which: EmbeddingShape['op']) => {
      const shape: EmbeddingShape = { op: which, N, H, seq: op.attrs.seq, V, P, TV, groups, dtype: ctx.dtype(dout), gradDtype: ctx.dtype((dword ?? dpos ?? dtype)!) };
      return embeddingLaunch(shape, ctx.limits, pickEmbeddingVariant(shape, ctx.variants));
    };
    if (dword !== undefined) ctx.dispatch(op, launch('embedding_backward_word'), [dout, unique, offsets, rows, dword].map((t) => ctx.slice(t)), 'word');
    if (dpos !== undefined) ctx.dispatch(op, launch('embedding_backward_position'), [ctx.slice(dout), ctx.slice(dpos)], 'position');
    if (dtype !== undefined) ctx.dispatch(op, launch('embedding_backward_type'), [dout, types, dtype].map((t) => ctx.slice(t)), 'type');
  },
};
