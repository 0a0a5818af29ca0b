// Autotuning (runtime.autotune): times the candidate variants of each tune site of a plan
// (src/compiler/tune-site.ts) on the device and returns the choices for CompileOptions.tuned.
// Timings are keyed by the adapter, its driver and a checksum of the kernel sources, kept in the
// autotune cache (autotune-cache.ts) or, without a cache file, for the life of the process, so a
// shape is timed once per machine and every later run reuses the choice. A candidate must beat the
// heuristic's pick by MIN_GAIN to replace it, and again when the two are timed in turn (timing
// noise and a machine's changing load must not flip choices).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedDispatch, Runtime } from '../runtime/runtime.js';
import { BufferPool } from '../runtime/executor.js';
import type { AdapterReport } from '../runtime/device.js';
import type { TuneSite } from '../compiler/tune-site.js';
import { MATMUL_VARIANTS } from '../compiler/kernels/matmul.js';
import { packageRoot } from '../package-root.js';
import { PACED_SAMPLE_SCALE } from '../runtime/gpu-wait.js';
import { cachedChoices, recordChoices, type TunedChoice } from './autotune-cache.js';

export type AutotuneMode = 'off' | 'cached' | 'on';

/** A candidate must be this much faster than the heuristic's pick to replace it. */
const MIN_GAIN = 1.1;
/** A sample lasts at least this long (launches repeated inside it), and a site gets this many. */
const SAMPLE_MS = 1;
const SAMPLES = 5;
const MAX_REPS = 1024;
/** A candidate whose first launch is this many times the fastest single launch so far is not sampled further. */
const HOPELESS = 3;

export interface TuneOutcome {
  key: string;
  heuristic: string;
  variant: string;
  ms: Record<string, number>;
  /** From the cache (or this process), not timed now. */
  cached: boolean;
}

export interface AutotuneOptions {
  mode: AutotuneMode;
  /** The cache file; absent: choices live for this process only. */
  cachePath?: string;
  budgetSeconds: number;
  log?: (line: string) => void;
  /** Least duration of one sample, ms (launches are repeated inside it); default 1 ms, 10 ms on a paced (CPU) adapter. */
  sampleMs?: number;
}

/**
 * How candidates are timed. Part of the cache key: choices recorded by an older tuner are timed
 * again (version 2: every candidate of a site sampled with the same launches per sample).
 */
const TUNER_VERSION = 2;

let sourcesHash: string | undefined;

/** A checksum of every kernel source, the variant names and the tuner's version: a change to any invalidates old timings. */
export function kernelSourcesHash(): string {
  if (sourcesHash) return sourcesHash;
  const dir = join(packageRoot(), 'kernels');
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort()) h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  h.update(MATMUL_VARIANTS.join(',')).update(`\0tuner ${TUNER_VERSION}`);
  sourcesHash = h.digest('hex').slice(0, 16);
  return sourcesHash;
}

/** The adapter as people read it, and the cache key: adapter, driver and kernel sources. */
export function deviceIdentity(report: AdapterReport): { adapter: string; key: string } {
  const adapter = `${report.description || report.device} (${[report.vendor, report.architecture, report.backend].filter(Boolean).join(', ')}; driver ${report.driver || '?'})`;
  return { adapter, key: `${createHash('sha256').update(adapter).digest('hex').slice(0, 16)}-${kernelSourcesHash()}` };
}

const processChoices = new Map<string, Record<string, TunedChoice>>();

/**
 * The variants the cache holds for this adapter, by site key, without timing anything (inference
 * compiles plans of many shapes per call: the shapes a training run already timed get its
 * choices, the others the heuristic's).
 */
export function cachedVariants(report: AdapterReport, cachePath: string): Record<string, string> {
  const choices = cachedChoices(cachePath, deviceIdentity(report).key);
  return Object.fromEntries(Object.entries(choices).map(([key, c]) => [key, c.variant]));
}

/** The least duration of a sample on this runtime, ms. */
export function defaultSampleMs(runtime: Pick<Runtime, 'paceWaits'>): number {
  return SAMPLE_MS * (runtime.paceWaits ? PACED_SAMPLE_SCALE : 1);
}

