// Pretraining instances as google-research/bert create_pretraining_data.py makes them (followed
// line by line: create_instances_from_document, create_masked_lm_predictions, truncate_seq_pair),
// over token ids instead of strings, with our own seeded RNG; plus MLM-only packing of contiguous
// text (RoBERTa's FULL-SENTENCES: documents joined with [SEP], cut into full-length sequences).
// Pure functions over documents given as arrays of sentences; no files, no batches.
import { Rng, roundHalfEven } from './rng.js';

export interface MaskingOptions {
  /** Fraction of tokens to predict. Google: 0.15. */
  maskProb: number;
  /** Replacement mix for predicted tokens; sums to 1. Google: mask 0.8, random 0.1, keep 0.1. */
  replace: { mask: number; random: number; keep: number };
  wholeWord: boolean;
}

export interface Vocabulary {
  size: number;
  cls: number;
  sep: number;
  mask: number;
  pad: number;
  /** 1 for `##` pieces. */
  isContinuation: Uint8Array;
}

/** One segment pair (or one packed sequence), unmasked: tokens include [CLS] and [SEP]s. */
export interface RawInstance {
  tokens: number[];
  /** Tokens of segment A (without specials); token type 0 covers lenA + 2 positions. */
  lenA: number;
  /** Tokens of segment B (0 for MLM-only packing). */
  lenB: number;
  isRandomNext: boolean;
}

export interface MaskedLm {
  /** Sorted positions to predict. */
  positions: number[];
  /** The input token placed at each position ([MASK], a random token, or the original). */
  replacements: number[];
}

type Doc = ArrayLike<ArrayLike<number>>;

export interface DocumentAccess {
  numDocs: number;
  doc(i: number): Doc;
}

function extend(out: number[], xs: ArrayLike<number>): void {
  for (let i = 0; i < xs.length; i++) out.push(xs[i]!);
}

/** create_instances_from_document: segment pairs with NSP labels for one document. */
export function createInstancesFromDocument(
  docs: DocumentAccess,
  documentIndex: number,
  seqLen: number,
  shortSeqProb: number,
  rng: Rng,
  emit: (inst: RawInstance) => void,
  vocab: Pick<Vocabulary, 'cls' | 'sep'>,
): void {
  const document = docs.doc(documentIndex);
  // Account for [CLS], [SEP], [SEP]
  const maxNumTokens = seqLen - 3;
  let targetSeqLength = maxNumTokens;
  if (rng.random() < shortSeqProb) targetSeqLength = rng.randint(2, maxNumTokens);

  let currentChunk: ArrayLike<number>[] = [];
  let currentLength = 0;
  let i = 0;
  while (i < document.length) {
    const segment = document[i]!;
    currentChunk.push(segment);
    currentLength += segment.length;
    if (i === document.length - 1 || currentLength >= targetSeqLength) {
      if (currentChunk.length > 0) {
        // `aEnd` is how many segments from `currentChunk` go into the A (first) sentence.
        let aEnd = 1;
        if (currentChunk.length >= 2) aEnd = rng.randint(1, currentChunk.length - 1);
        const tokensA: number[] = [];
        for (let j = 0; j < aEnd; j++) extend(tokensA, currentChunk[j]!);
        const tokensB: number[] = [];
        let isRandomNext = false;
        if (currentChunk.length === 1 || rng.random() < 0.5) {
          isRandomNext = true;
          const targetBLength = targetSeqLength - tokensA.length;
          // Try to pick a document other than this one (rarely more than one try).
          let randomDocumentIndex = 0;
          for (let t = 0; t < 10; t++) {
            randomDocumentIndex = rng.randint(0, docs.numDocs - 1);
            if (randomDocumentIndex !== documentIndex) break;
          }
          const randomDocument = docs.doc(randomDocumentIndex);
          const randomStart = rng.randint(0, randomDocument.length - 1);
          for (let j = randomStart; j < randomDocument.length; j++) {
            extend(tokensB, randomDocument[j]!);
            if (tokensB.length >= targetBLength) break;
          }
          // The segments of this chunk we did not use go back, so they are not wasted.
          const numUnusedSegments = currentChunk.length - aEnd;
          i -= numUnusedSegments;
        } else {
          for (let j = aEnd; j < currentChunk.length; j++) extend(tokensB, currentChunk[j]!);
        }
        truncateSeqPair(tokensA, tokensB, maxNumTokens, rng);
        if (tokensA.length < 1 || tokensB.length < 1) throw new Error('instance with an empty segment');
        const tokens = [vocab.cls, ...tokensA, vocab.sep, ...tokensB, vocab.sep];
        emit({ tokens, lenA: tokensA.length, lenB: tokensB.length, isRandomNext });
      }
      currentChunk = [];
      currentLength = 0;
    }
    i++;
  }
}

