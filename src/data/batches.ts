// Fixed-shape batches for the trainer, read from instance sets in a seeded per-epoch order, with a
// small prefetch queue filled on the event loop while the caller awaits the GPU. The batch stream is
// a pure function of (seed, split, instance set, epoch, position): prefetching never changes what
// is returned, and state()/restore() reproduce a straight run exactly after a crash.
import { UserError } from '../errors.js';
import { createMaskedLmPredictions, type MaskingOptions, type Vocabulary } from './instances.js';
import type { InstanceSet } from './instance-set.js';
import { Rng, deriveRng, permutation } from './rng.js';

/** One batch: B sequences of T tokens, P prediction slots per sequence. */
export interface Batch {
  batchSize: number;
  seqLen: number;
  maxPredictions: number;
  /** (B, T) token ids, masked tokens already replaced. */
  input_ids: Int32Array;
  /** (B, T) 0 for [CLS] A [SEP], 1 for B [SEP], 0 for padding. */
  token_type_ids: Int32Array;
  /** (B, T) 1 real token, 0 padding. */
  attention_mask: Int32Array;
  /** (B, P) positions in 0..T-1 of the predicted tokens (0 in unused slots). */
  masked_positions: Int32Array;
  /** (B, P) original token ids at those positions (0 in unused slots). */
  masked_ids: Int32Array;
  /** (B, P) 1 real prediction, 0 unused slot. */
  masked_weights: Float32Array;
  /** (B) 0 = B continues A (IsNext), 1 = B is from a random document. 0 when packing without NSP. */
  nsp_labels: Int32Array;
  /** Non-padding tokens in the batch. */
  num_tokens: number;
  /** Real predictions in the batch. */
  num_predictions: number;
}

export interface Cursor {
  epoch: number;
  position: number;
}

/** JSON-able resume state: a cursor per instance set ("seqLen/maxPredictions"). */
export interface SourceState {
  version: 1;
  split: string;
  cursors: Record<string, Cursor>;
}

export interface BatchSourceHooks {
  /** Opens (building when needed, synchronously) the instance set for (seqLen, maxPredictions). */
  instanceSet(seqLen: number, maxPredictions: number): InstanceSet;
  /** Same, off the critical path. */
  prepare(seqLen: number, maxPredictions: number): Promise<InstanceSet>;
}

interface Queued {
  key: string;
  batch: Batch;
  after: Cursor;
}

