// CPU reference for the bias gradient of a dense layer y = x·Wᵀ + b: db[n] = Σ_m dY[m, n]
// (plus the accumulated value, when given). float64, plain loops. Dims: M rows (tokens),
// N columns (output features). Then the bias_grad op definition.
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The bias-gradient ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    bias_grad: { inputs: { dy: TensorId }; outputs: { db: TensorId }; attrs: NoAttrs };
  }
}


/** dy: (M, N) row-major → db: (N). */
export function biasGradReference(dy: ArrayLike<number>, M: number, N: number, accumulateInto?: ArrayLike<number>): Float64Array {
  const db = new Float64Array(N); // (N)
  for (let n = 0; n < N; n++) {
    let s = accumulateInto ? accumulateInto[n]! : 0;
    for (let m = 0; m < M; m++) s += dy[m * N + n]!;
    db[n] = s;
  }
  return db;
}

// The op definition: bias_grad (db = column sums of dY).
export const biasGradOp: OpDef<'bias_grad'> = {
  kind: 'bias_grad',
  evaluate(op, c) {
    const [M, N] = c.g.get(op.inputs.dy).shape as [number, number];
    c.set(op, 'db', biasGradReference(c.get(op.inputs.dy), M, N));
  },
  gradient: 'none',
  shapes: (op, shapeOf) => ({ db: [shapeOf(op.inputs.dy)[1]!] }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dy, 1),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const BIAS_GRAD_OPS: OpDefTable<'bias_grad'> = {
  bias_grad: biasGradOp,
};
