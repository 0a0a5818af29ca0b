// The elementwise ops: float64 CPU references for kernels/elementwise.wgsl (plain loops: add,
// scale, activations, GEGLU and dropout, forward and backward; n = elements; GEGLU rows × F
// outputs from rows × 2F), and the op definitions at the end of the file.
import { activation, activationGrad, type ActivationName } from './activation.js';
import { dropoutKeep } from './rng.js';
import { accumulateIf, elementwiseCost, type OpDefTable, type EvalContext, type OpDef } from '../op-def.js';

// The elementwise ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    dropout: { inputs: { x: TensorId }; outputs: { y: TensorId }; attrs: { p: number; stream: number } };
    dropout_backward: { inputs: { dy: TensorId }; outputs: { dx: TensorId }; attrs: { p: number; stream: number } };
    activation: { inputs: { x: TensorId }; outputs: { y: TensorId }; attrs: { fn: ActivationName } };
    /** tanh's derivative is taken from its output y; the others' from the input x. */
    activation_backward: { inputs: { dy: TensorId; x: TensorId; y: TensorId }; outputs: { dx: TensorId }; attrs: { fn: ActivationName } };
    geglu: { inputs: { x: TensorId }; outputs: { y: TensorId }; attrs: NoAttrs };
    geglu_backward: { inputs: { dy: TensorId; x: TensorId }; outputs: { dx: TensorId }; attrs: NoAttrs };
    add: { inputs: { a: TensorId; b: TensorId }; outputs: { y: TensorId }; attrs: NoAttrs };
    fill: { inputs: NoAttrs; outputs: { out: TensorId }; attrs: { value: number } };
  }
}


/** out = a + b [+ into]. (n) */
export function addReference(a: ArrayLike<number>, b: ArrayLike<number>, into?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]! + (into ? into[i]! : 0);
  return out;
}

/** out = alpha·x [+ into]. (n) */
export function scaleReference(x: ArrayLike<number>, alpha: number, into?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = alpha * x[i]! + (into ? into[i]! : 0);
  return out;
}

/** y = act(x). (n) */
export function activationForwardReference(name: ActivationName, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = activation(name, x[i]!);
  return out;
}

/**
 * dx = dy·act'(x). For 'tanh' pass the forward OUTPUT y as `saved` (act' = 1 − y²), as the
 * kernel does; for the others pass the pre-activation x.
 */
export function activationBackwardReference(name: ActivationName, dy: ArrayLike<number>, saved: ArrayLike<number>): Float64Array {
  const out = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    const s = saved[i]!;
    out[i] = dy[i]! * (name === 'tanh' ? 1 - s * s : activationGrad(name, s));
  }
  return out;
}

/** GEGLU (Cramming): inp (rows, 2F), row = [x | gate]; out (rows, F) = x · act(gate). */
export function gegluForwardReference(inp: ArrayLike<number>, rows: number, F: number, name: ActivationName = 'gelu'): Float64Array {
  const out = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < F; j++) out[r * F + j] = inp[r * 2 * F + j]! * activation(name, inp[r * 2 * F + F + j]!);
  }
  return out;
}

/** d_in (rows, 2F) = [dy · act(gate) | dy · x · act'(gate)], dy (rows, F). */
export function gegluBackwardReference(dy: ArrayLike<number>, inp: ArrayLike<number>, rows: number, F: number, name: ActivationName = 'gelu'): Float64Array {
  const dIn = new Float64Array(rows * 2 * F);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < F; j++) {
      const x = inp[r * 2 * F + j]!;
      const g = inp[r * 2 * F + F + j]!;
      const d = dy[r * F + j]!;
      dIn[r * 2 * F + j] = d * activation(name, g);
      dIn[r * 2 * F + F + j] = d * x * activationGrad(name, g);
    }
  }
  return dIn;
}

export interface DropoutParams {
  p: number;
  seed: number;
  stream: number;
  microStep: number;
}

/**
 * out = x · keep(i)/(1 − p), i the linear index. The backward is the same map applied to dy
 * (the mask is regenerated from the counter-based RNG), so this serves both directions.
 */
