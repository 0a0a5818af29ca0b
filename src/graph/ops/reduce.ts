// CPU reference for kernels/reduce.wgsl: the sum (or sum of squares) of a flat array, float64;
// then the sum op's definition.
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The sum ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    sum: { inputs: { x: TensorId }; outputs: { out: TensorId }; attrs: NoAttrs };
  }
}


export function reduceSumReference(x: ArrayLike<number>, square = false, alpha = 1): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += square ? x[i]! * x[i]! : x[i]!;
  return alpha * sum;
}

// The op definition: sum, the metric accumulator (the loss gradient is seeded by the
// cross-entropy kernels, so nothing differentiates through it).
export const sumOp: OpDef<'sum'> = {
  kind: 'sum',
  evaluate: (op, c) => c.set(op, 'out', [reduceSumReference(c.get(op.inputs.x))]),
  gradient: 'none',
  shapes: () => ({ out: [1] }),
  cost: (op, g) => elementwiseCost(op, g, op.inputs.x, 1),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const REDUCE_OPS: OpDefTable<'sum'> = {
  sum: sumOp,
};
