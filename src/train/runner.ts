// The training runner behind `bert-run <recipe>`: data → compile → train with gradient
// accumulation, LR schedule, clipping and sequence-length phases → evaluate → checkpoint →
// resume. Generic over the recipe: everything model-specific comes from the compiled plan.
// `train` checks the inputs and opens the data and the device; a TrainingRun is one invocation's
// loop, as named steps that read top to bottom: open (resume, first phase, parameters, run
// directory), then per optimizer step usePhase → trainStep → (settle the previous step) →
// periodic evaluation and checkpoint, then finish. Evaluation is evaluate.ts.
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadRecipe, type Recipe } from '../recipe/index.js';
import { openPretrainingData } from '../data/index.js';
import { compile, forcedVariants, type Compiled } from '../compiler/compile.js';
import type { TuneSite } from '../compiler/tune-site.js';
import { autotune, type TuneOutcome } from '../tune/autotune.js';
import { defaultAutotuneCache } from '../tune/autotune-cache.js';
import { firstNonFinite, validateMicroBatch } from './validate.js';
import { debugLog } from '../debug.js';
import { describeGraph, describePlan } from '../compiler/describe.js';
import { profileReport } from './profile.js';
import { openGpu, type Gpu } from '../runtime/device.js';
import { Runtime } from '../runtime/runtime.js';
import { BufferPool, PlanExecutor } from '../runtime/executor.js';
import { decodeStepState, encodeStepState } from '../plan/step-state.js';
import { UserError } from '../errors.js';
import { dataOptions, modelVocab, phaseAt, phasesOf, type Phase } from './phases.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { initParam } from './init.js';
import { ParamStore } from './param-store.js';
import { Progress, formatDuration } from './progress.js';
import { listCheckpoints, saveCheckpoint, writeModelFiles, type LoadedCheckpoint, type TrainState } from './checkpoint/checkpoints.js';
import { checkResume, removeStaleTemporaries, truncateMetrics } from './run-dir.js';
import { checkInitCheckpoint, initWeightsFile } from './preflight.js';
import { DivergenceWatch } from './divergence.js';
import { LossScaler } from './loss-scale.js';
import { bertConfig, fromHuggingFace } from './checkpoint/hf-names.js';
import type { StepBatches, TrainingTask } from './tasks/task.js';
import { PretrainingTask } from './tasks/pretraining-task.js';
import { ClassificationTask, metricValue } from './tasks/classification-task.js';
import { recipeTokenizer } from './preflight.js';
import { dirname } from 'node:path';
import type { KernelPlan } from '../plan/types.js';
import { readRun, type RunInfo } from '../report/run-data.js';
import { renderReport } from '../report/html.js';
import { readSafetensors, writeFileAtomic } from './checkpoint/safetensors.js';

export { evaluate, type EvalResult } from './evaluate.js';
export type { TrainingTask } from './tasks/task.js';

export interface TrainOptions {
  recipe: string;
  sets?: string[];
  steps?: number;
  out?: string;
  resume?: boolean;
  /** End this invocation after this many more steps, with a checkpoint. */
  stopAfter?: number;
  json?: boolean;
  printRecipe?: boolean;
  /** Time every dispatch of the first step (GPU timestamps) and print where the time goes. */
  profile?: boolean;
  /** Tests: open this GPU instead of the recipe's backend. */
  gpu?: Gpu;
  /** Forced kernel variants from outside the recipe (the CLI's BERT_VARIANT_*); the recipe's win. */
  variants?: Record<string, string>;
  /** runtime.autotune's cache file (default: defaultAutotuneCache(), $BERT_AUTOTUNE_CACHE or ~/.cache/bert-webgpu/autotune.json). */
  autotuneCache?: string;
  /** Check every op of the first micro-batch against the float64 CPU reference (the CLI's BERT_VALIDATE=1). */
  validate?: boolean;
}

/** A step's log record: the total loss, the task's fields (pretraining: mlm_*, nsp_*; fine-tuning: accuracy, epoch), then the rest. */
export interface StepLog {
  step: number;
  loss: number;
  mlm_loss?: number;
  mlm_acc?: number;
  nsp_loss?: number;
  nsp_acc?: number;
  /** Fine-tuning: training accuracy of the step's examples, and the epochs done when it was drawn. */
  accuracy?: number;
  epoch?: number;
  lr: number;
  grad_norm: number;
  skipped: boolean;
  /** The dynamic loss scale the step ran with (absent without loss scaling). */
  loss_scale?: number;
}

