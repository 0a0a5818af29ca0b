// Reverse-mode autodiff over the op list, as one reviewable table (STYLE.md 8): for each forward
// op kind, the ops of its gradient. Appends backward ops to the graph in reverse program order.
//
// Gradient bookkeeping: a tensor's gradient may have several contributions. The first is
// written with `=`, later ones with `+=` when the producing kernel can accumulate, else into a
// temporary that an `add` sums. Parameter gradients are always `+=`: they accumulate over
// micro-batches and the optimizer zeroes them. A gradient may alias another (add, residuals);
// an aliased gradient is never accumulated into in place (copy-on-write through `add`).
import { Graph, type Op, type OpAttrs, type OpKind } from './ir.js';

interface GradContext {
  g: Graph;
  op: Op;
  /** The gradient of a forward output, or undefined when nothing depends on it. */
  dOut(name: string): number | undefined;
  needs(input: string): boolean;
  /**
   * Adds a contribution to the gradient of input `name`. `emit(target, accumulate)` must add
   * one op writing the contribution into target (`+=` when accumulate).
   */
  contribute(name: string, emit: (target: number, accumulate: boolean) => void, canAccumulate: boolean): void;
  /** The gradient of input `name` is exactly tensor `grad` (no op needed). */
  alias(name: string, grad: number): void;
  /** A fresh activation-gradient tensor shaped like the given tensor. */
  temp(like: number, suffix: string): number;
  label(suffix?: string): string;
}

type GradientRule = (c: GradContext) => void;

const acc = (flag: boolean, name: string) => (flag ? [name] : []);

