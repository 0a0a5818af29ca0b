// The `kernels` suite: every kernel family's bench cases (bench/kernels/*.ts) at the shapes of
// one micro-batch of a recipe (base.yaml and its micro-batch by default), matmul also at square
// sizes; the device peaks first, so every row carries % of peak; baselines (the naive matmul,
// the first simple version of each fused kernel) run first in their group, so every faster
// variant carries its speed-up over them.
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import type { DeviceLimits } from '../src/plan/types.js';
import type { BenchShapes, KernelCase, KernelCaseFactory } from './kernel-case.js';
import { matmulBenchCases, matmulCases } from './kernels/matmul.js';
import { matmulBiasGradBenchCases } from './kernels/matmul-bias-grad.js';
import { elementwiseBenchCases } from './kernels/elementwise.js';
import { layernormBenchCases } from './kernels/layernorm.js';
import { embeddingBenchCases } from './kernels/embedding.js';
import { rowsBenchCases } from './kernels/rows.js';
import { reduceBenchCases } from './kernels/reduce.js';
import { attentionBenchCases } from './kernels/attention.js';
import { crossentropyBenchCases } from './kernels/crossentropy.js';
import { optimizerBenchCases } from './kernels/optimizer.js';
import { benchKernelCase } from './kernel-runner.js';
import { devicePeaks, takePeakRows, withPeak } from './peaks.js';
import { benchRecipe, defaultRecipePath, recipeShapes } from './shapes.js';
import type { BenchSuite } from './types.js';

/** Every family, in the order a training step meets them. */
export const KERNEL_FACTORIES: readonly KernelCaseFactory[] = [
  embeddingBenchCases,
  matmulBenchCases,
  matmulBiasGradBenchCases,
  elementwiseBenchCases,
  layernormBenchCases,
  attentionBenchCases,
  rowsBenchCases,
  crossentropyBenchCases,
  reduceBenchCases,
  optimizerBenchCases,
];

/** Square matmuls beside the recipe's: how a variant scales with size (1024³ is in matmulBenchCases). */
function squareMatmuls(limits: DeviceLimits, quick: boolean): KernelCase[] {
  if (quick) return [];
  const sizes = limits.adapter?.isCpu ? [256, 512] : [256, 512, 2048, 4096];
  return matmulCases(sizes.map((n) => ({ label: `${n}x${n}x${n}`, shape: { M: n, N: n, K: n } })), limits, limits.adapter?.isCpu ? 1024 ** 3 : Infinity);
}

/** Groups cases by (op, shape) in first-seen order, baseline first inside each group. */
export function baselineFirst(cases: KernelCase[]): KernelCase[] {
  const groups = new Map<string, KernelCase[]>();
  for (const c of cases) {
    const key = `${c.name}|${c.shape}`;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  return [...groups.values()].flatMap((list) => [...list.filter((c) => c.baseline), ...list.filter((c) => !c.baseline)]);
}

export function kernelCases(shapes: BenchShapes, limits: DeviceLimits, quick: boolean): KernelCase[] {
  const cases = KERNEL_FACTORIES.flatMap((f) => f(shapes, limits, quick));
  return baselineFirst([...squareMatmuls(limits, quick), ...cases]);
}

export const kernelSuite: BenchSuite = {
  name: 'kernels',
  summary: 'every kernel at a recipe micro-batch (default base.yaml) and square sizes, vs measured peaks and baselines',
  async run(options, report) {
    const log = options.log ?? (() => {});
    const r = await benchRecipe(options.recipe ?? defaultRecipePath());
    const microBatch = options.microBatch ?? r.recipe.schedule.micro_batch_size;
    const shapes = recipeShapes(r, microBatch);
    const gpu = await openGpu();
    try {
      const runtime = new Runtime(gpu);
      log(`kernels: ${gpu.report.description || gpu.report.device} (${gpu.report.backend}${gpu.report.isCpu ? ', CPU' : ''}); measuring peaks`);
      const peaks = await devicePeaks(runtime, gpu.limits, options.quick);
      for (const row of takePeakRows(peaks)) report(row);
      log(`kernels: peaks ${peaks.gflops.toFixed(2)} GFLOP/s (FMA), ${peaks.gbps.toFixed(2)} GB/s (copy); ` +
        (options.quick ? 'quick shapes' : `${r.name} micro-batch ${microBatch}×${shapes.seq} (${shapes.tokens} tokens, H=${shapes.hidden}, I=${shapes.inner}, V=${shapes.vocab})`));
      // On a CPU adapter the f16 rows come with --full (and in the --quick smoke test) only, which
      // keeps the default run within a few minutes: lavapipe's f16 kernels differ from f32 only in
      // the width of their loads and stores (1.1-1.2x at tiny.yaml's kernels, docs/benchmarks.md).
      const f16 = options.full || options.quick || !gpu.report.isCpu;
      if (!f16) log('kernels: a CPU adapter: f32 rows only (--full adds the f16 rows)');
      const baselines = new Map<string, number>();
      for (const c of kernelCases(shapes, gpu.limits, options.quick)) {
        if (!f16 && c.shape.endsWith(' f16')) continue;
        const forced = options.variants?.[c.name] ?? options.variants?.[c.launch.pipeline.kernel];
        if (forced !== undefined && forced !== c.variant && !c.baseline) continue;
        const row = withPeak(await benchKernelCase(runtime, c, options.quick, 'kernels', options.full), peaks);
        const key = `${c.name}|${c.shape}`;
        if (c.baseline) baselines.set(key, row.median_ms);
        const base = baselines.get(key);
        if (base !== undefined) row.vs_baseline = base / row.median_ms;
        if (c.baseline) row.extra = { ...row.extra, baseline: 'yes' };
        report(row);
      }
    } finally {
      gpu.destroy();
    }
  },
};
