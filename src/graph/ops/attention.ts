// CPU reference for the multi-head self-attention core (kernels/attention.wgsl), float64 loops,
// BERT semantics as Hugging Face computes them. Dims: B batch, T sequence, H hidden, NH heads,
// D = H / NH head size.
//   qkv (B, T, 3H): each token row is [q (H) | k (H) | v (H)], head h = columns h·D..(h+1)·D of each
//   mask (B, T): 0 = padding key, anything else = real token
//   S = q·kᵀ / √D + bias, bias = −10000 on padding keys (0 on real ones)   (B, NH, T, T)
//   P = softmax over keys of S                                              (B, NH, T, T)
//   Pd = dropout(P): kept with probability 1 − p (dropoutKeep on the flat index of (B, NH, T, T)),
//        kept values scaled by 1/(1 − p)
//   out = Pd · v, heads interleaved back                                    (B, T, H)
// Backward (attentionBackwardReference): dV = Pdᵀ·dO, dPd = dO·Vᵀ, dP = dPd·keep/(1 − p),
//   dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS·K/√D, dK = dSᵀ·Q/√D; the mask bias has no gradient.
// The op definitions follow at the end of the file.
import { dropoutKeep } from './rng.js';
import type { AttentionAttrs, Graph, Op } from '../ir.js';
import { accumulateIf, ioBytes, type EvalContext, type OpCost, type OpDef, type OpDefTable } from '../op-def.js';

// The attention ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    attention: { inputs: { qkv: TensorId; mask: TensorId }; outputs: { out: TensorId; probs: TensorId }; attrs: AttentionAttrs };
    attention_backward: { inputs: { dout: TensorId; qkv: TensorId; out: TensorId; probs: TensorId; mask: TensorId }; outputs: { dqkv: TensorId }; attrs: AttentionAttrs };
  }
}


export interface AttentionRefShape {
  B: number;
  T: number;
  H: number;
  heads: number;
}

/** Attention-probability dropout: p = 0 disables it. */
export interface AttentionDropout {
  p: number;
  seed: number;
  stream: number;
  microStep: number;
}

export const ATTENTION_MASK_BIAS = -10000;

export const NO_DROPOUT: AttentionDropout = { p: 0, seed: 0, stream: 0, microStep: 0 };

/** Kept-and-scaled factor of element `index` of the (B, NH, T, T) probabilities: 0 or 1/(1 − p). */
export function attentionDropFactor(drop: AttentionDropout, index: number): number {
  if (drop.p <= 0) return 1;
  return dropoutKeep(drop.seed, drop.stream, drop.microStep, index, drop.p) ? 1 / (1 - drop.p) : 0;
}

export interface AttentionForward {
  out: Float64Array; // (B, T, H)
  probs: Float64Array; // (B, NH, T, T), before dropout
}

export function attentionForwardReference(
  qkv: ArrayLike<number>, // (B, T, 3H)
  mask: ArrayLike<number>, // (B, T)
  shape: AttentionRefShape,
  drop: AttentionDropout = NO_DROPOUT,
): AttentionForward {
  const { B, T, H, heads } = shape;
  const D = H / heads;
  const scale = 1 / Math.sqrt(D);
  const q = (b: number, t: number, h: number, d: number) => qkv[(b * T + t) * 3 * H + h * D + d]!;
  const k = (b: number, t: number, h: number, d: number) => qkv[(b * T + t) * 3 * H + H + h * D + d]!;
  const v = (b: number, t: number, h: number, d: number) => qkv[(b * T + t) * 3 * H + 2 * H + h * D + d]!;
  const probs = new Float64Array(B * heads * T * T);
  const out = new Float64Array(B * T * H);
  const row = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) {
        const base = ((b * heads + h) * T + i) * T;
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q(b, i, h, d) * k(b, j, h, d);
          s = s * scale + (mask[b * T + j] === 0 ? ATTENTION_MASK_BIAS : 0);
          row[j] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += Math.exp(row[j]! - max);
        for (let j = 0; j < T; j++) probs[base + j] = Math.exp(row[j]! - max) / sum;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += probs[base + j]! * attentionDropFactor(drop, base + j) * v(b, j, h, d);
          out[(b * T + i) * H + h * D + d] = acc;
        }
      }
    }
  }
  return { out, probs };
}