export interface TrainResult {
  runDir: string;
  steps: number;
  history: StepLog[];
  evals: Array<{ step: number } & Record<string, number>>;
  interrupted: boolean;
  /** Fine-tuning: the evaluation that scored best by tasks.classify.best_metric (its model is in run-dir/best). */
  best?: { step: number; score: number };
  /** Ended by tasks.classify.early_stopping before the schedule's last step. */
  stoppedEarly?: boolean;
}

const MAX_CONSECUTIVE_SKIPS = 5;

interface PhasePrograms {
  phase: Phase;
  compiled: Compiled;
  train: PlanExecutor;
  eval: PlanExecutor | null;
}

/** A step whose optimizer stage is queued; its numbers are read (settled) during the next step. */
interface PendingStep {
  step: number;
  lr: number;
  /** The loss scale S its losses and gradients carry. */
  scale: number;
  batches: StepBatches;
  snapshot: ReturnType<PlanExecutor['snapshot']>;
  programs: PhasePrograms;
  /** The first micro-batch's step-state words, to replay it op by op if the step goes non-finite. */
  words: Uint32Array;
}

/** Ctrl-C: the first finishes the step and checkpoints; a second quits at once. */
class Interrupt {
  requested = false;
  private readonly handler = () => {
    if (this.requested) process.exit(130);
    this.requested = true;
    this.progress.info('interrupt: finishing this step, then saving a checkpoint (Ctrl-C again to quit now)');
  };
  constructor(private readonly progress: Progress) {
    process.on('SIGINT', this.handler);
  }
  dispose(): void {
    process.off('SIGINT', this.handler);
  }
}

class TrainingRun {
  private readonly phases: Phase[];
  private readonly total: number;
  private readonly stopAt: number;
  private readonly startStep: number;
  private readonly lrSchedule: LrSchedule;
  private readonly metricsPath: string;
  private readonly config: Record<string, unknown>;
  private readonly logEvery: number;
  private readonly divergence: DivergenceWatch;
  private readonly scaler: LossScaler;
  private readonly history: StepLog[] = [];
  private readonly evals: TrainResult['evals'] = [];
  private programs: PhasePrograms | undefined;
  private store!: ParamStore;
  private pending: PendingStep | undefined;
  private t0 = performance.now();
  private tokensSeen = 0;
  private consecutiveSkips = 0;
  private diagnosis = '';
  private stoppedEarly = false;
  /** run.json: the device and the plans of this run (for the report). */
  private info: RunInfo | undefined;
  /** Autotuned variants by tune-site key (from the checkpoint when resuming), and how each was chosen. */
  private readonly tuned: Record<string, string>;
  private readonly tuneOutcomes: TuneOutcome[] = [];

  private constructor(
    private readonly o: TrainOptions,
    private readonly recipe: Recipe,
    private readonly recipeText: string,
    private readonly runDir: string,
    private readonly task: TrainingTask,
    private readonly vocab: number,
    private readonly runtime: Runtime,
    private readonly pool: BufferPool,
    private readonly progress: Progress,
    private readonly state: TrainState,
  ) {
    this.phases = phasesOf(recipe);
    this.total = recipe.schedule.steps;
    this.startStep = state.step;
    this.stopAt = o.stopAfter !== undefined ? Math.min(this.total, state.step + o.stopAfter) : this.total;
    const adam = recipe.schedule.optimizer.adamw ?? recipe.schedule.optimizer.lamb!;
    const { warmup_ratio: ratio, warmup_steps: warmup } = recipe.schedule.lr;
    this.lrSchedule = { lr: adam.lr, warmupSteps: ratio !== undefined ? Math.round(ratio * this.total) : warmup, totalSteps: this.total, decay: recipe.schedule.lr.decay, minLrRatio: recipe.schedule.lr.min_lr_ratio };
    this.metricsPath = join(runDir, 'metrics.jsonl');
    this.config = task.config(bertConfig(recipe, vocab));
    this.logEvery = Math.max(1, recipe.schedule.log.every);
    this.divergence = new DivergenceWatch(recipe.schedule.divergence.factor, recipe.schedule.divergence.window);
    this.scaler = LossScaler.fromRecipe(recipe, state.loss_scale);
    this.tuned = { ...(state.kernels ?? {}) };
  }

