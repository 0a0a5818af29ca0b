// Training a WordPiece vocabulary the way Hugging Face's WordPieceTrainer does: BPE over basic-tokenized
// words in which every non-initial character carries the `##` prefix, merging the most frequent
// adjacent pair (ties: the smaller pair of ids) until the vocabulary has `vocabSize` entries or no
// pair occurs `minFrequency` times. The vocabulary is the specials, the alphabet, then the merges.
// Documents are streamed; word counts are held in memory, one entry per distinct word, up to
// `maxWords`: past it the rarest words are dropped, as word2vec's ReduceVocab does, so a corpus
// with tens of millions of distinct words (a web or encyclopedia long tail) still trains within
// data.memory_limit. Pruning happens at fixed points of the word stream, so it is deterministic.
import { BertTokenizer, SPECIAL_TOKENS, codePointLength, type TokenizerOptions } from './tokenizer.js';
import { normalizeText, splitWords } from './basic-tokenizer.js';
import type { Document } from './corpus.js';

export interface TrainWordPieceOptions extends TokenizerOptions {
  vocabSize: number;
  /** A pair must occur at least this often to be merged. Default 2. */
  minFrequency?: number;
  /** Distinct words a counter keeps before it prunes the rarest (unbounded when absent). */
  maxWords?: number;
}

/** How often a counter had to drop its rarest words, and the highest count it dropped. */
export interface PruneStats {
  prunes: number;
  maxDroppedCount: number;
}

/** A counter's words, in first-occurrence order, and their counts. */
export interface WordCounts {
  words: string[];
  counts: ArrayLike<number>;
}

/** Counts basic-tokenized words; feed it sentences, then call `train`. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  readonly pruned: PruneStats = { prunes: 0, maxDroppedCount: 0 };
  private readonly maxWords: number;
  constructor(readonly opts: TrainWordPieceOptions) {
    this.maxWords = opts.maxWords ?? Infinity;
  }

  private add(word: string, n: number): void {
    const had = this.counts.get(word);
    this.counts.set(word, (had ?? 0) + n);
    if (had === undefined && this.counts.size > this.maxWords) this.prune();
  }

  /**
   * Drops the words seen once, then twice, ... until a quarter of the room is free (so pruning is
   * rare), keeping the survivors' order. A dropped word seen again starts from its new count.
   */
  private prune(): void {
    const target = Math.floor(this.maxWords * 0.75);
    for (let floor = 1; this.counts.size > target; floor++) {
      for (const [w, c] of this.counts) if (c <= floor) this.counts.delete(w);
      this.pruned.maxDroppedCount = Math.max(this.pruned.maxDroppedCount, floor);
    }
    this.pruned.prunes++;
  }

  addText(text: string): void {
    splitWords(normalizeText(text, { lowercase: this.opts.lowercase ?? true, stripAccents: this.opts.stripAccents }), (w) => this.add(w, 1));
  }

  addDocument(doc: Document): void {
    for (const s of doc) this.addText(s);
  }

  /** Adds another counter's words (a worker's batch or file), in their order, pruning as needed. */
  merge(other: WordCounts, otherPruned?: PruneStats): void {
    for (let i = 0; i < other.words.length; i++) this.add(other.words[i]!, other.counts[i]!);
    if (otherPruned) {
      this.pruned.prunes += otherPruned.prunes;
      this.pruned.maxDroppedCount = Math.max(this.pruned.maxDroppedCount, otherPruned.maxDroppedCount);
    }
  }

  train(): BertTokenizer {
    return trainFromCounts(this.counts, this.opts);
  }
}

export function trainWordPiece(documents: Iterable<Document>, opts: TrainWordPieceOptions): BertTokenizer {
  const c = new WordCounter(opts);
  for (const d of documents) c.addDocument(d);
  return c.train();
}

export async function trainWordPieceAsync(documents: AsyncIterable<Document>, opts: TrainWordPieceOptions): Promise<BertTokenizer> {
  const c = new WordCounter(opts);
  for await (const d of documents) c.addDocument(d);
  return c.train();
}

const SHIFT = 2097152; // 2^21: pair key = a * SHIFT + b, exact in a double for ids < 2^21

/** Max-heap of (count, key); ties pop the smaller key first. Lazy: stale entries are skipped. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  private better(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.keys.length && this.better(l, m)) m = l;
        if (r < this.keys.length && this.better(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

export function trainFromCounts(counts: Map<string, number>, opts: TrainWordPieceOptions): BertTokenizer {
  const maxChars = opts.maxCharsPerWord ?? 100;
  const minFrequency = opts.minFrequency ?? 2;
  const vocab: string[] = [...SPECIAL_TOKENS];
  const ids = new Map<string, number>();
  vocab.forEach((t, i) => ids.set(t, i));

  // The alphabet, in code point order (as HF sorts it), initial forms first, then `##` forms.
  const wordList: string[] = [];
  const chars = new Set<string>();
  for (const w of counts.keys()) {
    if (codePointLength(w) > maxChars) continue;
    wordList.push(w);
    for (const ch of w) chars.add(ch);
  }
  const alphabet = [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const symbol = (t: string): number => {
    let i = ids.get(t);
    if (i === undefined) {
      i = vocab.length;
      vocab.push(t);
      ids.set(t, i);
    }
    return i;
  };
  for (const ch of alphabet) symbol(ch);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const w of wordList) {
    const syms: number[] = [];
    let first = true;
    for (const ch of w) {
      syms.push(symbol(first ? ch : '##' + ch));
      first = false;
    }
    words.push(syms);
    freq.push(counts.get(w)!);
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const add = (key: number, c: number, wi: number): void => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + c);
    if (c > 0) {
      let s = where.get(key);
      if (!s) where.set(key, (s = new Set()));
      s.add(wi);
    }
  };
  words.forEach((syms, wi) => {
    for (let i = 0; i + 1 < syms.length; i++) add(syms[i]! * SHIFT + syms[i + 1]!, freq[wi]!, wi);
  });
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push(c, k);

  const changed = new Set<number>();
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [c, key] = heap.pop();
    if (pairCount.get(key) !== c || c <= 0) continue;
    if (c < minFrequency) break;
    const a = Math.floor(key / SHIFT);
    const b = key - a * SHIFT;
    const merged = vocab[a]! + (vocab[b]!.startsWith('##') ? vocab[b]!.slice(2) : vocab[b]!);
    const m = symbol(merged);
    changed.clear();
    for (const wi of where.get(key) ?? []) {
      const syms = words[wi]!;
      const f = freq[wi]!;
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] !== a || syms[i + 1] !== b) continue;
        if (i > 0) {
          const pk = syms[i - 1]! * SHIFT + a;
          add(pk, -f, wi);
          changed.add(pk);
        }
        if (i + 2 < syms.length) {
          const nk = b * SHIFT + syms[i + 2]!;
          add(nk, -f, wi);
          changed.add(nk);
        }
        syms.splice(i, 2, m);
        if (i > 0) {
          const pk = syms[i - 1]! * SHIFT + m;
          add(pk, f, wi);
          changed.add(pk);
        }
        if (i + 1 < syms.length) {
          const nk = m * SHIFT + syms[i + 1]!;
          add(nk, f, wi);
          changed.add(nk);
        }
      }
    }
    pairCount.delete(key);
    where.delete(key);
    for (const k of changed) {
      const n = pairCount.get(k)!;
      if (n > 0) heap.push(n, k);
    }
  }
  return new BertTokenizer(vocab, opts, 'trained vocabulary');
}
