// Device peaks measured by bert-bench itself on the current adapter, once per process: compute
// from an FMA-bound kernel (kernels/peak.wgsl peak_fma), bandwidth from copy kernels (elementwise
// `copy` in its scalar and vec4 forms, and peak.wgsl's grid-stride peak_copy; the fastest wins).
// A peak is the best sample (STREAM's "best rate"): on a shared or throttling machine the median
// says more about the neighbours than the device. Rows show their median; the peak rows say both.
// Every kernel row's % of peak is taken against one of them by the roofline: a launch whose FLOP
// per byte is above the machine balance (peak FLOP/s ÷ peak B/s) is compute-bound and compared
// with the FMA peak, otherwise with copy bandwidth. A memory-bound kernel whose data fits in the
// CPU's caches can exceed a DRAM-sized copy: > 100% there means "cache-resident", not an error.
// Not here: the matmul peak MFU uses (bench/step.ts measures it at the step's shapes).
import type { Runtime } from '../src/runtime/runtime.js';
import type { DeviceLimits } from '../src/plan/types.js';
import { peakFmaLaunch, peakFmaFlopsPerInvocation, peakCopyLaunch } from '../src/compiler/kernels/peak.js';
import { elementwiseLaunch, type ElementwiseVariant } from '../src/compiler/kernels/elementwise.js';
import { benchKernelCase, timeDispatch } from './kernel-runner.js';
import type { BenchRow } from './types.js';
import type { KernelCase } from './kernel-case.js';

export interface Peaks {
  /** FMA-bound GFLOP/s (best sample). */
  gflops: number;
  /** Copy GB/s, bytes read + written (best sample of the fastest copy). */
  gbps: number;
  /** The rows that measured them (reported once). */
  rows: BenchRow[];
}

let cached: Promise<Peaks> | undefined;
let reported = false;

/** Measures the peaks on first call; later calls (other suites in the same run) reuse them. */
export function devicePeaks(runtime: Runtime, limits: DeviceLimits, quick: boolean): Promise<Peaks> {
  cached ??= measurePeaks(runtime, limits, quick);
  return cached;
}

/** The peak rows, the first time a suite asks (so `kernels step` prints them once). */
export function takePeakRows(peaks: Peaks): BenchRow[] {
  if (reported) return [];
  reported = true;
  return peaks.rows;
}

async function measureFma(runtime: Runtime, limits: DeviceLimits, quick: boolean): Promise<BenchRow> {
  const cpu = limits.adapter?.isCpu ?? false;
  // Enough invocations to occupy every core/SM with several waves: a CPU rasterizer runs a
  // workgroup per thread (a few dozen workgroups suffice), a large GPU wants ~10⁶ threads.
  const n = quick ? 64 * 32 : cpu ? 64 * 128 : 64 * 16384;
  const out = await runtime.createBuffer('peak.out', n * 4);
  try {
    // Grow the trip count until one launch lasts long enough that submit overhead is noise.
    const targetMs = quick ? 3 : cpu ? 100 : 20;
    let iters = 16;
    let warm = false;
    for (;;) {
      const prepared = await runtime.prepare({ label: 'peak_fma', ...peakFmaLaunch({ n, iters }, limits), bindings: [{ buffer: 'out', offset: 0, size: n * 4 }] }, () => out);
      if (!warm) {
        // The first launch of a pipeline may include the driver's shader compilation.
        await runtime.submit([prepared]);
        await runtime.finish();
        warm = true;
      }
      const t0 = performance.now();
      await runtime.submit([prepared]);
      await runtime.finish();
      const ms = performance.now() - t0;
      if (ms >= targetMs || iters >= 1 << 16) break;
      iters = Math.min(1 << 16, iters * Math.max(2, Math.min(16, Math.ceil(targetMs / Math.max(ms, 0.01)))));
    }
    const launch = peakFmaLaunch({ n, iters }, limits);
    const prepared = await runtime.prepare({ label: 'peak_fma', ...launch, bindings: [{ buffer: 'out', offset: 0, size: n * 4 }] }, () => out);
    const t = await timeDispatch(runtime, prepared, 'peak_fma', quick);
    const best = launch.flops / (t.min_ms / 1e3) / 1e9;
    const gflops = launch.flops / (t.median_ms / 1e3) / 1e9;
    return {
      suite: 'peak', name: 'peak_fma', kernel: 'peak', variant: 'vec4x8', shape: `${n}x${peakFmaFlopsPerInvocation(iters)}flop`,
      median_ms: t.median_ms, min_ms: t.min_ms, max_ms: t.max_ms, gflops, pct_of_peak: (100 * gflops) / best, peak: 'fma', extra: { peak_gflops: best },
    };
  } finally {
    out.destroy();
  }
}

