// Lowering of the gather/scatter, embedding, reduction and bias-gradient ops (the rest of the
// table in lower.ts).
import type { Op, OpKind } from '../graph/ir.js';
import type { LowerContext } from './compile.js';
import { embeddingLaunch, pickEmbeddingVariant, type EmbeddingShape } from './kernels/embedding.js';
import { rowsLaunch, pickRowsVariant } from './kernels/rows.js';
import { reduceFinishLaunch, reducePartialCount, reducePartialsLaunch, pickReduceVariant } from './kernels/reduce.js';
import { biasGradLaunch, pickBiasGradVariant } from './kernels/matmul-bias-grad.js';

type Lowering = (op: Op, ctx: LowerContext) => void;

function tables(op: Op, ctx: LowerContext, names: { word: number; pos?: number; type?: number }) {
  const H = ctx.g.get(names.word).shape[1]!;
  const V = ctx.g.get(names.word).shape[0]!;
  const P = names.pos !== undefined ? ctx.g.get(names.pos).shape[0]! : 1;
  const TV = names.type !== undefined ? ctx.g.get(names.type).shape[0]! : 1;
  const seq = (op.attrs as { seq: number }).seq;
  return { H, V, P, TV, seq };
}

export const LOWER_EXTRA: Partial<Record<OpKind, Lowering>> = {
  embedding(op, ctx) {
    const { ids, types, word, pos, type } = op.inputs as { ids: number; types: number; word: number; pos?: number; type?: number };
    const { H, V, P, TV, seq } = tables(op, ctx, { word, pos, type });
    const N = ctx.g.size(ids);
    const shape: EmbeddingShape = { op: 'embedding_forward', N, H, seq, V, P, TV };
    // A graph without learned positions or token types binds never-written (zero) tables.
    const posSlice = pos !== undefined ? ctx.slice(pos) : ctx.scratch('zero_positions', P * H * 4);
    const typeSlice = type !== undefined ? ctx.slice(type) : ctx.scratch('zero_types', TV * H * 4);
    ctx.dispatch(op, embeddingLaunch(shape, ctx.limits, pickEmbeddingVariant(shape, ctx.variants)), [ctx.slice(ids), ctx.slice(types), ctx.slice(word), posSlice, typeSlice, ctx.slice(op.outputs.out!)]);
  },
  embedding_backward(op, ctx) {
    const { dout, types, unique, offsets, rows } = op.inputs as Record<string, number>;
    const { dword, dpos, dtype } = op.outputs as { dword?: number; dpos?: number; dtype?: number };
    const [N, H] = ctx.g.get(dout!).shape as [number, number];
    const seq = (op.attrs as { seq: number }).seq;
    const V = dword !== undefined ? ctx.g.get(dword).shape[0]! : 1;
    const P = dpos !== undefined ? ctx.g.get(dpos).shape[0]! : 1;
    const TV = dtype !== undefined ? ctx.g.get(dtype).shape[0]! : 1;
    const groups = ctx.g.size(unique!);
    const launch = (which: EmbeddingShape['op']) => {
      const shape: EmbeddingShape = { op: which, N, H, seq, V, P, TV, groups };
      return embeddingLaunch(shape, ctx.limits, pickEmbeddingVariant(shape, ctx.variants));
    };
    if (dword !== undefined) ctx.dispatch(op, launch('embedding_backward_word'), [dout!, unique!, offsets!, rows!, dword].map((t) => ctx.slice(t)), 'word');
    if (dpos !== undefined) ctx.dispatch(op, launch('embedding_backward_position'), [ctx.slice(dout!), ctx.slice(dpos)], 'position');
    if (dtype !== undefined) ctx.dispatch(op, launch('embedding_backward_type'), [dout!, types!, dtype].map((t) => ctx.slice(t)), 'type');
  },
  gather_rows(op, ctx) {
    const { src, idx } = op.inputs as { src: number; idx: number };
    const [N, H] = ctx.g.get(src).shape as [number, number];
    const R = ctx.g.size(idx);
    const shape = { op: 'gather_rows' as const, R, H, N };
    ctx.dispatch(op, rowsLaunch(shape, ctx.limits, pickRowsVariant(shape, ctx.variants)), [ctx.slice(src), ctx.slice(idx), ctx.slice(op.outputs.out!)]);
  },
  scatter_rows_add(op, ctx) {
    const { dout, idx, weights } = op.inputs as { dout: number; idx: number; weights: number };
    const dsrc = op.outputs.dsrc!;
    const [N, H] = ctx.g.get(dsrc).shape as [number, number];
    const R = ctx.g.size(idx);
    const shape = { op: 'scatter_rows_add' as const, R, H, N };
    ctx.dispatch(op, rowsLaunch(shape, ctx.limits, pickRowsVariant(shape, ctx.variants)), [dout, idx, weights, dsrc].map((t) => ctx.slice(t)));
  },
  sum(op, ctx) {
    const x = op.inputs.x!;
    const n = ctx.g.size(x);
    const variant = pickReduceVariant({ n }, ctx.variants);
    const count = reducePartialCount(n, variant);
    const partials = ctx.scratch('reduce_partials', count * 4);
    ctx.dispatch(op, reducePartialsLaunch({ n }, ctx.limits, variant), [ctx.slice(x), partials], 'partials');
    ctx.dispatch(op, reduceFinishLaunch({ count, accumulate: op.accumulate.includes('out') }, ctx.limits), [partials, ctx.slice(op.outputs.out!)], 'finish');
  },
  bias_grad(op, ctx) {
    const dy = op.inputs.dy!;
    const [M, N] = ctx.g.get(dy).shape as [number, number];
    const shape = { M, N, accumulate: op.accumulate.includes('db') };
    const launch = biasGradLaunch(shape, ctx.limits, pickBiasGradVariant(shape, ctx.limits, ctx.variants));
    const scratch = ctx.scratch('bias_grad_partials', launch.scratchElements * 4);
    ctx.dispatch(op, launch.partial, [ctx.slice(dy), scratch], 'partial');
    ctx.dispatch(op, launch.final, [scratch, ctx.slice(op.outputs.db!)], 'final');
  },
};
