// A cached set of instances for one split and one sequence length: fixed-size records, so record i
// is at a known offset and an epoch is a permutation of record numbers. Built by streaming documents
// from the TokenStore through instances.ts into a CacheWriter (memory: the documents touched, not the
// instances). Record layout, in units of `width` bytes (uint16 or int32):
//   [lenA, lenB, isRandomNext, numPredictions, tokens[T] (padded with [PAD]), positions[P], inputs[P]]
// where tokens are the originals and inputs[k] is what the model sees at positions[k] (static
// masking only; P = 0 and masks drawn per epoch for dynamic masking).
import { closeSync } from 'node:fs';
import { CacheWriter, openCacheFile, readBody } from './cache-file.js';
import {
  ContiguousPacker,
  createInstancesFromDocument,
  createMaskedLmPredictions,
  type DocumentAccess,
  type MaskingOptions,
  type RawInstance,
  type Vocabulary,
} from './instances.js';
import { Rng } from './rng.js';
import type { TokenStore } from './token-store.js';

export const INSTANCES_KIND = 'instances';

export interface InstanceSetParams {
  split: 'train' | 'holdout';
  seqLen: number;
  /** Predictions stored per record: static masking's max_predictions; 0 for dynamic masking. */
  maxPredictions: number;
  shortSeqProb: number;
  dupeFactor: number;
  /** Segment pairs with NSP labels (true) or MLM-only contiguous packing (false). */
  nsp: boolean;
  masking: MaskingOptions;
  seed: number;
}

export interface InstanceSetMeta {
  count: number;
  seqLen: number;
  maxPredictions: number;
  width: 2 | 4;
  recordUnits: number;
  randomNext: number;
  tokens: number;
  predictions: number;
}

export function buildInstanceSet(
  store: TokenStore,
  docIds: Uint32Array,
  params: InstanceSetParams,
  vocab: Vocabulary,
  path: string,
  key: string,
): InstanceSetMeta {
  const T = params.seqLen;
  const P = params.maxPredictions;
  const width: 2 | 4 = store.meta.width === 2 && T < 65536 ? 2 : 4;
  const recordUnits = 4 + T + 2 * P;
  const meta: InstanceSetMeta = { count: 0, seqLen: T, maxPredictions: P, width, recordUnits, randomNext: 0, tokens: 0, predictions: 0 };
  const w = new CacheWriter(path, INSTANCES_KIND, key);
  const perChunk = Math.max(1, Math.floor((1 << 20) / (recordUnits * width)));
  const chunk = width === 2 ? new Uint16Array(perChunk * recordUnits) : new Int32Array(perChunk * recordUnits);
  let inChunk = 0;
  const flush = (): void => {
    if (inChunk === 0) return;
    w.write(new Uint8Array(chunk.buffer, 0, inChunk * recordUnits * width));
    chunk.fill(0);
    inChunk = 0;
  };
  const rng = new Rng(`${params.seed}|instances|${params.split}|${T}|${P}`);
  const order = Uint32Array.from(docIds);
  rng.shuffle(order);
  const docs: DocumentAccess = { numDocs: order.length, doc: (i) => store.doc(order[i]!) };

  const emit = (inst: RawInstance): void => {
    const r = chunk.subarray(inChunk * recordUnits, (inChunk + 1) * recordUnits);
    const n = inst.tokens.length;
    if (vocab.pad !== 0) r.fill(vocab.pad, 4, 4 + T);
    r[0] = inst.lenA;
    r[1] = inst.lenB;
    r[2] = inst.isRandomNext ? 1 : 0;
    for (let k = 0; k < n; k++) r[4 + k] = inst.tokens[k]!;
    if (P > 0) {
      const m = createMaskedLmPredictions(inst.tokens, n, params.masking, P, vocab, rng);
      r[3] = m.positions.length;
      for (let k = 0; k < m.positions.length; k++) {
        r[4 + T + k] = m.positions[k]!;
        r[4 + T + P + k] = m.replacements[k]!;
      }
      meta.predictions += m.positions.length;
    }
    meta.count++;
    meta.tokens += n;
    if (inst.isRandomNext) meta.randomNext++;
    if (++inChunk === perChunk) flush();
  };
  try {
    for (let d = 0; d < params.dupeFactor; d++) {
      if (params.nsp) {
        for (let i = 0; i < order.length; i++) createInstancesFromDocument(docs, i, T, params.shortSeqProb, rng, emit, vocab);
      } else {
        const packer = new ContiguousPacker(T, vocab, emit);
        for (let i = 0; i < order.length; i++) packer.addDocument(docs.doc(i));
        packer.finish();
      }
    }
    flush();
    w.finish(meta);
  } catch (e) {
    w.abort();
    throw e;
  }
  return meta;
}

/** Random access to the records of a verified instance file. */
export class InstanceSet {
  private all: Uint16Array | Int32Array | undefined;
  private fd: number;
  private scratch: Uint16Array | Int32Array;

  private constructor(fd: number, readonly meta: InstanceSetMeta, bodyBytes: number, memoryLimit: number) {
    this.fd = fd;
    this.scratch = meta.width === 2 ? new Uint16Array(meta.recordUnits) : new Int32Array(meta.recordUnits);
    if (bodyBytes <= memoryLimit) {
      const body = readBody(fd, 0, bodyBytes);
      this.all = meta.width === 2 ? new Uint16Array(body.buffer) : new Int32Array(body.buffer);
      closeSync(fd);
      this.fd = -1;
    }
  }

  static open(path: string, key: string, memoryLimit: number): InstanceSet | string {
    const r = openCacheFile<InstanceSetMeta>(path, INSTANCES_KIND, key);
    if (!r.ok) return r.reason;
    return new InstanceSet(r.fd, r.header.meta, r.header.bodyBytes, memoryLimit);
  }

  get count(): number {
    return this.meta.count;
  }

  /** Record i (a view valid until the next call). */
  record(i: number): Uint16Array | Int32Array {
    const u = this.meta.recordUnits;
    if (this.all) return this.all.subarray(i * u, (i + 1) * u);
    const bytes = u * this.meta.width;
    readBody(this.fd, i * bytes, bytes, new Uint8Array(this.scratch.buffer));
    return this.scratch;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.all = undefined;
  }
}
