// The LayerNorm ops: float64 CPU references for kernels/layernorm.wgsl (plain loops; N rows =
// tokens, H columns = hidden; stats per row: mean, rstd = 1/sqrt(var + eps), biased variance),
// and the op definitions (evaluation, gradient rule, cost) at the end of the file.
import { dropoutKeep } from './rng.js';
import { dropoutReference, type DropoutParams } from './elementwise.js';
import type { Graph, OpOutputs } from '../ir.js';
import { accumulateIf, elementwiseCost, type OpDefTable, type GradContext, type OpDef } from '../op-def.js';

// The LayerNorm ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    /**
     * With attrs.dropout, y is LN(x) through a dropout, keep(i)·LN(x)/(1 − p) with the linear
     * index i (the embeddings' LayerNorm and dropout: fusion.ts fuseLayernormDropout).
     */
    layernorm: { inputs: { x: TensorId; gamma: TensorId; beta: TensorId }; outputs: { y: TensorId; stats: TensorId }; attrs: { eps: number; dropout?: { p: number; stream: number } } };
    residual_dropout_layernorm: { inputs: { a: TensorId; residual: TensorId; gamma: TensorId; beta: TensorId }; outputs: { s: TensorId; y: TensorId; stats: TensorId }; attrs: { eps: number; p: number; stream: number } };
    /**
     * `dropped` (with attrs.dropout): dx through a dropout's backward as well, keep(i)·dx/(1 − p)
     * with dx's linear index i, for the sublayer output a post-LN block dropped before its
     * residual add (fusion.ts fuseDropoutBackward).
     */
    layernorm_backward: { inputs: { dy: TensorId; x: TensorId; gamma: TensorId; stats: TensorId }; outputs: { dx: TensorId; dgamma?: TensorId; dbeta?: TensorId; dropped?: TensorId }; attrs: { dropout?: { p: number; stream: number } } };
  }
}


export interface LayernormForward {
  y: Float64Array; // (N, H)
  mean: Float64Array; // (N)
  rstd: Float64Array; // (N)
}

/** y = (x − mean)·rstd·gamma + beta. x (N, H), gamma (H), beta (H). */
export function layernormForwardReference(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, N: number, H: number, eps: number): LayernormForward {
  const y = new Float64Array(N * H);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let c = 0; c < H; c++) sum += x[n * H + c]!;
    const m = sum / H;
    let v = 0;
    for (let c = 0; c < H; c++) v += (x[n * H + c]! - m) ** 2;
    const r = 1 / Math.sqrt(v / H + eps);
    for (let c = 0; c < H; c++) y[n * H + c] = (x[n * H + c]! - m) * r * gamma[c]! + beta[c]!;
    mean[n] = m;
    rstd[n] = r;
  }
  return { y, mean, rstd };
}

/**
 * Post-LN BERT's "dropout → add → LayerNorm": s = residual + dropout(a), y = LN(s).
 * residual, a (N, H); dropout index = the element's linear index in a. Returns s as well.
 */
export function residualDropoutLayernormForwardReference(
  residual: ArrayLike<number>,
  a: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  N: number,
  H: number,
  eps: number,
  dropout: DropoutParams,
): LayernormForward & { s: Float64Array } {
  const s = new Float64Array(N * H);
  const scale = 1 / (1 - dropout.p);
  for (let i = 0; i < N * H; i++) {
    const kept = dropout.p === 0 ? a[i]! : dropoutKeep(dropout.seed, dropout.stream, dropout.microStep, i, dropout.p) ? a[i]! * scale : 0;
    s[i] = residual[i]! + kept;
  }
  return { s, ...layernormForwardReference(s, gamma, beta, N, H, eps) };
}

export interface LayernormBackward {
  dx: Float64Array; // (N, H)
  dgamma: Float64Array; // (H)
  dbeta: Float64Array; // (H)
}

