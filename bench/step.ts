// The `step` suite: one training step of a recipe (forward + backward of a micro-batch, then the
// optimizer), with napkin math against measured peaks (STYLE.md 24): tokens/s and sequences/s
// of the recipe's optimizer step (batch_size sequences = accumulation × micro-batch), achieved
// model TFLOP/s (modelStats' 6N-style matmul FLOPs, what MFU counts), MFU against the best
// measured matmul at the step's largest shape and against the FMA peak, and each op family's
// share of step time from GPU timestamps (per-dispatch wall time where the adapter has none).
// Deliberately not here: data loading (the `data` suite) and loss values (random batch, random init).
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import { BufferPool, PlanExecutor } from '../src/runtime/executor.js';
import { compile } from '../src/compiler/compile.js';
import { encodeStepState } from '../src/plan/step-state.js';
import { initParam } from '../src/train/init.js';
import { modelStats } from '../src/graph/stats.js';
import type { DeviceLimits, KernelPlan, PlanStep } from '../src/plan/types.js';
import type { Recipe } from '../src/recipe/index.js';
import { matmulCases } from './kernels/matmul.js';
import { benchKernelCase } from './kernel-runner.js';
import { devicePeaks, takePeakRows, withPeak } from './peaks.js';
import { benchRecipe, defaultRecipePath, recipeShapes } from './shapes.js';
import { randomBatch } from '../src/train/synthetic-batch.js';
import { time, type Timing } from './timing.js';
import type { BenchShapes } from './kernel-case.js';
import type { BenchRow, BenchSuite } from './types.js';

/** A run slower than this gets the minimum number of samples (lavapipe at BERT-base sizes). */
const SLOW_MS = 1000;

/** Times fn (which waits for the GPU itself) after one untimed warm-up run. */
async function timeRun(label: string, fn: () => Promise<void>, quick: boolean): Promise<Timing> {
  const t0 = performance.now();
  await fn();
  const slow = performance.now() - t0 > SLOW_MS;
  return time(label, fn, { quick, minIterations: slow ? (quick ? 1 : 3) : quick ? 2 : 5, warmup: false });
}

/** The recipe's training plan for one micro-batch shape, with random weights and a random batch uploaded. */
export interface StepTiming {
  plan: KernelPlan;
  executor: PlanExecutor;
  /** Forward + backward of one micro-batch, and the optimizer pass (with f16's copy refresh). */
  micro: Timing;
  opt: Timing;
}

/** Times one micro-batch and one optimizer pass of `recipe` at this shape on the pool's device. */
export async function timeTrainStep(
  runtime: Runtime,
  pool: BufferPool,
  limits: DeviceLimits,
  recipe: Recipe,
  vocab: number,
  shape: { batch: number; seq: number; predictions: number },
  quick: boolean,
  variants?: Record<string, string>,
): Promise<StepTiming> {
  const { plan } = compile(recipe, vocab, shape, limits, { training: true, variants, name: `bench-${recipe.runtime.precision}` });
  const executor = await PlanExecutor.create(plan, pool);
  for (const p of plan.params) runtime.write(pool.get(p.buffer), initParam(p, 1234), p.offset);
  await executor.run('copies');
  const inputs = randomBatch({ ...shape, vocab });
  executor.upload(inputs);
  const weights = (inputs.masked_weights as Float32Array).reduce((a, b) => a + b, 0);
  runtime.write(pool.get('step_state'), encodeStepState({ step: 1, lr: 1e-4, seed: 1234, microStep: 0, mlmScale: 1 / Math.max(1, weights), nspScale: 1 / shape.batch }));
  const micro = await timeRun('microbatch', async () => {
    await executor.run('microbatch');
    await runtime.finish();
  }, quick);
  const opt = await timeRun('optimizer', async () => {
    await executor.run('optimizer');
    await executor.run('copies');
    await runtime.finish();
  }, quick);
  return { plan, executor, micro, opt };
}

/**
 * The matmul roof MFU is measured against: every variant but the naive one at the step's
 * largest matmul (the feed-forward up-projection, tokens × inner × hidden), best GFLOP/s.
 */
async function matmulPeak(runtime: Runtime, limits: DeviceLimits, s: BenchShapes, quick: boolean): Promise<{ gflops: number; rows: BenchRow[] }> {
  const shape = quick ? { M: 128, N: 128, K: 128 } : { M: s.tokens, N: s.inner, K: s.hidden, transB: true };
  const label = `${shape.M}x${shape.N}x${shape.K}`;
  // Tiled is for real GPUs; on a CPU rasterizer it is 10× slower than subgroup and would take minutes here.
  const cases = matmulCases([{ label, shape }], limits, limits.adapter?.isCpu ? 0 : Infinity).filter((c) => !c.baseline);
  const rows: BenchRow[] = [];
  for (const c of cases) rows.push({ ...(await benchKernelCase(runtime, c, quick, 'step')), name: 'matmul_peak' });
  const gflops = Math.max(...rows.map((r) => r.gflops ?? 0));
  return { gflops, rows };
}

