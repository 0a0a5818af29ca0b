// The per-batch work of data preparation, the same code in worker threads and in this thread:
// counting basic-tokenized words (WordPiece training), WordPiece-encoding documents, and building
// segment-pair instance records for ranges of documents (instance-set.ts). A batch's
// result keeps its documents' order and its words' first-occurrence order, so merging results in
// batch order gives exactly the single-threaded counts (insertion order included, which fixes the
// trained vocabulary's ids) and the same token store, byte for byte.
import { closeSync, openSync, writeSync } from 'node:fs';
import { BertTokenizer, type TokenizerOptions } from './tokenizer.js';
import { WordCounter, type PruneStats, type TrainWordPieceOptions } from './train-wordpiece.js';
import { fileDocuments, type CorpusFormat, type Document } from './corpus.js';
import { TokenStore, encodeBlock } from './token-store.js';
import { segmentPairRecords, type InstanceSetParams, type RecordBlock, type RecordJob } from './instance-set.js';
import type { Vocabulary } from './instances.js';

/** What a worker needs: the counting options, or the tokenizer to encode with. */
export type PrepSetup =
  | { kind: 'count'; options: TrainWordPieceOptions }
  | { kind: 'encode'; vocab: string[]; options: TokenizerOptions }
  | InstanceSetup;

/** Instance building: the token store to open (read whole only within `memoryLimit`), the set's document order and parameters. */
export interface InstanceSetup {
  kind: 'instances';
  storePath: string;
  storeKey: string;
  memoryLimit: number;
  order: Uint32Array;
  params: InstanceSetParams;
  vocab: Vocabulary;
}

/** Word counts of a batch or file, words in first-occurrence order (and how often the job's counter pruned). */
export interface CountResult {
  words: string[];
  counts: Float64Array;
  documents: number;
  pruned: PruneStats;
}

/** A batch's documents encoded: per document its sentence count, per sentence its length, then the ids. */
export interface EncodeResult {
  docSentences: Int32Array;
  sentenceLengths: Int32Array;
  ids: Int32Array;
}

/**
 * A whole shard encoded by a worker: its document blocks (token-store.ts encodeBlock) written to
 * `segment`, where each starts, and the totals the store's header counts.
 */
export interface SegmentResult {
  segment: string;
  bytes: number;
  offsets: Float64Array;
  sentences: number;
  tokens: number;
  unk: number;
  /** Corpus documents read (all non-empty: the blocks can be fewer when a document encodes to nothing). */
  documents: number;
}

export type PrepResult = CountResult | EncodeResult | SegmentResult | RecordBlock;

/** A whole corpus file as one job: counted, or encoded into a segment file (`segment`). */
export interface FileJob {
  path: string;
  format: CorpusFormat;
  textField: string;
  /** encode: where to write the segment; the store's id width and [UNK] id. */
  segment?: string;
  width?: 2 | 4;
}

export interface PrepWorker {
  run(docs: Document[]): PrepResult;
  runFile(job: FileJob): Promise<PrepResult>;
  runRecords(job: RecordJob): RecordBlock;
}

function notFor(kind: string, what: string): never {
  throw new Error(`a ${kind} worker was sent ${what}`);
}

function instanceWorker(setup: InstanceSetup): PrepWorker {
  const store = TokenStore.open(setup.storePath, setup.storeKey, setup.memoryLimit);
  if (typeof store === 'string') throw new Error(`token cache ${setup.storePath}: ${store}`);
  const docs = { numDocs: setup.order.length, doc: (i: number) => store.doc(setup.order[i]!) };
  return {
    runRecords: (job) => segmentPairRecords(docs, job.pass, job.from, job.to, setup.params, setup.vocab, store.meta.width),
    run: () => notFor('instances', 'documents'),
    runFile: () => notFor('instances', 'a file'),
  };
}

export function prepWorker(setup: PrepSetup): PrepWorker {
  if (setup.kind === 'instances') return instanceWorker(setup);
  if (setup.kind === 'count') {
    const counted = (counter: WordCounter, documents: number): CountResult => ({ words: [...counter.counts.keys()], counts: Float64Array.from(counter.counts.values()), documents, pruned: counter.pruned });
    return {
      runRecords: () => notFor('count', 'records'),
      run(docs: Document[]): CountResult {
        const counter = new WordCounter(setup.options);
        for (const d of docs) counter.addDocument(d);
        return counted(counter, docs.length);
      },
      async runFile(job: FileJob): Promise<CountResult> {
        const counter = new WordCounter(setup.options);
        let documents = 0;
        for await (const d of fileDocuments(job.path, job.format, job.textField)) {
          counter.addDocument(d);
          documents++;
        }
        return counted(counter, documents);
      },
    };
  }
  const tokenizer = new BertTokenizer(setup.vocab, setup.options);
  return {
    runRecords: () => notFor('encode', 'records'),
    async runFile(job: FileJob): Promise<SegmentResult> {
      const fd = openSync(job.segment!, 'w');
      const buffer = Buffer.allocUnsafe(4 << 20);
      let used = 0;
      const flush = () => {
        for (let off = 0; off < used; ) off += writeSync(fd, buffer, off, used - off);
        used = 0;
      };
      const offsets: number[] = [];
      const r: SegmentResult = { segment: job.segment!, bytes: 0, offsets: new Float64Array(0), sentences: 0, tokens: 0, unk: 0, documents: 0 };
      try {
        for await (const doc of fileDocuments(job.path, job.format, job.textField)) {
          r.documents++;
          const b = encodeBlock(doc.map((s) => tokenizer.encode(s)), job.width!, tokenizer.specials.unk);
          if (!b) continue;
          offsets.push(r.bytes);
          r.bytes += b.bytes.byteLength;
          r.sentences += b.sentences;
          r.tokens += b.tokens;
          r.unk += b.unk;
          if (b.bytes.byteLength > buffer.length - used) flush();
          if (b.bytes.byteLength > buffer.length) for (let off = 0; off < b.bytes.byteLength; ) off += writeSync(fd, b.bytes, off, b.bytes.byteLength - off);
          else {
            buffer.set(b.bytes, used);
            used += b.bytes.byteLength;
          }
        }
        flush();
      } finally {
        closeSync(fd);
      }
      r.offsets = Float64Array.from(offsets);
      return r;
    },
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

