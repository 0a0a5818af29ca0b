// The second validation stage: named cross-field checks over a schema-valid recipe. Each returns
// the paths it blames (the loader turns them into file:line:col), never throws, never prints.
// resolveFiles also makes the recipe's input paths absolute (relative to the file that named them).
import { existsSync, statSync } from 'node:fs';
import { readRegularFile } from '../read-file.js';
import { isAbsolute, resolve } from 'node:path';
import type { RecipeIssueCode } from './errors.js';
import type { PathSeg } from './yaml-source.js';
import type { Recipe } from './recipe-types.js';
import { glob } from '../glob.js';

export interface Blame {
  code: RecipeIssueCode;
  path: PathSeg[];
  message: string;
  /** Point at the key rather than the value. */
  key?: boolean;
}

export function crossFieldChecks(r: Recipe): Blame[] {
  const out: Blame[] = [];
  const { model, data, schedule, tasks } = r;
  const graph = model.graph;

  // Graph shape: embeddings first and once; repeat blocks; then at most one final_norm, then at most one pooler.
  const kind = (i: number): string => Object.keys(graph[i]!).find((k) => k !== 'layers')!;
  let stage = 0; // 0 embeddings, 1 blocks, 2 final_norm, 3 pooler
  let blocks = 0;
  graph.forEach((item, i) => {
    const k = kind(i);
    const rank = { embeddings: 0, repeat: 1, final_norm: 2, pooler: 3 }[k] ?? 1;
    if (i === 0 && k !== 'embeddings') out.push({ code: 'graph_order', path: ['model', 'graph', 0], message: `the graph must start with embeddings (found ${k})` });
    else if (i > 0 && (rank < stage || (rank === stage && rank !== 1) || rank === 0)) {
      out.push({ code: 'graph_order', path: ['model', 'graph', i], message: `${k} cannot come here: the order is embeddings, repeat blocks, final_norm, pooler (each at most once except repeat)` });
    }
    stage = Math.max(stage, rank);
    if (item.repeat !== undefined) blocks++;
  });
  if (blocks === 0) out.push({ code: 'graph_order', path: ['model', 'graph'], message: 'needs at least one repeat block' });

  // heads divide hidden.
  graph.forEach((item, i) =>
    item.layers?.forEach((layer, j) => {
      const a = layer.attention;
      if (a && model.hidden % a.heads !== 0) {
        out.push({ code: 'heads_divide_hidden', path: ['model', 'graph', i, 'layers', j, 'attention', 'heads'], message: `${a.heads} does not divide hidden size ${model.hidden}` });
      }
    }),
  );

  if (tasks.nsp && !graph.some((g) => g.pooler)) {
    out.push({ code: 'nsp_needs_pooler', path: ['tasks', 'nsp'], message: 'nsp classifies the pooled [CLS] output: add `- pooler: {}` to model.graph or remove nsp', key: true });
  }

  // Fine-tuning: the classification head reads the pooled [CLS]; its data are labelled examples.
  if (tasks.classify) {
    if (!graph.some((g) => g.pooler)) out.push({ code: 'classify_needs_pooler', path: ['tasks', 'classify'], message: 'classify reads the pooled [CLS] output: add `- pooler: { activation: tanh }` to model.graph', key: true });
    if (tasks.nsp) out.push({ code: 'classify_with_pretraining', path: ['tasks', 'nsp'], message: 'a run either pretrains (mlm, nsp) or fine-tunes (classify): remove nsp', key: true });
    if (!data.labelled) out.push({ code: 'classify_needs_labelled', path: ['tasks', 'classify'], message: 'classify trains on data.labelled (source: spam-assassin, or files with text and label columns)', key: true });
    if (schedule.phases.length > 0) out.push({ code: 'classify_with_phases', path: ['schedule', 'phases'], message: 'sequence-length phases are for pretraining; fine-tuning uses data.seq_len', key: true });
    const { regression, best_metric: metric } = tasks.classify;
    const fits = regression ? ['pearson', 'spearman', 'mse', 'loss'] : ['accuracy', 'f1', 'macro_f1', 'mcc', 'loss'];
    if (!fits.includes(metric)) {
      out.push({ code: 'best_metric_for_problem', path: ['tasks', 'classify', 'best_metric'], message: `${metric} is a ${regression ? 'classification' : 'regression'} metric; ${regression ? 'regression' : 'classification'} picks the best checkpoint by ${fits.join(', ')}` });
    }
    if (data.tokenizer.wordpiece) out.push({ code: 'classify_needs_vocab', path: ['data', 'tokenizer'], message: 'fine-tuning uses the pretrained model\'s vocabulary: set data.tokenizer.vocab (e.g. the vocab.txt of the run directory model.init names)', key: true });
  } else {
    if (data.labelled) out.push({ code: 'labelled_without_classify', path: ['data', 'labelled'], message: 'labelled examples are for fine-tuning: add tasks.classify, or remove data.labelled', key: true });
    if (schedule.epochs !== undefined) out.push({ code: 'epochs_without_classify', path: ['schedule', 'epochs'], message: 'epochs count passes over labelled examples (tasks.classify); pretraining counts schedule.steps', key: true });
  }

  // Batching: micro-batches fill each batch exactly.
  if (schedule.batch_size % schedule.micro_batch_size !== 0) {
    out.push({ code: 'micro_batch_divides_batch', path: ['schedule', 'micro_batch_size'], message: `${schedule.micro_batch_size} does not divide batch_size ${schedule.batch_size}` });
  }

  // Sequence lengths and predictions.
  if (data.seq_len > model.max_position) {
    out.push({ code: 'seq_len_exceeds_max_position', path: ['data', 'seq_len'], message: `${data.seq_len} exceeds model.max_position ${model.max_position}` });
  }
  if (!tasks.classify && tasks.mlm.max_predictions > data.seq_len) {
    out.push({ code: 'max_predictions_exceeds_seq_len', path: ['tasks', 'mlm', 'max_predictions'], message: `${tasks.mlm.max_predictions} exceeds data.seq_len ${data.seq_len}` });
  }
  const { mask, random, keep } = tasks.mlm.replace;
  const sum = mask + random + keep;
  if (Math.abs(sum - 1) > 1e-9) {
    out.push({ code: 'replace_sum', path: ['tasks', 'mlm', 'replace'], message: `mask + random + keep must sum to 1 (got ${+sum.toFixed(9)})` });
  }

  // Schedule.
  if (schedule.lr.warmup_steps > schedule.steps && schedule.lr.warmup_ratio === undefined && schedule.epochs === undefined) {
    out.push({ code: 'warmup_exceeds_steps', path: ['schedule', 'lr', 'warmup_steps'], message: `${schedule.lr.warmup_steps} exceeds schedule.steps ${schedule.steps}` });
  }
  schedule.phases.forEach((ph, i) => {
    const at = (k: string): PathSeg[] => ['schedule', 'phases', i, k];
    const prev = schedule.phases[i - 1];
    if (prev && ph.until_step <= prev.until_step) {
      out.push({ code: 'phases_not_increasing', path: at('until_step'), message: `${ph.until_step} must be greater than the previous phase's until_step ${prev.until_step}` });
    }
    if (ph.until_step > schedule.steps) {
      out.push({ code: 'phase_beyond_steps', path: at('until_step'), message: `${ph.until_step} exceeds schedule.steps ${schedule.steps}` });
    }
    if (ph.seq_len > model.max_position) {
      out.push({ code: 'seq_len_exceeds_max_position', path: at('seq_len'), message: `${ph.seq_len} exceeds model.max_position ${model.max_position}` });
    }
    const mp = ph.max_predictions ?? tasks.mlm.max_predictions;
    if (mp > ph.seq_len) {
      out.push({ code: 'max_predictions_exceeds_seq_len', path: at(ph.max_predictions !== undefined ? 'max_predictions' : 'seq_len'), message: `max_predictions ${mp} exceeds this phase's seq_len ${ph.seq_len}` });
    }
    const micro = ph.micro_batch_size ?? schedule.micro_batch_size;
    const batch = ph.batch_size ?? schedule.batch_size;
    if (batch % micro !== 0) {
      const blame = ph.micro_batch_size !== undefined ? 'micro_batch_size' : 'batch_size';
      out.push({ code: 'micro_batch_divides_batch', path: at(blame), message: `micro_batch_size ${micro} does not divide this phase's batch size ${batch}` });
    }
  });

  // A trained vocabulary must fit the embedding.
  const target = data.tokenizer.wordpiece?.train.vocab_size;
  if (typeof model.vocab_size === 'number' && target !== undefined && target > model.vocab_size) {
    out.push({ code: 'vocab_too_small', path: ['model', 'vocab_size'], message: `${model.vocab_size} is smaller than the trained tokenizer's vocab_size ${target}` });
  }
  return out;
}

