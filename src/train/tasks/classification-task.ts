// Fine-tuning as a training task (tasks.classify): labelled examples as [CLS] a [SEP] (b [SEP])
// micro-batches, a seeded shuffle per epoch, evaluation over every validation example (accuracy,
// F1, macro F1, Matthews correlation; for regression MSE, Pearson and Spearman) with the
// best-checkpoint score, and a config.json that transformers loads as
// BertForSequenceClassification (problem_type single_label_classification or regression).
import { dirname } from 'node:path';
import type { Recipe } from '../../recipe/index.js';
import { ClassificationBatches, deriveRng, permutation, readLabelled, type BertTokenizer, type ClassificationBatch, type LabelledData, type LabelledSpec } from '../../data/index.js';
import type { PlanExecutor } from '../../runtime/executor.js';
import { UserError } from '../../errors.js';
import { classificationInputs } from '../batch-inputs.js';
import type { TrainState } from '../checkpoint/checkpoints.js';
import { classificationMetrics } from '../classification-metrics.js';
import { regressionMetrics } from '../regression-metrics.js';
import { decodeHalves } from '../f16.js';
import type { Phase } from '../phases.js';
import type { EvalReport, StepBatches, TrainingTask } from './task.js';

/** best_metric values that are minimized: the score (higher is better) is their negation. */
const MINIMIZED = new Set(['loss', 'mse']);

/** A best-checkpoint score as the metric's own value. */
export function metricValue(metric: string, score: number): number {
  return MINIMIZED.has(metric) ? -score : score;
}

/** data.labelled as the data layer's spec. */
export function labelledSpec(recipe: Recipe): LabelledSpec {
  const l = recipe.data.labelled!;
  if (l.source) return { source: l.source };
  return { files: l.files!, format: l.format, text: l.text, textPair: l.text_pair, label: l.label, header: l.header };
}

/** The recipe's labelled examples: training, validation (files or the seeded holdout) and the label set. */
export function readRecipeLabelled(recipe: Recipe, baseDir: string): LabelledData {
  const l = recipe.data.labelled!;
  const base = labelledSpec(recipe);
  const validation = l.validation && 'files' in base ? { ...base, files: l.validation } : undefined;
  const data = readLabelled(base, { baseDir, validation, holdout: l.holdout, seed: recipe.seed, regression: recipe.tasks.classify?.regression });
  if (l.max_examples !== undefined && l.max_examples < data.train.length) {
    // A seeded subset in file order; the label set stays that of all training examples.
    const order = permutation(data.train.length, deriveRng('labelled-subset', recipe.seed));
    const kept = new Set(order.subarray(0, l.max_examples));
    data.train = data.train.filter((_, i) => kept.has(i));
  }
  return data;
}

/** tasks.classify: the classifier's outputs: the labels in the recipe's training data, 1 for regression (undefined for pretraining). */
export function recipeClasses(recipe: Recipe, recipeFile: string): number | undefined {
  if (!recipe.tasks.classify) return undefined;
  return recipe.tasks.classify.regression ? 1 : readRecipeLabelled(recipe, dirname(recipeFile)).labels.length;
}

export class ClassificationTask implements TrainingTask {
  readonly tiedDecoder = false;
  readonly hasEval: boolean;
  /** The classifier's outputs: the label count, 1 for regression. */
  readonly classes: number;
  /** The class list; empty for regression. */
  readonly labels: readonly string[];
  private readonly regression: boolean;
  private readonly train: ClassificationBatches;
  private readonly validation: ClassificationBatches | undefined;

  constructor(
    private readonly recipe: Recipe,
    readonly tokenizer: BertTokenizer,
    private readonly vocab: number,
    baseDir: string,
  ) {
    const data = readRecipeLabelled(recipe, baseDir);
    this.regression = recipe.tasks.classify!.regression;
    this.labels = data.labels;
    this.classes = this.regression ? 1 : data.labels.length;
    const classList = this.regression ? null : data.labels;
    this.train = new ClassificationBatches(tokenizer, data.train, classList, recipe.data.seq_len, recipe.seed);
    this.validation = data.validation.length > 0 ? new ClassificationBatches(tokenizer, data.validation, classList, recipe.data.seq_len, recipe.seed) : undefined;
    this.hasEval = this.validation !== undefined;
    // Refused before training starts, not at the first evaluation.
    if (!this.regression && recipe.tasks.classify!.best_metric === 'f1' && this.classes !== 2) {
      throw new UserError(`tasks.classify.best_metric f1 is the F1 of the second label, for two labels; the data have ${this.classes} (${this.labels.join(', ')})`, 'bad_recipe', 2, 'use macro_f1, accuracy, mcc or loss');
    }
  }

  /** Optimizer steps per pass over the training examples. */
  stepsPerEpoch(batch: number): number {
    return Math.ceil(this.train.size / batch);
  }

  describe(): string {
    const targets = this.regression ? 'numeric targets (regression)' : `labels ${this.labels.join(', ')}`;
    return `${this.train.size} train / ${this.validation?.size ?? 0} validation examples, ${targets}, vocab ${this.tokenizer.size}`;
  }

