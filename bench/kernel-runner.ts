// Times KernelCases on the device: random buffers per case, one submit per sample, each
// sample waits for the GPU. A launch shorter than the per-sample target is repeated inside
// the sample (one pass, `reps` dispatches) so submit latency does not swamp small kernels on
// real GPUs; the row's times are per launch. Rows carry GFLOP/s and/or GB/s from the launch's
// own FLOP and byte counts; % of peak is added by the suite (bench/peaks.ts).
import type { Runtime, PreparedDispatch } from '../src/runtime/runtime.js';
import type { BenchRow } from './types.js';
import type { KernelCase } from './kernel-case.js';
import { time } from './timing.js';
import { PACED_SAMPLE_SCALE } from '../src/runtime/gpu-wait.js';

function fill(bytes: number, seed: number, intMax?: number): ArrayBufferView {
  const n = Math.ceil(bytes / 4);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  if (intMax !== undefined) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * intMax);
    return out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 0.1;
  return out;
}

/** Milliseconds one sample should last at least (launches are repeated up to MAX_REPS to get there). */
const SAMPLE_TARGET_MS = { quick: 0.5, full: 5 };
const MAX_REPS = 1024;
/** A launch slower than this gets fewer samples (2, or 3 with --full) and no extra warm-up: lavapipe at BERT shapes. */
const SLOW_MS = 1000;
const VERY_SLOW_MS = 3000;

/** How long one sample should last at least on this runtime, ms. */
export function sampleTargetMs(runtime: Pick<Runtime, 'paceWaits'>, quick: boolean): number {
  return (quick ? SAMPLE_TARGET_MS.quick : SAMPLE_TARGET_MS.full) * (runtime.paceWaits ? PACED_SAMPLE_SCALE : 1);
}

/** Wall time of `reps` back-to-back launches in one submit, waited for. */
async function runReps(runtime: Runtime, prepared: PreparedDispatch, reps: number): Promise<void> {
  await runtime.submit(new Array<PreparedDispatch>(reps).fill(prepared));
  await runtime.finish();
}

/**
 * Times one prepared dispatch; returns per-launch ms (median, min, max). A slow launch that is
 * only a reference (`once`: the naive baselines at large shapes, 27–32 s each on lavapipe) is
 * measured once: its first launch is the sample.
 */
export async function timeDispatch(runtime: Runtime, prepared: PreparedDispatch, label: string, quick: boolean, once = false, full = false): Promise<{ median_ms: number; min_ms: number; max_ms: number; reps: number }> {
  // First launch: pipeline compilation is already done by prepare(); this warms caches and
  // tells how many launches one sample needs.
  const t0 = performance.now();
  await runReps(runtime, prepared, 1);
  const first = performance.now() - t0;
  // A launch of several seconds (the blocked and vec4 matmuls at BERT-base shapes on lavapipe) has
  // no warm-up effect left to wait out: its first launch is the sample, unless --full.
  if ((once && first > SLOW_MS) || (!full && first > VERY_SLOW_MS)) return { median_ms: first, min_ms: first, max_ms: first, reps: 1 };
  const target = sampleTargetMs(runtime, quick);
  const reps = first >= target ? 1 : Math.min(MAX_REPS, Math.ceil(target / Math.max(first, 0.005)));
  const slow = first > SLOW_MS;
  // A slow launch (lavapipe at BERT-base shapes) gets 2 samples after its first, 3 with --full.
  // Launches of a tenth of a second or more: 3 samples (5 with --full), enough for a median.
  const minIterations = slow ? (quick ? 1 : full ? 3 : 2) : first > 100 && !full && !quick ? 3 : undefined;
  const t = await time(label, () => runReps(runtime, prepared, reps), { quick, full, minIterations, warmup: !slow });
  return { median_ms: t.median_ms / reps, min_ms: t.min_ms / reps, max_ms: t.max_ms / reps, reps };
}

export async function benchKernelCase(runtime: Runtime, c: KernelCase, quick: boolean, suite = 'kernels', full = false): Promise<BenchRow> {
  const buffers: GPUBuffer[] = [];
  try {
    for (let i = 0; i < c.bindingBytes.length; i++) {
      const buffer = await runtime.createBuffer(`${c.name}.${i + 1}`, c.bindingBytes[i]!);
      runtime.write(buffer, c.data?.[i] ?? fill(c.bindingBytes[i]!, 17 + i, c.intBindings?.[i]));
      buffers.push(buffer);
    }
    const prepared = await runtime.prepare(
      { label: `${c.name}.${c.variant}`, ...c.launch, bindings: c.bindingBytes.map((bytes, i) => ({ buffer: String(i), offset: 0, size: Math.max(4, Math.ceil(bytes / 4) * 4) })) },
      (id) => buffers[Number(id)]!,
    );
    const t = await timeDispatch(runtime, prepared, `${c.name} ${c.variant} ${c.shape}`, quick, Boolean(c.baseline) && !full, full);
    const seconds = t.median_ms / 1e3;
    const row: BenchRow = { suite, name: c.name, kernel: c.launch.pipeline.kernel, variant: c.variant, shape: c.shape, median_ms: t.median_ms, min_ms: t.min_ms, max_ms: t.max_ms };
    if (c.launch.flops > 0) row.gflops = c.launch.flops / seconds / 1e9;
    if (c.launch.bytes > 0) row.gbps = c.launch.bytes / seconds / 1e9;
    if (t.reps > 1) row.extra = { reps: t.reps };
    if (!full && t.reps === 1 && t.min_ms === t.max_ms && t.median_ms > SLOW_MS) row.extra = { ...row.extra, samples: 1 };
    return row;
  } finally {
    for (const b of buffers) b.destroy();
  }
}
