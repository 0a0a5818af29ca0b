// Checkpoints in the run directory:
//   checkpoints/step-0000100/  model.safetensors (Hugging Face names), optimizer.safetensors
//                              (moments by plan name), state.json (step, data position, RNG
//                              counters), config.json, vocab.txt, tokenizer.json, recipe.yaml
// A checkpoint is written into a temporary folder and renamed into place, so a crash mid-write
// leaves the previous checkpoints intact and never a half-written one under a real name;
// state.json is written last and marks a folder complete. The newest K are kept.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { BertTokenizer } from '../data/index.js';
import { readSafetensors, writeFileAtomic, writeSafetensors, type NamedTensor } from './safetensors.js';
import { toHuggingFace } from './hf-checkpoint.js';

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

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = join(dir, 'state.json');
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainState;
  } catch (e) {
    throw new UserError(`${statePath}: unreadable checkpoint state (${(e as Error).message.split('\n')[0]})`, 'checkpoint_corrupt', 1);
  }
  if (state.format !== 'bert-webgpu.state/1' || !Number.isInteger(state.step)) throw new UserError(`${statePath}: not a bert-webgpu checkpoint state`, 'checkpoint_corrupt', 1);
  const model = readSafetensors(join(dir, 'model.safetensors')).tensors;
  const moments = readSafetensors(join(dir, 'optimizer.safetensors')).tensors;
  return { dir, state, model, moments };
}