/** Launches per sample so that one lasts about sampleMs. */
function repsFor(ms: number, sampleMs: number): number {
  return Math.max(1, Math.min(MAX_REPS, Math.ceil(sampleMs / Math.max(ms, 0.001))));
}

/**
 * Median ms per run of each candidate's launches (a hopeless one: its first run), and the choice:
 * the heuristic's pick, or the fastest candidate if it is MIN_GAIN faster in both passes.
 */
async function timeSite(runtime: Runtime, site: TuneSite, sampleMs: number): Promise<{ ms: Record<string, number>; variant: string; challenger?: string }> {
  // Scratch buffers of the bindings' sizes, owned by a pool of the runtime's (contents do not matter for timing).
  const pool = new BufferPool(runtime);
  try {
    for (let i = 0; i < site.bufferBytes.length; i++) await pool.ensure({ id: String(i), bytes: Math.max(16, site.bufferBytes[i]!), role: 'scratch' });
    const ms: Record<string, number> = {};
    const runs = new Map<string, (reps: number) => Promise<number>>();
    // The fastest single launch (submit and wait) of a candidate sampled so far: a candidate's
    // first launch is cut against it, like against like (a short launch's is mostly the wait's
    // overhead, which its samples' median no longer holds).
    let bestSingle = Infinity;
    // Launches per sample, one count for every candidate of the site (set from the heuristic's
    // launch): a sample's wait overhead is then spread over as many launches whichever candidate
    // runs, so it adds the same time per launch to each (which only shrinks a ratio toward 1, so
    // toward keeping the heuristic). A heuristic sampled one launch at a time against a challenger
    // sampled four at a time lost 1.4x to it on lavapipe while 1.3x faster.
    let reps = 0;
    // The heuristic's pick first: the yardstick the others are cut against.
    const order = [...site.candidates].sort((a, b) => Number(b.variant === site.heuristic) - Number(a.variant === site.heuristic));
    for (const c of order) {
      const prepared: PreparedDispatch[] = [];
      for (const [i, l] of c.launches.entries()) {
        const bindings = l.bindings.map((b) => ({ buffer: String(b), offset: 0, size: Math.max(16, site.bufferBytes[b]!) }));
        prepared.push(await runtime.prepare({ label: `autotune ${site.key} ${c.variant} ${i}`, pipeline: l.pipeline, uniforms: l.uniforms, workgroups: l.workgroups, bindings, flops: 0, bytes: 0 }, (id) => pool.get(id)));
      }
      const run = async (n: number): Promise<number> => {
        const t = performance.now();
        await runtime.submit(Array.from({ length: n }, () => prepared).flat());
        await runtime.finish();
        return (performance.now() - t) / n;
      };
      // The first launch is not timed: it can include the driver compiling the pipeline
      // (lavapipe compiles a big shader at its first dispatch, up to a second).
      await run(1);
      const single = await run(1);
      if (single > HOPELESS * bestSingle) {
        ms[c.variant] = single;
        continue;
      }
      bestSingle = Math.min(bestSingle, single);
      // A launch shorter than a sample is repeated inside it. How often: from a sample of as many
      // as one launch's time suggests (that time includes a wait's overhead, which a sample
      // spreads over its launches).
      if (reps === 0) reps = single < sampleMs ? repsFor(await run(repsFor(single, sampleMs)), sampleMs) : 1;
      runs.set(c.variant, run);
      const samples: number[] = [];
      for (let s = 0; s < SAMPLES; s++) samples.push(await run(reps));
      ms[c.variant] = median(samples);
    }
    // A challenger that beat the heuristic is timed again against it, sample for sample in turn,
    // so that a change in the machine's load between the two passes cannot make the choice: both
    // medians are replaced by those of the interleaved samples.
    const challenger = pickFastest(site.heuristic, ms);
    const a = runs.get(site.heuristic);
    const b = runs.get(challenger);
    if (challenger !== site.heuristic && a && b) {
      const sa: number[] = [];
      const sb: number[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        sa.push(await a(reps));
        sb.push(await b(reps));
      }
      ms[site.heuristic] = median(sa);
      ms[challenger] = median(sb);
      return { ms, variant: pickFastest(site.heuristic, { [site.heuristic]: ms[site.heuristic]!, [challenger]: ms[challenger]! }), challenger };
    }
    return { ms, variant: site.heuristic };
  } finally {
    pool.destroy();
  }
}