/**
 * xhat = (x − mean)·rstd, g = dy·gamma:
 * dx = rstd·(g − mean_c(g) − xhat·mean_c(g·xhat)); dgamma = Σ_n dy·xhat; dbeta = Σ_n dy.
 */
export function layernormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  mean: ArrayLike<number>,
  rstd: ArrayLike<number>,
  N: number,
  H: number,
): LayernormBackward {
  const dx = new Float64Array(N * H);
  const dgamma = new Float64Array(H);
  const dbeta = new Float64Array(H);
  for (let n = 0; n < N; n++) {
    const m = mean[n]!;
    const r = rstd[n]!;
    let gSum = 0;
    let gxSum = 0;
    for (let c = 0; c < H; c++) {
      const xhat = (x[n * H + c]! - m) * r;
      const g = dy[n * H + c]! * gamma[c]!;
      gSum += g;
      gxSum += g * xhat;
      dgamma[c] = dgamma[c]! + dy[n * H + c]! * xhat;
      dbeta[c] = dbeta[c]! + dy[n * H + c]!;
    }
    for (let c = 0; c < H; c++) {
      const xhat = (x[n * H + c]! - m) * r;
      const g = dy[n * H + c]! * gamma[c]!;
      dx[n * H + c] = r * (g - gSum / H - xhat * (gxSum / H));
    }
  }
  return { dx, dgamma, dbeta };
}

// ---------------------------------------------------------------------------------------------
// The op definitions: layernorm, residual_dropout_layernorm (post-LN's fused sublayer end) and
// layernorm_backward. stats (N, 2) holds (mean, rstd) per row for the backward.

const dims = (g: Graph, id: number) => g.get(id).shape;

/** (mean, rstd) per row → the interleaved (N, 2) stats tensor the kernels read and write. */
export function packStats(mean: ArrayLike<number>, rstd: ArrayLike<number>): Float64Array {
  const s = new Float64Array(mean.length * 2);
  for (let i = 0; i < mean.length; i++) {
    s[2 * i] = mean[i]!;
    s[2 * i + 1] = rstd[i]!;
  }
  return s;
}

/** The (N, 2) stats tensor → (mean, rstd) per row. */
export function unpackStats(s: ArrayLike<number>): { mean: Float64Array; rstd: Float64Array } {
  const n = s.length / 2;
  const mean = new Float64Array(n);
  const rstd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mean[i] = s[2 * i]!;
    rstd[i] = s[2 * i + 1]!;
  }
  return { mean, rstd };
}

/**
 * The backward of a LayerNorm over x with its stats: dx into the target dxTarget gives, and
 * dgamma/dbeta from the same kernel (always `+=`: they are parameter gradients).
 */
function appendLayernormBackward(c: GradContext<'layernorm'> | GradContext<'residual_dropout_layernorm'>, dy: number, x: number, gamma: number, stats: number, dxTarget: (emit: (target: number, accumulate: boolean) => void) => void): void {
  const ctx = c as GradContext<'layernorm'>;
  dxTarget((t, a) => {
    const outputs: OpOutputs<'layernorm_backward'> = { dx: t };
    const accumulate: Array<'dx' | 'dgamma' | 'dbeta'> = accumulateIf(a, 'dx');
    if (ctx.needs('gamma') || ctx.needs('beta')) {
      ctx.contribute('gamma', (tg) => void (outputs.dgamma = tg), true);
      ctx.contribute('beta', (tb) => void (outputs.dbeta = tb), true);
      accumulate.push('dgamma', 'dbeta');
    }
    ctx.g.op('layernorm_backward', ctx.label(), { dy, x, gamma, stats }, outputs, {}, accumulate);
  });
}