async function measureCopy(runtime: Runtime, limits: DeviceLimits, quick: boolean): Promise<BenchRow[]> {
  const cpu = limits.adapter?.isCpu ?? false;
  // Far larger than any last-level cache, within the binding limit.
  const wanted = quick ? 1 << 20 : cpu ? 1 << 24 : 1 << 26;
  const n = Math.min(wanted, Math.floor(limits.maxStorageBufferBindingSize / 4 / 4) * 4);
  const cases: KernelCase[] = (['scalar', 'vec4'] as ElementwiseVariant[]).map((variant) => ({
    name: 'peak_copy', variant, shape: `${n}`, launch: elementwiseLaunch({ op: 'copy', n }, limits, variant), bindingBytes: [n * 4, n * 4],
  }));
  // Grid-stride: 256 workgroups are several per core on any CPU (lavapipe runs one workgroup
  // per thread at a time); a GPU wants ~10⁶ invocations in flight.
  const workgroups = cpu ? 256 : 16384;
  cases.push({ name: 'peak_copy', variant: 'gridstride', shape: `${n}`, launch: peakCopyLaunch({ n, workgroups }, limits), bindingBytes: [n * 4, n * 4] });
  const rows: BenchRow[] = [];
  for (const c of cases) {
    const row = await benchKernelCase(runtime, c, quick, 'peak');
    rows.push({ ...row, peak: 'copy', extra: { ...row.extra, peak_gbps: c.launch.bytes / (row.min_ms / 1e3) / 1e9 } });
  }
  const best = Math.max(...rows.map((r) => r.extra!.peak_gbps as number));
  for (const r of rows) r.pct_of_peak = (100 * r.gbps!) / best;
  return rows;
}

async function measurePeaks(runtime: Runtime, limits: DeviceLimits, quick: boolean): Promise<Peaks> {
  const fma = await measureFma(runtime, limits, quick);
  const copy = await measureCopy(runtime, limits, quick);
  return { gflops: fma.extra!.peak_gflops as number, gbps: Math.max(...copy.map((r) => r.extra!.peak_gbps as number)), rows: [fma, ...copy] };
}

/**
 * Adds pct_of_peak and which peak it is against, by the roofline: FLOP/byte above the machine
 * balance → compute-bound (vs FMA GFLOP/s), otherwise memory-bound (vs copy GB/s).
 */
export function withPeak(row: BenchRow, peaks: Pick<Peaks, 'gflops' | 'gbps'>): BenchRow {
  const gflops = row.gflops ?? 0;
  const gbps = row.gbps ?? 0;
  const balance = peaks.gflops / peaks.gbps; // FLOP per byte where the two roofs meet
  const intensity = gbps > 0 ? gflops / gbps : Infinity;
  if (gflops > 0 && intensity >= balance) return { ...row, pct_of_peak: (100 * gflops) / peaks.gflops, peak: 'fma' };
  if (gbps > 0) return { ...row, pct_of_peak: (100 * gbps) / peaks.gbps, peak: 'copy' };
  return row;
}