  /**
   * Resume state and data position, the first phase's programs, the parameters (from the
   * checkpoint, model.init or the initializer), and only then the run directory.
   */
  static async open(o: TrainOptions, recipe: Recipe, recipeText: string, runDir: string, resumeFrom: LoadedCheckpoint | undefined, task: TrainingTask, vocab: number, gpu: Gpu, progress: Progress): Promise<TrainingRun> {
    const tokenizer = task.tokenizer;
    progress.info(`data: ${task.describe()}` + (vocab !== tokenizer.size ? ` (model rows ${vocab})` : '') + `; device: ${gpu.report.description || gpu.report.device}`);
    let state: TrainState = { format: 'bert-webgpu.state/1', step: 0, updates: 0, microStep: 0, skipped: 0, data: null, seed: recipe.seed, recipe: recipe.name, time: '' };
    if (resumeFrom) {
      state = resumeFrom.state;
      try {
        task.restore(state);
      } catch (e) {
        throw new UserError(`${join(resumeFrom.dir, 'state.json')}: data position does not fit this corpus (${(e as Error).message.split('\n')[0]})`, 'checkpoint_mismatch', 1);
      }
    }
    if (recipe.runtime.precision === 'f16' && !gpu.limits.features.includes('shader-f16')) {
      throw new UserError(`runtime.precision f16 needs the WebGPU feature shader-f16, which ${gpu.report.description || gpu.report.device} does not offer`, 'unsupported_device', 1, 'set runtime.precision: f32');
    }
    const runtime = new Runtime(gpu);
    const run = new TrainingRun(o, recipe, recipeText, runDir, task, vocab, runtime, new BufferPool(runtime), progress, state);
    const first = await run.usePhase(phaseAt(run.phases, Math.min(state.step, run.total - 1)));
    run.store = new ParamStore(first.train.plan, run.pool);
    if (!resumeFrom) checkInitCheckpoint(recipe, run.store.params, vocab, tokenizer);
    await initializeParams(run.store, recipe, resumeFrom, progress);
    // Mixed precision: the f16 copies the ops read, from the masters just loaded.
    await first.train.run('copies');

    // The inputs are accepted: from here on the run directory holds this run.
    mkdirSync(runDir, { recursive: true });
    removeStaleTemporaries(runDir);
    writeFileAtomic(join(runDir, 'recipe.yaml'), [recipeText]);
    const r = gpu.report;
    run.info = { format: 'bert-webgpu.run/1', recipe: recipe.name, started: new Date().toISOString(), device: { description: r.description, vendor: r.vendor, architecture: r.architecture, backend: r.backend, driver: r.driver, isCpu: r.isCpu }, precision: recipe.runtime.precision, plans: [], ...(run.tuneOutcomes.length > 0 ? { autotune: run.tuneOutcomes } : {}) };
    run.recordPlan(first.train.plan);
    if (resumeFrom) {
      truncateMetrics(run.metricsPath, state.step);
      progress.info(`resumed from ${resumeFrom.dir} (step ${state.step})`);
    }
    return run;
  }

  async run(): Promise<TrainResult> {
    const interrupt = new Interrupt(this.progress);
    this.t0 = performance.now();
    try {
      while (this.state.step < this.stopAt && !interrupt.requested && !this.stoppedEarly) {
        const phase = phaseAt(this.phases, this.state.step);
        if (this.programs?.phase !== phase) await this.settle();
        await this.trainStep(await this.usePhase(phase));
        await this.periodicWork();
      }
      await this.settle();
    } finally {
      interrupt.dispose();
      this.progress.endLive();
    }
    return this.finish(interrupt.requested);
  }

