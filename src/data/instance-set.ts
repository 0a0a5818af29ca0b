// A cached set of instances for one split and one sequence length: fixed-size records, so record i
// is at a known offset and an epoch is a permutation of record numbers. Built by streaming documents
// from the TokenStore through instances.ts into a CacheWriter (memory: the documents touched and a
// few blocks of records, not the instances). Segment pairs (NSP) are Google's algorithm with one
// random stream per (dupe pass, document) instead of one for the whole set: a document's pairs,
// random-next picks and masks depend on nothing built before it, so document ranges can be built on
// worker threads (prep-jobs.ts) and concatenated, byte-identical for any thread count. MLM-only
// packing cuts sequences across documents and stays one sequential pass on one stream.
// Record layout, in units of `width` bytes (uint16 or int32):
//   [lenA, lenB, isRandomNext, numPredictions, tokens[T] (padded with [PAD]), positions[P], inputs[P]]
// where tokens are the originals and inputs[k] is what the model sees at positions[k] (static
// masking only; P = 0 and masks drawn per epoch for dynamic masking).
import { closeSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CacheWriter, HEADER_BYTES, openCacheFile, readBody, type WriterPosition } from './cache-file.js';
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

/** Instance totals, summed over record blocks. */
export type InstanceCounts = Pick<InstanceSetMeta, 'count' | 'randomNext' | 'tokens' | 'predictions'>;

/** A run of whole records and what they hold. */
export interface RecordBlock extends InstanceCounts {
  bytes: Uint8Array;
}

/** Record geometry of a set: id width (the store's, widened when T does not fit) and units per record. */
export function recordLayout(storeWidth: 2 | 4, params: Pick<InstanceSetParams, 'seqLen' | 'maxPredictions'>): { width: 2 | 4; recordUnits: number } {
  const width: 2 | 4 = storeWidth === 2 && params.seqLen < 65536 ? 2 : 4;
  return { width, recordUnits: 4 + params.seqLen + 2 * params.maxPredictions };
}

/** Fills fixed-size records from instances (masking them when the set is statically masked). */
class RecordEncoder {
  private units: Uint16Array | Int32Array;
  private used = 0;
  readonly counts: InstanceCounts = { count: 0, randomNext: 0, tokens: 0, predictions: 0 };

  constructor(
    private readonly params: InstanceSetParams,
    private readonly vocab: Vocabulary,
    private readonly width: 2 | 4,
    private readonly recordUnits: number,
    capacity = 64,
  ) {
    this.units = width === 2 ? new Uint16Array(capacity * recordUnits) : new Int32Array(capacity * recordUnits);
  }

  get records(): number {
    return this.used / this.recordUnits;
  }

  add(inst: RawInstance, rng: Rng): void {
    const T = this.params.seqLen;
    const P = this.params.maxPredictions;
    if (this.used + this.recordUnits > this.units.length) {
      const grown = this.width === 2 ? new Uint16Array(this.units.length * 2) : new Int32Array(this.units.length * 2);
      grown.set(this.units);
      this.units = grown;
    }
    const r = this.units.subarray(this.used, this.used + this.recordUnits);
    this.used += this.recordUnits;
    const n = inst.tokens.length;
    if (this.vocab.pad !== 0) r.fill(this.vocab.pad, 4, 4 + T);
    r[0] = inst.lenA;
    r[1] = inst.lenB;
    r[2] = inst.isRandomNext ? 1 : 0;
    for (let k = 0; k < n; k++) r[4 + k] = inst.tokens[k]!;
    if (P > 0) {
      const m = createMaskedLmPredictions(inst.tokens, n, this.params.masking, P, this.vocab, rng);
      r[3] = m.positions.length;
      for (let k = 0; k < m.positions.length; k++) {
        r[4 + T + k] = m.positions[k]!;
        r[4 + T + P + k] = m.replacements[k]!;
      }
      this.counts.predictions += m.positions.length;
    }
    this.counts.count++;
    this.counts.tokens += n;
    if (inst.isRandomNext) this.counts.randomNext++;
  }

