// Inference from a run directory (issue 7): load the resolved recipe, the tokenizer and the
// weights once, then run forward passes through compiled inference plans (one per batch shape,
// cached; parameters shared by buffer id). Behind `bert-run fill-mask`, `embed` and `forward`.
//
// A run directory, a checkpoint directory (checkpoints/step-N) or any directory holding
// model.safetensors, recipe.yaml and tokenizer.json (or vocab.txt) is accepted; a run directory
// without a final model.safetensors falls back to its newest checkpoint.
//
// The recipe is read by the recipe loader (schema, cross-field checks, file:line:col errors),
// without requiring the recipe's input files (corpus,
// tokenizer, model.init), which inference does not need and which may have moved or been
// deleted since training.
import { existsSync, statSync } from 'node:fs';
import { readRegularFile } from '../read-file.js';
import { dirname, join } from 'node:path';
import { loadRecipe, type Recipe } from '../recipe/index.js';
import { BertTokenizer, encodePair } from '../data/index.js';
import { compile, forcedVariants, type Compiled } from '../compiler/compile.js';
import { openGpu, type Gpu } from '../runtime/device.js';
import { Runtime } from '../runtime/runtime.js';
import { BufferPool, PlanExecutor } from '../runtime/executor.js';
import { UserError } from '../errors.js';
import { cachedVariants } from '../tune/autotune.js';
import { defaultAutotuneCache } from '../tune/autotune-cache.js';
import { batchToInputs, classificationInputs } from './batch-inputs.js';
import { fromHuggingFace } from './checkpoint/hf-names.js';
import { ParamStore } from './param-store.js';
import { readSafetensors, type NamedTensor } from './checkpoint/safetensors.js';
import { listCheckpoints } from './checkpoint/checkpoints.js';

/** Sequences per compiled plan: larger batches run in chunks of this many. */
export const MAX_BATCH = 16;
/** Compiled plans kept alive at once (their activations stay allocated). */
const MAX_CACHED_PLANS = 4;

export interface ForwardBatch {
  /** Sequences. */
  batch: number;
  /** Tokens per sequence (padded). */
  seq: number;
  /** [batch · seq] each. */
  input_ids: Int32Array;
  token_type_ids: Int32Array;
  attention_mask: Int32Array;
}

export interface ForwardResult {
  batch: number;
  seq: number;
  /** Model vocabulary rows (logits per position). */
  vocab: number;
  /** Hidden size. */
  hidden: number;
  /** [batch · seq, vocab]: MLM logits of every position. */
  mlm_logits: Float32Array;
  /** [batch · seq, hidden]: the last hidden states. */
  hidden_states: Float32Array;
  /** [batch, hidden] when the model has a pooler. */
  pooled?: Float32Array;
  /** [batch, 2] when the model has an NSP head. */
  nsp_logits?: Float32Array;
}

export interface Encoded {
  ids: number[];
  typeIds: number[];
}

export interface OpenOptions {
  /** Use this device (tests) instead of opening the recipe's backend; it is not destroyed on close. */
  gpu?: Gpu;
  /** Notes (such as "using the newest checkpoint"); default: none. */
  log?: (message: string) => void;
  /** Forced kernel variants from outside the recipe (the CLI's BERT_VARIANT_*); the recipe's win. */
  variants?: Record<string, string>;
  /** The autotune cache whose choices the plans use (runtime.autotune cached or on; never timed here). Default: defaultAutotuneCache(). */
  autotuneCache?: string;
}

/** The directory holding model.safetensors for `path` (the path itself or its newest checkpoint). */
export function resolveModelDir(path: string, log?: (m: string) => void): string {
  if (!existsSync(path)) throw new UserError(`${path}: no such run directory`, 'bad_run_dir', 1);
  if (!statSync(path).isDirectory()) throw new UserError(`${path}: not a directory (expected a run or checkpoint directory holding model.safetensors)`, 'bad_run_dir', 1);
  if (existsSync(join(path, 'model.safetensors'))) return path;
  const checkpoints = listCheckpoints(path);
  const newest = checkpoints[checkpoints.length - 1];
  if (newest && existsSync(join(newest.dir, 'model.safetensors'))) {
    log?.(`${path} has no final model.safetensors; using its newest checkpoint ${newest.dir}`);
    return newest.dir;
  }
  throw new UserError(`${join(path, 'model.safetensors')}: missing (not a run or checkpoint directory; train one with bert-run <recipe.yaml>)`, 'no_model', 1);
}

