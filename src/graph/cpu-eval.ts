// Evaluates a whole graph (forward, backward) on the CPU in float64 with the ops' reference
// implementations (each op's `evaluate` in src/graph/ops/): the slow, obvious model every GPU
// plan is checked against (STYLE.md), and the engine behind the per-step validation switch.
// Tensors live in a Map by id.
import type { Graph, Op } from './ir.js';
import type { StepState } from '../plan/step-state.js';
import type { EvalContext, OpDef, Values } from './op-def.js';
import { OP_DEFS } from './ops/index.js';

export type { Values } from './op-def.js';

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
      const id = (op.outputs as Record<string, number | undefined>)[name];
      if (id === undefined) throw new Error(`cpu-eval: ${op.label} has no output ${name}`);
      const size = g.size(id);
      if (op.accumulate.includes(name)) {
        const current = values.get(id) ?? new Float64Array(size);
        for (let i = 0; i < size; i++) current[i] = current[i]! + value[i]!;
        values.set(id, current);
      } else values.set(id, Float64Array.from(value));
    },
  };
  for (let i = from; i < to; i++) {
    const op = g.ops[i]!;
    (OP_DEFS[op.kind] as OpDef<Op['kind']>).evaluate(op, c);
  }
  return values;
}