  /** The records so far as bytes (a copy), and their counts; the encoder starts empty again. */
  take(): RecordBlock {
    const bytes = new Uint8Array(this.units.buffer, 0, this.used * this.width).slice();
    const block = { bytes, ...this.counts };
    this.units.fill(0, 0, this.used);
    this.used = 0;
    Object.assign(this.counts, { count: 0, randomNext: 0, tokens: 0, predictions: 0 });
    return block;
  }
}

/**
 * The shuffled document order of a set (docs.doc(i) is store document order[i]), and the stream
 * that shuffled it, which MLM-only packing goes on to mask with.
 */
export function instanceOrder(docIds: Uint32Array, params: InstanceSetParams): { order: Uint32Array; rng: Rng } {
  const rng = new Rng(`${params.seed}|instances|${params.split}|${params.seqLen}|${params.maxPredictions}`);
  return { order: rng.shuffle(Uint32Array.from(docIds)), rng };
}

/**
 * Segment-pair (NSP) records of documents [from, to) of dupe pass `pass`. Each (pass, document) has
 * its own random stream, used for its segment pairs, its random-next documents and its masks, so a
 * range's records do not depend on any other range: ranges built in any thread, concatenated in
 * order, give the same bytes as one thread building them all.
 */
export function segmentPairRecords(docs: DocumentAccess, pass: number, from: number, to: number, params: InstanceSetParams, vocab: Vocabulary, storeWidth: 2 | 4): RecordBlock {
  const { width, recordUnits } = recordLayout(storeWidth, params);
  const encoder = new RecordEncoder(params, vocab, width, recordUnits);
  for (let i = from; i < to; i++) {
    const rng = new Rng(`${params.seed}|instances|${params.split}|${params.seqLen}|${params.maxPredictions}|${pass}|${i}`);
    createInstancesFromDocument(docs, i, params.seqLen, params.shortSeqProb, rng, (inst) => encoder.add(inst, rng), vocab);
  }
  return encoder.take();
}

/** A range of segment-pair records to build: documents [from, to) of one dupe pass. */
export interface RecordJob {
  pass: number;
  from: number;
  to: number;
}

/** Document ranges of about `bytes` of records each (the unit handed to a thread), pass by pass. */
export function recordJobs(store: TokenStore, numDocs: number, params: InstanceSetParams, bytes = 4 << 20): RecordJob[] {
  const { width, recordUnits } = recordLayout(store.meta.width, params);
  const tokensPerDoc = store.meta.numTokens / Math.max(1, store.meta.numDocs);
  const recordsPerDoc = tokensPerDoc / Math.max(1, params.seqLen - 3) + 1;
  const perJob = Math.max(1, Math.floor(bytes / (recordsPerDoc * recordUnits * width)));
  const jobs: RecordJob[] = [];
  for (let pass = 0; pass < params.dupeFactor; pass++) {
    for (let from = 0; from < numDocs; from += perJob) jobs.push({ pass, from, to: Math.min(numDocs, from + perJob) });
  }
  return jobs;
}

/** Where a segment-pair build stood at its last checkpoint: `<path>.partial.json`, next to `<path>.partial`. */
interface InstanceCheckpoint {
  key: string;
  at: WriterPosition;
  /** Record jobs (recordJobs) appended so far; a resumed build starts at the next. */
  jobs: number;
  counts: InstanceCounts;
}

const checkpointFile = (path: string) => `${path}.partial.json`;

function readCheckpoint(path: string, key: string): InstanceCheckpoint | undefined {
  let c: InstanceCheckpoint;
  try {
    c = JSON.parse(readFileSync(checkpointFile(path), 'utf8')) as InstanceCheckpoint;
  } catch {
    return undefined;
  }
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  // A damaged checkpoint means building from the start, never wrong totals in the header.
  if (c.key !== key || !count(c.jobs) || !count(c.at?.bodyBytes) || !count(c.at?.crc) || !['count', 'randomNext', 'tokens', 'predictions'].every((k) => count((c.counts as Record<string, unknown> | undefined)?.[k]))) return undefined;
  if (!existsSync(`${path}.partial`) || statSync(`${path}.partial`).size < HEADER_BYTES + c.at.bodyBytes) return undefined;
  return c;
}