/**
 * Reads a run's resolved recipe.yaml through the recipe loader (every problem with file:line:col,
 * exit 2), without requiring the training inputs it names (corpus, tokenizer files) to exist.
 */
export async function readResolvedRecipe(path: string): Promise<Recipe> {
  if (!existsSync(path)) throw new UserError(`${path}: missing (the run directory has no recipe.yaml)`, 'bad_recipe', 2);
  return (await loadRecipe(path, { checkInputFiles: false })).recipe;
}

function loadRunTokenizer(dir: string, recipe: Recipe): BertTokenizer {
  const json = join(dir, 'tokenizer.json');
  if (existsSync(json)) return BertTokenizer.fromTokenizerJson(json);
  const vocab = join(dir, 'vocab.txt');
  if (!existsSync(vocab)) throw new UserError(`${json}: missing (and no vocab.txt next to it)`, 'no_tokenizer', 1);
  let lowercase = recipe.data.tokenizer.lowercase;
  const configPath = join(dir, 'tokenizer_config.json');
  if (existsSync(configPath)) {
    try {
      const c = JSON.parse(readRegularFile(configPath, 1 << 20).toString('utf8')) as { do_lower_case?: unknown };
      if (typeof c.do_lower_case === 'boolean') lowercase = c.do_lower_case;
    } catch (e) {
      throw new UserError(`${configPath}: not valid JSON (${(e as Error).message})`, 'bad_tokenizer', 1);
    }
  }
  return BertTokenizer.fromVocabFile(vocab, { lowercase });
}

const SPECIAL_LITERAL = /(\[(?:MASK|CLS|SEP|PAD|UNK)\])/;

/** A loaded model: recipe, tokenizer, weights on the device, inference plans by shape. */
export class InferenceModel {
  private readonly plans = new Map<string, { compiled: Compiled; executor: PlanExecutor }>();
  private uploaded = false;
  private closed = false;

  private constructor(
    /** The directory the model was read from. */
    readonly dir: string,
    readonly recipe: Recipe,
    readonly tokenizer: BertTokenizer,
    /** Model vocabulary rows (word-embedding rows; ≥ the tokenizer's size). */
    readonly vocab: number,
    /** Plan parameter name → values, as uploaded. */
    readonly params: Map<string, Float32Array>,
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    readonly runtime: Runtime,
    private readonly pool: BufferPool,
    /** Forced kernel variants for every plan (recipe's over the caller's). */
    private readonly variants: Record<string, string>,
    /** The autotune cache's choices for this adapter (site key → variant). */
    private readonly tuned: Record<string, string>,
    /** A fine-tuned classifier's labels (config.json id2label, by class id); undefined for a pretrained model. */
    readonly labels?: readonly string[],
  ) {}

  static async open(path: string, options: OpenOptions = {}): Promise<InferenceModel> {
    const dir = resolveModelDir(path, options.log);
    const recipe = await readResolvedRecipe(join(dir, 'recipe.yaml'));
    const tokenizer = loadRunTokenizer(dir, recipe);
    const modelPath = join(dir, 'model.safetensors');
    const tensors = readSafetensors(modelPath).tensors;
    const embedding = tensors.get('bert.embeddings.word_embeddings.weight') ?? tensors.get('embeddings.word_embeddings.weight');
    if (!embedding || embedding.shape.length !== 2) throw new UserError(`${modelPath}: no bert.embeddings.word_embeddings.weight matrix`, 'checkpoint_mismatch', 1);
    const vocab = embedding.shape[0]!;
    if (vocab < tokenizer.size) throw new UserError(`${modelPath}: ${vocab} word-embedding rows for a tokenizer of ${tokenizer.size} tokens`, 'checkpoint_mismatch', 1);
    const regression = recipe.tasks.classify?.regression ?? false;
    const labels = recipe.tasks.classify && !regression ? readLabels(join(dir, 'config.json')) : undefined;
    const gpu = options.gpu ?? (await openGpu({ backend: recipe.runtime.backend, adapter: recipe.runtime.adapter }));
    try {
      // The parameters do not depend on the batch shape: any inference plan lists them all.
      const variants = forcedVariants(recipe, options.variants);
      const tuned = tunedFromCache(recipe, gpu, options);
      const probe = compile(recipe, vocab, { batch: 1, seq: 1, predictions: 1 }, gpu.limits, { training: false, inference: true, name: 'probe', variants, classes: regression ? 1 : labels?.length, tuned });
      const params = importParams(modelPath, tensors, probe.plan.params);
      const runtime = new Runtime(gpu);
      return new InferenceModel(dir, recipe, tokenizer, vocab, params, gpu, !options.gpu, runtime, new BufferPool(runtime), variants, tuned, labels);
    } catch (e) {
      if (!options.gpu) gpu.destroy();
      throw e;
    }
  }

