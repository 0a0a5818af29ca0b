// What a run report shows, read from a run directory: metrics.jsonl (step records, evaluations,
// divergence warnings), the resolved recipe.yaml, run.json (device and plan summaries, written by
// the runner) and, for fine-tuning, the labels of config.json. Also the final and best numbers per
// run (`bert-run report --json`). Reads files only; a missing or malformed file is one line.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { readRegularFile } from '../read-file.js';
import { UserError } from '../errors.js';

export type Row = Record<string, number | boolean | string | null>;

/** run.json: written by the runner when a run starts (and when a phase adds a plan). */
export interface RunInfo {
  format: 'bert-webgpu.run/1';
  recipe: string;
  started: string;
  device: { description: string; vendor: string; architecture: string; backend: string; driver: string; isCpu: boolean };
  precision: string;
  plans: Array<{ name: string; shape: { batch: number; seq: number; predictions: number }; dispatches: { microbatch: number; optimizer: number }; flops: { microbatch: number; optimizer: number }; bytes: Record<string, number>; params: number }>;
  /** runtime.autotune: the variant used per tune site, what the heuristic would pick, the timings (ms per launch). */
  autotune?: Array<{ key: string; heuristic: string; variant: string; ms: Record<string, number>; cached: boolean }>;
}

export interface RunData {
  dir: string;
  name: string;
  task: 'pretraining' | 'fine-tuning';
  recipeText: string;
  info?: RunInfo;
  steps: Row[];
  evals: Row[];
  divergences: Row[];
  /** Fine-tuning: the metric that picks the best checkpoint (loss is minimized). */
  bestMetric?: string;
}

function read(path: string): string {
  return readRegularFile(path, 1 << 30, 'bad_run_dir').toString('utf8');
}

export function readRun(dir: string): RunData {
  const abs = resolve(dir);
  const metricsPath = join(abs, 'metrics.jsonl');
  if (!existsSync(abs)) throw new UserError(`${dir}: no such run directory`, 'bad_run_dir', 1);
  if (!existsSync(metricsPath)) throw new UserError(`${metricsPath}: missing (not a run directory, or the run has not logged a step yet)`, 'bad_run_dir', 1);
  const steps: Row[] = [];
  const evals: Row[] = [];
  const divergences: Row[] = [];
  const lines = read(metricsPath).split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r: Row;
    try {
      r = JSON.parse(line) as Row;
    } catch (e) {
      // A run being written may have its last line cut short: that one is skipped, any other is an error.
      if (i < lines.length - 1) throw new UserError(`${metricsPath}:${i + 1}: invalid JSON (${(e as Error).message})`, 'bad_run_dir', 1);
      return;
    }
    if (r === null || typeof r !== 'object' || typeof r.step !== 'number') throw new UserError(`${metricsPath}:${i + 1}: a record without a step`, 'bad_run_dir', 1);
    if (r.eval === true) evals.push(r);
    else if (r.divergence === true) divergences.push(r);
    else steps.push(r);
  });
  const recipePath = join(abs, 'recipe.yaml');
  const recipeText = existsSync(recipePath) ? read(recipePath) : '';
  let recipe: { name?: string; tasks?: { classify?: { best_metric?: string } } } = {};
  try {
    recipe = (parse(recipeText) ?? {}) as typeof recipe;
  } catch {
    recipe = {};
  }
  let info: RunInfo | undefined;
  const infoPath = join(abs, 'run.json');
  if (existsSync(infoPath)) {
    try {
      info = JSON.parse(read(infoPath)) as RunInfo;
    } catch (e) {
      throw new UserError(`${infoPath}: not valid JSON (${(e as Error).message})`, 'bad_run_dir', 1);
    }
  }
  const classify = recipe.tasks?.classify;
  return {
    dir: abs,
    name: recipe.name ?? abs.split('/').pop()!,
    task: classify ? 'fine-tuning' : 'pretraining',
    recipeText,
    info,
    steps,
    evals,
    divergences,
    ...(classify ? { bestMetric: classify.best_metric ?? 'accuracy' } : {}),
  };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The numbers a report states per run: the last step and evaluation, and the best evaluation. */
export function summarize(run: RunData): Record<string, unknown> {
  const last = run.steps[run.steps.length - 1];
  const lastEval = run.evals[run.evals.length - 1];
  const out: Record<string, unknown> = {
    run: run.dir,
    name: run.name,
    task: run.task,
    steps: last?.step ?? 0,
    final: last ? Object.fromEntries(Object.entries(last).filter(([k, v]) => k !== 'time' && typeof v === 'number')) : {},
    final_eval: lastEval ? Object.fromEntries(Object.entries(lastEval).filter(([k, v]) => k !== 'time' && k !== 'eval' && typeof v === 'number')) : undefined,
    skipped_steps: num(last?.skipped_total) ?? 0,
    divergence_warnings: run.divergences.length,
  };
  const metric = run.bestMetric ?? 'mlm_loss';
  const minimize = metric.endsWith('loss') || metric === 'mse';
  const scored = run.evals.filter((e) => num(e[metric]) !== undefined);
  if (scored.length) {
    const best = scored.reduce((a, b) => ((minimize ? num(b[metric])! < num(a[metric])! : num(b[metric])! > num(a[metric])!) ? b : a));
    out.best_eval = { metric, step: best.step, value: best[metric] };
  }
  if (run.info) out.device = run.info.device.description || run.info.device.architecture;
  return out;
}
