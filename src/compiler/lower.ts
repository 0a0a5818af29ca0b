// Lowering: op kind → kernel dispatches, as one table. Each entry reads shapes from the graph,
// calls the kernel's launch definition and binds buffer slices in the kernel's binding order.
import type { Op, OpKind } from '../graph/ir.js';
import type { LowerContext } from './compile.js';
import { matmulLaunch, pickMatmulVariant, type Epilogue } from './kernels/matmul.js';
import { elementwiseLaunch, pickElementwiseVariant, type ElementwiseShape } from './kernels/elementwise.js';
import { layernormLaunch, pickLayernormVariant, layernormPartialsBytes, type LayernormShape } from './kernels/layernorm.js';
import { attentionLaunch, pickAttentionVariant, ATTENTION_BINDINGS, ATTENTION_FORWARD_STAGES, ATTENTION_BACKWARD_STAGES, type AttentionShape } from './kernels/attention.js';
import { crossentropyLaunch } from './kernels/crossentropy.js';
import type { BufferSlice } from '../plan/types.js';
import { LOWER_EXTRA } from './lower-extra.js';

type Lowering = (op: Op, ctx: LowerContext) => void;

const shapeOf = (ctx: LowerContext, id: number) => ctx.g.get(id).shape;
const count = (ctx: LowerContext, id: number) => ctx.g.size(id);

function elementwise(ctx: LowerContext, op: Op, shape: ElementwiseShape, bindings: BufferSlice[], suffix?: string): void {
  const variant = pickElementwiseVariant(shape, ctx.variants);
  ctx.dispatch(op, elementwiseLaunch(shape, ctx.limits, variant), bindings, suffix);
}

function layernorm(ctx: LowerContext, op: Op, shape: LayernormShape, bindings: BufferSlice[], suffix?: string): void {
  const variant = pickLayernormVariant(shape, ctx.variants);
  ctx.dispatch(op, layernormLaunch(shape, ctx.limits, variant), bindings, suffix);
}

/**
 * C (=|+=) epilogue(op(A)·op(B) + bias) for 2-D tensors, shapes read from the graph; with `pre`
 * the same dispatch writes the value before the epilogue there.
 */
function matmul(ctx: LowerContext, op: Op, a: number, b: number, c: number, transA: boolean, transB: boolean, accumulate: boolean, bias?: number, epilogue?: Epilogue, pre?: number): void {
  const [a0, a1] = shapeOf(ctx, a) as [number, number];
  const [b0, b1] = shapeOf(ctx, b) as [number, number];
  const M = transA ? a1 : a0;
  const K = transA ? a0 : a1;
  const N = transB ? b0 : b1;
  const shape = { M, N, K, transA, transB, accumulate, bias: bias !== undefined, epilogue, storePre: pre !== undefined };
  const variant = pickMatmulVariant(shape, ctx.limits, ctx.variants);
  // Bindings in MATMUL_BINDINGS order: a, b, bias, c, pre (always bound: statically used).
  ctx.dispatch(op, matmulLaunch(shape, ctx.limits, variant), [
    ctx.slice(a),
    ctx.slice(b),
    bias !== undefined ? ctx.slice(bias) : ctx.dummy(),
    ctx.slice(c),
    pre !== undefined ? ctx.slice(pre) : ctx.dummyOut(),
  ]);
}

function attentionShape(ctx: LowerContext, op: Op<'attention'> | Op<'attention_backward'>, qkv: number): AttentionShape {
  const H = shapeOf(ctx, qkv)[1]! / 3;
  return { B: op.attrs.batch, T: op.attrs.seq, H, heads: op.attrs.heads, dropout: op.attrs.p, stream: op.attrs.stream };
}