  /** The programs of a phase: compiled and prepared on first use, the previous phase's freed. */
  private async usePhase(phase: Phase): Promise<PhasePrograms> {
    const current = this.programs;
    if (current && current.phase === phase) return current;
    const { recipe, vocab } = this;
    const limits = this.runtime.gpu.limits;
    const shape = { batch: phase.microBatch, seq: phase.seq, predictions: phase.predictions };
    const tag = `${phase.seq}x${phase.microBatch}`;
    const variants = forcedVariants(recipe, this.o.variants);
    const classes = this.task.classes;
    const compilePlans = () => ({
      train: compile(recipe, vocab, shape, limits, { training: true, name: `train-${tag}`, variants, classes, tuned: this.tuned }),
      eval: this.task.hasEval ? compile(recipe, vocab, shape, limits, { training: false, name: `eval-${tag}`, variants, classes, tuned: this.tuned }) : null,
    });
    let plans = compilePlans();
    if (current) {
      // Free the previous phase's private buffers (activations, scratch) before anything is
      // timed or allocated for this one; params stay.
      const keep = new Set([...plans.train.plan.buffers, ...(plans.eval?.plan.buffers ?? [])].map((b) => b.id));
      this.pool.release([current.train.plan, current.eval?.plan].flatMap((p) => (p ? p.buffers.map((b) => b.id) : [])).filter((id) => !keep.has(id)));
      current.train.destroy();
      current.eval?.destroy();
    }
    if (await this.autotunePlans([...plans.train.tuneSites, ...(plans.eval?.tuneSites ?? [])])) plans = compilePlans();
    const compiled = plans.train;
    const trainPlan = compiled.plan;
    debugLog('graph', describeGraph(compiled.model.graph));
    debugLog('plan', describePlan(trainPlan));
    const evalPlan = plans.eval?.plan ?? null;
    const next: PhasePrograms = { phase, compiled, train: await PlanExecutor.create(trainPlan, this.pool), eval: evalPlan ? await PlanExecutor.create(evalPlan, this.pool) : null };
    this.progress.info(
      `plan ${trainPlan.name}: ${trainPlan.summary.dispatches.microbatch} dispatches per micro-batch, ${trainPlan.summary.dispatches.optimizer} per update, ` +
        `${(trainPlan.summary.flops.microbatch / 1e9).toFixed(2)} GFLOP per micro-batch, ${trainPlan.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0).toLocaleString('en-US')} parameters`,
    );
    this.programs = next;
    if (this.info) this.recordPlan(trainPlan);
    return next;
  }

  /**
   * Times the tune sites not chosen yet (runtime.autotune); true when a choice differs from the
   * heuristic, so the plans must be compiled again with the choices.
   */
  private async autotunePlans(sites: TuneSite[]): Promise<boolean> {
    const mode = this.recipe.runtime.autotune;
    const fresh = [...new Map(sites.filter((s) => !(s.key in this.tuned)).map((s) => [s.key, s])).values()];
    if (mode === 'off' || fresh.length === 0) return false;
    const outcomes = await autotune(this.runtime, this.runtime.gpu.report, fresh, { mode, cachePath: this.o.autotuneCache ?? defaultAutotuneCache(), budgetSeconds: this.recipe.runtime.autotune_seconds, log: (line) => this.progress.info(line) });
    for (const o of outcomes) this.tuned[o.key] = o.variant;
    this.tuneOutcomes.push(...outcomes);
    if (this.info) this.info.autotune = this.tuneOutcomes;
    return outcomes.some((o) => o.variant !== o.heuristic);
  }

  /** Adds a training plan's summary to run.json (rewritten whole). */
  private recordPlan(plan: KernelPlan): void {
    const s = plan.summary;
    this.info!.plans.push({ name: plan.name, shape: plan.shape, dispatches: s.dispatches, flops: s.flops, bytes: s.bytes, params: s.params });
    writeFileAtomic(join(this.runDir, 'run.json'), [JSON.stringify(this.info, null, 2) + '\n']);
  }

  /** report.html in the run directory, from what metrics.jsonl holds now; a failure only warns. */
  private writeReport(): void {
    try {
      writeFileAtomic(join(this.runDir, 'report.html'), [renderReport([readRun(this.runDir)])]);
    } catch (e) {
      this.progress.info(`warning: report.html not written (${(e as Error).message.split('\n')[0]})`);
    }
  }