  get hiddenSize(): number {
    return this.recipe.model.hidden;
  }

  get maxPosition(): number {
    return this.recipe.model.max_position;
  }

  get typeVocab(): number {
    return this.recipe.model.type_vocab;
  }

  get hasPooler(): boolean {
    return this.recipe.model.graph.some((g) => g.pooler);
  }

  get hasNsp(): boolean {
    return this.hasPooler && Boolean(this.recipe.tasks.nsp);
  }

  /**
   * `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`. Special tokens written literally in the text
   * ([MASK], [SEP], ...) become their ids, as Hugging Face's tokenizers treat them.
   */
  encode(a: string, b?: string): Encoded {
    const { cls, sep } = this.tokenizer.specials;
    const ids = [cls, ...this.encodeText(a), sep];
    const typeIds = ids.map(() => 0);
    if (b !== undefined) {
      const more = [...this.encodeText(b), sep];
      ids.push(...more);
      for (let i = 0; i < more.length; i++) typeIds.push(1);
    }
    return { ids, typeIds };
  }

  private encodeText(text: string): number[] {
    const out: number[] = [];
    for (const part of text.split(SPECIAL_LITERAL)) {
      if (part === '') continue;
      const special = SPECIAL_LITERAL.test(part) ? this.tokenizer.tokenToId.get(part) : undefined;
      if (special !== undefined) out.push(special);
      else out.push(...this.tokenizer.encode(part));
    }
    return out;
  }

  /** Pads sequences to `seq` tokens (default: the longest) into one batch. */
  pad(sequences: Encoded[], seq?: number): ForwardBatch {
    const B = sequences.length;
    const T = seq ?? Math.max(1, ...sequences.map((s) => s.ids.length));
    const input_ids = new Int32Array(B * T).fill(this.tokenizer.specials.pad);
    const token_type_ids = new Int32Array(B * T);
    const attention_mask = new Int32Array(B * T);
    sequences.forEach((s, b) => {
      if (s.ids.length > T) throw new Error(`pad: a sequence of ${s.ids.length} tokens does not fit ${T}`);
      for (let t = 0; t < s.ids.length; t++) {
        input_ids[b * T + t] = s.ids[t]!;
        token_type_ids[b * T + t] = s.typeIds[t] ?? 0;
        attention_mask[b * T + t] = 1;
      }
    });
    return { batch: B, seq: T, input_ids, token_type_ids, attention_mask };
  }

  /** The inference plan for one shape (pure: no device work). */
  compileShape(batch: number, seq: number, name = `infer-${batch}x${seq}`): Compiled {
    return compile(this.recipe, this.vocab, { batch, seq, predictions: seq }, this.gpu.limits, { training: false, inference: true, name, variants: this.variants, classes: this.regression ? 1 : this.labels?.length, tuned: this.tuned });
  }