/** Tokens in a vocab.txt (one a line) or a tokenizer.json WordPiece model; undefined if unreadable. */
export function tokenizerFileVocabSize(path: string, kind: 'vocab' | 'tokenizer_json'): number | undefined {
  try {
    const text = readRegularFile(path).toString('utf8');
    if (kind === 'vocab') return text.split(/\r?\n/).filter((l, i, a) => l !== '' || i < a.length - 1).length;
    const json = JSON.parse(text) as { model?: { vocab?: Record<string, number> } };
    return json.model?.vocab ? Object.keys(json.model.vocab).length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks that corpus globs and tokenizer files exist, and rewrites them as absolute paths.
 * `baseDir(path)` is the directory of the file that wrote the value at path.
 */
export function resolveFiles(r: Recipe, baseDir: (path: PathSeg[]) => string): Blame[] {
  const out: Blame[] = [];
  const files = r.data.corpus.files;
  if (files) {
    r.data.corpus.files = files.map((pattern, i) => {
      const path: PathSeg[] = ['data', 'corpus', 'files', i];
      const dir = baseDir(path);
      if (glob(pattern, dir).length === 0) out.push({ code: 'missing_file', path, message: `no file matches ${pattern} (relative to ${dir})` });
      return absolute(dir, pattern);
    });
  }
  const tok = r.data.tokenizer;
  for (const kind of ['vocab', 'tokenizer_json'] as const) {
    const given = tok[kind];
    if (given === undefined) continue;
    const path: PathSeg[] = ['data', 'tokenizer', kind];
    const abs = absolute(baseDir(path), given);
    tok[kind] = abs;
    const size = tokenizerFileVocabSize(abs, kind);
    if (size === undefined) out.push({ code: 'missing_file', path, message: `cannot read ${given}${kind === 'tokenizer_json' ? ' as a tokenizer.json with a WordPiece vocab' : ''}` });
    else if (typeof r.model.vocab_size === 'number' && size > r.model.vocab_size) {
      out.push({ code: 'vocab_too_small', path: ['model', 'vocab_size'], message: `${r.model.vocab_size} is smaller than the ${size} tokens of ${given}` });
    }
  }
  const labelled = r.data.labelled;
  for (const key of ['files', 'validation'] as const) {
    labelled?.[key]?.forEach((pattern, i) => {
      const path: PathSeg[] = ['data', 'labelled', key, i];
      const dir = baseDir(path);
      if (glob(pattern, dir).length === 0) out.push({ code: 'missing_file', path, message: `no file matches ${pattern} (relative to ${dir})` });
      labelled[key]![i] = absolute(dir, pattern);
    });
  }
  const init = r.model.init;
  if (init !== undefined) {
    const path: PathSeg[] = ['model', 'init'];
    const abs = absolute(baseDir(path), init);
    r.model.init = abs;
    const file = existsSync(abs) && statSync(abs).isDirectory() ? resolve(abs, 'model.safetensors') : abs;
    if (!existsSync(file)) out.push({ code: 'missing_file', path, message: `no checkpoint at ${init}${file !== abs ? ' (no model.safetensors in that directory)' : ''}` });
  }
  return out;
}

function absolute(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}
