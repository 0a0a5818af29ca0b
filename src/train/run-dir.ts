// Run-directory hygiene around resume and crashes: the checks that make `--resume` refuse a
// checkpoint that does not belong to this recipe (naming the recipe keys that differ, or the
// state.json field that is wrong), the clean-up of temporaries left by killed processes, and the
// metrics.jsonl rewind that makes a resumed run's log read as one straight run.
// Not here: writing checkpoints (checkpoint.ts) or anything about the model's tensors.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors.js';
import { readRegularFile } from '../read-file.js';
import type { Recipe } from '../recipe/index.js';
import { loadCheckpoint, type CheckpointRef, type LoadedCheckpoint } from './checkpoint/checkpoints.js';
import { writeFileAtomic } from './checkpoint/safetensors.js';

/**
 * Recipe keys that may change between a run and its resumption: they decide how long, how often
 * and on what device it runs, not what it computes up to the checkpoint. Prefixes of dotted paths.
 */
const RESUMABLE_CHANGES = ['name', 'runtime', 'schedule.steps', 'schedule.eval', 'schedule.checkpoint', 'schedule.log', 'schedule.divergence', 'data.cache_dir'];

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Dotted paths where a and b differ (leaves; a list of another length differs as a whole). */
export function differingKeys(a: unknown, b: unknown, path = ''): string[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differingKeys(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((x, i) => differingKeys(x, b[i], `${path}[${i}]`));
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

const resumable = (key: string): boolean => RESUMABLE_CHANGES.some((p) => key === p || key.startsWith(`${p}.`) || key.startsWith(`${p}[`));

/**
 * Loads the newest checkpoint for --resume, refusing one that does not belong to this recipe:
 * the resolved recipes are compared key by key (the checkpoint keeps its own), and a step past
 * the schedule is an error rather than a run that silently does nothing.
 */
export function checkResume(latest: CheckpointRef, recipe: Recipe, recipeText: string): LoadedCheckpoint {
  const statePath = join(latest.dir, 'state.json');
  const loaded = loadCheckpoint(latest.dir);
  const state = loaded.state;
  if (state.step > recipe.schedule.steps) {
    throw new UserError(`${statePath}: step ${state.step} is past this recipe's schedule.steps ${recipe.schedule.steps}`, 'checkpoint_mismatch', 1, 'raise --steps to continue training');
  }
  const savedPath = join(latest.dir, 'recipe.yaml');
  if (existsSync(savedPath)) {
    let saved: unknown;
    try {
      saved = parseYaml(readRegularFile(savedPath, 1 << 20).toString('utf8'), { maxAliasCount: 100 });
    } catch (e) {
      throw new UserError(`${savedPath}: unreadable (${(e as Error).message.split('\n')[0]})`, 'checkpoint_corrupt', 1);
    }
    const changed = differingKeys(saved, parseYaml(recipeText)).filter((k) => !resumable(k));
    if (changed.length > 0) {
      const shown = changed.slice(0, 6).join(', ') + (changed.length > 6 ? `, and ${changed.length - 6} more` : '');
      throw new UserError(`--resume: the recipe differs from the one ${latest.dir} was trained with, in ${shown}`, 'checkpoint_mismatch', 2, 'resume with the same recipe, or start a new run with --out DIR');
    }
  }
  return loaded;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporaries whose writer has died: checkpoint folders `checkpoints/.tmp-step-N-PID` and
 * atomic-write files `NAME.tmp-PID` in the run directory. A live writer's are left alone.
 */
export function removeStaleTemporaries(runDir: string): string[] {
  const removed: string[] = [];
  const sweep = (dir: string, pattern: RegExp) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const m = pattern.exec(name);
      if (!m || processAlive(Number(m[1]))) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  };
  sweep(join(runDir, 'checkpoints'), /^\.tmp-step-\d+-(\d+)$/);
  sweep(runDir, /\.tmp-(\d+)$/);
  return removed;
}

/** Drops metrics.jsonl records past `step` (and a torn last line), so a resumed run appends in order. */
export function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  const kept = lines.filter((line) => {
    if (!line.trim()) return false;
    try {
      const record = JSON.parse(line) as { step?: unknown };
      return typeof record.step === 'number' && record.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length === lines.filter((l) => l.trim()).length) return;
  writeFileAtomic(path, [kept.map((l) => l + '\n').join('')]);
}
