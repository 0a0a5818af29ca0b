// Checkpoints in the run directory:
//   checkpoints/step-0000100/  model.safetensors (Hugging Face names), optimizer.safetensors
//                              (moments by plan name), state.json (step, data position, RNG
//                              counters), config.json, vocab.txt, tokenizer.json, recipe.yaml
// A checkpoint is written into a temporary folder and renamed into place, so a crash mid-write
// leaves the previous checkpoints intact and never a half-written one under a real name;
// state.json is written last and marks a folder complete. The newest K are kept.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { readRegularFile } from '../../read-file.js';
import type { BertTokenizer } from '../../data/index.js';
import { readSafetensors, writeFileAtomic, writeSafetensors, type NamedTensor } from './safetensors.js';
import { toHuggingFace } from './hf-names.js';
import type { LossScaleState } from '../loss-scale.js';

export interface TrainState {
  format: 'bert-webgpu.state/1';
  /** Optimizer steps completed (the schedule position). */
  step: number;
  /** Updates actually applied (skipped non-finite steps excluded): Adam's bias-correction count. */
  updates: number;
  /** Global micro-batch counter: the dropout RNG stream position. */
  microStep: number;
  skipped: number;
  /** The training batch source's resume state. */
  data: unknown;
  /** Masked-token counts trained on so far (token id → count), for the unigram baseline. */
  unigram?: Record<string, number>;
  /** Fine-tuning: the best evaluation so far (score: higher is better) and evaluations since it. */
  best?: { step: number; score: number; stale: number };
  /** Dynamic loss scaling's state (absent without it). */
  loss_scale?: LossScaleState;
  /** Kernel variants chosen by autotuning, by tune-site key: a resumed run uses the same ones. */
  kernels?: Record<string, string>;
  seed: number;
  recipe: string;
  time: string;
}

export interface CheckpointContents {
  params: NamedTensor[];
  moments: NamedTensor[];
  state: TrainState;
  tiedDecoder: boolean;
  config: Record<string, unknown>;
  tokenizer: BertTokenizer;
  recipeText: string;
}

const STEP_DIR = /^step-(\d+)$/;
export const stepDirName = (step: number) => `step-${String(step).padStart(7, '0')}`;

/** Writes model files (weights, config, tokenizer, recipe) into dir. */
export function writeModelFiles(dir: string, c: Pick<CheckpointContents, 'params' | 'tiedDecoder' | 'config' | 'tokenizer' | 'recipeText'>): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), toHuggingFace(c.params, { tiedDecoder: c.tiedDecoder }), { format: 'pt', producer: 'bert-webgpu' });
  writeFileAtomic(join(dir, 'config.json'), [JSON.stringify(c.config, null, 2) + '\n']);
  c.tokenizer.saveVocab(join(dir, 'vocab.txt'));
  c.tokenizer.saveTokenizerJson(join(dir, 'tokenizer.json'));
  writeFileAtomic(join(dir, 'tokenizer_config.json'), [JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: c.tokenizer.lowercase, model_max_length: Number(c.config.max_position_embeddings ?? 512) }, null, 2) + '\n']);
  writeFileAtomic(join(dir, 'recipe.yaml'), [c.recipeText]);
}

export function saveCheckpoint(runDir: string, c: CheckpointContents, keep: number): string {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = stepDirName(c.state.step);
  const temp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  writeModelFiles(temp, c);
  writeSafetensors(join(temp, 'optimizer.safetensors'), c.moments);
  writeFileAtomic(join(temp, 'state.json'), [JSON.stringify(c.state, null, 2) + '\n']);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

export interface CheckpointRef {
  step: number;
  dir: string;
}

/** Complete checkpoints (with state.json), oldest first. */
export function listCheckpoints(runDir: string): CheckpointRef[] {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ m: STEP_DIR.exec(name), dir: join(root, name) }))
    .filter((e) => e.m && existsSync(join(e.dir, 'state.json')) && statSync(e.dir).isDirectory())
    .map((e) => ({ step: Number(e.m![1]), dir: e.dir }))
    .sort((a, b) => a.step - b.step);
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainState;
  model: Map<string, NamedTensor>;
  moments: Map<string, NamedTensor>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every field of state.json checked for type and range; the error names the file and the field. */
export function validateState(state: unknown, file: string): TrainState {
  const bad = (why: string): never => {
    throw new UserError(`${file}: ${why}`, 'checkpoint_corrupt', 1);
  };
  if (!isRecord(state)) return bad('not a JSON object');
  if (state.format !== 'bert-webgpu.state/1') bad(`format is ${JSON.stringify(state.format)}, not "bert-webgpu.state/1"`);
  const count = (k: string): number => {
    const v = state[k];
    if (!Number.isSafeInteger(v) || (v as number) < 0) bad(`${k} must be a non-negative integer (got ${JSON.stringify(v)})`);
    return v as number;
  };
  const step = count('step');
  if (count('updates') > step) bad(`updates ${String(state.updates)} exceeds step ${step}`);
  if (count('skipped') > step) bad(`skipped ${String(state.skipped)} exceeds step ${step}`);
  count('microStep');
  if (!Number.isSafeInteger(state.seed)) bad(`seed must be an integer (got ${JSON.stringify(state.seed)})`);
  if (step > 0 && !isRecord(state.data)) bad('data (the batch position) is missing');
  if (state.unigram !== undefined) {
    if (!isRecord(state.unigram) || !Object.entries(state.unigram).every(([k, v]) => /^\d+$/.test(k) && typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      bad('unigram must map token ids to non-negative counts');
    }
  }
  if (state.loss_scale !== undefined) {
    const ls = state.loss_scale;
    if (!isRecord(ls) || !(typeof ls.scale === 'number' && ls.scale > 0 && Number.isFinite(ls.scale)) || !Number.isSafeInteger(ls.goodSteps) || (ls.goodSteps as number) < 0 || !Number.isSafeInteger(ls.overflows) || (ls.overflows as number) < 0) {
      bad('loss_scale must be { scale > 0, goodSteps ≥ 0, overflows ≥ 0 }');
    }
  }
  if (state.kernels !== undefined && !(isRecord(state.kernels) && Object.values(state.kernels).every((v) => typeof v === 'string' && v !== ''))) {
    bad('kernels must map tune-site keys to variant names');
  }
  if (typeof state.recipe !== 'string') bad('recipe must be the recipe name');
  return state as unknown as TrainState;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = join(dir, 'state.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularFile(statePath, 64 << 20).toString('utf8'));
  } catch (e) {
    throw new UserError(`${statePath}: unreadable checkpoint state (${(e as Error).message.split('\n')[0]})`, 'checkpoint_corrupt', 1);
  }
  const state = validateState(raw, statePath);
  const model = readSafetensors(join(dir, 'model.safetensors')).tensors;
  const moments = readSafetensors(join(dir, 'optimizer.safetensors')).tensors;
  return { dir, state, model, moments };
}