/** d_qkv (B, T, 3H) from d_out (B, T, H); recomputes the forward's probabilities. */
export function attentionBackwardReference(
  dOut: ArrayLike<number>, // (B, T, H)
  qkv: ArrayLike<number>, // (B, T, 3H)
  mask: ArrayLike<number>, // (B, T)
  shape: AttentionRefShape,
  drop: AttentionDropout = NO_DROPOUT,
): Float64Array {
  const { B, T, H, heads } = shape;
  const D = H / heads;
  const scale = 1 / Math.sqrt(D);
  const { probs } = attentionForwardReference(qkv, mask, shape, drop);
  const at = (b: number, t: number, part: number, h: number, d: number) => (b * T + t) * 3 * H + part * H + h * D + d;
  const dO = (b: number, t: number, h: number, d: number) => dOut[(b * T + t) * H + h * D + d]!;
  const dQkv = new Float64Array(B * T * 3 * H);
  const dS = new Float64Array(T * T); // one (b, h) at a time
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      const base = (b * heads + h) * T * T;
      // dV[j] = Σ_i Pd[i, j]·dO[i]
      for (let j = 0; j < T; j++) {
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let i = 0; i < T; i++) acc += probs[base + i * T + j]! * attentionDropFactor(drop, base + i * T + j) * dO(b, i, h, d);
          dQkv[at(b, j, 2, h, d)] = acc;
        }
      }
      // dP = (dO·Vᵀ)·keep/(1 − p); dS = P ⊙ (dP − rowsum(dP ⊙ P))
      for (let i = 0; i < T; i++) {
        let dot = 0;
        for (let j = 0; j < T; j++) {
          let dPd = 0;
          for (let d = 0; d < D; d++) dPd += dO(b, i, h, d) * qkv[at(b, j, 2, h, d)]!;
          const dP = dPd * attentionDropFactor(drop, base + i * T + j);
          dS[i * T + j] = dP;
          dot += dP * probs[base + i * T + j]!;
        }
        for (let j = 0; j < T; j++) dS[i * T + j] = probs[base + i * T + j]! * (dS[i * T + j]! - dot);
      }
      // dQ = dS·K/√D, dK = dSᵀ·Q/√D
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) {
          let dq = 0;
          let dk = 0;
          for (let u = 0; u < T; u++) {
            dq += dS[t * T + u]! * qkv[at(b, u, 1, h, d)]!;
            dk += dS[u * T + t]! * qkv[at(b, u, 0, h, d)]!;
          }
          dQkv[at(b, t, 0, h, d)] = dq * scale;
          dQkv[at(b, t, 1, h, d)] = dk * scale;
        }
      }
    }
  }
  return dQkv;
}

// ---------------------------------------------------------------------------------------------
// The op definitions: attention (out, and probs kept for the backward) and attention_backward.

function attentionDims(g: Graph, qkv: number, attrs: AttentionAttrs): AttentionRefShape {
  return { B: attrs.batch, T: attrs.seq, H: g.get(qkv).shape[1]! / 3, heads: attrs.heads };
}

const attentionDropout = (c: EvalContext, attrs: AttentionAttrs): AttentionDropout => ({ p: attrs.p, stream: attrs.stream, seed: c.step.seed, microStep: c.step.microStep });

/** Scores and context: two (T × T × D) products per head, forward; the backward has four. */
function attentionCost(op: Op<'attention'> | Op<'attention_backward'>, g: Graph, products: number): OpCost {
  const { B, T, H } = attentionDims(g, op.inputs.qkv, op.attrs);
  return { flops: products * 2 * B * T * T * H, bytes: ioBytes(op, g), matmul: true };
}

export const attentionOp: OpDef<'attention'> = {
  kind: 'attention',
  evaluate(op, c) {
    const r = attentionForwardReference(c.get(op.inputs.qkv), c.get(op.inputs.mask), attentionDims(c.g, op.inputs.qkv, op.attrs), attentionDropout(c, op.attrs));
    c.set(op, 'out', r.out);
    c.set(op, 'probs', r.probs);
  },
  gradient(c) {
    const dout = c.dOut('out')!;
    const { qkv, mask } = c.op.inputs;
    const { out, probs } = c.op.outputs;
    c.contribute('qkv', (t, a) => c.g.op('attention_backward', c.label(), { dout, qkv, out, probs, mask }, { dqkv: t }, { ...c.op.attrs }, accumulateIf(a, 'dqkv')), false);
  },
  shapes(op, shapeOf) {
    const [rows, cols] = shapeOf(op.inputs.qkv) as [number, number];
    const { batch, seq, heads } = op.attrs;
    return { out: [rows, cols / 3], probs: [batch * heads * seq * seq] };
  },
  cost: (op, g) => attentionCost(op, g, 2),
};

export const attentionBackwardOp: OpDef<'attention_backward'> = {
  kind: 'attention_backward',
  evaluate(op, c) {
    const { dout, qkv, mask } = op.inputs;
    c.set(op, 'dqkv', attentionBackwardReference(c.get(dout), c.get(qkv), c.get(mask), attentionDims(c.g, qkv, op.attrs), attentionDropout(c, op.attrs)));
  },
  gradient: 'none',
  shapes: (op, shapeOf) => ({ dqkv: shapeOf(op.inputs.qkv) }),
  cost: (op, g) => attentionCost(op, g, 4),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const ATTENTION_OPS: OpDefTable<'attention' | 'attention_backward'> = {
  attention: attentionOp,
  attention_backward: attentionBackwardOp,
};