/** The table: forward op kind → how its inputs' gradients are computed. */
export const GRADIENTS: Partial<Record<OpKind, GradientRule>> = {
  linear(c) {
    // y (R, out) = act(x (R, in) · wᵀ (in, out) + b), act the fused epilogue (fusion.ts) or none
    const { x, w, b } = c.op.inputs as { x: number; w: number; b?: number };
    const { epilogue } = c.op.attrs as OpAttrs['linear'];
    let dy = c.dOut('y')!;
    if (epilogue) {
      // The activation's backward first: its derivative from the pre-activation (tanh: from y).
      const y = c.op.outputs.y!;
      const stored = c.op.outputs.pre;
      const pre = epilogue === 'tanh' ? y : stored;
      if (pre === undefined) throw new Error(`autodiff: ${c.op.label} fuses ${epilogue} without storing the pre-activation`);
      const dpre = stored !== undefined ? c.temp(stored, 'grad') : c.temp(y, 'pre.grad');
      c.g.op('activation_backward', c.label('act'), { dy, x: pre, y }, { dx: dpre }, { fn: epilogue });
      dy = dpre;
    }
    if (c.needs('x')) c.contribute('x', (t, a) => c.g.op('matmul', c.label('dx'), { a: dy, b: w }, { c: t }, { transA: false, transB: false }, acc(a, 'c')), true);
    if (c.needs('w')) c.contribute('w', (t, a) => c.g.op('matmul', c.label('dw'), { a: dy, b: x }, { c: t }, { transA: true, transB: false }, acc(a, 'c')), true);
    if (b !== undefined && c.needs('b')) c.contribute('b', (t, a) => c.g.op('bias_grad', c.label('db'), { dy }, { db: t }, {}, acc(a, 'db')), true);
  },
  activation(c) {
    const dy = c.dOut('y')!;
    const { fn } = c.op.attrs as { fn: 'gelu' };
    c.contribute('x', (t, a) => c.g.op('activation_backward', c.label(), { dy, x: c.op.inputs.x!, y: c.op.outputs.y! }, { dx: t }, { fn }, acc(a, 'dx')), true);
  },
  geglu(c) {
    const dy = c.dOut('y')!;
    c.contribute('x', (t, a) => c.g.op('geglu_backward', c.label(), { dy, x: c.op.inputs.x! }, { dx: t }, {}, acc(a, 'dx')), false);
  },
  dropout(c) {
    const dy = c.dOut('y')!;
    const { p, stream } = c.op.attrs as { p: number; stream: number };
    c.contribute('x', (t, a) => c.g.op('dropout_backward', c.label(), { dy }, { dx: t }, { p, stream }, acc(a, 'dx')), false);
  },
  add(c) {
    const dy = c.dOut('y')!;
    if (c.needs('a')) c.alias('a', dy);
    if (c.needs('b')) c.alias('b', dy);
  },
  layernorm(c) {
    const dy = c.dOut('y')!;
    const { x, gamma, beta } = c.op.inputs as { x: number; gamma: number; beta: number };
    const { stats } = c.op.outputs as { stats: number };
    layernormBackward(c, dy, x, gamma, beta, stats, (emitDx) => c.contribute('x', emitDx, true));
  },
  residual_dropout_layernorm(c) {
    // s = residual + dropout(a); y = LN(s)
    const dy = c.dOut('y')!;
    const { a, residual, gamma, beta } = c.op.inputs as { a: number; residual: number; gamma: number; beta: number };
    const { s, stats } = c.op.outputs as { s: number; stats: number };
    const { p, stream } = c.op.attrs as { p: number; stream: number };
    const ds = c.temp(s, 'grad');
    layernormBackward(c, dy, s, gamma, beta, stats, (emitDx) => emitDx(ds, false));
    if (c.needs('a')) {
      if (p > 0) c.contribute('a', (t, ac) => c.g.op('dropout_backward', c.label('dropout'), { dy: ds }, { dx: t }, { p, stream }, acc(ac, 'dx')), false);
      else c.alias('a', ds);
    }
    if (c.needs('residual')) c.alias('residual', ds);
    void a;
    void residual;
  },
  attention(c) {
    const dout = c.dOut('out')!;
    const attrs = c.op.attrs as Op<'attention'>['attrs'];
    c.contribute('qkv', (t, a) => c.g.op('attention_backward', c.label(), { dout, qkv: c.op.inputs.qkv!, out: c.op.outputs.out!, probs: c.op.outputs.probs!, mask: c.op.inputs.mask! }, { dqkv: t }, { ...attrs }, acc(a, 'dqkv')), false);
  },
  embedding(c) {
    const dout = c.dOut('out')!;
    const ins = c.op.inputs;
    const outputs: Record<string, number> = {};
    const g = c.g;
    // All three tables accumulate (+=): the word table also receives the tied decoder's gradient.
    const targets: Array<[string, string]> = [['word', 'dword'], ['pos', 'dpos'], ['type', 'dtype']];
    const pending: Array<[string, string]> = targets.filter(([input]) => ins[input] !== undefined && c.needs(input));
    if (pending.length === 0) return;
    // One kernel writes every table gradient; route each through contribute so bookkeeping holds.
    for (const [input, output] of pending) c.contribute(input, (t) => { outputs[output] = t; }, true);
    const inputs: Record<string, number> = {
      dout,
      types: ins.types!,
      unique: g.named('emb_unique'),
      offsets: g.named('emb_offsets'),
      rows: g.named('emb_rows'),
    };
    g.op('embedding_backward', c.label(), inputs, outputs, { seq: (c.op.attrs as { seq: number }).seq }, Object.keys(outputs));
  },
  gather_rows(c) {
    const dout = c.dOut('out')!;
    const { src, idx, weights } = c.op.inputs as { src: number; idx: number; weights: number };
    // scatter writes only the gathered rows, so the target must start as zeros.
    c.contribute('src', (t, a) => {
      if (!a) c.g.op('fill', c.label('zero'), {}, { out: t }, { value: 0 });
      c.g.op('scatter_rows_add', c.label(), { dout, idx, weights }, { dsrc: t }, {}, ['dsrc']);
    }, true);
    void src;
  },
  crossentropy(c) {
    // The fused kernel already wrote dloss/dlogits in place (output `dlogits`).
    c.alias('logits', c.op.outputs.dlogits!);
  },
  sum() {
    // Metrics only: the loss gradient is seeded by the cross-entropy kernels.
  },
};

function layernormBackward(
  c: GradContext,
  dy: number,
  x: number,
  gamma: number,
  beta: number,
  stats: number,
  dxTarget: (emit: (target: number, accumulate: boolean) => void) => void,
): void {
  const g = c.g;
  dxTarget((t, a) => {
    const outputs: Record<string, number> = { dx: t };
    const accumulate = acc(a, 'dx');
    if (c.needs('gamma') || c.needs('beta')) {
      // gamma/beta gradients come from the same kernel and always accumulate.
      c.contribute('gamma', (tg) => { outputs.dgamma = tg; }, true);
      c.contribute('beta', (tb) => { outputs.dbeta = tb; }, true);
      accumulate.push('dgamma', 'dbeta');
    }
    g.op('layernorm_backward', c.label(), { dy, x, gamma, stats }, outputs, {}, accumulate);
  });
  void beta;
}

