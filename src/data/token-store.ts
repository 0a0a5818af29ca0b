// The tokenized corpus on disk: every document as [sentence count, sentence lengths, token ids]
// (ids as uint16 when the vocabulary fits, else int32), followed by an index of document offsets.
// Written while streaming the corpus (memory: one document plus the offsets, 8 bytes a document);
// read by random access (whole body in memory when it is small, positional reads otherwise).
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CacheWriter, HEADER_BYTES, openCacheFile, readBody, type WriterPosition } from './cache-file.js';

export const TOKENS_KIND = 'tokens';

export interface TokenStoreMeta {
  numDocs: number;
  numSentences: number;
  numTokens: number;
  unkTokens: number;
  /** Bytes per token id: 2 or 4. */
  width: 2 | 4;
  indexOffset: number;
}

export type Sentence = Uint16Array | Int32Array;

/** The checkpoint of a partly written token store: `<path>.partial.json`, next to the body and offsets. */
interface TokenStoreCheckpoint {
  key: string;
  at: WriterPosition;
  meta: TokenStoreMeta;
  /** Corpus documents consumed (empty ones included): a resumed build skips these. */
  inputDocuments: number;
  /** Built shard by shard: the corpus files done (a resumed build starts at the next). */
  shards?: number;
}

const checkpointFile = (path: string) => `${path}.partial.json`;
const offsetsFile = (path: string) => `${path}.partial.offsets`;

/** One document's block in the store: [sentence count, lengths, ids] padded to 8 bytes (undefined when every sentence is empty). */
export function encodeBlock(sentences: ArrayLike<number>[], width: 2 | 4, unkId: number): { bytes: Uint8Array; sentences: number; tokens: number; unk: number } | undefined {
  const sents = sentences.filter((s) => s.length > 0);
  if (sents.length === 0) return undefined;
  let tokens = 0;
  for (const s of sents) tokens += s.length;
  const headBytes = 4 * (1 + sents.length);
  const bytes = (headBytes + tokens * width + 7) & ~7; // 8-aligned, so the offset index can be a Float64Array
  const block = new ArrayBuffer(bytes);
  const head = new Uint32Array(block, 0, 1 + sents.length);
  head[0] = sents.length;
  const ids = width === 2 ? new Uint16Array(block, headBytes, tokens) : new Int32Array(block, headBytes, tokens);
  let k = 0;
  let unk = 0;
  sents.forEach((s, i) => {
    head[1 + i] = s.length;
    for (let j = 0; j < s.length; j++) {
      const id = s[j]!;
      if (id === unkId) unk++;
      ids[k++] = id;
    }
  });
  return { bytes: new Uint8Array(block), sentences: sents.length, tokens, unk };
}

/** Documents encoded elsewhere (a worker's shard): their blocks back to back and where each starts. */
export interface EncodedBlocks {
  bytes: Uint8Array;
  /** Start of each document's block within `bytes`. */
  offsets: Float64Array;
  sentences: number;
  tokens: number;
  unk: number;
}

export class TokenStoreWriter {
  private w: CacheWriter;
  private offsets: number[] = [];
  /** Offsets already appended to the .partial.offsets file. */
  private savedOffsets = 0;
  private pos = 0;
  meta: TokenStoreMeta;

  /**
   * `resumable`: the body is written to `<path>.partial` and `checkpoint` records how far it got,
   * so that `resume` can continue the build in a later process.
   */
  constructor(
    private readonly path: string,
    private readonly key: string,
    vocabSize: number,
    private unkId: number,
    private readonly resumable = false,
    from?: TokenStoreCheckpoint & { offsets: number[] },
  ) {
    this.w = new CacheWriter(path, TOKENS_KIND, key, resumable, from?.at);
    this.meta = from ? { ...from.meta } : { numDocs: 0, numSentences: 0, numTokens: 0, unkTokens: 0, width: vocabSize <= 65536 ? 2 : 4, indexOffset: 0 };
    if (from) {
      this.offsets = from.offsets;
      this.savedOffsets = from.offsets.length;
      this.pos = from.at.bodyBytes;
    } else if (resumable) {
      rmSync(offsetsFile(path), { force: true });
      rmSync(checkpointFile(path), { force: true });
    }
  }

