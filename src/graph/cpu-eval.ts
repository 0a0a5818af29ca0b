// Evaluates a whole graph (forward, backward) on the CPU in float64 with the ops' reference
// implementations: the slow, obvious model every GPU plan is checked against (STYLE.md), and
// the engine behind the per-step validation switch. Tensors live in a Map by id.
import type { Graph, Op, OpAttrs, OpKind } from './ir.js';
import type { StepState } from '../plan/step-state.js';
import { matmulReference } from './ops/matmul.js';
import { activationForwardReference, activationBackwardReference, gegluForwardReference, gegluBackwardReference, dropoutReference } from './ops/elementwise.js';
import { layernormForwardReference, residualDropoutLayernormForwardReference, layernormBackwardReference } from './ops/layernorm.js';
import { attentionForwardReference, attentionBackwardReference } from './ops/attention.js';
import { crossentropyReference } from './ops/crossentropy.js';
import { embeddingForwardReference } from './ops/embedding.js';
import { gatherRowsReference, scatterRowsAddReference } from './ops/rows.js';
import { biasGradReference } from './ops/matmul-bias-grad.js';

export type Values = Map<number, Float64Array>;

interface EvalContext {
  g: Graph;
  values: Values;
  step: StepState;
  get(id: number): Float64Array;
  /** Writes an output, adding when the op accumulates into it. */
  set(op: Op, name: string, value: ArrayLike<number>): void;
}

type Evaluator = (op: Op, c: EvalContext) => void;

const dims = (c: EvalContext, id: number) => c.g.get(id).shape;
const statsOf = (mean: Float64Array, rstd: Float64Array) => {
  const s = new Float64Array(mean.length * 2);
  for (let i = 0; i < mean.length; i++) {
    s[2 * i] = mean[i]!;
    s[2 * i + 1] = rstd[i]!;
  }
  return s;
};
const unpackStats = (s: Float64Array) => {
  const n = s.length / 2;
  const mean = new Float64Array(n);
  const rstd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mean[i] = s[2 * i]!;
    rstd[i] = s[2 * i + 1]!;
  }
  return { mean, rstd };
};
const drop = (c: EvalContext, p: number, stream: number) => ({ p, stream, seed: c.step.seed, microStep: c.step.microStep });

