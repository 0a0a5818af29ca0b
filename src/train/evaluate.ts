// Evaluation on the held-out data: forward passes of the evaluation plan over the same held-out
// micro-batches every time, MLM (and NSP) loss and accuracy, and the unigram baseline a model
// must beat to have learned anything from context.
import type { Batch, BatchSource } from '../data/index.js';
import type { PlanExecutor } from '../runtime/executor.js';
import { batchToInputs } from './batch-inputs.js';
import type { Phase } from './phases.js';

export interface EvalResult {
  mlm_loss: number;
  mlm_acc: number;
  perplexity: number;
  nsp_acc?: number;
  nsp_loss?: number;
  /**
   * The unigram baseline, a model that ignores context: fitted on the masked tokens the run has
   * trained on (add-one smoothing), it always predicts the most frequent one. Its accuracy...
   */
  baseline_acc: number;
  /** ...and its cross-entropy on the held-out masked tokens (nats). */
  baseline_loss: number;
  predictions: number;
}

/** Forward passes over `batches` held-out micro-batches (the same ones every time). */
export async function evaluate(exec: PlanExecutor, holdout: BatchSource, phase: Phase, batches: number, vocab: number, nsp: boolean, unigram: Float64Array): Promise<EvalResult> {
  holdout.reset();
  const list: Batch[] = [];
  for (let i = 0; i < batches; i++) list.push(holdout.next(phase.microBatch, phase.seq, phase.predictions));
  const predictions = list.reduce((s, b) => s + b.num_predictions, 0);
  const sequences = list.length * phase.microBatch;
  exec.resetMetrics();
  for (const b of list) {
    exec.upload(batchToInputs(b, vocab));
    exec.writeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1 / Math.max(1, predictions), nspScale: 1 / sequences });
    await exec.run('microbatch');
  }
  const m = await exec.readMetrics();
  // The unigram baseline (see EvalResult): add-one smoothed training counts.
  let total = 0;
  let mode = 0;
  for (let v = 0; v < unigram.length; v++) {
    total += unigram[v]!;
    if (unigram[v]! > unigram[mode]!) mode = v;
  }
  let hits = 0;
  let crossEntropy = 0;
  for (const b of list) {
    for (let i = 0; i < b.masked_ids.length; i++) {
      if (!(b.masked_weights[i]! > 0)) continue;
      const id = b.masked_ids[i]!;
      if (id === mode) hits++;
      crossEntropy -= Math.log(((unigram[id] ?? 0) + 1) / (total + unigram.length));
    }
  }
  const result: EvalResult = {
    mlm_loss: m.mlm_loss!,
    mlm_acc: m.mlm_correct! / Math.max(1, predictions),
    perplexity: Math.exp(m.mlm_loss!),
    baseline_acc: hits / Math.max(1, predictions),
    baseline_loss: crossEntropy / Math.max(1, predictions),
    predictions,
  };
  if (nsp && m.nsp_loss !== undefined) {
    result.nsp_loss = m.nsp_loss;
    result.nsp_acc = m.nsp_correct! / sequences;
  }
  return result;
}