  /** The plan inputs for a batch: every position is a "masked" row, so every row gets logits. */
  planInputs(b: ForwardBatch): ReturnType<typeof batchToInputs> {
    const { batch: B, seq: T } = b;
    const positions = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) positions[i] = i % T;
    return batchToInputs(
      {
        batchSize: B,
        seqLen: T,
        maxPredictions: T,
        input_ids: b.input_ids,
        token_type_ids: b.token_type_ids,
        attention_mask: b.attention_mask,
        masked_positions: positions,
        masked_ids: new Int32Array(B * T),
        masked_weights: new Float32Array(B * T).fill(1),
        nsp_labels: new Int32Array(B),
      },
      this.vocab,
    );
  }

  /** Runs the model on a batch of any size (in chunks of MAX_BATCH sequences). */
  async forward(b: ForwardBatch): Promise<ForwardResult> {
    if (this.closed) throw new Error('InferenceModel: closed');
    if (this.recipe.tasks.classify) {
      const head = this.labels ? `a fine-tuned classifier (labels ${this.labels.join(', ')})` : 'a fine-tuned regression model';
      throw new UserError(`${this.dir}: ${head} has no MLM head: use bert-run classify`, 'wrong_model', 2);
    }
    const { batch: B, seq: T } = b;
    if (!(B >= 1 && T >= 1 && b.input_ids.length === B * T && b.token_type_ids.length === B * T && b.attention_mask.length === B * T)) {
      throw new Error(`forward: inconsistent batch (${B} x ${T}, ${b.input_ids.length} ids)`);
    }
    if (T > this.maxPosition) throw new Error(`forward: ${T} tokens exceed max_position ${this.maxPosition}`);
    const V = this.vocab;
    const H = this.hiddenSize;
    const out: ForwardResult = {
      batch: B,
      seq: T,
      vocab: V,
      hidden: H,
      mlm_logits: new Float32Array(B * T * V),
      hidden_states: new Float32Array(B * T * H),
      ...(this.hasPooler ? { pooled: new Float32Array(B * H) } : {}),
      ...(this.hasNsp ? { nsp_logits: new Float32Array(B * 2) } : {}),
    };
    for (let start = 0; start < B; start += MAX_BATCH) {
      const n = Math.min(MAX_BATCH, B - start);
      const rows = (a: Int32Array) => a.subarray(start * T, (start + n) * T);
      const chunk: ForwardBatch = { batch: n, seq: T, input_ids: rows(b.input_ids), token_type_ids: rows(b.token_type_ids), attention_mask: rows(b.attention_mask) };
      const { executor } = await this.executorFor(n, T);
      executor.upload(this.planInputs(chunk));
      executor.writeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1, nspScale: 1 });
      await executor.run('microbatch');
      const read = async (name: string, per: number, into: Float32Array) => {
        const values = await executor.readOutput(name);
        into.set(values.subarray(0, n * per), start * per);
      };
      await read('mlm_logits', T * V, out.mlm_logits);
      await read('hidden', T * H, out.hidden_states);
      if (out.pooled) await read('pooled', H, out.pooled);
      if (out.nsp_logits) await read('nsp_logits', 2, out.nsp_logits);
    }
    return out;
  }

  /** Whether the model is a fine-tuned regression head (tasks.classify.regression): `score`, not `classify`. */
  get regression(): boolean {
    return this.recipe.tasks.classify?.regression ?? false;
  }

  /**
   * A fine-tuned classifier's label probabilities for texts (or text pairs), encoded as in
   * fine-tuning (longest-first truncation to the recipe's data.seq_len).
   */
  async classify(inputs: ReadonlyArray<{ text: string; pair?: string }>): Promise<Array<{ label: string; probabilities: Float64Array }>> {
    const labels = this.labels;
    if (!labels) {
      const what = this.regression ? 'a regression model (tasks.classify.regression): it scores texts, it does not label them' : 'not a fine-tuned classifier (its recipe has no tasks.classify): fine-tune it with a recipe that does';
      throw new UserError(`${this.dir}: ${what}`, 'wrong_model', 2);
    }
    return (await this.classifierOutputs(inputs, labels.length)).map((logits) => {
      const p = softmax(logits);
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
      return { label: labels[best]!, probabilities: p };
    });
  }

  /** A fine-tuned regression model's scores for texts (or text pairs), encoded as in fine-tuning. */
  async score(inputs: ReadonlyArray<{ text: string; pair?: string }>): Promise<number[]> {
    if (!this.regression) throw new UserError(`${this.dir}: not a fine-tuned regression model (its recipe has no tasks.classify.regression)`, 'wrong_model', 2);
    return (await this.classifierOutputs(inputs, 1)).map((out) => out[0]!);
  }

  /** The classifier's `outputs` logits per input, in batches of at most MAX_BATCH. */
  private async classifierOutputs(inputs: ReadonlyArray<{ text: string; pair?: string }>, outputs: number): Promise<Float32Array[]> {
    if (this.closed) throw new Error('InferenceModel: closed');
    const seqLen = Math.min(this.recipe.data.seq_len, this.maxPosition);
    const out: Float32Array[] = [];
    for (let start = 0; start < inputs.length; start += MAX_BATCH) {
      const chunk = inputs.slice(start, start + MAX_BATCH).map((x) => encodePair(this.tokenizer, x.text, x.pair, seqLen));
      const B = chunk.length;
      const T = Math.max(...chunk.map((e) => e.ids.length));
      const padded = this.pad(chunk.map((e) => ({ ids: [...e.ids], typeIds: [...e.typeIds] })), T);
      const { executor } = await this.executorFor(B, T);
      const labels = { labels: new Int32Array(B), ...(this.regression ? { targets: new Float32Array(B) } : {}) };
      executor.upload(classificationInputs({ ...padded, cls_rows: Int32Array.from({ length: B }, (_, i) => i * T), ...labels, weights: new Float32Array(B).fill(1), examples: B }, this.vocab));
      executor.writeStepState({ step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1, nspScale: 1 });
      await executor.run('microbatch');
      const logits = await executor.readOutput('logits');
      for (let i = 0; i < B; i++) out.push(logits.slice(i * outputs, (i + 1) * outputs));
    }
    return out;
  }

  private async executorFor(B: number, T: number): Promise<{ compiled: Compiled; executor: PlanExecutor }> {
    const key = `${B}x${T}`;
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit); // most recently used last
      return hit;
    }
    if (this.plans.size >= MAX_CACHED_PLANS) {
      const [oldKey, old] = this.plans.entries().next().value as [string, { compiled: Compiled; executor: PlanExecutor }];
      this.plans.delete(oldKey);
      old.executor.destroy();
      const prefix = `${old.compiled.plan.name}.`;
      this.pool.release(old.compiled.plan.buffers.map((d) => d.id).filter((id) => id.startsWith(prefix)));
    }
    const compiled = this.compileShape(B, T);
    const executor = await PlanExecutor.create(compiled.plan, this.pool);
    if (!this.uploaded) {
      const store = new ParamStore(compiled.plan, this.pool);
      for (const p of store.params) store.upload(p.name, this.params.get(p.name)!);
      this.uploaded = true;
    }
    const entry = { compiled, executor };
    this.plans.set(key, entry);
    return entry;
  }

  /** Frees the device buffers (and the device, unless it was passed in). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.plans.clear();
    this.pool.destroy();
    if (this.ownsGpu) this.gpu.destroy();
  }
}

/** config.json's id2label as a list by class id (a fine-tuned run writes it; transformers reads it). */
/** The cached autotune choices the plans follow; a cache that cannot be read is a note, not a failure (inference does not need it). */
function tunedFromCache(recipe: Recipe, gpu: Gpu, options: OpenOptions): Record<string, string> {
  if (recipe.runtime.autotune === 'off') return {};
  const path = options.autotuneCache ?? defaultAutotuneCache();
  try {
    return cachedVariants(gpu.report, path);
  } catch (e) {
    options.log?.(`autotune cache not used (${(e as Error).message.split('\n')[0]}): the heuristic's kernel variants`);
    return {};
  }
}

