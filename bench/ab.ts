// The `ab` suite: one kernel variant against the heuristic's pick, timed in turn, sample for
// sample, at every tune site of the recipe's training step where both are candidates (each matmul
// shape, each attention op). Timing the two alternately in one process is what makes a 5-20%
// difference visible on a machine whose back-to-back runs differ by 5%. The challenger is the
// --variant kernel=name flag: `bert-bench ab --recipe r.yaml --variant matmul=vec4`.
import { compile, forcedVariants } from '../src/compiler/compile.js';
import { openGpu } from '../src/runtime/device.js';
import { Runtime, type PreparedDispatch } from '../src/runtime/runtime.js';
import { BufferPool } from '../src/runtime/executor.js';
import { UserError } from '../src/errors.js';
import { benchRecipe, defaultRecipePath } from './shapes.js';
import type { BenchSuite } from './types.js';

const SAMPLES = { quick: 3, normal: 15, full: 40 };

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

export const abSuite: BenchSuite = {
  name: 'ab',
  summary: "a variant (--variant kernel=name) against the heuristic's pick at each of the recipe's tune sites, timed in turn",
  async run(options, report) {
    const challengers = Object.entries(options.variants ?? {});
    if (challengers.length !== 1) throw new UserError(`ab: name one challenger with --variant kernel=name (got ${challengers.length})`, 'bad_flag', 2);
    const [kernel, challenger] = challengers[0]!;
    const gpu = await openGpu();
    try {
      const r = await benchRecipe(options.recipe ?? defaultRecipePath('tiny.yaml'));
      const microBatch = options.microBatch ?? r.recipe.schedule.micro_batch_size;
      const shape = { batch: microBatch, seq: r.recipe.data.seq_len, predictions: r.recipe.tasks.mlm.max_predictions };
      // Not forced: every candidate stays in the tune sites.
      const { tuneSites } = compile(r.recipe, r.vocab, shape, gpu.limits, { training: true, variants: forcedVariants(r.recipe) });
      const sites = tuneSites.filter((s) => s.kernel === kernel && s.heuristic !== challenger && s.candidates.some((c) => c.variant === challenger));
      options.log?.(`ab: ${r.name} at micro-batch ${microBatch} x ${shape.seq}: ${sites.length} ${kernel} sites where ${challenger} is a candidate and not the heuristic's pick`);
      const samples = options.quick ? SAMPLES.quick : options.full ? SAMPLES.full : SAMPLES.normal;
      const runtime = new Runtime(gpu);
      for (const site of sites) {
        const pool = new BufferPool(runtime);
        try {
          for (let i = 0; i < site.bufferBytes.length; i++) await pool.ensure({ id: String(i), bytes: Math.max(16, site.bufferBytes[i]!), role: 'scratch' });
          const runs: Record<string, () => Promise<number>> = {};
          for (const variant of [site.heuristic, challenger]) {
            const c = site.candidates.find((x) => x.variant === variant)!;
            const prepared: PreparedDispatch[] = [];
            for (const [i, l] of c.launches.entries()) {
              const bindings = l.bindings.map((b) => ({ buffer: String(b), offset: 0, size: Math.max(16, site.bufferBytes[b]!) }));
              prepared.push(await runtime.prepare({ label: `ab ${site.key} ${variant} ${i}`, pipeline: l.pipeline, uniforms: l.uniforms, workgroups: l.workgroups, bindings, flops: 0, bytes: 0 }, (id) => pool.get(id)));
            }
            runs[variant] = async () => {
              const t = performance.now();
              await runtime.submit(prepared);
              await runtime.finish();
              return performance.now() - t;
            };
            // Two warm-up runs: the first may include the driver compiling the pipeline.
            await runs[variant]!();
            await runs[variant]!();
          }
          const ms: Record<string, number[]> = { [site.heuristic]: [], [challenger]: [] };
          for (let s = 0; s < samples; s++) for (const v of [site.heuristic, challenger]) ms[v]!.push(await runs[v]!());
          const base = median(ms[site.heuristic]!);
          for (const v of [site.heuristic, challenger]) {
            const m = median(ms[v]!);
            report({
              suite: 'ab',
              name: kernel,
              kernel,
              variant: v,
              shape: `${r.name}: ${site.key.slice(kernel.length + 1)}`,
              median_ms: m,
              min_ms: Math.min(...ms[v]!),
              max_ms: Math.max(...ms[v]!),
              gflops: site.flops / m / 1e6,
              vs_baseline: base / m,
              extra: { heuristic: site.heuristic, samples },
            });
          }
        } finally {
          pool.destroy();
        }
      }
    } finally {
      gpu.destroy();
    }
  },
};