  /**
   * One optimizer step: the micro-batches accumulate gradients; meanwhile the previous step's
   * numbers arrive (settle), so the optimizer stage sees the exact update count; then the update
   * is queued and its numbers are read during the next step.
   */
  private async trainStep(programs: PhasePrograms): Promise<void> {
    const { recipe, state } = this;
    const step = this.task.nextStep(programs.phase);
    const lr = learningRate(this.lrSchedule, state.step);
    // The loss scale of this whole step, micro-batches and update (S = 1 without loss scaling).
    // Dynamic scaling decides S from every earlier step, so the previous one settles first.
    if (this.scaler.dynamic) await this.settle();
    const scale = this.scaler.scale;
    // Read at each call: state.updates changes when the previous step settles.
    const stepState = (microStep: number) =>
      encodeStepState({
        step: state.updates + 1,
        lr,
        seed: recipe.seed,
        microStep,
        mlmScale: step.slotScales[0] * scale,
        nspScale: step.slotScales[1] * scale,
        lossScale: scale,
      });
    programs.train.resetMetrics();
    const firstOfRun = state.step === this.startStep;
    const validate = Boolean(this.o.validate) && firstOfRun;
    const profiling = Boolean(this.o.profile || recipe.runtime.profile) && firstOfRun;
    const timings: Array<{ label: string; ns: number; kernel: string }> = [];
    const kernelsOf = (stage: 'microbatch' | 'optimizer') => programs.train.plan.steps.filter((st) => st.stage === stage).map((st) => st.pipeline.kernel);
    for (const [i, inputs] of step.inputs.entries()) {
      programs.train.upload(inputs);
      const words = stepState(state.microStep);
      programs.train.writeStepStateWords(words);
      if (validate && i === 0) {
        // Same dispatches in the same order, op by op: training continues identically.
        const v = await validateMicroBatch(programs.compiled, programs.train, decodeStepState(words));
        this.progress.info(`validation: all ${v.ops} ops of the first micro-batch match the float64 CPU reference (largest relative difference ${v.worst.rel.toExponential(2)} at ${v.worst.label})`);
      } else if (profiling && i === 0) {
        const kernels = kernelsOf('microbatch');
        (await programs.train.profile('microbatch')).forEach((t, k) => timings.push({ ...t, kernel: kernels[k]! }));
      } else await programs.train.run('microbatch');
      state.microStep++;
    }
    await this.settle();
    programs.train.writeStepStateWords(stepState(state.microStep));
    if (profiling) {
      const kernels = kernelsOf('optimizer');
      (await programs.train.profile('optimizer')).forEach((t, k) => timings.push({ ...t, kernel: kernels[k]! }));
      this.progress.info(profileReport(timings, programs.train.plan, this.runtime.hasTimestamps));
    } else await programs.train.run('optimizer');
    // Mixed precision: refresh the f16 copies from the updated masters (no-op in f32 plans).
    await programs.train.run('copies');
    this.pending = { step: state.step, lr, scale, batches: step, snapshot: programs.train.snapshot(), programs, words: stepState(state.microStep - step.inputs.length) };
    state.step++;
    if (this.o.validate) await this.settle();
  }

  /** Evaluation and checkpoints that fall on the step just taken (final ones are finish's). */
  private async periodicWork(): Promise<void> {
    const step = this.state.step;
    const { every } = this.recipe.schedule.eval;
    const ckptEvery = this.recipe.schedule.checkpoint.every;
    const evalNow = ((every > 0 && step % every === 0) || this.task.evaluationDue(step)) && step < this.total;
    const checkpointNow = ckptEvery > 0 && step % ckptEvery === 0 && step < this.stopAt;
    if (!evalNow && !checkpointNow) return;
    await this.settle();
    if (evalNow) await this.evaluate(step);
    if (checkpointNow) await this.checkpoint('periodic');
  }

  /**
   * Reads the pending step's numbers: applied or skipped (non-finite), the log line and
   * metrics.jsonl record, the divergence watch, and the stop after too many skips in a row.
   */
  private async settle(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const { state, total } = this;
    const { metrics, norm } = await p.snapshot;
    // The loss kernels wrote S·loss: the task unscales (exact, S is a power of two).
    const { loss, fields } = this.task.stepLog(metrics, p.scale, p.batches);
    const nonfinite = !norm || norm.nonFinite || !Number.isFinite(loss);
    if (nonfinite) {
      state.skipped++;
      // With dynamic loss scaling an overflow is expected now and then: it shrinks S instead.
      if (!this.scaler.dynamic) this.consecutiveSkips++;
      if (this.o.validate) await this.diagnoseNonFinite(p);
    } else {
      state.updates++;
      this.consecutiveSkips = 0;
    }
    this.observeLossScale(p, nonfinite);
    this.tokensSeen += p.batches.tokens;
    const elapsed = (performance.now() - this.t0) / 1000;
    const doneThisRun = p.step + 1 - this.startStep;
    const remaining = (this.o.stopAfter !== undefined ? Math.min(total, this.startStep + this.o.stopAfter) : total) - (p.step + 1);
    const log: StepLog = {
      step: p.step + 1,
      loss,
      ...fields,
      lr: p.lr,
      grad_norm: norm?.gradNorm ?? NaN,
      skipped: nonfinite,
      ...(this.scaler.dynamic ? { loss_scale: p.scale } : {}),
    };
    this.history.push(log);
    if (!nonfinite) this.watchDivergence(log);
    const logLine = log.step % this.logEvery === 0 || log.step === total;
    const tokensPerS = this.tokensSeen / Math.max(1e-9, elapsed);
    this.progress.step({ ...log, total, skipped: state.skipped, tokens_per_s: tokensPerS, eta_s: (elapsed / doneThisRun) * remaining }, logLine);
    if (logLine) appendFileSync(this.metricsPath, JSON.stringify({ ...log, tokens_per_s: tokensPerS, skipped_total: state.skipped, time: new Date().toISOString() }) + '\n');
    if (this.consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
      throw new UserError(
        `training stopped: ${MAX_CONSECUTIVE_SKIPS} consecutive steps had a non-finite loss or gradient norm (step ${log.step}, grad norm ${log.grad_norm}); ` +
          `parameters were left at the last good update; ` +
          (this.diagnosis ? `${this.diagnosis}` : 'run with BERT_VALIDATE=1 to name the first op that goes non-finite, or lower the learning rate'),
        'diverged',
        1,
      );
    }
  }

