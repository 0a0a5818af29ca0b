// Pretraining as a training task: MLM (and NSP) micro-batches from the corpus instances, the
// masked-token counts behind the unigram baseline, and the held-out evaluation (evaluate.ts).
import type { Recipe } from '../../recipe/index.js';
import type { Batch, PretrainingData } from '../../data/index.js';
import type { PlanExecutor } from '../../runtime/executor.js';
import { batchToInputs } from '../batch-inputs.js';
import type { TrainState } from '../checkpoint/checkpoints.js';
import { evaluate } from '../evaluate.js';
import type { Phase } from '../phases.js';
import type { EvalReport, StepBatches, TrainingTask } from './task.js';

export class PretrainingTask implements TrainingTask {
  readonly hasEval: boolean;
  readonly tiedDecoder: boolean;
  private readonly nspWeight: number;
  /** Masked-token counts of everything trained on: the unigram baseline of the evaluations. */
  private readonly unigram: Float64Array;

  constructor(
    private readonly recipe: Recipe,
    private readonly data: PretrainingData,
    private readonly vocab: number,
  ) {
    this.hasEval = data.holdout !== null;
    this.tiedDecoder = recipe.tasks.mlm.tie_embeddings;
    this.nspWeight = recipe.tasks.nsp?.weight ?? 0;
    this.unigram = new Float64Array(vocab);
  }

  get tokenizer() {
    return this.data.tokenizer;
  }

  describe(): string {
    const { stats, tokenizer } = this.data;
    return `${stats.trainDocuments} train / ${stats.holdoutDocuments} held-out documents, ${stats.tokens} tokens, vocab ${tokenizer.size}`;
  }

  nextStep(phase: Phase): StepBatches {
    const batches: Batch[] = [];
    for (let i = 0; i < phase.batch / phase.microBatch; i++) batches.push(this.data.train.next(phase.microBatch, phase.seq, phase.predictions));
    for (const b of batches) for (let i = 0; i < b.masked_ids.length; i++) if (b.masked_weights[i]! > 0) this.unigram[b.masked_ids[i]!]!++;
    const predictions = batches.reduce((s, b) => s + b.num_predictions, 0);
    return {
      inputs: batches.map((b) => batchToInputs(b, this.vocab)),
      tokens: batches.reduce((s, b) => s + b.num_tokens, 0),
      slotScales: [this.recipe.tasks.mlm.weight / Math.max(1, predictions), this.nspWeight / phase.batch],
      counts: { predictions, sequences: phase.batch },
    };
  }

  stepLog(metrics: Record<string, number>, scale: number, step: StepBatches): { loss: number; fields: Record<string, number> } {
    const mlmLoss = metrics.mlm_loss! / scale;
    const nspLoss = metrics.nsp_loss !== undefined ? metrics.nsp_loss / scale : undefined;
    return {
      loss: mlmLoss + (nspLoss ?? 0),
      fields: {
        mlm_loss: mlmLoss,
        mlm_acc: metrics.mlm_correct! / Math.max(1, step.counts.predictions!),
        ...(nspLoss !== undefined ? { nsp_loss: nspLoss, nsp_acc: metrics.nsp_correct! / step.counts.sequences! } : {}),
      },
    };
  }

  evaluationDue(): boolean {
    return false;
  }

  async evaluate(exec: PlanExecutor, phase: Phase): Promise<EvalReport> {
    const result = await evaluate(exec, this.data.holdout!, phase, this.recipe.schedule.eval.batches, this.vocab, this.nspWeight > 0, this.unigram);
    const line =
      `mlm loss ${result.mlm_loss.toFixed(4)} (ppl ${result.perplexity.toFixed(1)}), mlm acc ${result.mlm_acc.toFixed(4)} ` +
      `[unigram baseline: acc ${result.baseline_acc.toFixed(4)}, loss ${result.baseline_loss.toFixed(4)}]` +
      (result.nsp_acc !== undefined ? `, nsp acc ${result.nsp_acc.toFixed(4)}` : '') + ` over ${result.predictions} predictions`;
    return { record: { ...result }, line };
  }

  restore(state: TrainState): void {
    this.data.train.restore(state.data as never);
    for (const [id, c] of Object.entries(state.unigram ?? {})) this.unigram[Number(id)] = c;
  }

  save(state: TrainState): void {
    state.data = this.data.train.state();
    state.unigram = Object.fromEntries([...this.unigram.entries()].filter(([, c]) => c > 0));
  }

  config(base: Record<string, unknown>): Record<string, unknown> {
    return base;
  }

  summary(last: Record<string, number>): string {
    return `held-out MLM accuracy ${last.mlm_acc!.toFixed(4)} vs unigram baseline ${last.baseline_acc!.toFixed(4)}; MLM loss ${last.mlm_loss!.toFixed(4)} vs unigram ${last.baseline_loss!.toFixed(4)}`;
  }

  close(): void {
    this.data.close();
  }
}