export const layernormOp: OpDef<'layernorm'> = {
  kind: 'layernorm',
  evaluate(op, c) {
    const { x, gamma, beta } = op.inputs;
    const [N, H] = dims(c.g, x) as [number, number];
    const r = layernormForwardReference(c.get(x), c.get(gamma), c.get(beta), N, H, op.attrs.eps);
    const { dropout } = op.attrs;
    c.set(op, 'y', dropout ? dropoutReference(r.y, { ...dropout, seed: c.step.seed, microStep: c.step.microStep }) : r.y);
    c.set(op, 'stats', packStats(r.mean, r.rstd));
  },
  gradient(c) {
    const { x, gamma } = c.op.inputs;
    appendLayernormBackward(c, c.dOut('y')!, x, gamma, c.op.outputs.stats, (emitDx) => c.contribute('x', emitDx, true));
  },
  shapes: (op, shapeOf) => ({ y: shapeOf(op.inputs.x), stats: [shapeOf(op.inputs.x)[0]!, 2] }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.x, 8),
  f32Outputs: ['stats'],
};

export const residualDropoutLayernormOp: OpDef<'residual_dropout_layernorm'> = {
  kind: 'residual_dropout_layernorm',
  evaluate(op, c) {
    const { a, residual, gamma, beta } = op.inputs;
    const { eps, p, stream } = op.attrs;
    const [N, H] = dims(c.g, a) as [number, number];
    const r = residualDropoutLayernormForwardReference(c.get(residual), c.get(a), c.get(gamma), c.get(beta), N, H, eps, { p, stream, seed: c.step.seed, microStep: c.step.microStep });
    c.set(op, 's', r.s);
    c.set(op, 'y', r.y);
    c.set(op, 'stats', packStats(r.mean, r.rstd));
  },
  gradient(c) {
    // s = residual + dropout(a); y = LN(s)
    const { s, stats } = c.op.outputs;
    const { p, stream } = c.op.attrs;
    const ds = c.temp(s, 'grad');
    appendLayernormBackward(c, c.dOut('y')!, s, c.op.inputs.gamma, stats, (emitDx) => emitDx(ds, false));
    if (c.needs('a')) {
      if (p > 0) c.contribute('a', (t, ac) => c.g.op('dropout_backward', c.label('dropout'), { dy: ds }, { dx: t }, { p, stream }, accumulateIf(ac, 'dx')), false);
      else c.alias('a', ds);
    }
    if (c.needs('residual')) c.alias('residual', ds);
  },
  shapes: (op, shapeOf) => ({ s: shapeOf(op.inputs.a), y: shapeOf(op.inputs.a), stats: [shapeOf(op.inputs.a)[0]!, 2] }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.a, 10),
  f32Outputs: ['stats'],
};

export const layernormBackwardOp: OpDef<'layernorm_backward'> = {
  kind: 'layernorm_backward',
  evaluate(op, c) {
    const { dy, x, gamma, stats } = op.inputs;
    const [N, H] = dims(c.g, x) as [number, number];
    const { mean, rstd } = unpackStats(c.get(stats));
    const r = layernormBackwardReference(c.get(dy), c.get(x), c.get(gamma), mean, rstd, N, H);
    c.set(op, 'dx', r.dx);
    if (op.outputs.dgamma !== undefined) c.set(op, 'dgamma', r.dgamma);
    if (op.outputs.dbeta !== undefined) c.set(op, 'dbeta', r.dbeta);
    const { dropout } = op.attrs;
    // The dropout's backward reads dx as stored (after a `+=`).
    if (op.outputs.dropped !== undefined && dropout) c.set(op, 'dropped', dropoutReference(c.get(op.outputs.dx), { ...dropout, seed: c.step.seed, microStep: c.step.microStep }));
  },
  gradient: 'none',
  shapes: (op, shapeOf) => ({ dx: shapeOf(op.inputs.x), dgamma: shapeOf(op.inputs.gamma), dbeta: shapeOf(op.inputs.gamma), dropped: shapeOf(op.inputs.x) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.x, 14),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const LAYERNORM_OPS: OpDefTable<'layernorm' | 'residual_dropout_layernorm' | 'layernorm_backward'> = {
  layernorm: layernormOp,
  residual_dropout_layernorm: residualDropoutLayernormOp,
  layernorm_backward: layernormBackwardOp,
};
