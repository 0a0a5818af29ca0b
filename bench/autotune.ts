// The `autotune` suite: what runtime.autotune would choose for the recipe's training step on this
// adapter. Compiles the step at the recipe's micro-batch, times every candidate variant of every
// tune site in it (each matmul shape, each attention op; src/tune, mode on, in this process only:
// the autotune cache is not touched) and reports per site the chosen variant, its time, its % of
// the FMA peak measured in the same run (matmul sites are compute-bound) and its speed-up over the
// heuristic's pick. Samples last as long as the kernels suite's (50 ms on a CPU adapter).
import { compile, forcedVariants } from '../src/compiler/compile.js';
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import { autotune } from '../src/tune/autotune.js';
import { benchRecipe, defaultRecipePath } from './shapes.js';
import { devicePeaks, takePeakRows } from './peaks.js';
import { sampleTargetMs } from './kernel-runner.js';
import type { BenchSuite } from './types.js';

export const autotuneSuite: BenchSuite = {
  name: 'autotune',
  summary: "the kernel variant autotuning picks for each matmul shape and attention op of the recipe's training step, and its speed-up over the heuristic",
  async run(options, report) {
    const gpu = await openGpu();
    try {
      const r = await benchRecipe(options.recipe ?? defaultRecipePath(options.quick || gpu.report.isCpu ? 'tiny.yaml' : 'base.yaml'));
      const microBatch = options.microBatch ?? r.recipe.schedule.micro_batch_size;
      const shape = { batch: microBatch, seq: r.recipe.data.seq_len, predictions: r.recipe.tasks.mlm.max_predictions };
      const { tuneSites } = compile(r.recipe, r.vocab, shape, gpu.limits, { training: true, variants: forcedVariants(r.recipe, options.variants) });
      options.log?.(`autotune: ${r.name} at micro-batch ${microBatch} x ${shape.seq}: ${tuneSites.length} tune sites (matmul shapes and attention ops with several variants)`);
      const runtime = new Runtime(gpu);
      const peaks = await devicePeaks(runtime, gpu.limits, options.quick);
      for (const row of takePeakRows(peaks)) report(row);
      // Samples as long as the kernels suite's, not the tuner's shorter default: these rows are
      // read as the kernels' speed (% of peak), where a 10 ms sample still carries a wait's ~2 ms.
      const sampleMs = sampleTargetMs(runtime, Boolean(options.quick));
      const outcomes = await autotune(runtime, gpu.report, tuneSites, { mode: 'on', budgetSeconds: options.full ? 3600 : 600, log: options.log, sampleMs });
      let heuristicMs = 0;
      let tunedMs = 0;
      for (const o of outcomes) {
        const site = tuneSites.find((s) => s.key === o.key)!;
        const ms = o.ms[o.variant]!;
        heuristicMs += o.ms[o.heuristic]!;
        tunedMs += ms;
        report({
          suite: 'autotune',
          name: site.kernel,
          kernel: site.kernel,
          variant: o.variant,
          shape: `${r.name}: ${o.key.slice(site.kernel.length + 1)}`,
          median_ms: ms,
          min_ms: ms,
          max_ms: ms,
          gflops: site.flops / ms / 1e6,
          pct_of_peak: (100 * site.flops) / ms / 1e6 / peaks.gflops,
          peak: 'fma',
          vs_baseline: o.ms[o.heuristic]! / ms,
          extra: { heuristic: o.heuristic, ...Object.fromEntries(Object.entries(o.ms).map(([v, t]) => [`${v}_ms`, Number(t.toFixed(3))])) },
        });
      }
      options.log?.(`autotune: one run of each site: heuristic ${heuristicMs.toFixed(1)} ms, tuned ${tunedMs.toFixed(1)} ms (${(heuristicMs / Math.max(tunedMs, 1e-9)).toFixed(2)}x); vs_baseline is the speed-up over the heuristic's variant`);
    } finally {
      gpu.destroy();
    }
  },
};
