// The per-batch work of data preparation, the same code in worker threads and in this thread:
// counting basic-tokenized words (WordPiece training) and WordPiece-encoding documents. A batch's
// result keeps its documents' order and its words' first-occurrence order, so merging results in
// batch order gives exactly the single-threaded counts (insertion order included, which fixes the
// trained vocabulary's ids) and the same token store, byte for byte.
import { BertTokenizer, type TokenizerOptions } from './tokenizer.js';
import { WordCounter, type TrainWordPieceOptions } from './train-wordpiece.js';
import type { Document } from './corpus.js';

/** What a worker needs: the counting options, or the tokenizer to encode with. */
export type PrepSetup = { kind: 'count'; options: TrainWordPieceOptions } | { kind: 'encode'; vocab: string[]; options: TokenizerOptions };

/** Word counts of a batch, words in first-occurrence order. */
export interface CountResult {
  words: string[];
  counts: Float64Array;
  documents: number;
}

/** A batch's documents encoded: per document its sentence count, per sentence its length, then the ids. */
export interface EncodeResult {
  docSentences: Int32Array;
  sentenceLengths: Int32Array;
  ids: Int32Array;
}

export type PrepResult = CountResult | EncodeResult;

export interface PrepWorker {
  run(docs: Document[]): PrepResult;
}

export function prepWorker(setup: PrepSetup): PrepWorker {
  if (setup.kind === 'count') {
    return {
      run(docs: Document[]): CountResult {
        const counter = new WordCounter(setup.options);
        for (const d of docs) counter.addDocument(d);
        return { words: [...counter.counts.keys()], counts: Float64Array.from(counter.counts.values()), documents: docs.length };
      },
    };
  }
  const tokenizer = new BertTokenizer(setup.vocab, setup.options);
  return {
    run(docs: Document[]): EncodeResult {
      const docSentences = new Int32Array(docs.length);
      const lengths: number[] = [];
      const ids: number[] = [];
      docs.forEach((doc, d) => {
        docSentences[d] = doc.length;
        for (const s of doc) {
          const before = ids.length;
          for (const id of tokenizer.encode(s)) ids.push(id);
          lengths.push(ids.length - before);
        }
      });
      return { docSentences, sentenceLengths: Int32Array.from(lengths), ids: Int32Array.from(ids) };
    },
  };
}

/** The documents of an encode result, each as its sentences' id arrays (views into the result). */
export function* encodedDocuments(r: EncodeResult): Generator<Int32Array[]> {
  let s = 0;
  let at = 0;
  for (const n of r.docSentences) {
    const doc: Int32Array[] = [];
    for (let k = 0; k < n; k++, s++) {
      const len = r.sentenceLengths[s]!;
      doc.push(r.ids.subarray(at, at + len));
      at += len;
    }
    yield doc;
  }
}

/** Merges a batch's counts into `into` (new words appended in the batch's order). */
export function mergeCounts(into: Map<string, number>, r: CountResult): void {
  r.words.forEach((w, i) => into.set(w, (into.get(w) ?? 0) + r.counts[i]!));
}
