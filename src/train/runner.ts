// The training runner behind `bert-run <recipe>`: data → compile → train with gradient
// accumulation, LR schedule, clipping and sequence-length phases → evaluate → checkpoint →
// resume. Generic over the recipe: everything model-specific comes from the compiled plan.
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadRecipe, type Recipe } from '../recipe/index.js';
import { openPretrainingData, type Batch, type BatchSource, type PretrainingData } from '../data/index.js';
import { compile, forcedVariants, type Compiled } from '../compiler/compile.js';
import { firstNonFinite, validateMicroBatch } from './validate.js';
import { debugLog } from '../debug.js';
import { describeGraph, describePlan } from '../compiler/describe.js';
import { profileReport } from './profile.js';
import { openGpu, type Gpu } from '../runtime/device.js';
import { Runtime } from '../runtime/runtime.js';
import { BufferPool, PlanExecutor } from '../runtime/executor.js';
import { decodeStepState, encodeStepState } from '../plan/step-state.js';
import type { DeviceLimits } from '../plan/types.js';
import { UserError } from '../errors.js';
import { batchToInputs } from './batch-inputs.js';
import { dataOptions, modelVocab, phaseAt, phasesOf, type Phase } from './phases.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { initParam } from './init.js';
import { ParamStore } from './param-store.js';
import { Progress, formatDuration } from './progress.js';
import { listCheckpoints, saveCheckpoint, writeModelFiles, type LoadedCheckpoint, type TrainState } from './checkpoint.js';
import { checkResume, removeStaleTemporaries, truncateMetrics } from './run-dir.js';
import { checkInitCheckpoint, initWeightsFile } from './preflight.js';
import { DivergenceWatch } from './divergence.js';
import { bertConfig, fromHuggingFace } from './hf-checkpoint.js';
import { readSafetensors, writeFileAtomic } from './safetensors.js';

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
  /** Check every op of the first micro-batch against the float64 CPU reference (the CLI's BERT_VALIDATE=1). */
  validate?: boolean;
}

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

export interface StepLog {
  step: number;
  loss: number;
  mlm_loss: number;
  mlm_acc: number;
  nsp_loss?: number;
  nsp_acc?: number;
  lr: number;
  grad_norm: number;
  skipped: boolean;
}

export interface TrainResult {
  runDir: string;
  steps: number;
  history: StepLog[];
  evals: Array<{ step: number } & EvalResult>;
  interrupted: boolean;
}

const MAX_CONSECUTIVE_SKIPS = 5;

interface PhasePrograms {
  phase: Phase;
  compiled: Compiled;
  train: PlanExecutor;
  eval: PlanExecutor | null;
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
  const data = await openPretrainingData(dataOptions(recipe, loaded.file, (m) => progress.info(m.startsWith('data') ? m : `data: ${m}`)));
  try {
    const gpu = o.gpu ?? (await openGpu({ backend: recipe.runtime.backend, adapter: recipe.runtime.adapter }));
    try {
      return await runTraining(o, recipe, loaded.text, runDir, resumeFrom, data, gpu, progress);
    } finally {
      if (!o.gpu) gpu.destroy();
    }
  } finally {
    data.close();
  }
}