  nextStep(phase: Phase): StepBatches {
    const batches: ClassificationBatch[] = [];
    for (let i = 0; i < phase.batch / phase.microBatch; i++) batches.push(this.train.next(phase.microBatch));
    return {
      inputs: batches.map((b) => classificationInputs(b, this.vocab)),
      tokens: batches.reduce((s, b) => s + b.attention_mask.reduce((a, m) => a + m, 0), 0),
      slotScales: [1 / phase.batch, 0],
      counts: { examples: phase.batch, epoch: this.train.epoch },
    };
  }

  stepLog(metrics: Record<string, number>, scale: number, step: StepBatches): { loss: number; fields: Record<string, number> } {
    const loss = metrics.cls_loss! / scale;
    if (this.regression) return { loss, fields: { epoch: step.counts.epoch! } };
    return { loss, fields: { accuracy: metrics.cls_correct! / step.counts.examples!, epoch: step.counts.epoch! } };
  }

  evaluationDue(step: number): boolean {
    const epochs = this.recipe.schedule.epochs;
    return epochs !== undefined && step % this.stepsPerEpoch(this.recipe.schedule.batch_size) === 0;
  }

  async evaluate(exec: PlanExecutor, phase: Phase): Promise<EvalReport> {
    const validation = this.validation!;
    const predicted: number[] = [];
    const actual: number[] = [];
    exec.resetMetrics();
    for (const b of validation.inOrder(phase.microBatch)) {
      exec.upload(classificationInputs(b, this.vocab));
      exec.writeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1 / validation.size, nspScale: 0 });
      await exec.run('microbatch');
      const out = await exec.readOutputBytes('logits');
      const logits = out.dtype === 'f16' ? decodeHalves(out.bytes) : new Float32Array(out.bytes);
      for (let i = 0; i < b.examples; i++) {
        if (this.regression) {
          predicted.push(logits[i]!);
          actual.push(b.targets![i]!);
          continue;
        }
        let best = 0;
        for (let c = 1; c < this.classes; c++) if (logits[i * this.classes + c]! > logits[i * this.classes + best]!) best = c;
        predicted.push(best);
        actual.push(b.labels[i]!);
      }
    }
    const loss = (await exec.readMetrics()).cls_loss!;
    const { record, line } = this.regression ? regressionReport(loss, predicted, actual) : classificationReport(loss, predicted, actual, this.classes);
    const metric = this.recipe.tasks.classify!.best_metric;
    const value = record[metric]!;
    return { record, line, score: metricValue(metric, value) };
  }

  restore(state: TrainState): void {
    this.train.restore(state.data as never);
  }

  save(state: TrainState): void {
    state.data = this.train.state();
  }

  config(base: Record<string, unknown>): Record<string, unknown> {
    // transformers names a regression head's single output LABEL_0, as its own configs do.
    const labels = this.regression ? ['LABEL_0'] : this.labels;
    return {
      ...base,
      architectures: ['BertForSequenceClassification'],
      classifier_dropout: this.recipe.tasks.classify!.dropout,
      problem_type: this.regression ? 'regression' : 'single_label_classification',
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    };
  }

  summary(last: Record<string, number>): string {
    if (this.regression) return `validation MSE ${last.mse!.toFixed(4)}, Pearson ${last.pearson!.toFixed(4)}, Spearman ${last.spearman!.toFixed(4)}`;
    return `validation accuracy ${last.accuracy!.toFixed(4)}` + (last.f1 !== undefined ? `, F1 ${last.f1.toFixed(4)}` : '') + `, macro F1 ${last.macro_f1!.toFixed(4)}, MCC ${last.mcc!.toFixed(4)}`;
  }

  close(): void {}
}

/** The evaluation record and progress line of a classifier (labels = class ids). */
function classificationReport(loss: number, predicted: number[], actual: number[], classes: number): { record: Record<string, number>; line: string } {
  const m = classificationMetrics(predicted, actual, classes);
  const record: Record<string, number> = { loss, accuracy: m.accuracy, ...(m.f1 !== undefined ? { f1: m.f1 } : {}), macro_f1: m.macro_f1, mcc: m.mcc, examples: m.examples };
  const line =
    `loss ${loss.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}` + (m.f1 !== undefined ? `, F1 ${m.f1.toFixed(4)}` : '') +
    `, macro F1 ${m.macro_f1.toFixed(4)}, MCC ${m.mcc.toFixed(4)} over ${m.examples} validation examples`;
  return { record, line };
}

/** The evaluation record and progress line of a regression head (loss = the mean squared error as the plan summed it). */
function regressionReport(loss: number, predicted: number[], actual: number[]): { record: Record<string, number>; line: string } {
  const m = regressionMetrics(predicted, actual);
  const record: Record<string, number> = { loss, mse: m.mse, pearson: m.pearson, spearman: m.spearman, examples: m.examples };
  return { record, line: `loss ${loss.toFixed(4)}, MSE ${m.mse.toFixed(4)}, Pearson ${m.pearson.toFixed(4)}, Spearman ${m.spearman.toFixed(4)} over ${m.examples} validation examples` };
}