export interface BackwardResult {
  /** Param tensor id → its gradient tensor id. */
  paramGrads: Map<number, number>;
}

/** Appends the backward ops for the given loss-producing graph. */
export function appendBackward(g: Graph): BackwardResult {
  const forward = [...g.ops];
  const requires = new Set<number>();
  for (const t of g.tensors) if (t.role === 'param') requires.add(t.id);
  for (const op of forward) {
    if (Object.values(op.inputs).some((id) => requires.has(id))) for (const id of Object.values(op.outputs)) requires.add(id);
  }

  const paramGrads = new Map<number, number>();
  for (const t of g.params()) paramGrads.set(t.id, g.tensor(`grad.${t.name}`, t.shape, 'grad', 'f32', { gradOf: t.id }));

  const grads = new Map<number, number>();
  const owners = new Map<number, number>(); // gradient tensor → how many tensors it is the gradient of
  let tempCount = 0;
  const temp = (like: number, suffix: string) => g.tensor(`${g.get(like).name}.${suffix}${tempCount++ ? `.${tempCount}` : ''}`, [...g.get(like).shape], 'activation');

  for (let i = forward.length - 1; i >= 0; i--) {
    const op = forward[i]!;
    const rule = GRADIENTS[op.kind];
    if (!rule) throw new Error(`autodiff: no gradient rule for ${op.kind}`);
    const needs = (name: string) => {
      const id = op.inputs[name];
      return id !== undefined && requires.has(id);
    };
    if (!Object.keys(op.inputs).some(needs)) continue;
    const outputsHaveGrad = Object.values(op.outputs).some((id) => grads.has(id));
    if (!outputsHaveGrad && op.kind !== 'crossentropy') continue;
    const ctx: GradContext = {
      g,
      op,
      dOut: (name) => grads.get(op.outputs[name]!),
      needs,
      temp,
      label: (suffix) => `${op.label}${suffix ? `.${suffix}` : ''}.bwd`,
      contribute(name, emit, canAccumulate) {
        const id = op.inputs[name]!;
        const paramGrad = paramGrads.get(id);
        if (paramGrad !== undefined) {
          emit(paramGrad, true);
          return;
        }
        const current = grads.get(id);
        if (current === undefined) {
          const target = temp(id, 'grad');
          emit(target, false);
          grads.set(id, target);
          owners.set(target, 1);
        } else if (canAccumulate && (owners.get(current) ?? 1) === 1) {
          emit(current, true);
        } else {
          const part = temp(id, 'grad');
          emit(part, false);
          const sum = temp(id, 'grad');
          g.op('add', `${op.label}.${name}.accumulate.bwd`, { a: current, b: part }, { y: sum }, {});
          grads.set(id, sum);
          owners.set(current, (owners.get(current) ?? 1) - 1);
          owners.set(sum, 1);
        }
      },
      alias(name, grad) {
        const id = op.inputs[name]!;
        if (paramGrads.has(id)) throw new Error(`autodiff: cannot alias a parameter gradient (${op.label})`);
        const current = grads.get(id);
        if (current === undefined) {
          grads.set(id, grad);
          owners.set(grad, (owners.get(grad) ?? 0) + 1);
        } else {
          const sum = temp(id, 'grad');
          g.op('add', `${op.label}.${name}.accumulate.bwd`, { a: current, b: grad }, { y: sum }, {});
          grads.set(id, sum);
          owners.set(current, (owners.get(current) ?? 1) - 1);
          owners.set(sum, 1);
        }
      },
    };
    rule(ctx);
    // The outputs' gradients are now consumed: they stop counting as owners.
    for (const id of Object.values(op.outputs)) {
      const grad = grads.get(id);
      if (grad !== undefined) owners.set(grad, (owners.get(grad) ?? 1) - 1);
    }
  }
  return { paramGrads };
}
