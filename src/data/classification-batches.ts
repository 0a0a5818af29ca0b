// Labelled examples → fixed-shape classification batches, as Google's run_classifier.py and Hugging
// Face's tokenizers build them: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, a pair truncated
// longest-first from the end (_truncate_seq_pair), padded to the sequence length, with the [CLS]
// row of each sequence and its class id (or, for regression, its numeric target). Training batches walk a seeded shuffle of the examples,
// one permutation per epoch, and can be resumed exactly; evaluation batches cover every example
// once, in order, the last batch padded with weight-0 rows. Each example is tokenized once.
import { UserError } from '../errors.js';
import type { BertTokenizer } from './tokenizer.js';
import { labelValue, type Example } from './labelled.js';
import { deriveRng, permutation } from './rng.js';

export interface ClassificationBatch {
  batch: number;
  seq: number;
  input_ids: Int32Array; // (B, T)
  token_type_ids: Int32Array; // (B, T)
  attention_mask: Int32Array; // (B, T)
  /** Row of each sequence's [CLS] token in the flattened (B·T) activations. */
  cls_rows: Int32Array; // (B)
  /** Class id of each sequence (0 for padding rows; 0 throughout for regression). */
  labels: Int32Array; // (B)
  /** Regression: each sequence's target (0 for padding rows). */
  targets?: Float32Array; // (B)
  /** 1 for real sequences, 0 for the padding rows of a short last evaluation batch. */
  weights: Float32Array; // (B)
  /** Real sequences in the batch. */
  examples: number;
}

export interface Encoded {
  ids: Int32Array;
  typeIds: Int32Array;
  /** Class id; 0 for regression. */
  label: number;
  /** Regression target; 0 for classification. */
  target: number;
}

/** Drops tokens from the end of the longer of a and b until both fit `max` together (Google's _truncate_seq_pair). */
export function truncatePair(a: number[], b: number[], max: number): void {
  while (a.length + b.length > max) {
    if (a.length > b.length) a.pop();
    else b.pop();
  }
}

/** `[CLS] text [SEP]` or `[CLS] text [SEP] pair [SEP]` in at most seqLen tokens (longest-first truncation). */
export function encodePair(tokenizer: BertTokenizer, text: string, pair: string | undefined, seqLen: number): { ids: Int32Array; typeIds: Int32Array } {
  const { cls, sep } = tokenizer.specials;
  const a = tokenizer.encode(text);
  const b = pair !== undefined ? tokenizer.encode(pair) : undefined;
  if (b) truncatePair(a, b, seqLen - 3);
  else a.length = Math.min(a.length, seqLen - 2);
  const ids = [cls, ...a, sep, ...(b ? [...b, sep] : [])];
  const typeIds = ids.map((_, i) => (i < a.length + 2 ? 0 : 1));
  return { ids: Int32Array.from(ids), typeIds: Int32Array.from(typeIds) };
}

/** One example as model input: ids and token types, at most seqLen tokens; labels null = regression targets. */
export function encodeExample(tokenizer: BertTokenizer, example: Example, labels: readonly string[] | null, seqLen: number): Encoded {
  const encoded = encodePair(tokenizer, example.text, example.pair, seqLen);
  if (labels === null) return { ...encoded, label: 0, target: labelValue(example) };
  const label = labels.indexOf(example.label);
  if (label < 0) throw new UserError(`${example.where}: label ${JSON.stringify(example.label)} is not one of ${labels.join(', ')}`, 'bad_data');
  return { ...encoded, label, target: 0 };
}

export interface ClassificationBatchState {
  epoch: number;
  /** Position in the epoch's permutation. */
  position: number;
}

export class ClassificationBatches {
  private readonly encoded: Encoded[];
  private readonly pad: number;
  private order: Uint32Array;
  private epochIndex = 0;
  private position = 0;

  constructor(
    tokenizer: BertTokenizer,
    examples: readonly Example[],
    /** The class list; null for regression (labels are numeric targets). */
    readonly labels: readonly string[] | null,
    readonly seqLen: number,
    private readonly seed: number,
  ) {
    if (examples.length === 0) throw new UserError('classification data: no examples', 'bad_data');
    if (!(Number.isInteger(seqLen) && seqLen >= 4)) throw new UserError(`classification data: seq_len must be an integer ≥ 4 (got ${seqLen})`, 'bad_data', 2);
    this.encoded = examples.map((e) => encodeExample(tokenizer, e, labels, seqLen));
    this.order = this.permutationFor(0);
    this.pad = tokenizer.specials.pad;
  }

  get size(): number {
    return this.encoded.length;
  }

  /** Epochs completed so far plus the fraction of the current one. */
  get epoch(): number {
    return this.epochIndex + this.position / this.encoded.length;
  }

  private permutationFor(epoch: number): Uint32Array {
    return permutation(this.encoded.length, deriveRng('classification', this.seed, epoch));
  }

  /** The next training batch: full, wrapping into the next epoch's permutation when one ends. */
  next(batchSize: number): ClassificationBatch {
    const picks: Encoded[] = [];
    while (picks.length < batchSize) {
      if (this.position === this.encoded.length) {
        this.epochIndex++;
        this.position = 0;
        this.order = this.permutationFor(this.epochIndex);
      }
      picks.push(this.encoded[this.order[this.position++]!]!);
    }
    return this.assemble(picks, batchSize);
  }

  /** Every example once, in order, in batches of batchSize (the last padded with weight-0 rows). */
  *inOrder(batchSize: number): Generator<ClassificationBatch> {
    for (let start = 0; start < this.encoded.length; start += batchSize) yield this.assemble(this.encoded.slice(start, start + batchSize), batchSize);
  }

  state(): ClassificationBatchState {
    return { epoch: this.epochIndex, position: this.position };
  }

  restore(s: ClassificationBatchState): void {
    if (!(Number.isSafeInteger(s.epoch) && s.epoch >= 0 && Number.isSafeInteger(s.position) && s.position >= 0 && s.position <= this.encoded.length)) {
      throw new UserError(`classification data: a saved position ${JSON.stringify(s)} does not fit ${this.encoded.length} examples`, 'bad_data');
    }
    this.epochIndex = s.epoch;
    this.position = s.position;
    this.order = this.permutationFor(s.epoch);
  }

  private assemble(picks: readonly Encoded[], batchSize: number): ClassificationBatch {
    const T = this.seqLen;
    const b: ClassificationBatch = {
      batch: batchSize,
      seq: T,
      input_ids: new Int32Array(batchSize * T).fill(this.pad),
      token_type_ids: new Int32Array(batchSize * T),
      attention_mask: new Int32Array(batchSize * T),
      cls_rows: Int32Array.from({ length: batchSize }, (_, i) => i * T),
      labels: new Int32Array(batchSize),
      ...(this.labels === null ? { targets: new Float32Array(batchSize) } : {}),
      weights: new Float32Array(batchSize),
      examples: picks.length,
    };
    picks.forEach((e, i) => {
      b.input_ids.set(e.ids, i * T);
      b.token_type_ids.set(e.typeIds, i * T);
      b.attention_mask.fill(1, i * T, i * T + e.ids.length);
      b.labels[i] = e.label;
      if (b.targets) b.targets[i] = e.target;
      b.weights[i] = 1;
    });
    return b;
  }
}