export interface BuildInstanceOptions {
  /** Builds record blocks of jobs on worker threads (results in job order); absent: built here. */
  blocks?: (order: Uint32Array, jobs: RecordJob[]) => AsyncIterable<RecordBlock>;
  /** How often (ms) a segment-pair build records how far it got. Default 5000. */
  checkpointMs?: number;
  log?: (message: string) => void;
}

/**
 * Writes the instance set of `docIds` to `path`. Segment pairs (NSP) are built as record blocks in
 * document ranges, by `blocks` when given (worker threads, results in job order) or here, and are
 * resumable: a checkpoint every `checkpointMs` lets a killed build continue at the next range.
 * MLM-only packing cuts sequences across documents, a sequential pass on one stream, built here
 * from the start each time.
 */
export async function buildInstanceSet(
  store: TokenStore,
  docIds: Uint32Array,
  params: InstanceSetParams,
  vocab: Vocabulary,
  path: string,
  key: string,
  opts: BuildInstanceOptions = {},
): Promise<InstanceSetMeta> {
  const { width, recordUnits } = recordLayout(store.meta.width, params);
  const meta: InstanceSetMeta = { count: 0, seqLen: params.seqLen, maxPredictions: params.maxPredictions, width, recordUnits, randomNext: 0, tokens: 0, predictions: 0 };
  const resumed = params.nsp ? readCheckpoint(path, key) : undefined;
  if (!resumed) rmSync(checkpointFile(path), { force: true });
  const w = new CacheWriter(path, INSTANCES_KIND, key, params.nsp, resumed?.at);
  if (resumed) Object.assign(meta, resumed.counts);
  const { order, rng } = instanceOrder(docIds, params);
  const docs: DocumentAccess = { numDocs: order.length, doc: (i) => store.doc(order[i]!) };
  const append = (b: RecordBlock): void => {
    if (b.count === 0) return;
    w.write(b.bytes);
    meta.count += b.count;
    meta.randomNext += b.randomNext;
    meta.tokens += b.tokens;
    meta.predictions += b.predictions;
  };
  try {
    if (params.nsp) {
      const jobs = recordJobs(store, order.length, params);
      let done = resumed?.jobs ?? 0;
      if (resumed) opts.log?.(`data: continuing the instance cache ${path} after ${done.toLocaleString('en-US')} of ${jobs.length.toLocaleString('en-US')} document ranges`);
      let saved = performance.now();
      const appendJob = (b: RecordBlock): void => {
        append(b);
        done++;
        if (performance.now() - saved < (opts.checkpointMs ?? 5000)) return;
        const c: InstanceCheckpoint = { key, at: w.checkpoint(), jobs: done, counts: { count: meta.count, randomNext: meta.randomNext, tokens: meta.tokens, predictions: meta.predictions } };
        writeFileSync(`${checkpointFile(path)}.tmp`, JSON.stringify(c));
        renameSync(`${checkpointFile(path)}.tmp`, checkpointFile(path));
        saved = performance.now();
      };
      const rest = jobs.slice(done);
      if (opts.blocks) for await (const b of opts.blocks(order, rest)) appendJob(b);
      else for (const j of rest) appendJob(segmentPairRecords(docs, j.pass, j.from, j.to, params, vocab, store.meta.width));
    } else {
      const encoder = new RecordEncoder(params, vocab, width, recordUnits);
      const perBlock = Math.max(1, Math.floor((1 << 20) / (recordUnits * width)));
      for (let d = 0; d < params.dupeFactor; d++) {
        const packer = new ContiguousPacker(params.seqLen, vocab, (inst) => {
          encoder.add(inst, rng);
          if (encoder.records >= perBlock) append(encoder.take());
        });
        for (let i = 0; i < order.length; i++) packer.addDocument(docs.doc(i));
        packer.finish();
      }
      append(encoder.take());
    }
    w.finish(meta);
    rmSync(checkpointFile(path), { force: true });
  } catch (e) {
    w.abort();
    rmSync(checkpointFile(path), { force: true });
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
