// CPU reference for the squared-error loss of a regression head (kernels/squared-error.wgsl),
// float64 loops: R rows, one prediction each. For each row r with weight w = weights[r] and
// g = w·scale:
//   loss[r] = g·(x[r] − y[r])²        (0 where w = 0)
//   dx[r]   = 2·g·(x[r] − y[r])       (the gradient of Σ_r loss[r])
// With scale = 1/batch this is torch's MSELoss (mean reduction), as transformers'
// BertForSequenceClassification uses for one label. Then the op definition.
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The squared-error op's signature (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    /** slot: which step-state scale multiplies the loss (0 mlm_scale, 1 nsp_scale), as crossentropy's. */
    squared_error: { inputs: { predictions: TensorId; targets: TensorId; weights: TensorId }; outputs: { loss: TensorId; dpredictions: TensorId }; attrs: { slot: 0 | 1; grad: boolean } };
  }
}

export interface SquaredErrorResult {
  losses: Float64Array; // (R)
  dPredictions: Float64Array; // (R)
}

export function squaredErrorReference(
  predictions: ArrayLike<number>, // (R)
  targets: ArrayLike<number>, // (R)
  weights: ArrayLike<number>, // (R)
  scale: number,
): SquaredErrorResult {
  const R = predictions.length;
  const losses = new Float64Array(R);
  const dPredictions = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const g = weights[r]! * scale;
    const d = predictions[r]! - targets[r]!;
    if (weights[r] !== 0) losses[r] = g * d * d;
    dPredictions[r] = 2 * g * d;
  }
  return { losses, dPredictions };
}

/** Σ_r loss[r]: the scalar whose gradient dPredictions is (for finite-difference checks). */
export function squaredErrorLossSum(predictions: ArrayLike<number>, targets: ArrayLike<number>, weights: ArrayLike<number>, scale: number): number {
  return squaredErrorReference(predictions, targets, weights, scale).losses.reduce((a, b) => a + b, 0);
}

// As crossentropy: the loss kernel writes dpredictions in place of the predictions, so the
// gradient rule only says that the predictions' gradient is that tensor.
export const squaredErrorOp: OpDef<'squared_error'> = {
  kind: 'squared_error',
  evaluate(op, c) {
    const r = squaredErrorReference(c.get(op.inputs.predictions), c.get(op.inputs.targets), c.get(op.inputs.weights), op.attrs.slot === 0 ? c.step.mlmScale : c.step.nspScale);
    c.set(op, 'loss', r.losses);
    c.set(op, 'dpredictions', r.dPredictions);
  },
  gradient: (c) => c.alias('predictions', c.op.outputs.dpredictions),
  shapes(op, shapeOf) {
    return { loss: [shapeOf(op.inputs.predictions)[0]!], dpredictions: shapeOf(op.inputs.predictions) };
  },
  cost: (op, g) => elementwiseCost(op, g, op.inputs.predictions, 5),
  loss: true,
  f32Outputs: ['loss'],
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const SQUARED_ERROR_OPS: OpDefTable<'squared_error'> = {
  squared_error: squaredErrorOp,
};