function readLabels(configPath: string): string[] {
  let config: { id2label?: Record<string, unknown> };
  try {
    config = JSON.parse(readRegularFile(configPath, 1 << 20).toString('utf8')) as typeof config;
  } catch (e) {
    throw new UserError(`${configPath}: cannot read the classifier's labels (${(e as Error).message.split('\n')[0]})`, 'checkpoint_corrupt', 1);
  }
  const entries = Object.entries(config.id2label ?? {});
  const labels = entries.map((_, i) => config.id2label![String(i)]);
  if (entries.length < 2 || labels.some((l) => typeof l !== 'string')) throw new UserError(`${configPath}: id2label must map 0..N-1 (N >= 2) to label names`, 'checkpoint_corrupt', 1);
  return labels as string[];
}

function importParams(modelPath: string, tensors: Map<string, NamedTensor>, planParams: Array<{ name: string; shape: number[] }>): Map<string, Float32Array> {
  let imported: ReturnType<typeof fromHuggingFace>;
  try {
    imported = fromHuggingFace(tensors, planParams);
  } catch (e) {
    throw new UserError(`${modelPath}: ${(e as Error).message}`, 'checkpoint_mismatch', 1);
  }
  if (imported.missing.length > 0) {
    throw new UserError(`${modelPath}: lacks ${imported.missing.length} parameters of the run's recipe (first: ${imported.missing[0]})`, 'checkpoint_mismatch', 1);
  }
  return imported.values;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the commands (and checked by the tests).

/** Softmax over a row of logits, in float64. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < logits.length; i++) out[i]! /= sum;
  return out;
}

export interface Candidate {
  token: string;
  id: number;
  prob: number;
}

export interface MaskPrediction {
  /** Token position in [CLS] ... [SEP]. */
  position: number;
  /** Best first. */
  candidates: Candidate[];
}