export class BatchSource {
  private cursors = new Map<string, Cursor>();
  private perms = new Map<string, Uint32Array>();
  private queue: Queued[] = [];
  private last: [number, number, number] | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    readonly split: 'train' | 'holdout',
    private hooks: BatchSourceHooks,
    private vocab: Vocabulary,
    private masking: MaskingOptions,
    /** Static masks come from the records; dynamic ones are drawn per (epoch, instance). */
    private dynamicMasking: boolean,
    private seed: number,
    /** Batches computed ahead; 0 disables prefetching. */
    public prefetchDepth = 2,
  ) {}

  /** Builds or opens the instance set for a phase ahead of time. */
  async prepare(seqLen: number, maxPredictions: number): Promise<void> {
    await this.hooks.prepare(seqLen, this.dynamicMasking ? 0 : maxPredictions);
  }

  /** Instances in one epoch at this shape. */
  size(seqLen: number, maxPredictions: number): number {
    return this.hooks.instanceSet(seqLen, this.dynamicMasking ? 0 : maxPredictions).count;
  }

  /** The next batch: B instances, (B, T) and (B, P) arrays. */
  next(batchSize: number, seqLen: number, maxPredictions: number): Batch {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batch size must be a positive integer (got ${batchSize})`, 'bad_batch', 2);
    const key = this.key(seqLen, maxPredictions);
    const qkey = `${batchSize}/${key}`;
    let item: Queued;
    if (this.queue.length > 0 && this.queue[0]!.key === qkey) item = this.queue.shift()!;
    else {
      this.queue = [];
      item = this.produce(batchSize, seqLen, maxPredictions, this.cursor(key));
    }
    this.cursors.set(key, item.after);
    this.last = [batchSize, seqLen, maxPredictions];
    this.schedule();
    return item.batch;
  }

  /** Resume state after the last batch returned by next(). */
  state(): SourceState {
    return { version: 1, split: this.split, cursors: Object.fromEntries([...this.cursors].map(([k, c]) => [k, { ...c }])) };
  }

  restore(state: unknown): void {
    const s = state as SourceState;
    if (!s || s.version !== 1 || typeof s.cursors !== 'object') throw new UserError('data state: not a batch source state (version 1)', 'bad_state');
    if (s.split !== this.split) throw new UserError(`data state: for split ${s.split}, not ${this.split}`, 'bad_state');
    this.queue = [];
    this.cursors = new Map(Object.entries(s.cursors).map(([k, c]) => [k, { epoch: c.epoch, position: c.position }]));
  }

  /** Back to epoch 0, position 0 (e.g. before each evaluation over the holdout). */
  reset(): void {
    this.queue = [];
    this.cursors.clear();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private key(seqLen: number, maxPredictions: number): string {
    return `${seqLen}/${this.dynamicMasking ? 0 : maxPredictions}`;
  }

  private cursor(key: string): Cursor {
    return this.cursors.get(key) ?? { epoch: 0, position: 0 };
  }

  private schedule(): void {
    if (this.scheduled || this.prefetchDepth <= 0 || this.closed || !this.last) return;
    if (this.queue.length >= this.prefetchDepth) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed || !this.last || this.queue.length >= this.prefetchDepth) return;
      const [B, T, P] = this.last;
      const key = this.key(T, P);
      const from = this.queue.length > 0 ? this.queue[this.queue.length - 1]!.after : this.cursor(key);
      this.queue.push(this.produce(B, T, P, from));
      this.schedule();
    });
  }

  private permutationFor(key: string, count: number, epoch: number): Uint32Array {
    const pk = `${key}#${epoch}`;
    let p = this.perms.get(pk);
    if (!p) {
      if (this.perms.size >= 4) this.perms.delete(this.perms.keys().next().value!);
      p = permutation(count, deriveRng(this.seed, 'epoch', this.split, key, epoch));
      this.perms.set(pk, p);
    }
    return p;
  }

  /** The batch at `from` and the cursor after it. Pure in (from, shapes). */
  private produce(B: number, T: number, P: number, from: Cursor): Queued {
    const key = this.key(T, P);
    const set = this.hooks.instanceSet(T, this.dynamicMasking ? 0 : P);
    const n = set.count;
    if (n === 0) throw new UserError(`${this.split} data: no instances at seq_len ${T}`, 'empty_data');
    const batch: Batch = {
      batchSize: B,
      seqLen: T,
      maxPredictions: P,
      input_ids: new Int32Array(B * T),
      token_type_ids: new Int32Array(B * T),
      attention_mask: new Int32Array(B * T),
      masked_positions: new Int32Array(B * P),
      masked_ids: new Int32Array(B * P),
      masked_weights: new Float32Array(B * P),
      nsp_labels: new Int32Array(B),
      num_tokens: 0,
      num_predictions: 0,
    };
    if (this.vocab.pad !== 0) batch.input_ids.fill(this.vocab.pad);
    let { epoch, position } = from;
    const stored = set.meta.maxPredictions;
    for (let b = 0; b < B; b++) {
      if (position >= n) {
        epoch++;
        position = 0;
      }
      const index = this.permutationFor(key, n, epoch)[position]!;
      position++;
      const r = set.record(index);
      const lenA = r[0]!;
      const lenB = r[1]!;
      const len = lenB > 0 ? lenA + lenB + 3 : lenA + 2;
      const row = b * T;
      for (let j = 0; j < len; j++) {
        batch.input_ids[row + j] = r[4 + j]!;
        batch.attention_mask[row + j] = 1;
      }
      if (lenB > 0) batch.token_type_ids.fill(1, row + lenA + 2, row + len);
      batch.nsp_labels[b] = r[2]!;
      batch.num_tokens += len;
      let positions: ArrayLike<number>;
      let inputs: ArrayLike<number>;
      let count: number;
      if (this.dynamicMasking) {
        const tokens = r.subarray(4, 4 + len);
        const m = createMaskedLmPredictions(tokens, len, this.masking, P, this.vocab, maskRng(this.seed, this.split, key, epoch, index));
        positions = m.positions;
        inputs = m.replacements;
        count = m.positions.length;
      } else {
        count = Math.min(r[3]!, P);
        positions = r.subarray(4 + T, 4 + T + stored);
        inputs = r.subarray(4 + T + stored, 4 + T + 2 * stored);
      }
      for (let k = 0; k < count; k++) {
        const pos = positions[k]!;
        batch.masked_positions[b * P + k] = pos;
        batch.masked_ids[b * P + k] = r[4 + pos]!;
        batch.masked_weights[b * P + k] = 1;
        batch.input_ids[row + pos] = inputs[k]!;
      }
      batch.num_predictions += count;
    }
    return { key: `${B}/${key}`, batch, after: { epoch, position } };
  }
}

function maskRng(seed: number, split: string, key: string, epoch: number, index: number): Rng {
  return deriveRng(seed, 'mask', split, key, epoch, index);
}