  /** Dynamic loss scaling: shrink on overflow, grow after clean steps, stop on collapse. */
  private observeLossScale(p: PendingStep, overflowed: boolean): void {
    const change = this.scaler.observe(overflowed);
    if (change === 'shrank') this.progress.info(`step ${p.step + 1}: gradients overflowed at loss scale ${p.scale}; step skipped, loss scale now ${this.scaler.scale}`);
    if (this.scaler.collapsed) {
      throw new UserError(
        `training stopped: the loss scale collapsed to ${this.scaler.scale} (below runtime.loss_scale.min ${this.scaler.floor}) after ${this.scaler.state.overflows} overflowing steps: the gradients overflow even nearly unscaled`,
        'loss_scale_collapse',
        1,
        'lower the learning rate, or run BERT_VALIDATE=1 to name the op that goes non-finite',
      );
    }
  }

  /**
   * Reruns a skipped step's first micro-batch op by op to name the first non-finite output; the
   * optimizer stage then sees the non-finite norm again, skips, and zeroes the gradients.
   */
  private async diagnoseNonFinite(p: PendingStep): Promise<void> {
    p.programs.train.upload(p.batches.inputs[0]!);
    p.programs.train.writeStepStateWords(p.words);
    const bad = await firstNonFinite(p.programs.compiled, p.programs.train);
    await p.programs.train.run('optimizer');
    this.diagnosis = bad ? `first non-finite value: output ${bad.output} of ${bad.label} at [${bad.index}]` : 'no op output of the first micro-batch was non-finite';
    this.progress.info(`step ${p.step + 1} skipped: ${this.diagnosis}`);
  }

  /** A finite loss far above its running median: one warning (and record), or the end of the run. */
  private watchDivergence(log: StepLog): void {
    const spike = this.divergence.observe(log.loss);
    if (!spike) return;
    const d = this.recipe.schedule.divergence;
    const line = `loss ${log.loss.toPrecision(5)} at step ${log.step} is ${(log.loss / spike.median).toFixed(1)}× the median ${spike.median.toPrecision(5)} of the previous ${spike.window === 1 ? 'step' : `${spike.window} steps`} (schedule.divergence.factor ${d.factor})`;
    appendFileSync(this.metricsPath, JSON.stringify({ divergence: true, step: log.step, loss: log.loss, median: spike.median, time: new Date().toISOString() }) + '\n');
    if (d.stop) throw new UserError(`training stopped: ${line}; the model is diverging (lower schedule.optimizer's lr or raise warmup); schedule.divergence.stop is true`, 'diverged', 1);
    this.progress.info(`warning: ${line}; the model may be diverging (lower the learning rate, or set schedule.divergence.stop: true to stop on this)`);
  }

  private async evaluate(atStep: number): Promise<void> {
    const programs = this.programs!;
    if (!programs.eval || this.recipe.schedule.eval.batches === 0) return;
    const report = await this.task.evaluate(programs.eval, programs.phase);
    this.evals.push({ step: atStep, ...report.record });
    appendFileSync(this.metricsPath, JSON.stringify({ eval: true, step: atStep, ...report.record, time: new Date().toISOString() }) + '\n');
    this.progress.info(`eval @ step ${atStep}: ${report.line}`, { eval: report.record, step: atStep });
    if (report.score !== undefined) await this.keepBest(atStep, report.score);
    this.writeReport();
  }