/**
 * Top-k tokens for every [MASK] of `text` (and the optional second segment). Probabilities are
 * the softmax over every model row; candidates are real tokenizer entries only.
 */
export async function fillMask(model: InferenceModel, text: string, topK: number, second?: string): Promise<{ tokens: string[]; masks: MaskPrediction[] }> {
  const enc = model.encode(text, second);
  const maskId = model.tokenizer.specials.mask;
  const positions = enc.ids.flatMap((id, i) => (id === maskId ? [i] : []));
  if (positions.length === 0) throw new UserError('fill-mask: the text has no [MASK] token', 'no_mask', 2);
  if (enc.ids.length > model.maxPosition) {
    throw new UserError(`fill-mask: the text is ${enc.ids.length} tokens with [CLS] and [SEP], more than the model's max_position ${model.maxPosition}`, 'too_long', 1);
  }
  const result = await model.forward(model.pad([enc]));
  const V = result.vocab;
  const real = model.tokenizer.size;
  const masks = positions.map((position) => {
    const probs = softmax(result.mlm_logits.subarray(position * V, (position + 1) * V));
    const order = Array.from({ length: real }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
    return { position, candidates: order.slice(0, topK).map((id) => ({ token: model.tokenizer.vocab[id]!, id, prob: probs[id]! })) };
  });
  return { tokens: enc.ids.map((id) => model.tokenizer.vocab[id] ?? `[${id}]`), masks };
}

/** Mean of the last hidden states over the positions with attention_mask 1, per sequence. */
export function maskedMean(hidden: Float32Array, mask: Int32Array, B: number, T: number, H: number): Float32Array {
  const out = new Float32Array(B * H);
  const acc = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    acc.fill(0);
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (!mask[b * T + t]) continue;
      n++;
      for (let h = 0; h < H; h++) acc[h]! += hidden[(b * T + t) * H + h]!;
    }
    for (let h = 0; h < H; h++) out[b * H + h] = n > 0 ? acc[h]! / n : 0;
  }
  return out;
}

export interface Embedding {
  /** 1-based line number in the texts file. */
  line: number;
  tokens: number;
  mean: Float32Array;
  pooled?: Float32Array;
}

export interface TextLine {
  line: number;
  text: string;
}

/** Non-blank lines of a texts file (one text per line), or a one-line error naming the file. */
export function readTextLines(path: string): TextLine[] {
  // A regular file only: a FIFO or /dev/zero would be read forever.
  const text = readRegularFile(path, 2 ** 30, 'bad_input').toString('utf8');
  const lines = text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t })).filter((l) => l.text.trim() !== '');
  if (lines.length === 0) throw new UserError(`${path}: no texts (the file is empty; expected one text per line)`, 'bad_input', 1);
  return lines;
}

/**
 * Embeds texts in batches of `batchSize`, each padded to its longest sequence rounded up to a
 * multiple of 8 (fewer plan shapes; padding does not change the results). Every text is
 * tokenized and length-checked before any device work, so a bad line fails fast.
 */
export async function embedTexts(model: InferenceModel, lines: TextLine[], file: string, onBatch: (e: Embedding[]) => void, batchSize = MAX_BATCH): Promise<void> {
  const encoded = lines.map((l) => {
    const enc = model.encode(l.text);
    if (enc.ids.length > model.maxPosition) {
      throw new UserError(`${file}:${l.line}: ${enc.ids.length} tokens with [CLS] and [SEP], more than the model's max_position ${model.maxPosition}`, 'too_long', 1);
    }
    return enc;
  });
  const H = model.hiddenSize;
  for (let start = 0; start < lines.length; start += batchSize) {
    const group = encoded.slice(start, start + batchSize);
    const longest = Math.max(...group.map((e) => e.ids.length));
    const batch = model.pad(group, Math.min(model.maxPosition, Math.ceil(longest / 8) * 8));
    const r = await model.forward(batch);
    const mean = maskedMean(r.hidden_states, batch.attention_mask, batch.batch, batch.seq, H);
    onBatch(
      group.map((e, i) => ({
        line: lines[start + i]!.line,
        tokens: e.ids.length,
        mean: mean.slice(i * H, (i + 1) * H),
        ...(r.pooled ? { pooled: r.pooled.slice(i * H, (i + 1) * H) } : {}),
      })),
    );
  }
}