/** The table: op kind → its float64 evaluation. */
export const EVALUATE: Record<OpKind, Evaluator> = {
  embedding(op, c) {
    const { ids, types, word, pos, type } = op.inputs as Record<string, number>;
    const [N] = dims(c, ids!) as [number];
    const H = dims(c, word!)[1]!;
    const zeros = (rows: number) => new Float64Array(rows * H);
    const maxType = Math.max(0, ...c.get(types!)) + 1;
    const out = embeddingForwardReference(c.get(ids!), c.get(types!), c.get(word!), pos !== undefined ? c.get(pos) : zeros(N), type !== undefined ? c.get(type) : zeros(maxType), N, H, (op.attrs as { seq: number }).seq);
    c.set(op, 'out', out);
  },
  layernorm(op, c) {
    const { x, gamma, beta } = op.inputs as Record<string, number>;
    const [N, H] = dims(c, x!) as [number, number];
    const r = layernormForwardReference(c.get(x!), c.get(gamma!), c.get(beta!), N, H, (op.attrs as { eps: number }).eps);
    c.set(op, 'y', r.y);
    c.set(op, 'stats', statsOf(r.mean, r.rstd));
  },
  residual_dropout_layernorm(op, c) {
    const { a, residual, gamma, beta } = op.inputs as Record<string, number>;
    const { eps, p, stream } = op.attrs as { eps: number; p: number; stream: number };
    const [N, H] = dims(c, a!) as [number, number];
    const r = residualDropoutLayernormForwardReference(c.get(residual!), c.get(a!), c.get(gamma!), c.get(beta!), N, H, eps, drop(c, p, stream));
    c.set(op, 's', r.s);
    c.set(op, 'y', r.y);
    c.set(op, 'stats', statsOf(r.mean, r.rstd));
  },
  dropout(op, c) {
    const { p, stream } = op.attrs as { p: number; stream: number };
    c.set(op, 'y', dropoutReference(c.get(op.inputs.x!), drop(c, p, stream)));
  },
  dropout_backward(op, c) {
    const { p, stream } = op.attrs as { p: number; stream: number };
    c.set(op, 'dx', dropoutReference(c.get(op.inputs.dy!), drop(c, p, stream)));
  },
  linear(op, c) {
    const { x, w, b } = op.inputs as { x: number; w: number; b?: number };
    const [R, K] = dims(c, x) as [number, number];
    const N = dims(c, w)[0]!;
    const { epilogue, storePre } = op.attrs as OpAttrs['linear'];
    const bias = b !== undefined ? c.get(b) : undefined;
    if (storePre) {
      // Training fusion: pre = x·wᵀ + b, y = epilogue(pre).
      const pre = matmulReference(c.get(x), c.get(w), { M: R, N, K, transB: true }, bias);
      c.set(op, 'pre', pre);
      c.set(op, 'y', activationForwardReference(epilogue!, pre));
    } else {
      c.set(op, 'y', matmulReference(c.get(x), c.get(w), { M: R, N, K, transB: true, epilogue }, bias));
    }
  },
  matmul(op, c) {
    const { a, b } = op.inputs as { a: number; b: number };
    const { transA, transB } = op.attrs as { transA: boolean; transB: boolean };
    const [a0, a1] = dims(c, a) as [number, number];
    const [b0, b1] = dims(c, b) as [number, number];
    c.set(op, 'c', matmulReference(c.get(a), c.get(b), { M: transA ? a1 : a0, K: transA ? a0 : a1, N: transB ? b0 : b1, transA, transB }));
  },
  bias_grad(op, c) {
    const [M, N] = dims(c, op.inputs.dy!) as [number, number];
    c.set(op, 'db', biasGradReference(c.get(op.inputs.dy!), M, N));
  },
  activation(op, c) {
    c.set(op, 'y', activationForwardReference((op.attrs as { fn: 'gelu' }).fn, c.get(op.inputs.x!)));
  },
  activation_backward(op, c) {
    const fn = (op.attrs as { fn: 'gelu' | 'tanh' }).fn;
    c.set(op, 'dx', activationBackwardReference(fn, c.get(op.inputs.dy!), c.get(fn === 'tanh' ? op.inputs.y! : op.inputs.x!)));
  },
  geglu(op, c) {
    const [rows, F] = dims(c, op.outputs.y!) as [number, number];
    c.set(op, 'y', gegluForwardReference(c.get(op.inputs.x!), rows, F));
  },
  geglu_backward(op, c) {
    const [rows, F] = dims(c, op.inputs.dy!) as [number, number];
    c.set(op, 'dx', gegluBackwardReference(c.get(op.inputs.dy!), c.get(op.inputs.x!), rows, F));
  },
  add(op, c) {
    const a = c.get(op.inputs.a!);
    const b = c.get(op.inputs.b!);
    c.set(op, 'y', a.map((v, i) => v + b[i]!));
  },
  fill(op, c) {
    c.set(op, 'out', new Float64Array(c.g.size(op.outputs.out!)).fill((op.attrs as { value: number }).value));
  },
  attention(op, c) {
    const { batch, seq, heads, p, stream } = op.attrs as Op<'attention'>['attrs'];
    const H = dims(c, op.inputs.qkv!)[1]! / 3;
    const r = attentionForwardReference(c.get(op.inputs.qkv!), c.get(op.inputs.mask!), { B: batch, T: seq, H, heads }, drop(c, p, stream));
    c.set(op, 'out', r.out);
    c.set(op, 'probs', r.probs);
  },
  attention_backward(op, c) {
    const { batch, seq, heads, p, stream } = op.attrs as Op<'attention_backward'>['attrs'];
    const H = dims(c, op.inputs.qkv!)[1]! / 3;
    c.set(op, 'dqkv', attentionBackwardReference(c.get(op.inputs.dout!), c.get(op.inputs.qkv!), c.get(op.inputs.mask!), { B: batch, T: seq, H, heads }, drop(c, p, stream)));
  },
  embedding_backward(op, c) {
    // Per-table sums in plain loops (the kernels' CSR grouping only fixes the summation order).
    const dout = c.get(op.inputs.dout!);
    const [N, H] = dims(c, op.inputs.dout!) as [number, number];
    const seq = (op.attrs as { seq: number }).seq;
    const ids = c.get(c.g.named('input_ids'));
    const types = c.get(op.inputs.types!);
    const table = (name: string, rowOf: (n: number) => number) => {
      const id = op.outputs[name];
      if (id === undefined) return;
      const out = new Float64Array(c.g.size(id));
      for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) out[rowOf(n) * H + h] += dout[n * H + h]!;
      c.set(op, name, out);
    };
    table('dword', (n) => ids[n]!);
    table('dpos', (n) => n % seq);
    table('dtype', (n) => types[n]!);
  },
  gather_rows(op, c) {
    const [, H] = dims(c, op.inputs.src!) as [number, number];
    c.set(op, 'out', gatherRowsReference(c.get(op.inputs.src!), c.get(op.inputs.idx!), H));
  },
  scatter_rows_add(op, c) {
    const [N, H] = dims(c, op.outputs.dsrc!) as [number, number];
    c.set(op, 'dsrc', scatterRowsAddReference(c.get(op.inputs.dout!), c.get(op.inputs.idx!), c.get(op.inputs.weights!), N, H));
  },
  crossentropy(op, c) {
    const [R, V] = dims(c, op.inputs.logits!) as [number, number];
    const { slot } = op.attrs as { slot: 0 | 1 };
    const r = crossentropyReference(c.get(op.inputs.logits!), c.get(op.inputs.labels!), c.get(op.inputs.weights!), { R, V }, slot === 0 ? c.step.mlmScale : c.step.nspScale);
    c.set(op, 'loss', r.losses);
    c.set(op, 'correct', r.correct);
    c.set(op, 'dlogits', r.dLogits);
  },
  sum(op, c) {
    c.set(op, 'out', [c.get(op.inputs.x!).reduce((a, b) => a + b, 0)]);
  },
  layernorm_backward(op, c) {
    const { dy, x, gamma, stats } = op.inputs as Record<string, number>;
    const [N, H] = dims(c, x!) as [number, number];
    const { mean, rstd } = unpackStats(c.get(stats!));
    const r = layernormBackwardReference(c.get(dy!), c.get(x!), c.get(gamma!), mean, rstd, N, H);
    c.set(op, 'dx', r.dx);
    if (op.outputs.dgamma !== undefined) c.set(op, 'dgamma', r.dgamma);
    if (op.outputs.dbeta !== undefined) c.set(op, 'dbeta', r.dbeta);
  },
};

/**
 * Runs ops [from, to) of the graph over `values` (params, grads and inputs set by the caller;
 * accumulated tensors start at zero when absent). Returns the same map.
 */
export function evaluate(g: Graph, values: Values, step: StepState, from = 0, to = g.ops.length): Values {
  const c: EvalContext = {
    g,
    values,
    step,
    get(id) {
      const v = values.get(id);
      if (!v) throw new Error(`cpu-eval: tensor ${g.get(id).name} has no value`);
      return v;
    },
    set(op, name, value) {
      const id = op.outputs[name];
      if (id === undefined) throw new Error(`cpu-eval: ${op.label} has no output ${name}`);
      const size = g.size(id);
      if (op.accumulate.includes(name)) {
        const current = values.get(id) ?? new Float64Array(size);
        for (let i = 0; i < size; i++) current[i] = current[i]! + value[i]!;
        values.set(id, current);
      } else values.set(id, Float64Array.from(value));
    },
  };
  for (let i = from; i < to; i++) EVALUATE[g.ops[i]!.kind](g.ops[i]!, c);
  return values;
}