  /**
   * Fine-tuning: the model files of the best evaluation so far in run-dir/best (written whole, then
   * renamed over the old), and early stopping after tasks.classify.early_stopping evaluations
   * without a better score.
   */
  private async keepBest(atStep: number, score: number): Promise<void> {
    const { state, recipe } = this;
    const best = state.best;
    if (!best || score > best.score) {
      const dir = join(this.runDir, 'best');
      const temp = join(this.runDir, `.tmp-best-${process.pid}`);
      rmSync(temp, { recursive: true, force: true });
      writeModelFiles(temp, { params: await this.store.download('param'), tiedDecoder: this.task.tiedDecoder, config: this.config, tokenizer: this.task.tokenizer, recipeText: this.recipeText });
      rmSync(dir, { recursive: true, force: true });
      renameSync(temp, dir);
      state.best = { step: atStep, score, stale: 0 };
      const metric = recipe.tasks.classify?.best_metric ?? 'score';
      this.progress.info(`best ${metric} so far (${metricValue(metric, score).toFixed(4)}): model in ${dir}`);
      return;
    }
    best.stale++;
    const patience = recipe.tasks.classify?.early_stopping ?? 0;
    if (patience > 0 && best.stale >= patience && atStep < this.total) {
      this.stoppedEarly = true;
      this.progress.info(`early stopping: ${best.stale} evaluations without a better ${recipe.tasks.classify!.best_metric} than step ${best.step}'s`);
    }
  }

  /** Saves a checkpoint of the current state; returns the parameters it wrote. */
  private async checkpoint(reason: string) {
    const { state, recipe } = this;
    this.task.save(state);
    if (this.scaler.dynamic) state.loss_scale = this.scaler.state;
    if (Object.keys(this.tuned).length > 0) state.kernels = { ...this.tuned };
    state.time = new Date().toISOString();
    const params = await this.store.download('param');
    const moments = [...(await this.store.download('m')), ...(await this.store.download('v'))];
    const dir = saveCheckpoint(this.runDir, { params, moments, state, tiedDecoder: this.task.tiedDecoder, config: this.config, tokenizer: this.task.tokenizer, recipeText: this.recipeText }, recipe.schedule.checkpoint.keep);
    this.progress.info(`checkpoint: ${dir} (${reason})`);
    return params;
  }

