// The tokenized corpus on disk: every document as [sentence count, sentence lengths, token ids]
// (ids as uint16 when the vocabulary fits, else int32), followed by an index of document offsets.
// Written while streaming the corpus (memory: one document plus the offsets, 8 bytes a document);
// read by random access (whole body in memory when it is small, positional reads otherwise).
import { closeSync } from 'node:fs';
import { CacheWriter, openCacheFile, readBody } from './cache-file.js';

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

export class TokenStoreWriter {
  private w: CacheWriter;
  private offsets: number[] = [];
  private pos = 0;
  meta: TokenStoreMeta;

  constructor(path: string, key: string, vocabSize: number, private unkId: number) {
    this.w = new CacheWriter(path, TOKENS_KIND, key);
    this.meta = { numDocs: 0, numSentences: 0, numTokens: 0, unkTokens: 0, width: vocabSize <= 65536 ? 2 : 4, indexOffset: 0 };
  }

  /** Appends a document given as token-id arrays per sentence (empty sentences skipped). */
  addDocument(sentences: number[][]): void {
    const sents = sentences.filter((s) => s.length > 0);
    if (sents.length === 0) return;
    let tokens = 0;
    for (const s of sents) tokens += s.length;
    const headBytes = 4 * (1 + sents.length);
    const tokBytes = tokens * this.meta.width;
    const bytes = (headBytes + tokBytes + 7) & ~7; // 8-aligned, so the offset index can be a Float64Array
    const block = new ArrayBuffer(bytes);
    const head = new Uint32Array(block, 0, 1 + sents.length);
    head[0] = sents.length;
    const ids = this.meta.width === 2 ? new Uint16Array(block, headBytes, tokens) : new Int32Array(block, headBytes, tokens);
    let k = 0;
    sents.forEach((s, i) => {
      head[1 + i] = s.length;
      for (const id of s) {
        if (id === this.unkId) this.meta.unkTokens++;
        ids[k++] = id;
      }
    });
    this.offsets.push(this.pos);
    this.pos += bytes;
    this.w.write(new Uint8Array(block));
    this.meta.numDocs++;
    this.meta.numSentences += sents.length;
    this.meta.numTokens += tokens;
  }

  finish(): TokenStoreMeta {
    this.offsets.push(this.pos);
    this.meta.indexOffset = this.pos;
    this.w.write(new Uint8Array(Float64Array.from(this.offsets).buffer));
    this.w.finish(this.meta);
    return this.meta;
  }

  abort(): void {
    this.w.abort();
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