/** truncate_seq_pair: drop tokens from the longer segment, from the front or back at random. */
export function truncateSeqPair(tokensA: number[], tokensB: number[], maxNumTokens: number, rng: Rng): void {
  while (tokensA.length + tokensB.length > maxNumTokens) {
    const trunc = tokensA.length > tokensB.length ? tokensA : tokensB;
    if (rng.random() < 0.5) trunc.shift();
    else trunc.pop();
  }
}

/**
 * create_masked_lm_predictions: min(maxPredictions, max(1, round(len * maskProb))) positions
 * (len counts [CLS]/[SEP]; Python rounding, half to even), never [CLS]/[SEP]; with whole-word
 * masking a word and its `##` pieces are chosen together (skipped when they would exceed the
 * count). Each chosen token becomes [MASK] with p=mask, else itself with p=keep/(keep+random),
 * else a uniformly random id of the whole vocabulary.
 */
export function createMaskedLmPredictions(
  tokens: ArrayLike<number>,
  length: number,
  opts: MaskingOptions,
  maxPredictions: number,
  vocab: Vocabulary,
  rng: Rng,
): MaskedLm {
  const candIndexes: number[][] = [];
  for (let i = 0; i < length; i++) {
    const t = tokens[i]!;
    if (t === vocab.cls || t === vocab.sep) continue;
    if (opts.wholeWord && candIndexes.length >= 1 && vocab.isContinuation[t]) candIndexes[candIndexes.length - 1]!.push(i);
    else candIndexes.push([i]);
  }
  rng.shuffle(candIndexes);
  const numToPredict = Math.min(maxPredictions, Math.max(1, roundHalfEven(length * opts.maskProb)));
  const keepShare = opts.replace.keep + opts.replace.random > 0 ? opts.replace.keep / (opts.replace.keep + opts.replace.random) : 1;
  const chosen: [number, number][] = [];
  for (const indexSet of candIndexes) {
    if (chosen.length >= numToPredict) break;
    // Adding a whole word that would exceed the count: skip it.
    if (chosen.length + indexSet.length > numToPredict) continue;
    // Index sets never overlap here (each position is in one set), so no covered-check is needed.
    for (const index of indexSet) {
      let replacement: number;
      if (rng.random() < opts.replace.mask) replacement = vocab.mask;
      else if (rng.random() < keepShare) replacement = tokens[index]!;
      else replacement = rng.randint(0, vocab.size - 1);
      chosen.push([index, replacement]);
    }
  }
  chosen.sort((a, b) => a[0] - b[0]);
  return { positions: chosen.map((c) => c[0]), replacements: chosen.map((c) => c[1]) };
}

/**
 * MLM-only packing: the documents' tokens in order, a [SEP] between documents, cut into sequences of
 * seqLen - 2 tokens framed by [CLS] ... [SEP]. Holds one partial sequence between calls.
 */
export class ContiguousPacker {
  private buf: number[] = [];
  constructor(
    private seqLen: number,
    private vocab: Pick<Vocabulary, 'cls' | 'sep'>,
    private emit: (inst: RawInstance) => void,
  ) {}

  addDocument(doc: Doc): void {
    const max = this.seqLen - 2;
    if (this.buf.length > 0) {
      this.buf.push(this.vocab.sep);
      if (this.buf.length === max) this.flush();
    }
    for (let s = 0; s < doc.length; s++) {
      const sent = doc[s]!;
      for (let k = 0; k < sent.length; k++) {
        this.buf.push(sent[k]!);
        if (this.buf.length === max) this.flush();
      }
    }
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    // A lone document separator at the start carries nothing.
    if (this.buf.length === 1 && this.buf[0] === this.vocab.sep) {
      this.buf = [];
      return;
    }
    this.emit({ tokens: [this.vocab.cls, ...this.buf, this.vocab.sep], lenA: this.buf.length, lenB: 0, isRandomNext: false });
    this.buf = [];
  }

  /** Emits the last, shorter sequence. */
  finish(): void {
    this.flush();
  }
}