/** Op family of a plan step: its kernel file, with the subgroup matmul counted as matmul. */
export function opFamily(step: Pick<PlanStep, 'pipeline'>): string {
  return step.pipeline.kernel.replace(/-subgroup$/, '');
}

interface FamilyTotals {
  flops: number;
  bytes: number;
  dispatches: number;
  /** ns per optimizer step, one entry per profile run. */
  ns: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const stepSuite: BenchSuite = {
  name: 'step',
  summary: 'forward + backward + optimizer of a recipe: tokens/s, model TFLOP/s, time per op family, MFU',
  async run(options, report) {
    const log = options.log ?? (() => {});
    const quick = options.quick;
    const gpu = await openGpu();
    const runtime = new Runtime(gpu);
    // One pool per precision, freed after it: f32 and f16 plans lay their parameters out
    // differently (f16 copies mirror the masters), and both at once would double the memory.
    let pool: BufferPool | undefined;
    try {
      const cpu = gpu.report.isCpu;
      // The shape that trains: the recipe's own micro-batch. Without --recipe, BERT-base on a GPU;
      // on a CPU rasterizer (BERT-base's 32 × 128 micro-batch takes minutes a sample there) and
      // with --quick, the quick start's tiny.yaml.
      const r = await benchRecipe(options.recipe ?? defaultRecipePath(quick || cpu ? 'tiny.yaml' : 'base.yaml'));
      if (!options.recipe && cpu && !quick) log(`step: a CPU adapter: recipes/tiny.yaml by default (--recipe recipes/base.yaml for BERT-base at its micro-batch)`);
      const recipeMicro = r.recipe.schedule.micro_batch_size;
      const microBatch = options.microBatch ?? (quick ? 2 : recipeMicro);
      const seq = quick ? Math.min(32, r.recipe.data.seq_len) : r.recipe.data.seq_len;
      const predictions = quick ? Math.min(r.recipe.tasks.mlm.max_predictions, Math.max(1, seq >> 2)) : r.recipe.tasks.mlm.max_predictions;
      const batchSize = r.recipe.schedule.batch_size;
      const accum = Math.max(1, Math.ceil(batchSize / microBatch));
      const tokens = microBatch * seq;
      const shapes = recipeShapes(r, microBatch, seq);
      const shapeLabel = `B${microBatch}xT${seq}`;
      log(
        `step: ${r.name} micro-batch ${microBatch}×${seq}` +
          (microBatch !== recipeMicro ? ` (recipe: ${recipeMicro}×${r.recipe.data.seq_len})` : '') +
          `, optimizer step = ${accum} micro-batches (batch_size ${batchSize})`,
      );

      const peaks = await devicePeaks(runtime, gpu.limits, quick);
      for (const row of takePeakRows(peaks)) report(row);
      const mm = await matmulPeak(runtime, gpu.limits, shapes, quick);
      for (const row of mm.rows) report(withPeak(row, peaks));

      const variants = options.variants && Object.keys(options.variants).length > 0 ? options.variants : undefined;
      // The recipe's precision, then the other one where the device can run it (f16 needs shader-f16).
      const precisions = [r.recipe.runtime.precision, r.recipe.runtime.precision === 'f16' ? 'f32' : 'f16'].filter((p) => p === 'f32' || gpu.limits.features.includes('shader-f16')) as Array<'f32' | 'f16'>;
      for (const precision of precisions) {
      const recipe = { ...r.recipe, runtime: { ...r.recipe.runtime, precision } };
      const label = precision === r.recipe.runtime.precision ? r.name : `${r.name} ${precision}`;
      pool?.destroy();
      pool = new BufferPool(runtime);
      const { plan, executor, micro, opt } = await timeTrainStep(runtime, pool, gpu.limits, recipe, r.vocab, { batch: microBatch, seq, predictions }, quick, variants);

      const hwMicro = plan.summary.flops.microbatch;
      const hwOpt = plan.summary.flops.optimizer;
      const optBytes = plan.steps.filter((s) => s.stage === 'optimizer').reduce((a, s) => a + s.bytes, 0);
      const microRow: BenchRow = { suite: 'step', name: 'forward_backward', variant: label, shape: shapeLabel, ...pick(micro), gflops: hwMicro / (micro.median_ms / 1e3) / 1e9, tokens_per_s: tokens / (micro.median_ms / 1e3) };
      report({ ...withPeak(microRow, peaks), extra: { dispatches: plan.summary.dispatches.microbatch } });
      const optRow: BenchRow = { suite: 'step', name: 'optimizer', variant: label, shape: `${(plan.summary.params / 1e6).toFixed(1)}M params`, ...pick(opt), gbps: optBytes / (opt.median_ms / 1e3) / 1e9 };
      if (hwOpt > 0) optRow.gflops = hwOpt / (opt.median_ms / 1e3) / 1e9;
      report({ ...withPeak(optRow, peaks), extra: { dispatches: plan.summary.dispatches.optimizer } });

      // The recipe's optimizer step: accum micro-batches then one optimizer pass.
      const stepMs = (m: number, o: number) => accum * m + o;
      const step = { median_ms: stepMs(micro.median_ms, opt.median_ms), min_ms: stepMs(micro.min_ms, opt.min_ms), max_ms: stepMs(micro.max_ms, opt.max_ms) };
      const stepSeconds = step.median_ms / 1e3;
      const stats = modelStats(r.recipe, { vocabSize: r.vocab, seqLen: seq, microBatch });
      const modelFlops = stats.flops.trainingPerToken * batchSize * seq;
      const modelGflops = modelFlops / stepSeconds / 1e9;
      const mfuMatmul = (100 * modelGflops) / mm.gflops;
      const mfuFma = (100 * modelGflops) / peaks.gflops;
      report({
        suite: 'step', name: 'train_step', variant: label, shape: `${batchSize}x${seq} (${accum}x${shapeLabel})`, ...step,
        gflops: modelGflops, tokens_per_s: (batchSize * seq) / stepSeconds, pct_of_peak: mfuMatmul, peak: 'matmul',
        extra: {
          sequences_per_s: batchSize / stepSeconds,
          model_tflops: modelGflops / 1e3,
          mfu_matmul_pct: mfuMatmul,
          mfu_fma_pct: mfuFma,
          matmul_peak_gflops: mm.gflops,
          hw_gflops: (accum * hwMicro + hwOpt) / stepSeconds / 1e9,
        },
      });
      log(`step (${precision}): ${((batchSize * seq) / stepSeconds).toFixed(1)} tokens/s, ${(batchSize / stepSeconds).toFixed(3)} sequences/s, model ${(modelGflops / 1e3).toFixed(4)} TFLOP/s; ` +
        `MFU ${mfuMatmul.toFixed(1)}% of the best matmul (${mm.gflops.toFixed(2)} GFLOP/s), ${mfuFma.toFixed(1)}% of the FMA peak (${peaks.gflops.toFixed(2)} GFLOP/s)`);
      if (precision !== r.recipe.runtime.precision) continue;
      // Share of step time per op family, in the recipe's own precision.
      const profiles = quick || cpu ? 1 : 3;
      const families = await familyTimes(executor, plan, accum, profiles);
      const total = [...families.values()].reduce((a, f) => a + median(f.ns), 0);
      const source = runtime.hasTimestamps ? 'timestamps' : 'per-dispatch wall time';
      for (const [family, f] of [...families].sort((a, b) => median(b[1].ns) - median(a[1].ns))) {
        const ms = median(f.ns) / 1e6;
        if (!(ms > 0)) continue;
        const row: BenchRow = { suite: 'step', name: family, kernel: family, variant: 'family', shape: `${accum}x${shapeLabel}+opt`, median_ms: ms, min_ms: Math.min(...f.ns) / 1e6, max_ms: Math.max(...f.ns) / 1e6 };
        if (f.flops > 0) row.gflops = f.flops / (ms / 1e3) / 1e9;
        if (f.bytes > 0) row.gbps = f.bytes / (ms / 1e3) / 1e9;
        report({ ...withPeak(row, peaks), extra: { share_pct: (100 * median(f.ns)) / total, dispatches: f.dispatches, timing: source, precision } });
      }
      }
    } finally {
      pool?.destroy();
      gpu.destroy();
    }
  },
};

function pick(t: Timing): Pick<BenchRow, 'median_ms' | 'min_ms' | 'max_ms'> {
  return { median_ms: t.median_ms, min_ms: t.min_ms, max_ms: t.max_ms };
}

/** Per family: FLOPs, bytes and dispatches per optimizer step, and GPU ns per step for each profile run. */
async function familyTimes(executor: PlanExecutor, plan: KernelPlan, accum: number, runs: number): Promise<Map<string, FamilyTotals>> {
  const families = new Map<string, FamilyTotals>();
  const stages: Array<{ stage: PlanStep['stage']; times: number }> = [
    { stage: 'microbatch', times: accum },
    { stage: 'optimizer', times: 1 },
  ];
  for (const { stage, times } of stages) {
    const steps = plan.steps.filter((s) => s.stage === stage);
    for (const s of steps) {
      const f = families.get(opFamily(s)) ?? { flops: 0, bytes: 0, dispatches: 0, ns: new Array<number>(runs).fill(0) };
      f.flops += times * s.flops;
      f.bytes += times * s.bytes;
      f.dispatches += times;
      families.set(opFamily(s), f);
    }
    for (let run = 0; run < runs; run++) {
      const profile = await executor.profile(stage);
      if (profile.length !== steps.length) throw new Error(`step: profile of ${stage} has ${profile.length} entries for ${steps.length} steps`);
      profile.forEach((p, i) => {
        families.get(opFamily(steps[i]!))!.ns[run]! += times * p.ns;
      });
    }
  }
  return families;
}