export const LOWER: Partial<Record<OpKind, Lowering>> = {
  linear(op, ctx) {
    const { x, w, b } = op.inputs as { x: number; w: number; b?: number };
    const { epilogue, storePre } = (op as Op<'linear'>).attrs;
    matmul(ctx, op, x, w, op.outputs.y!, false, true, false, b, epilogue, storePre ? op.outputs.pre! : undefined);
  },
  matmul(op, ctx) {
    const o = op as Op<'matmul'>;
    matmul(ctx, op, o.inputs.a!, o.inputs.b!, o.outputs.c!, o.attrs.transA, o.attrs.transB, o.accumulate.includes('c'));
  },
  activation(op, ctx) {
    const o = op as Op<'activation'>;
    elementwise(ctx, op, { op: 'act_forward', n: count(ctx, o.inputs.x!), activation: o.attrs.fn }, [ctx.slice(o.inputs.x!), ctx.slice(o.outputs.y!)]);
  },
  activation_backward(op, ctx) {
    const o = op as Op<'activation_backward'>;
    // tanh's derivative is taken from its output y; the others from the input x.
    const source = o.attrs.fn === 'tanh' ? o.inputs.y! : o.inputs.x!;
    elementwise(ctx, op, { op: 'act_backward', n: count(ctx, o.inputs.dy!), activation: o.attrs.fn, accumulate: o.accumulate.includes('dx') }, [ctx.slice(o.inputs.dy!), ctx.slice(source), ctx.slice(o.outputs.dx!)]);
  },
  geglu(op, ctx) {
    const y = op.outputs.y!;
    const [, F] = shapeOf(ctx, y) as [number, number];
    elementwise(ctx, op, { op: 'geglu_forward', n: count(ctx, y), cols: F, activation: 'gelu' }, [ctx.slice(op.inputs.x!), ctx.slice(y)]);
  },
  geglu_backward(op, ctx) {
    const dy = op.inputs.dy!;
    const [, F] = shapeOf(ctx, dy) as [number, number];
    elementwise(ctx, op, { op: 'geglu_backward', n: count(ctx, dy), cols: F, activation: 'gelu', accumulate: op.accumulate.includes('dx') }, [ctx.slice(dy), ctx.slice(op.inputs.x!), ctx.slice(op.outputs.dx!)]);
  },
  dropout(op, ctx) {
    const o = op as Op<'dropout'>;
    elementwise(ctx, op, { op: 'dropout_forward', n: count(ctx, o.inputs.x!), p: o.attrs.p, stream: o.attrs.stream }, [ctx.stepState(), ctx.slice(o.inputs.x!), ctx.slice(o.outputs.y!)]);
  },
  dropout_backward(op, ctx) {
    const o = op as Op<'dropout_backward'>;
    elementwise(ctx, op, { op: 'dropout_backward', n: count(ctx, o.inputs.dy!), p: o.attrs.p, stream: o.attrs.stream, accumulate: o.accumulate.includes('dx') }, [ctx.stepState(), ctx.slice(o.inputs.dy!), ctx.slice(o.outputs.dx!)]);
  },
  add(op, ctx) {
    elementwise(ctx, op, { op: 'add', n: count(ctx, op.outputs.y!) }, [ctx.slice(op.inputs.a!), ctx.slice(op.inputs.b!), ctx.slice(op.outputs.y!)]);
  },
  fill(op, ctx) {
    const o = op as Op<'fill'>;
    elementwise(ctx, op, { op: 'fill', n: count(ctx, o.outputs.out!), alpha: o.attrs.value }, [ctx.slice(o.outputs.out!)]);
  },
  layernorm(op, ctx) {
    const o = op as Op<'layernorm'>;
    const [N, H] = shapeOf(ctx, o.inputs.x!) as [number, number];
    layernorm(ctx, op, { op: 'layernorm_forward', N, H, eps: o.attrs.eps }, [o.inputs.x!, o.inputs.gamma!, o.inputs.beta!, o.outputs.y!, o.outputs.stats!].map((t) => ctx.slice(t)));
  },
  residual_dropout_layernorm(op, ctx) {
    const o = op as Op<'residual_dropout_layernorm'>;
    const [N, H] = shapeOf(ctx, o.inputs.a!) as [number, number];
    layernorm(ctx, op, { op: 'residual_dropout_layernorm_forward', N, H, eps: o.attrs.eps, p: o.attrs.p, stream: o.attrs.stream }, [
      ctx.stepState(),
      ...[o.inputs.residual!, o.inputs.a!, o.inputs.gamma!, o.inputs.beta!, o.outputs.s!, o.outputs.y!, o.outputs.stats!].map((t) => ctx.slice(t)),
    ]);
  },
  layernorm_backward(op, ctx) {
    const { dy, x, gamma, stats } = op.inputs as { dy: number; x: number; gamma: number; stats: number };
    const [N, H] = shapeOf(ctx, x) as [number, number];
    layernorm(ctx, op, { op: 'layernorm_backward', N, H, accumulate: op.accumulate.includes('dx') }, [dy, x, gamma, stats, op.outputs.dx!].map((t) => ctx.slice(t)), 'dx');
    const { dgamma, dbeta } = op.outputs as { dgamma?: number; dbeta?: number };
    if (dgamma !== undefined && dbeta !== undefined) {
      const partials = ctx.scratch('layernorm_partials', layernormPartialsBytes(N, H));
      layernorm(ctx, op, { op: 'layernorm_backward_params', N, H }, [ctx.slice(dy), ctx.slice(x), ctx.slice(stats), partials], 'params');
      layernorm(ctx, op, { op: 'layernorm_backward_params_finish', N, H }, [partials, ctx.slice(dgamma), ctx.slice(dbeta)], 'params_finish');
    }
  },
  attention(op, ctx) {
    const o = op as Op<'attention'>;
    const shape = attentionShape(ctx, o, o.inputs.qkv!);
    const variant = pickAttentionVariant(shape, ctx.limits, ctx.variants);
    const tensors: Record<string, BufferSlice> = { qkv: ctx.slice(o.inputs.qkv!), mask: ctx.slice(o.inputs.mask!), probs: ctx.slice(o.outputs.probs!), out: ctx.slice(o.outputs.out!), step_state: ctx.stepState() };
    for (const stage of ATTENTION_FORWARD_STAGES) {
      ctx.dispatch(op, attentionLaunch(shape, ctx.limits, stage, variant), ATTENTION_BINDINGS[stage].map((b) => tensors[b]!), stage);
    }
  },
  attention_backward(op, ctx) {
    const o = op as Op<'attention_backward'>;
    const shape = attentionShape(ctx, o, o.inputs.qkv!);
    const variant = pickAttentionVariant(shape, ctx.limits, ctx.variants);
    const tensors: Record<string, BufferSlice> = {
      qkv: ctx.slice(o.inputs.qkv!),
      probs: ctx.slice(o.inputs.probs!),
      out: ctx.slice(o.inputs.out!),
      d_out: ctx.slice(o.inputs.dout!),
      d_qkv: ctx.slice(o.outputs.dqkv!),
      step_state: ctx.stepState(),
    };
    // grad_scores overwrites probs with dS in place: the stage order below is required.
    for (const stage of ATTENTION_BACKWARD_STAGES) {
      ctx.dispatch(op, attentionLaunch(shape, ctx.limits, stage, variant), ATTENTION_BINDINGS[stage].map((b) => tensors[b]!), stage);
    }
  },
  crossentropy(op, ctx) {
    const o = op as Op<'crossentropy'>;
    const [R, V] = shapeOf(ctx, o.inputs.logits!) as [number, number];
    const launch = crossentropyLaunch({ R, V, scale: o.attrs.slot === 0 ? 'mlm' : 'nsp', writeGrad: o.attrs.grad }, ctx.limits);
    ctx.dispatch(op, launch, [o.inputs.logits!, o.inputs.labels!, o.inputs.weights!].map((t) => ctx.slice(t)).concat([ctx.stepState(), ctx.slice(o.outputs.loss!), ctx.slice(o.outputs.correct!)]));
  },
  ...LOWER_EXTRA,
};
