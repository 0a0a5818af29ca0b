// The autotune cache: timed variant choices by (adapter + driver + kernel sources) and tune-site
// key, in one JSON file shared by every run on the machine. Writers merge under a lock file and
// never replace a choice another run already made (unless re-tuning on purpose), so concurrent
// runs that tune the same shape end up using one choice; the file is replaced atomically.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';

export interface TunedChoice {
  variant: string;
  /** Median ms per launch of every candidate timed. */
  ms: Record<string, number>;
  heuristic: string;
  /** ISO time of the timing. */
  at: string;
}

interface CacheFile {
  format: 'bert-webgpu.autotune/1';
  devices: Record<string, { adapter: string; sites: Record<string, TunedChoice> }>;
}

const FORMAT = 'bert-webgpu.autotune/1';

/**
 * Where runs keep their timings unless told otherwise: $BERT_AUTOTUNE_CACHE, else
 * bert-webgpu/autotune.json under $XDG_CACHE_HOME or ~/.cache (one file per user and machine).
 */
export function defaultAutotuneCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERT_AUTOTUNE_CACHE) return env.BERT_AUTOTUNE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bert-webgpu', 'autotune.json');
}

function empty(): CacheFile {
  return { format: FORMAT, devices: {} };
}

function readCache(path: string): CacheFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return empty();
    throw new UserError(`autotune cache ${path}: ${(e as Error).message}`, 'bad_autotune_cache');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError(`autotune cache ${path}: not JSON (delete it to start a new one)`, 'bad_autotune_cache');
  }
  const file = data as Partial<CacheFile>;
  if (file.format !== FORMAT || typeof file.devices !== 'object' || file.devices === null) {
    throw new UserError(`autotune cache ${path}: not a ${FORMAT} file (delete it to start a new one)`, 'bad_autotune_cache');
  }
  return file as CacheFile;
}

/** The choices recorded for one device key (empty when none). */
export function cachedChoices(path: string, deviceKey: string): Record<string, TunedChoice> {
  return { ...(readCache(path).devices[deviceKey]?.sites ?? {}) };
}

const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withLock<T>(path: string, fn: () => T): Promise<T> {
  const lock = `${path}.lock`;
  const start = Date.now();
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a killed run is taken over once it is old.
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() - start > LOCK_WAIT_MS) throw new UserError(`autotune cache ${path}: locked by another run for over ${LOCK_WAIT_MS / 1000} s (${lock})`, 'bad_autotune_cache');
      await sleep(20);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Adds `choices` for `deviceKey` and returns what the file then holds for every key given: a
 * choice already recorded by another run is kept (and returned) unless `replace`.
 */
export async function recordChoices(path: string, deviceKey: string, adapter: string, choices: Record<string, TunedChoice>, replace: boolean): Promise<Record<string, TunedChoice>> {
  mkdirSync(dirname(path), { recursive: true });
  return withLock(path, () => {
    const file = readCache(path);
    const device = (file.devices[deviceKey] ??= { adapter, sites: {} });
    const out: Record<string, TunedChoice> = {};
    for (const [key, choice] of Object.entries(choices)) {
      if (replace || !device.sites[key]) device.sites[key] = choice;
      out[key] = device.sites[key]!;
    }
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file, null, 1) + '\n');
    renameSync(tmp, path);
    return out;
  });
}
