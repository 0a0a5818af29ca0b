// Turns a data batch into the plan's input tensors: absolute row indices for the MLM gather and
// the [CLS] rows, and the CSR grouping of token rows by id that makes the embedding gradient
// deterministic.
import type { Batch, ClassificationBatch } from '../data/index.js';
import { groupRowsById, paddedRowGroups } from '../graph/ops/embedding.js';

export type PlanInputs = Record<string, Int32Array | Float32Array>;

export function batchToInputs(batch: Pick<Batch, 'batchSize' | 'seqLen' | 'maxPredictions' | 'input_ids' | 'token_type_ids' | 'attention_mask' | 'masked_positions' | 'masked_ids' | 'masked_weights' | 'nsp_labels'>, vocab: number): PlanInputs {
  const { batchSize: B, seqLen: T, maxPredictions: P } = batch;
  const N = B * T;
  const maskedRows = new Int32Array(B * P);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) maskedRows[b * P + p] = b * T + batch.masked_positions[b * P + p]!;
  const clsRows = new Int32Array(B);
  for (let b = 0; b < B; b++) clsRows[b] = b * T;
  const groups = paddedRowGroups(groupRowsById(batch.input_ids), Math.min(N, vocab));
  return {
    input_ids: batch.input_ids,
    token_type_ids: batch.token_type_ids,
    attention_mask: batch.attention_mask,
    masked_positions: maskedRows,
    masked_ids: batch.masked_ids,
    masked_weights: batch.masked_weights,
    nsp_labels: batch.nsp_labels,
    cls_rows: clsRows,
    cls_weights: new Float32Array(B).fill(1),
    emb_unique: groups.unique,
    emb_offsets: groups.offsets,
    emb_rows: groups.rows,
  };
}

/** A classification batch as the plan's inputs ([CLS] rows, labels, weight 0 on padding rows). */
export function classificationInputs(b: ClassificationBatch, vocab: number): PlanInputs {
  const groups = paddedRowGroups(groupRowsById(b.input_ids), Math.min(b.batch * b.seq, vocab));
  return {
    input_ids: b.input_ids,
    token_type_ids: b.token_type_ids,
    attention_mask: b.attention_mask,
    ...(b.targets ? { class_targets: b.targets } : { class_labels: b.labels }),
    cls_rows: b.cls_rows,
    cls_weights: b.weights,
    emb_unique: groups.unique,
    emb_offsets: groups.offsets,
    emb_rows: groups.rows,
  };
}
