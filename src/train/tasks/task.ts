// What the training loop needs from a task: the micro-batches of each optimizer step, the step
// log's task fields, an evaluation, the data position to checkpoint, and the model files' config.
// Pretraining (MLM, NSP) and fine-tuning (classification) implement it; the loop in runner.ts is
// the same for both (one trainer: resume, loss scaling, checkpoints, progress, metrics).
import type { BertTokenizer } from '../../data/index.js';
import type { PlanExecutor } from '../../runtime/executor.js';
import type { PlanInputs } from '../batch-inputs.js';
import type { TrainState } from '../checkpoint/checkpoints.js';
import type { Phase } from '../phases.js';

export interface StepBatches {
  /** One upload per micro-batch. */
  inputs: PlanInputs[];
  /** Real (non-padding) tokens, for tokens/s. */
  tokens: number;
  /** Step-state loss scales of the two loss slots before the loss scale S (slot 0: mlm or classification, slot 1: nsp). */
  slotScales: [number, number];
  /** Per-task counts the step log divides by (predictions, sequences, examples). */
  counts: Record<string, number>;
}

export interface EvalReport {
  /** The metrics.jsonl record's fields (after eval and step). */
  record: Record<string, number>;
  /** The progress line after "eval @ step N: ". */
  line: string;
  /** Higher is better: the best-checkpoint criterion (undefined: the task keeps no best checkpoint). */
  score?: number;
}

export interface TrainingTask {
  readonly tokenizer: BertTokenizer;
  /** tasks.classify: the label count the graph's classifier needs. */
  readonly classes?: number;
  /** Whether there are evaluation data (an evaluation plan is compiled only then). */
  readonly hasEval: boolean;
  /** The data part of the run's first progress line. */
  describe(): string;
  nextStep(phase: Phase): StepBatches;
  /**
   * The step log's total loss and task fields from the step's summed metrics: losses arrive
   * multiplied by the loss scale S, counts do not.
   */
  stepLog(metrics: Record<string, number>, scale: number, step: StepBatches): { loss: number; fields: Record<string, number> };
  /** Whether an evaluation falls after this step beyond schedule.eval.every (fine-tuning: every epoch's end). */
  evaluationDue(step: number): boolean;
  evaluate(exec: PlanExecutor, phase: Phase): Promise<EvalReport>;
  /** Resume: the data position (and task state) from a checkpoint's state.json. */
  restore(state: TrainState): void;
  /** Checkpoint: the data position (and task state) into state.json. */
  save(state: TrainState): void;
  /** config.json of the model files. */
  config(base: Record<string, unknown>): Record<string, unknown>;
  /** Whether the checkpoint's decoder weight is the word embedding (omitted from model files). */
  readonly tiedDecoder: boolean;
  /** The run's closing summary line of the last evaluation. */
  summary(last: Record<string, number>): string;
  close(): void;
}