async function runTraining(o: TrainOptions, recipe: Recipe, recipeText: string, runDir: string, resumeFrom: LoadedCheckpoint | undefined, data: PretrainingData, gpu: Gpu, progress: Progress): Promise<TrainResult> {
  const vocab = modelVocab(recipe, data.tokenizer.size);
  const phases = phasesOf(recipe);
  const total = recipe.schedule.steps;
  const limits: DeviceLimits = gpu.limits;
  const runtime = new Runtime(gpu);
  const pool = new BufferPool(runtime);
  const adam = recipe.schedule.optimizer.adamw ?? recipe.schedule.optimizer.lamb!;
  const lrSchedule: LrSchedule = { lr: adam.lr, warmupSteps: recipe.schedule.lr.warmup_steps, totalSteps: total, decay: recipe.schedule.lr.decay, minLrRatio: recipe.schedule.lr.min_lr_ratio };
  const nspWeight = recipe.tasks.nsp?.weight ?? 0;
  const metricsPath = join(runDir, 'metrics.jsonl');
  const config = bertConfig(recipe, vocab);
  progress.info(
    `data: ${data.stats.trainDocuments} train / ${data.stats.holdoutDocuments} held-out documents, ${data.stats.tokens} tokens, vocab ${data.tokenizer.size}` +
      (vocab !== data.tokenizer.size ? ` (model rows ${vocab})` : '') + `; device: ${gpu.report.description || gpu.report.device}`,
  );

  let state: TrainState = { format: 'bert-webgpu.state/1', step: 0, updates: 0, microStep: 0, skipped: 0, data: null, seed: recipe.seed, recipe: recipe.name, time: '' };
  if (resumeFrom) {
    state = resumeFrom.state;
    try {
      data.train.restore(state.data as never);
    } catch (e) {
      throw new UserError(`${join(resumeFrom.dir, 'state.json')}: data position does not fit this corpus (${(e as Error).message.split('\n')[0]})`, 'checkpoint_mismatch', 1);
    }
  }

  let current: PhasePrograms | undefined;
  let store: ParamStore | undefined;
  const programsFor = async (phase: Phase): Promise<PhasePrograms> => {
    if (current && current.phase === phase) return current;
    const shape = { batch: phase.microBatch, seq: phase.seq, predictions: phase.predictions };
    const tag = `${phase.seq}x${phase.microBatch}`;
    const variants = forcedVariants(recipe, o.variants);
    const compiled = compile(recipe, vocab, shape, limits, { training: true, name: `train-${tag}`, variants });
    const trainPlan = compiled.plan;
    debugLog('graph', describeGraph(compiled.model.graph));
    debugLog('plan', describePlan(trainPlan));
    const evalPlan = data.holdout ? compile(recipe, vocab, shape, limits, { training: false, name: `eval-${tag}`, variants }).plan : null;
    if (current) {
      // Free the previous phase's private buffers (activations, scratch); params stay.
      const keep = new Set([...trainPlan.buffers, ...(evalPlan?.buffers ?? [])].map((b) => b.id));
      pool.release([current.train.plan, current.eval?.plan].flatMap((p) => (p ? p.buffers.map((b) => b.id) : [])).filter((id) => !keep.has(id)));
      current.train.destroy();
      current.eval?.destroy();
    }
    const next: PhasePrograms = { phase, compiled, train: await PlanExecutor.create(trainPlan, pool), eval: evalPlan ? await PlanExecutor.create(evalPlan, pool) : null };
    progress.info(
      `plan ${trainPlan.name}: ${trainPlan.summary.dispatches.microbatch} dispatches per micro-batch, ${trainPlan.summary.dispatches.optimizer} per update, ` +
        `${(trainPlan.summary.flops.microbatch / 1e9).toFixed(2)} GFLOP per micro-batch, ${trainPlan.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0).toLocaleString('en-US')} parameters`,
    );
    current = next;
    return next;
  };

  const first = await programsFor(phaseAt(phases, Math.min(state.step, total - 1)));
  store = new ParamStore(first.train.plan, pool);
  if (!resumeFrom) checkInitCheckpoint(recipe, store.params, vocab, data.tokenizer);
  await initializeParams(store, recipe, resumeFrom, progress);

  // The inputs are accepted: from here on the run directory holds this run.
  mkdirSync(runDir, { recursive: true });
  removeStaleTemporaries(runDir);
  writeFileAtomic(join(runDir, 'recipe.yaml'), [recipeText]);
  if (resumeFrom) {
    truncateMetrics(metricsPath, state.step);
    progress.info(`resumed from ${resumeFrom.dir} (step ${state.step})`);
  }

  const history: StepLog[] = [];
  const evals: TrainResult['evals'] = [];
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.info('interrupt: finishing this step, then saving a checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);

  const saveNow = async (reason: string) => {
    state.data = data.train.state();
    state.unigram = Object.fromEntries([...unigram.entries()].filter(([, c]) => c > 0));
    state.time = new Date().toISOString();
    const params = await store!.download('param');
    const moments = [...(await store!.download('m')), ...(await store!.download('v'))];
    const dir = saveCheckpoint(runDir, { params, moments, state, tiedDecoder: recipe.tasks.mlm.tie_embeddings, config, tokenizer: data.tokenizer, recipeText }, recipe.schedule.checkpoint.keep);
    progress.info(`checkpoint: ${dir} (${reason})`);
    return params;
  };

  const startStep = state.step;
  const t0 = performance.now();
  let tokensSeen = 0;
  let consecutiveSkips = 0;
  let pending: { step: number; lr: number; tokens: number; promise: ReturnType<PlanExecutor['snapshot']>; programs: PhasePrograms; predictions: number; sequences: number; first: Batch; words: Uint32Array } | undefined;
  let diagnosis = '';
  // Masked-token counts of everything trained on: the unigram baseline of the evaluations.
  const unigram = new Float64Array(vocab);
  for (const [id, c] of Object.entries(state.unigram ?? {})) unigram[Number(id)] = c;
  const logEvery = Math.max(1, recipe.schedule.log.every);
  const divergence = new DivergenceWatch(recipe.schedule.divergence.factor, recipe.schedule.divergence.window);

  const settle = async () => {
    if (!pending) return;
    const p = pending;
    pending = undefined;
    const { metrics, norm } = await p.promise;
    const nonfinite = !norm || norm[2] !== 0 || !Number.isFinite(metrics.mlm_loss!);
    if (nonfinite) {
      state.skipped++;
      consecutiveSkips++;
      if (validate) {
        // Rerun the step's first micro-batch op by op to name the first non-finite output; the
        // optimizer stage then sees the non-finite norm again, skips, and zeroes the gradients.
        p.programs.train.upload(batchToInputs(p.first, vocab));
        runtime.write(pool.get('step_state'), p.words);
        const bad = await firstNonFinite(p.programs.compiled, p.programs.train);
        await p.programs.train.run('optimizer');
        diagnosis = bad ? `first non-finite value: output ${bad.output} of ${bad.label} at [${bad.index}]` : 'no op output of the first micro-batch was non-finite';
        progress.info(`step ${p.step + 1} skipped: ${diagnosis}`);
      }
    } else {
      state.updates++;
      consecutiveSkips = 0;
    }
    tokensSeen += p.tokens;
    const elapsed = (performance.now() - t0) / 1000;
    const doneThisRun = p.step + 1 - startStep;
    const remaining = (o.stopAfter !== undefined ? Math.min(total, startStep + o.stopAfter) : total) - (p.step + 1);
    const log: StepLog = {
      step: p.step + 1,
      loss: metrics.mlm_loss! + (metrics.nsp_loss ?? 0),
      mlm_loss: metrics.mlm_loss!,
      mlm_acc: metrics.mlm_correct! / Math.max(1, p.predictions),
      ...(metrics.nsp_loss !== undefined ? { nsp_loss: metrics.nsp_loss, nsp_acc: metrics.nsp_correct! / p.sequences } : {}),
      lr: p.lr,
      grad_norm: norm?.[0] ?? NaN,
      skipped: nonfinite,
    };
    history.push(log);
    if (!nonfinite) {
      const spike = divergence.observe(log.loss);
      if (spike) {
        const line = `loss ${log.loss.toPrecision(5)} at step ${log.step} is ${(log.loss / spike.median).toFixed(1)}× the median ${spike.median.toPrecision(5)} of the previous ${spike.window === 1 ? 'step' : `${spike.window} steps`} (schedule.divergence.factor ${recipe.schedule.divergence.factor})`;
        appendFileSync(metricsPath, JSON.stringify({ divergence: true, step: log.step, loss: log.loss, median: spike.median, time: new Date().toISOString() }) + '\n');
        if (recipe.schedule.divergence.stop) {
          throw new UserError(`training stopped: ${line}; the model is diverging (lower schedule.optimizer's lr or raise warmup); schedule.divergence.stop is true`, 'diverged', 1);
        }
        progress.info(`warning: ${line}; the model may be diverging (lower the learning rate, or set schedule.divergence.stop: true to stop on this)`);
      }
    }
    const logLine = log.step % logEvery === 0 || log.step === total;
    const tokensPerS = tokensSeen / Math.max(1e-9, elapsed);
    progress.step({ ...log, total, skipped: state.skipped, tokens_per_s: tokensPerS, eta_s: (elapsed / doneThisRun) * remaining }, logLine);
    if (logLine) appendFileSync(metricsPath, JSON.stringify({ ...log, tokens_per_s: tokensPerS, skipped_total: state.skipped, time: new Date().toISOString() }) + '\n');
    if (consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
      throw new UserError(
        `training stopped: ${MAX_CONSECUTIVE_SKIPS} consecutive steps had a non-finite loss or gradient norm (step ${log.step}, grad norm ${log.grad_norm}); ` +
          `parameters were left at the last good update; ` +
          (diagnosis ? `${diagnosis}` : 'run with BERT_VALIDATE=1 to name the first op that goes non-finite, or lower the learning rate'),
        'diverged',
        1,
      );
    }
  };

  const runEval = async (programs: PhasePrograms, atStep: number) => {
    if (!programs.eval || !data.holdout || recipe.schedule.eval.batches === 0) return;
    const result = await evaluate(programs.eval, data.holdout, programs.phase, recipe.schedule.eval.batches, vocab, nspWeight > 0, unigram);
    evals.push({ step: atStep, ...result });
    appendFileSync(metricsPath, JSON.stringify({ eval: true, step: atStep, ...result, time: new Date().toISOString() }) + '\n');
    progress.info(
      `eval @ step ${atStep}: mlm loss ${result.mlm_loss.toFixed(4)} (ppl ${result.perplexity.toFixed(1)}), mlm acc ${result.mlm_acc.toFixed(4)} ` +
        `[unigram baseline: acc ${result.baseline_acc.toFixed(4)}, loss ${result.baseline_loss.toFixed(4)}]` +
        (result.nsp_acc !== undefined ? `, nsp acc ${result.nsp_acc.toFixed(4)}` : '') + ` over ${result.predictions} predictions`,
      { eval: result, step: atStep },
    );
  };

  const validate = Boolean(o.validate);
  const stopAt = o.stopAfter !== undefined ? Math.min(total, state.step + o.stopAfter) : total;
  try {
    while (state.step < stopAt && !interrupted) {
      const phase = phaseAt(phases, state.step);
      if (current?.phase !== phase) await settle();
      const programs = await programsFor(phase);
      const micro = phase.batch / phase.microBatch;
      const batches: Batch[] = [];
      for (let i = 0; i < micro; i++) batches.push(data.train.next(phase.microBatch, phase.seq, phase.predictions));
      for (const b of batches) for (let i = 0; i < b.masked_ids.length; i++) if (b.masked_weights[i]! > 0) unigram[b.masked_ids[i]!]!++;
      const predictions = batches.reduce((s, b) => s + b.num_predictions, 0);
      const tokens = batches.reduce((s, b) => s + b.num_tokens, 0);
      const lr = learningRate(lrSchedule, state.step);
      const stepState = (microStep: number) =>
        encodeStepState({ step: state.updates + 1, lr, seed: recipe.seed, microStep, mlmScale: recipe.tasks.mlm.weight / Math.max(1, predictions), nspScale: nspWeight / phase.batch });
      programs.train.resetMetrics();
      const profiling = (o.profile || recipe.runtime.profile) && state.step === startStep;
      const timings: Array<{ label: string; ns: number; kernel: string }> = [];
      for (const [i, batch] of batches.entries()) {
        programs.train.upload(batchToInputs(batch, vocab));
        const words = stepState(state.microStep);
        runtime.write(pool.get('step_state'), words);
        if (validate && state.step === startStep && i === 0) {
          // Same dispatches in the same order, op by op: training continues identically.
          const v = await validateMicroBatch(programs.compiled, programs.train, decodeStepState(words));
          progress.info(`validation: all ${v.ops} ops of the first micro-batch match the float64 CPU reference (largest relative difference ${v.worst.rel.toExponential(2)} at ${v.worst.label})`);
        } else if (profiling && i === 0) {
          const kernels = programs.train.plan.steps.filter((st) => st.stage === 'microbatch').map((st) => st.pipeline.kernel);
          (await programs.train.profile('microbatch')).forEach((t, k) => timings.push({ ...t, kernel: kernels[k]! }));
        } else await programs.train.run('microbatch');
        state.microStep++;
      }
      // The previous step's numbers (and whether its update was applied) arrive while this
      // step's micro-batches run; the optimizer then sees the exact update count.
      await settle();
      runtime.write(pool.get('step_state'), stepState(state.microStep));
      if (profiling) {
        const kernels = programs.train.plan.steps.filter((st) => st.stage === 'optimizer').map((st) => st.pipeline.kernel);
        (await programs.train.profile('optimizer')).forEach((t, k) => timings.push({ ...t, kernel: kernels[k]! }));
        progress.info(profileReport(timings, programs.train.plan, runtime.hasTimestamps));
      } else await programs.train.run('optimizer');
      pending = { step: state.step, lr, tokens, promise: programs.train.snapshot(), programs, predictions, sequences: phase.batch, first: batches[0]!, words: stepState(state.microStep - batches.length) };
      state.step++;
      if (validate) await settle();
      const every = recipe.schedule.eval.every;
      const ckptEvery = recipe.schedule.checkpoint.every;
      if ((every > 0 && state.step % every === 0 && state.step < total) || (ckptEvery > 0 && state.step % ckptEvery === 0 && state.step < stopAt)) {
        await settle();
        if (every > 0 && state.step % every === 0 && state.step < total) await runEval(programs, state.step);
        if (ckptEvery > 0 && state.step % ckptEvery === 0 && state.step < stopAt) await saveNow('periodic');
      }
    }
    await settle();
  } finally {
    process.off('SIGINT', onSigint);
    progress.endLive();
  }

  const finished = state.step >= total;
  if (finished) await runEval(current!, state.step);
  const params = await saveNow(finished ? 'final' : interrupted ? 'interrupted' : `stopped after ${o.stopAfter} steps`);
  if (finished) {
    writeModelFiles(runDir, { params, tiedDecoder: recipe.tasks.mlm.tie_embeddings, config, tokenizer: data.tokenizer, recipeText });
    const elapsed = (performance.now() - t0) / 1000;
    progress.info(`done: ${state.step} steps in ${formatDuration(elapsed)} (${Math.round(tokensSeen / Math.max(1e-9, elapsed))} tokens/s); model in ${runDir}`);
    const last = evals[evals.length - 1];
    if (last) progress.info(`held-out MLM accuracy ${last.mlm_acc.toFixed(4)} vs unigram baseline ${last.baseline_acc.toFixed(4)}; MLM loss ${last.mlm_loss.toFixed(4)} vs unigram ${last.baseline_loss.toFixed(4)}`);
  }
  pool.destroy();
  return { runDir, steps: state.step, history, evals, interrupted };
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

/** Forward passes over `batches` held-out micro-batches (the same ones every time). */
export async function evaluate(exec: PlanExecutor, holdout: BatchSource, phase: Phase, batches: number, vocab: number, nsp: boolean, unigram: Float64Array): Promise<EvalResult> {
  holdout.reset();
  const list: Batch[] = [];
  for (let i = 0; i < batches; i++) list.push(holdout.next(phase.microBatch, phase.seq, phase.predictions));
  const predictions = list.reduce((s, b) => s + b.num_predictions, 0);
  const sequences = list.length * phase.microBatch;
  const runtime = exec.runtime;
  exec.resetMetrics();
  for (const b of list) {
    exec.upload(batchToInputs(b, vocab));
    runtime.write(exec.pool.get('step_state'), encodeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1 / Math.max(1, predictions), nspScale: 1 / sequences }));
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