export function dropoutReference(x: ArrayLike<number>, d: DropoutParams): Float64Array {
  const out = new Float64Array(x.length);
  const scale = 1 / (1 - d.p);
  for (let i = 0; i < x.length; i++) out[i] = dropoutKeep(d.seed, d.stream, d.microStep, i, d.p) ? x[i]! * scale : 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The op definitions: dropout, activation, GEGLU (each with its backward), add and fill.

const dropoutOf = (c: EvalContext, p: number, stream: number): DropoutParams => ({ p, stream, seed: c.step.seed, microStep: c.step.microStep });

export const dropoutOp: OpDef<'dropout'> = {
  kind: 'dropout',
  evaluate: (op, c) => c.set(op, 'y', dropoutReference(c.get(op.inputs.x), dropoutOf(c, op.attrs.p, op.attrs.stream))),
  gradient(c) {
    const dy = c.dOut('y')!;
    const { p, stream } = c.op.attrs;
    c.contribute('x', (t, a) => c.g.op('dropout_backward', c.label(), { dy }, { dx: t }, { p, stream }, accumulateIf(a, 'dx')), false);
  },
  shapes: (op, shapeOf) => ({ y: shapeOf(op.inputs.x) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.x, 2),
};

export const dropoutBackwardOp: OpDef<'dropout_backward'> = {
  kind: 'dropout_backward',
  evaluate: (op, c) => c.set(op, 'dx', dropoutReference(c.get(op.inputs.dy), dropoutOf(c, op.attrs.p, op.attrs.stream))),
  gradient: 'none',
  shapes: (op, shapeOf) => ({ dx: shapeOf(op.inputs.dy) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dy, 2),
};

export const activationOp: OpDef<'activation'> = {
  kind: 'activation',
  evaluate: (op, c) => c.set(op, 'y', activationForwardReference(op.attrs.fn, c.get(op.inputs.x))),
  gradient(c) {
    const dy = c.dOut('y')!;
    const { fn } = c.op.attrs;
    c.contribute('x', (t, a) => c.g.op('activation_backward', c.label(), { dy, x: c.op.inputs.x, y: c.op.outputs.y }, { dx: t }, { fn }, accumulateIf(a, 'dx')), true);
  },
  shapes: (op, shapeOf) => ({ y: shapeOf(op.inputs.x) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.x, 8),
};

export const activationBackwardOp: OpDef<'activation_backward'> = {
  kind: 'activation_backward',
  evaluate(op, c) {
    const { fn } = op.attrs;
    c.set(op, 'dx', activationBackwardReference(fn, c.get(op.inputs.dy), c.get(fn === 'tanh' ? op.inputs.y : op.inputs.x)));
  },
  gradient: 'none',
  shapes: (op, shapeOf) => ({ dx: shapeOf(op.inputs.dy) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dy, 10),
};

export const gegluOp: OpDef<'geglu'> = {
  kind: 'geglu',
  evaluate(op, c) {
    const [rows, F] = c.g.get(op.outputs.y).shape as [number, number];
    c.set(op, 'y', gegluForwardReference(c.get(op.inputs.x), rows, F));
  },
  gradient(c) {
    const dy = c.dOut('y')!;
    c.contribute('x', (t, a) => c.g.op('geglu_backward', c.label(), { dy, x: c.op.inputs.x }, { dx: t }, {}, accumulateIf(a, 'dx')), false);
  },
  shapes: (op, shapeOf) => ({ y: [shapeOf(op.inputs.x)[0]!, shapeOf(op.inputs.x)[1]! / 2] }),
  cost: (op, g) => elementwiseCost(op, g, op.outputs.y, 9),
};

export const gegluBackwardOp: OpDef<'geglu_backward'> = {
  kind: 'geglu_backward',
  evaluate(op, c) {
    const [rows, F] = c.g.get(op.inputs.dy).shape as [number, number];
    c.set(op, 'dx', gegluBackwardReference(c.get(op.inputs.dy), c.get(op.inputs.x), rows, F));
  },
  gradient: 'none',
  shapes: (op, shapeOf) => ({ dx: shapeOf(op.inputs.x) }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dy, 12),
};

export const addOp: OpDef<'add'> = {
  kind: 'add',
  evaluate: (op, c) => c.set(op, 'y', addReference(c.get(op.inputs.a), c.get(op.inputs.b))),
  gradient(c) {
    const dy = c.dOut('y')!;
    if (c.needs('a')) c.alias('a', dy);
    if (c.needs('b')) c.alias('b', dy);
  },
  shapes: (op, shapeOf) => ({ y: shapeOf(op.inputs.a) }),
  cost: (op, g) => elementwiseCost(op, g, op.outputs.y, 1),
};

export const fillOp: OpDef<'fill'> = {
  kind: 'fill',
  evaluate: (op, c) => c.set(op, 'out', new Float64Array(c.g.size(op.outputs.out)).fill(op.attrs.value)),
  gradient: 'none',
  shapes: () => ({}), // fills whatever it is given
  cost: (op, g) => elementwiseCost(op, g, op.outputs.out, 0),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const ELEMENTWISE_OPS: OpDefTable<'dropout' | 'dropout_backward' | 'activation' | 'activation_backward' | 'geglu' | 'geglu_backward' | 'add' | 'fill'> = {
  dropout: dropoutOp,
  dropout_backward: dropoutBackwardOp,
  activation: activationOp,
  activation_backward: activationBackwardOp,
  geglu: gegluOp,
  geglu_backward: gegluBackwardOp,
  add: addOp,
  fill: fillOp,
};
