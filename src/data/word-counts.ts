// Counting a corpus's words for WordPiece training: file jobs or document batches on the worker
// threads (prep-pool.ts), merged in order into one bounded counter (train-wordpiece.ts). Resumable:
// every `checkpointMs` the counts so far and the files or documents consumed go to
// `<checkpoint>` (written whole, then renamed), and a later process continues from there; jobs cut
// at the same places either way, so a resumed count equals an uninterrupted one.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { emptyCorpus, type Corpus, type Document } from './corpus.js';
import { PrepPool, documentBatches } from './prep-pool.js';
import type { CountResult } from './prep-jobs.js';
import { WordCounter, type PruneStats, type TrainWordPieceOptions } from './train-wordpiece.js';

export interface CountWordsOptions {
  corpus: Corpus;
  /** One job per file (shard-sized files), else batches of documents: must not depend on the thread count. */
  byFiles: boolean;
  train: TrainWordPieceOptions;
  /** Distinct words the merged counts and each job's counts keep (pretraining-data.ts wordCountLimits). */
  limits: { words: number; jobWords: number };
  workers: number;
  checkpoint: string;
  checkpointMs: number;
  /** Called at the start (0 documents) and after each job with the documents it read (and the file index when by files). */
  advance: (documents: number, file?: number) => void;
  /** Called first when resuming, with the files and documents the checkpoint had consumed. */
  skip: (files: number, documents: number) => void;
  log: (message: string) => void;
}

interface CountCheckpoint {
  v: 1;
  byFiles: boolean;
  /** Documents consumed; with byFiles, also the files done. */
  documents: number;
  files: number;
  words: string[];
  counts: number[];
  pruned: PruneStats;
}

function readCheckpoint(path: string, byFiles: boolean): CountCheckpoint | undefined {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as CountCheckpoint;
    const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    // Anything off (a damaged or foreign file) means counting from the start, never wrong counts.
    const ok =
      c.v === 1 && c.byFiles === byFiles && count(c.documents) && count(c.files) && Array.isArray(c.words) && Array.isArray(c.counts) &&
      c.words.length === c.counts.length && c.words.every((w) => typeof w === 'string') && c.counts.every((n) => count(n) && n > 0) &&
      count(c.pruned?.prunes) && count(c.pruned?.maxDroppedCount);
    return ok ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The corpus without its first `n` documents (read, not yielded). */
export async function* skipDocuments(docs: AsyncIterable<Document>, n: number): AsyncGenerator<Document> {
  let i = 0;
  for await (const d of docs) if (i++ >= n) yield d;
}

export async function countCorpusWords(o: CountWordsOptions): Promise<WordCounter> {
  const counter = new WordCounter({ ...o.train, maxWords: o.limits.words });
  const resumed = readCheckpoint(o.checkpoint, o.byFiles);
  let documents = 0;
  let files = 0;
  if (resumed) {
    counter.merge(resumed, resumed.pruned);
    documents = resumed.documents;
    files = resumed.files;
    o.log(`data: continuing the word counts after ${documents.toLocaleString('en-US')} documents${o.byFiles ? ` (${files} of ${o.corpus.files.length} files)` : ''}`);
    o.skip(files, documents);
  }
  o.advance(0);
  let saved = performance.now();
  let saveMs = 0;
  const save = (): void => {
    // Not more often than 20 times what a save costs: the counts can be a few MB of JSON.
    if (performance.now() - saved < Math.max(o.checkpointMs, 20 * saveMs)) return;
    const t = performance.now();
    const c: CountCheckpoint = { v: 1, byFiles: o.byFiles, documents, files, words: [...counter.counts.keys()], counts: [...counter.counts.values()], pruned: counter.pruned };
    writeFileSync(`${o.checkpoint}.tmp`, JSON.stringify(c));
    renameSync(`${o.checkpoint}.tmp`, o.checkpoint);
    saved = performance.now();
    saveMs = saved - t;
  };
  const pool = new PrepPool({ kind: 'count', options: { ...o.train, maxWords: o.limits.jobWords } }, o.workers);
  try {
    if (o.byFiles) {
      const jobs = o.corpus.files.map((path) => ({ path, format: o.corpus.format, textField: o.corpus.textField }));
      for await (const r of pool.runFiles(jobs.slice(files))) {
        const c = r as CountResult;
        counter.merge(c, c.pruned);
        documents += c.documents;
        o.advance(c.documents, files++);
        save();
      }
      if (documents === 0) throw emptyCorpus(o.corpus.files, o.corpus.name);
    } else {
      // Batches are cut by size from where the stream starts, so those after a skip are the same.
      for await (const r of pool.run(documentBatches(skipDocuments(o.corpus, documents)))) {
        const c = r as CountResult;
        counter.merge(c, c.pruned);
        documents += c.documents;
        o.advance(c.documents);
        save();
      }
    }
  } finally {
    pool.close();
  }
  return counter;
}

/** Removes a finished count's checkpoint. */
export function dropCountCheckpoint(path: string): void {
  rmSync(path, { force: true });
}