  /** The final evaluation and model files when the schedule is done; a checkpoint in any case. */
  private async finish(interrupted: boolean): Promise<TrainResult> {
    const { state, runDir, task } = this;
    const finished = state.step >= this.total || this.stoppedEarly;
    if (state.step >= this.total) await this.evaluate(state.step);
    const params = await this.checkpoint(finished ? (this.stoppedEarly ? 'early stop' : 'final') : interrupted ? 'interrupted' : `stopped after ${this.o.stopAfter} steps`);
    if (finished) {
      writeModelFiles(runDir, { params, tiedDecoder: task.tiedDecoder, config: this.config, tokenizer: task.tokenizer, recipeText: this.recipeText });
      const elapsed = (performance.now() - this.t0) / 1000;
      this.progress.info(`done: ${state.step} steps in ${formatDuration(elapsed)} (${Math.round(this.tokensSeen / Math.max(1e-9, elapsed))} tokens/s); model in ${runDir}`);
      const last = this.evals[this.evals.length - 1];
      if (last) this.progress.info(task.summary(last));
      const metric = this.recipe.tasks.classify?.best_metric ?? 'score';
      if (state.best) this.progress.info(`best: step ${state.best.step}, ${metric} ${metricValue(metric, state.best.score).toFixed(4)} (model in ${join(runDir, 'best')})`);
    }
    this.writeReport();
    this.pool.destroy();
    return { runDir, steps: state.step, history: this.history, evals: this.evals, interrupted, ...(state.best ? { best: { step: state.best.step, score: state.best.score } } : {}), ...(this.stoppedEarly ? { stoppedEarly: true } : {}) };
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const loaded = await loadRecipe(o.recipe, { sets: o.sets, steps: o.steps, out: o.out });
  const recipe = loaded.recipe;
  const progress = new Progress(Boolean(o.json));
  if (o.printRecipe) process.stdout.write(loaded.text);
  for (const w of loaded.warnings) progress.info(`warning: ${w}`);
  const runDir = resolve(recipe.runtime.out);
  if (existsSync(runDir) && !statSync(runDir).isDirectory()) throw new UserError(`${runDir}: the run directory is a file`, 'bad_out', 2);
  const existing = listCheckpoints(runDir);
  if (!o.resume && existing.length > 0) {
    throw new UserError(`${runDir} already holds checkpoints (newest: step ${existing[existing.length - 1]!.step}); pass --resume to continue it, or --out DIR to start a new run`, 'run_exists', 2);
  }
  if (o.resume && existing.length === 0) throw new UserError(`--resume: no checkpoint in ${runDir}`, 'no_checkpoint', 2);
  const resumeFrom = o.resume ? checkResume(existing[existing.length - 1]!, recipe, loaded.text) : undefined;

  progress.info(`bert-run: ${recipe.name} -> ${runDir}`);
  // Everything that can refuse the inputs (corpus, tokenizer, device, plan, model.init) runs
  // before the run directory is created, so a refused run leaves nothing behind.
  const { task, vocab } = await openTask(recipe, loaded.file, o, progress);
  try {
    const gpu = o.gpu ?? (await openGpu({ backend: recipe.runtime.backend, adapter: recipe.runtime.adapter }));
    try {
      const run = await TrainingRun.open(o, recipe, loaded.text, runDir, resumeFrom, task, vocab, gpu, progress);
      return await run.run();
    } finally {
      if (!o.gpu) gpu.destroy();
    }
  } finally {
    task.close();
  }
}

/**
 * The recipe's task with its data: pretraining (corpus, tokenizer, instances) or fine-tuning
 * (labelled examples, the given vocabulary), where schedule.epochs sets the steps.
 */
async function openTask(recipe: Recipe, recipeFile: string, o: TrainOptions, progress: Progress): Promise<{ task: TrainingTask; vocab: number }> {
  if (!recipe.tasks.classify) {
    const data = await openPretrainingData(dataOptions(recipe, recipeFile, (m) => progress.info(m.startsWith('data') ? m : `data: ${m}`)));
    const vocab = modelVocab(recipe, data.tokenizer.size);
    return { task: new PretrainingTask(recipe, data, vocab), vocab };
  }
  const tokenizer = recipeTokenizer(recipe)!;
  const vocab = modelVocab(recipe, tokenizer.size);
  const task = new ClassificationTask(recipe, tokenizer, vocab, dirname(recipeFile));
  const s = recipe.schedule;
  if (s.epochs !== undefined && o.steps === undefined) s.steps = s.epochs * task.stepsPerEpoch(s.batch_size);
  if (s.lr.warmup_ratio === undefined && s.lr.warmup_steps > s.steps) {
    throw new UserError(`schedule.lr.warmup_steps ${s.lr.warmup_steps} exceeds the ${s.steps} steps of this run${s.epochs !== undefined ? ` (${s.epochs} epochs of ${task.stepsPerEpoch(s.batch_size)} steps)` : ''}`, 'bad_recipe', 2, 'set schedule.lr.warmup_ratio (e.g. 0.1) instead');
  }
  return { task, vocab };
}

async function initializeParams(store: ParamStore, recipe: Recipe, resume: LoadedCheckpoint | undefined, progress: Progress): Promise<void> {
  if (resume) {
    let imported: ReturnType<typeof fromHuggingFace>;
    try {
      imported = fromHuggingFace(resume.model, store.params);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${resume.dir}: ${e.message}`, e.code, e.exitCode);
      throw e;
    }
    if (imported.missing.length > 0) throw new UserError(`${resume.dir}: checkpoint lacks ${imported.missing.length} parameters of this recipe (first: ${imported.missing[0]})`, 'checkpoint_mismatch', 1);
    for (const [name, values] of imported.values) store.upload(name, values);
    for (const p of store.params) {
      for (const which of ['m', 'v'] as const) {
        const t = resume.moments.get(`${which}.${p.name}`);
        if (!t) throw new UserError(`${resume.dir}/optimizer.safetensors: no ${which}.${p.name}`, 'checkpoint_mismatch', 1);
        if (t.shape.join() !== p.shape.join()) throw new UserError(`${resume.dir}/optimizer.safetensors: ${which}.${p.name}: shape [${t.shape.join(', ')}] in the checkpoint, [${p.shape.join(', ')}] in the recipe's model`, 'checkpoint_mismatch', 1);
        store.upload(p.name, t.data, which);
      }
    }
    return;
  }
  let values = new Map<string, Float32Array>();
  if (recipe.model.init) {
    // checkInitCheckpoint has refused shapes, architecture and vocabulary that do not fit.
    const file = initWeightsFile(recipe.model.init);
    const imported = fromHuggingFace(readSafetensors(file).tensors, store.params);
    values = imported.values;
    progress.info(`model.init: ${values.size} tensors from ${file}` + (imported.missing.length ? `; freshly initialized: ${imported.missing.join(', ')}` : '') + (imported.unused.length ? `; unused: ${imported.unused.length}` : ''));
  }
  for (const p of store.params) store.upload(p.name, values.get(p.name) ?? initParam(p, recipe.seed));
}

