// The recipe's schedule as data the runner walks: sequence-length phases (each with its batch,
// micro-batch and prediction count) and the data-layer options for the corpus and tokenizer.
import { dirname } from 'node:path';
import type { Recipe } from '../recipe/index.js';
import type { PretrainingDataOptions } from '../data/index.js';

export interface Phase {
  /** Steps [from, until) (0-based step indices) run in this phase. */
  from: number;
  until: number;
  seq: number;
  batch: number;
  microBatch: number;
  predictions: number;
}

export function phasesOf(recipe: Recipe): Phase[] {
  const s = recipe.schedule;
  const out: Phase[] = [];
  let from = 0;
  for (const p of s.phases) {
    if (p.until_step <= from) continue;
    out.push({ from, until: p.until_step, seq: p.seq_len, batch: p.batch_size ?? s.batch_size, microBatch: p.micro_batch_size ?? s.micro_batch_size, predictions: p.max_predictions ?? recipe.tasks.mlm.max_predictions });
    from = p.until_step;
  }
  if (from < s.steps) out.push({ from, until: s.steps, seq: recipe.data.seq_len, batch: s.batch_size, microBatch: s.micro_batch_size, predictions: recipe.tasks.mlm.max_predictions });
  return out;
}

export function phaseAt(phases: Phase[], step: number): Phase {
  return phases.find((p) => step >= p.from && step < p.until) ?? phases[phases.length - 1]!;
}

export function dataOptions(recipe: Recipe, recipeFile: string, log: (m: string) => void): PretrainingDataOptions {
  const d = recipe.data;
  const tok = d.tokenizer;
  const tokenizer: PretrainingDataOptions['tokenizer'] = tok.vocab
    ? { vocab: tok.vocab }
    : tok.tokenizer_json
      ? { tokenizerJson: tok.tokenizer_json }
      : { train: { vocabSize: tok.wordpiece!.train.vocab_size, minFrequency: tok.wordpiece!.train.min_frequency } };
  const phases = phasesOf(recipe);
  const mlm = recipe.tasks.mlm;
  return {
    corpus: d.corpus.source ? { source: d.corpus.source } : { files: d.corpus.files!, format: d.corpus.format, textField: d.corpus.text_field },
    baseDir: dirname(recipeFile),
    maxDocuments: d.max_documents,
    tokenizer,
    lowercase: tok.lowercase,
    maxCharsPerWord: tok.max_chars_per_word,
    seqLen: phases[0]!.seq,
    maxPredictions: phases[0]!.predictions,
    phases: phases.slice(1).map((p) => ({ seqLen: p.seq, maxPredictions: p.predictions })),
    shortSeqProb: d.short_seq_prob,
    dupeFactor: d.dupe_factor,
    holdout: d.holdout,
    seed: recipe.seed,
    mlm: { maskProb: mlm.mask_prob, replace: mlm.replace, wholeWord: mlm.whole_word, masking: mlm.masking },
    nsp: recipe.tasks.nsp !== undefined,
    cacheDir: d.cache_dir,
    workers: d.workers,
    memoryLimitBytes: parseByteSize(d.memory_limit),
    log,
  };
}

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** "1GiB", "512 MiB", "2.5GB" → bytes (the schema has checked the form). */
export function parseByteSize(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?) ?(KiB|MiB|GiB|KB|MB|GB)$/.exec(text);
  if (!m) throw new Error(`not a byte size: ${text}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Vocabulary rows of the model: the recipe's number, or the tokenizer's size, padded. */
export function modelVocab(recipe: Recipe, tokenizerSize: number): number {
  const base = typeof recipe.model.vocab_size === 'number' ? recipe.model.vocab_size : tokenizerSize;
  const m = recipe.model.pad_vocab_to_multiple_of;
  return Math.ceil(base / m) * m;
}