function median(samples: number[]): number {
  return [...samples].sort((x, y) => x - y)[samples.length >> 1]!;
}

/** The fastest candidate, unless it beats the heuristic's pick by less than MIN_GAIN. */
export function pickFastest(heuristic: string, ms: Record<string, number>): string {
  const base = ms[heuristic] ?? Infinity;
  let variant = heuristic;
  let fastest = base;
  for (const [v, t] of Object.entries(ms)) {
    if (t < fastest) {
      variant = v;
      fastest = t;
    }
  }
  return fastest * MIN_GAIN < base ? variant : heuristic;
}

/**
 * The choice for every site: recorded ones (unless mode 'on'), then the rest timed within the
 * budget; sites left untimed keep the heuristic and are not recorded.
 */
export async function autotune(runtime: Runtime, report: AdapterReport, sites: readonly TuneSite[], o: AutotuneOptions): Promise<TuneOutcome[]> {
  if (o.mode === 'off' || sites.length === 0) return [];
  const { adapter, key: deviceKey } = deviceIdentity(report);
  const known = o.cachePath ? cachedChoices(o.cachePath, deviceKey) : { ...(processChoices.get(deviceKey) ?? {}) };
  const todo = sites.filter((s) => o.mode === 'on' || !known[s.key]);
  const timed: Record<string, TunedChoice> = {};
  if (todo.length > 0) {
    const start = performance.now();
    o.log?.(`autotune: timing ${todo.length} kernel shape${todo.length > 1 ? 's' : ''} (${[...new Set(todo.map((t) => t.kernel))].join(', ')}) on ${adapter} (budget ${o.budgetSeconds} s${o.cachePath ? `; cache ${o.cachePath}` : ''})`);
    let left = 0;
    for (const site of todo) {
      if ((performance.now() - start) / 1000 > o.budgetSeconds) {
        left++;
        continue;
      }
      const { ms, variant, challenger } = await timeSite(runtime, site, o.sampleMs ?? defaultSampleMs(runtime));
      timed[site.key] = { variant, ms, heuristic: site.heuristic, at: new Date().toISOString() };
      const gain = ms[site.heuristic]! / ms[variant]!;
      const why =
        variant !== site.heuristic ? ` (${gain.toFixed(2)}x the heuristic's ${site.heuristic}, timed in turn)` : challenger ? ` (${challenger}'s lead did not hold when timed in turn)` : '';
      o.log?.(`autotune: ${site.key}: ${Object.entries(ms).map(([v, t]) => `${v} ${t.toFixed(3)} ms`).join(', ')} -> ${variant}${why}`);
    }
    if (left > 0) o.log?.(`autotune: budget of ${o.budgetSeconds} s spent; ${left} shape${left > 1 ? 's keep' : ' keeps'} the heuristic's variant (a later run times ${left > 1 ? 'them' : 'it'})`);
  }
  let recorded: Record<string, TunedChoice> = timed;
  if (Object.keys(timed).length > 0) {
    if (o.cachePath) {
      try {
        recorded = await recordChoices(o.cachePath, deviceKey, adapter, timed, o.mode === 'on');
      } catch (e) {
        // A cache that cannot be written (read-only home, full disk) costs the next run a re-timing, not this run.
        const code = (e as NodeJS.ErrnoException).code;
        if (!code || !['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST'].includes(code)) throw e;
        o.log?.(`autotune: cannot write ${o.cachePath} (${(e as Error).message}); these choices last for this run only`);
      }
    } else {
      const mine = processChoices.get(deviceKey) ?? {};
      for (const [k, c] of Object.entries(timed)) if (o.mode === 'on' || !mine[k]) mine[k] = c;
      processChoices.set(deviceKey, mine);
      recorded = Object.fromEntries(Object.keys(timed).map((k) => [k, mine[k]!]));
    }
  }
  return sites.flatMap((s) => {
    const c = recorded[s.key] ?? known[s.key];
    if (!c || !s.candidates.some((x) => x.variant === c.variant)) return [];
    return [{ key: s.key, heuristic: s.heuristic, variant: c.variant, ms: c.ms, cached: !timed[s.key] }];
  });
}
