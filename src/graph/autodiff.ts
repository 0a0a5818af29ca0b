// Reverse-mode autodiff over the op list: appends backward ops to the graph in reverse program
// order, each forward op's from its definition's gradient rule (src/graph/ops/, listed in one
// table in ops/index.ts). This file keeps only the bookkeeping.
//
// Gradient bookkeeping: a tensor's gradient may have several contributions. The first is
// written with `=`, later ones with `+=` when the producing kernel can accumulate, else into a
// temporary that an `add` sums. Parameter gradients are always `+=`: they accumulate over
// micro-batches and the optimizer zeroes them. A gradient may alias another (add, residuals);
// an aliased gradient is never accumulated into in place (copy-on-write through `add`).
import type { Graph, Op } from './ir.js';
import type { GradContext, OpDef } from './op-def.js';
import { OP_DEFS } from './ops/index.js';

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
    const inputs = op.inputs as Record<string, number | undefined>;
    const outputs = op.outputs as Record<string, number | undefined>;
    const needs = (name: string) => {
      const id = inputs[name];
      return id !== undefined && requires.has(id);
    };
    if (!Object.keys(inputs).some(needs)) continue;
    const outputsHaveGrad = Object.values(outputs).some((id) => id !== undefined && grads.has(id));
    const def = OP_DEFS[op.kind] as OpDef<Op['kind']>;
    if (!outputsHaveGrad && !def.loss) continue;
    const rule = def.gradient;
    if (rule === 'none') throw new Error(`autodiff: ${op.kind} (${op.label}) has no gradient rule but a loss depends on it`);
    const ctx = {
      g,
      op,
      dOut: (name: string) => grads.get(outputs[name]!),
      needs,
      temp,
      label: (suffix?: string) => `${op.label}${suffix ? `.${suffix}` : ''}.bwd`,
      contribute(name: string, emit: (target: number, accumulate: boolean) => void, canAccumulate: boolean) {
        const id = inputs[name]!;
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
      alias(name: string, grad: number) {
        const id = inputs[name]!;
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
    rule(ctx as unknown as GradContext<Op['kind']>);
    // The outputs' gradients are now consumed: they stop counting as owners.
    for (const id of Object.values(outputs)) {
      const grad = id === undefined ? undefined : grads.get(id);
      if (grad !== undefined) owners.set(grad, (owners.get(grad) ?? 1) - 1);
    }
  }
  return { paramGrads };
}
