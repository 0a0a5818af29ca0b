// A random but valid training batch, for benchmarks and tests that need no corpus: token ids
// above the special ids, the second half of each sequence typed 1, odd sequences padded at the
// end, distinct masked positions inside the real tokens, a random NSP label.
import { batchToInputs, type PlanInputs } from './batch-inputs.js';

export interface BatchShape {
  batch: number;
  seq: number;
  predictions: number;
  vocab: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

export function randomBatch(s: BatchShape, seed = 7): PlanInputs {
  const next = lcg(seed);
  const { batch: B, seq: T, predictions: P, vocab: V } = s;
  const input_ids = new Int32Array(B * T);
  const token_type_ids = new Int32Array(B * T);
  const attention_mask = new Int32Array(B * T);
  const masked_positions = new Int32Array(B * P);
  const masked_ids = new Int32Array(B * P);
  const masked_weights = new Float32Array(B * P);
  const nsp_labels = new Int32Array(B);
  const id = () => 5 + Math.floor(next() * (V - 5));
  for (let b = 0; b < B; b++) {
    const length = b % 2 === 1 ? Math.max(3, T - 2) : T;
    for (let t = 0; t < length; t++) {
      input_ids[b * T + t] = id();
      token_type_ids[b * T + t] = t >= length / 2 ? 1 : 0;
      attention_mask[b * T + t] = 1;
    }
    // Positions 1..length-1 (never [CLS]), distinct, as many as fit.
    const used = Math.min(P, length - 1);
    const positions = new Set<number>();
    while (positions.size < used) positions.add(1 + Math.floor(next() * (length - 1)));
    [...positions].forEach((pos, p) => {
      masked_positions[b * P + p] = pos;
      masked_ids[b * P + p] = id();
      masked_weights[b * P + p] = 1;
    });
    nsp_labels[b] = next() < 0.5 ? 0 : 1;
  }
  return batchToInputs({ batchSize: B, seqLen: T, maxPredictions: P, input_ids, token_type_ids, attention_mask, masked_positions, masked_ids, masked_weights, nsp_labels }, V);
}