/** Float32 values as JSON numbers that read back to the same float32 (9 significant digits). */
export function f32List(values: ArrayLike<number>): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!.toPrecision(9));
  return out;
}

/** Parses and checks batch.json for `forward`: every problem is a one-line error naming the file. */
export function parseBatchJson(path: string, model: Pick<InferenceModel, 'vocab' | 'typeVocab' | 'maxPosition'>): ForwardBatch {
  const text = readRegularFile(path, 2 ** 30, 'bad_input').toString('utf8');
  const bad = (why: string) => new UserError(`${path}: ${why}`, 'bad_input', 1);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw bad('expected an object with input_ids, token_type_ids and attention_mask (lists of lists of integers)');
  const o = j as Record<string, unknown>;
  const matrix = (name: string, required: boolean): number[][] | undefined => {
    const v = o[name];
    if (v === undefined && !required) return undefined;
    if (!Array.isArray(v) || v.length === 0) throw bad(`${name} must be a non-empty list of lists of integers`);
    v.forEach((row, i) => {
      if (!Array.isArray(row)) throw bad(`${name}[${i}] is not a list (${name} must be a list of lists of integers)`);
      if (row.length === 0) throw bad(`${name}[${i}] is empty`);
      row.forEach((x, t) => {
        if (!Number.isInteger(x)) throw bad(`${name}[${i}][${t}] is ${JSON.stringify(x)}, not an integer`);
      });
    });
    return v as number[][];
  };
  const ids = matrix('input_ids', true)!;
  const B = ids.length;
  const T = ids[0]!.length;
  ids.forEach((row, i) => {
    if (row.length !== T) throw bad(`ragged input_ids: row ${i} has ${row.length} tokens, row 0 has ${T} (pad every sequence to the same length)`);
  });
  if (T > model.maxPosition) throw bad(`sequences of ${T} tokens exceed the model's max_position ${model.maxPosition}`);
  const types = matrix('token_type_ids', false);
  const mask = matrix('attention_mask', false);
  for (const [name, m] of [['token_type_ids', types], ['attention_mask', mask]] as const) {
    if (!m) continue;
    if (m.length !== B) throw bad(`${name} has ${m.length} rows, input_ids has ${B}`);
    m.forEach((row, i) => {
      if (row.length !== T) throw bad(`${name}[${i}] has ${row.length} values, input_ids rows have ${T}`);
    });
  }
  const batch: ForwardBatch = { batch: B, seq: T, input_ids: new Int32Array(B * T), token_type_ids: new Int32Array(B * T), attention_mask: new Int32Array(B * T).fill(1) };
  for (let b = 0; b < B; b++) {
    let real = 0;
    for (let t = 0; t < T; t++) {
      const id = ids[b]![t]!;
      if (id < 0 || id >= model.vocab) throw bad(`input_ids[${b}][${t}] = ${id} is outside the model's vocabulary 0..${model.vocab - 1}`);
      batch.input_ids[b * T + t] = id;
      const type = types?.[b]![t] ?? 0;
      if (type < 0 || type >= model.typeVocab) throw bad(`token_type_ids[${b}][${t}] = ${type} is outside 0..${model.typeVocab - 1}`);
      batch.token_type_ids[b * T + t] = type;
      const m = mask?.[b]![t] ?? 1;
      if (m !== 0 && m !== 1) throw bad(`attention_mask[${b}][${t}] = ${m}, expected 0 or 1`);
      batch.attention_mask[b * T + t] = m;
      real += m;
    }
    if (real === 0) throw bad(`attention_mask[${b}] is all zeros (every sequence needs a real token)`);
  }
  return batch;
}

/** The directory of an output file exists (checked before any work, so errors come early). */
export function checkOutputPath(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${path}: cannot write (no directory ${dir})`, 'bad_output', 1);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`${path}: is a directory`, 'bad_output', 1);
}