  /**
   * A resumable build of this store left by a killed process: the writer continuing it and the
   * corpus documents already consumed; undefined when there is none, or it is for another key, or
   * its files do not add up (then the build starts over).
   */
  static resume(path: string, key: string, vocabSize: number, unkId: number): { writer: TokenStoreWriter; inputDocuments: number; shards?: number } | undefined {
    let c: TokenStoreCheckpoint;
    try {
      c = JSON.parse(readFileSync(checkpointFile(path), 'utf8')) as TokenStoreCheckpoint;
    } catch {
      return undefined;
    }
    if (c.key !== key || !existsSync(`${path}.partial`) || !existsSync(offsetsFile(path))) return undefined;
    if (statSync(`${path}.partial`).size < HEADER_BYTES + c.at.bodyBytes) return undefined;
    const bytes = readFileSync(offsetsFile(path));
    if (bytes.length < 8 * c.meta.numDocs) return undefined;
    const offsets = Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 8 * c.meta.numDocs)));
    if (offsets.length > 0 && offsets[offsets.length - 1]! >= c.at.bodyBytes) return undefined;
    writeFileSync(offsetsFile(path), bytes.subarray(0, 8 * c.meta.numDocs));
    return { writer: new TokenStoreWriter(path, key, vocabSize, unkId, true, { ...c, offsets }), inputDocuments: c.inputDocuments, ...(c.shards !== undefined ? { shards: c.shards } : {}) };
  }

  /** Records (durably) everything written so far and the corpus documents it came from. */
  checkpoint(inputDocuments: number, shards?: number): void {
    if (!this.resumable) throw new Error('checkpoint: not a resumable token store writer');
    const at = this.w.checkpoint();
    appendFileSync(offsetsFile(this.path), new Uint8Array(Float64Array.from(this.offsets.slice(this.savedOffsets)).buffer));
    this.savedOffsets = this.offsets.length;
    const c: TokenStoreCheckpoint = { key: this.key, at, meta: this.meta, inputDocuments, ...(shards !== undefined ? { shards } : {}) };
    writeFileSync(`${checkpointFile(this.path)}.tmp`, JSON.stringify(c));
    renameSync(`${checkpointFile(this.path)}.tmp`, checkpointFile(this.path));
  }

  /** Appends a document given as token-id arrays per sentence (empty sentences skipped). */
  addDocument(sentences: ArrayLike<number>[]): void {
    const b = encodeBlock(sentences, this.meta.width, this.unkId);
    if (!b) return;
    this.addBlocks({ bytes: b.bytes, offsets: Float64Array.of(0), sentences: b.sentences, tokens: b.tokens, unk: b.unk });
  }

  /** Appends documents already encoded as blocks (encodeBlock), in order. */
  addBlocks(b: EncodedBlocks): void {
    for (const o of b.offsets) this.offsets.push(this.pos + o);
    this.pos += b.bytes.byteLength;
    this.w.write(b.bytes);
    this.meta.numDocs += b.offsets.length;
    this.meta.numSentences += b.sentences;
    this.meta.numTokens += b.tokens;
    this.meta.unkTokens += b.unk;
  }

  /** Appends a worker's segment file of blocks (prep-jobs.ts SegmentResult), read in chunks. */
  addSegment(path: string, s: Omit<EncodedBlocks, 'bytes'> & { bytes: number }): void {
    for (const o of s.offsets) this.offsets.push(this.pos + o);
    const fd = openSync(path, 'r');
    try {
      const chunk = new Uint8Array(8 << 20);
      for (let done = 0; done < s.bytes; ) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, s.bytes - done), done);
        if (n <= 0) throw new Error(`${path}: segment shorter than ${s.bytes} bytes`);
        this.w.write(chunk.subarray(0, n));
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    this.pos += s.bytes;
    this.meta.numDocs += s.offsets.length;
    this.meta.numSentences += s.sentences;
    this.meta.numTokens += s.tokens;
    this.meta.unkTokens += s.unk;
  }

  get width(): 2 | 4 {
    return this.meta.width;
  }

  finish(): TokenStoreMeta {
    this.offsets.push(this.pos);
    this.meta.indexOffset = this.pos;
    this.w.write(new Uint8Array(Float64Array.from(this.offsets).buffer));
    this.w.finish(this.meta);
    this.removeCheckpoint();
    return this.meta;
  }

  abort(): void {
    this.w.abort();
    this.removeCheckpoint();
  }

  private removeCheckpoint(): void {
    if (!this.resumable) return;
    rmSync(checkpointFile(this.path), { force: true });
    rmSync(offsetsFile(this.path), { force: true });
  }
}

export class TokenStore {
  private body: Uint8Array | undefined;
  private offsets: Float64Array;
  private cache = new Map<number, Sentence[]>();

  private constructor(
    private fd: number,
    readonly meta: TokenStoreMeta,
    bodyBytes: number,
    memoryLimit: number,
  ) {
    if (bodyBytes <= memoryLimit) {
      this.body = readBody(fd, 0, bodyBytes);
      this.offsets = new Float64Array(this.body.buffer, meta.indexOffset, meta.numDocs + 1);
      closeSync(fd);
      this.fd = -1;
    } else {
      const idx = readBody(fd, meta.indexOffset, 8 * (meta.numDocs + 1));
      this.offsets = new Float64Array(idx.buffer);
    }
  }

  /** Opens a verified store, or returns the reason it cannot be used. */
  static open(path: string, key: string, memoryLimit: number): TokenStore | string {
    const r = openCacheFile<TokenStoreMeta>(path, TOKENS_KIND, key);
    if (!r.ok) return r.reason;
    return new TokenStore(r.fd, r.header.meta, r.header.bodyBytes, memoryLimit);
  }

  get numDocs(): number {
    return this.meta.numDocs;
  }

  /** The sentences of document `i` (views; do not modify). */
  doc(i: number): Sentence[] {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const start = this.offsets[i]!;
    const bytes = this.offsets[i + 1]! - start;
    let buf: ArrayBuffer;
    let base: number;
    if (this.body) {
      buf = this.body.buffer as ArrayBuffer;
      base = this.body.byteOffset + start;
    } else {
      buf = readBody(this.fd, start, bytes).buffer as ArrayBuffer;
      base = 0;
    }
    const n = new Uint32Array(buf, base, 1)[0]!;
    const lens = new Uint32Array(buf, base + 4, n);
    let off = base + 4 * (1 + n);
    const out: Sentence[] = [];
    for (let s = 0; s < n; s++) {
      const len = lens[s]!;
      out.push(this.meta.width === 2 ? new Uint16Array(buf, off, len) : new Int32Array(buf, off, len));
      off += len * this.meta.width;
    }
    if (!this.body) {
      if (this.cache.size >= 1024) this.cache.clear();
      this.cache.set(i, out);
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.body = undefined;
    this.cache.clear();
  }
}
