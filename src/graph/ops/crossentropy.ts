// CPU reference for the fused softmax cross-entropy (kernels/crossentropy.wgsl), float64 loops.
// Dims: R rows (predictions or sequences), V classes. For each row r with weight w = weights[r]
// (0 when labels[r] is outside [0, V)) and g = w·scale:
//   loss[r]    = g·(logsumexp(x[r, :]) − x[r, label])
//   correct[r] = 1 if argmax(x[r, :]) == label (lowest index among ties) and w ≠ 0, else 0
//   dx[r, j]   = g·(softmax(x[r, :])[j] − [j == label])      (the gradient of Σ_r loss[r])
// Then the op definition.
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The cross-entropy ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    /** slot: which step-state scale multiplies the loss (0 mlm_scale, 1 nsp_scale). */
    crossentropy: { inputs: { logits: TensorId; labels: TensorId; weights: TensorId }; outputs: { loss: TensorId; correct: TensorId; dlogits: TensorId }; attrs: { slot: 0 | 1; grad: boolean } };
  }
}


export interface CrossentropyRefShape {
  R: number;
  V: number;
}

export interface CrossentropyResult {
  losses: Float64Array; // (R)
  correct: Float64Array; // (R)
  dLogits: Float64Array; // (R, V)
}

export function crossentropyReference(
  logits: ArrayLike<number>, // (R, V)
  labels: ArrayLike<number>, // (R)
  weights: ArrayLike<number>, // (R)
  shape: CrossentropyRefShape,
  scale: number,
): CrossentropyResult {
  const { R, V } = shape;
  const losses = new Float64Array(R);
  const correct = new Float64Array(R);
  const dLogits = new Float64Array(R * V);
  for (let r = 0; r < R; r++) {
    const label = labels[r]!;
    const valid = Number.isInteger(label) && label >= 0 && label < V;
    const w = valid ? weights[r]! : 0;
    const g = w * scale;
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < V; j++) {
      const x = logits[r * V + j]!;
      if (x > max) {
        max = x;
        arg = j;
      }
    }
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[r * V + j]! - max);
    const lse = max + Math.log(sum);
    if (w !== 0) {
      losses[r] = g * (lse - logits[r * V + label]!);
      correct[r] = arg === label ? 1 : 0;
    }
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[r * V + j]! - lse);
      dLogits[r * V + j] = g * (p - (valid && j === label ? 1 : 0));
    }
  }
  return { losses, correct, dLogits };
}

/** Σ_r loss[r]: the scalar whose gradient dLogits is (for finite-difference checks). */
export function crossentropyLossSum(logits: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number>, shape: CrossentropyRefShape, scale: number): number {
  const { losses } = crossentropyReference(logits, labels, weights, shape, scale);
  let total = 0;
  for (const l of losses) total += l;
  return total;
}

// The op definition: the loss kernel also writes dlogits (in place of the logits), so the
// gradient rule only says that the logits' gradient is that tensor.
export const crossentropyOp: OpDef<'crossentropy'> = {
  kind: 'crossentropy',
  evaluate(op, c) {
    const [R, V] = c.g.get(op.inputs.logits).shape as [number, number];
    const r = crossentropyReference(c.get(op.inputs.logits), c.get(op.inputs.labels), c.get(op.inputs.weights), { R, V }, op.attrs.slot === 0 ? c.step.mlmScale : c.step.nspScale);
    c.set(op, 'loss', r.losses);
    c.set(op, 'correct', r.correct);
    c.set(op, 'dlogits', r.dLogits);
  },
  gradient: (c) => c.alias('logits', c.op.outputs.dlogits),
  shapes(op, shapeOf) {
    const rows = [shapeOf(op.inputs.logits)[0]!];
    return { loss: rows, correct: rows, dlogits: shapeOf(op.inputs.logits) };
  },
  cost: (op, g) => elementwiseCost(op, g, op.inputs.logits, 6),
  loss: true,
  f32Outputs: ['loss', 'correct'],
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const CROSSENTROPY_OPS: OpDefTable<'crossentropy'> = {
  crossentropy: crossentropyOp,
};
