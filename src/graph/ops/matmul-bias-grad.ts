// CPU reference for the bias gradient of a dense layer y = x·Wᵀ + b: db[n] = Σ_m dY[m, n]
// (plus the accumulated value, when given). float64, plain loops. Dims: M rows (tokens),
// N columns (output features). Then the bias_grad op definition.
import { elementwiseCost, type OpDef } from '../op-def.js';

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
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dy, 1),
};
