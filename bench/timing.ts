// Timing with tinybench: runs an async function repeatedly and returns min/median/max in ms.
import { Bench } from 'tinybench';

export interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  samples: number;
}

/** Sampling time per measurement (ms): --quick, default, --full. */
const SAMPLING_MS = { quick: 50, normal: 400, full: 1000 };

export async function time(name: string, fn: () => Promise<void>, options: { quick: boolean; full?: boolean; minIterations?: number; warmup?: boolean }): Promise<Timing> {
  const bench = new Bench({
    time: options.quick ? SAMPLING_MS.quick : options.full ? SAMPLING_MS.full : SAMPLING_MS.normal,
    iterations: options.minIterations ?? (options.quick ? 2 : 5),
    warmupIterations: options.warmup === false ? 0 : 1,
    warmupTime: 0,
    warmup: options.warmup !== false,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0]!.result as unknown as { latency?: { p50: number; min: number; max: number; samplesCount?: number }; error?: Error };
  if (result.error) throw result.error;
  if (!result.latency) throw new Error(`benchmark ${name} produced no timing`);
  return { median_ms: result.latency.p50, min_ms: result.latency.min, max_ms: result.latency.max, samples: result.latency.samplesCount ?? 0 };
}
