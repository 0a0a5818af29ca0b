// openPretrainingData: corpus → tokenizer → token store → instance sets → batch sources, each stage
// cached under `cacheDir` by a key of everything it depends on (corpus bytes, tokenizer, settings).
// A second run with the same settings reads the caches; a cache that fails verification is deleted
// and rebuilt. Takes plain options (the runner maps the recipe onto them).
import { recipeDefault } from '../recipe/schema.js';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { BatchSource } from './batches.js';
import { emptyCorpus, readCorpus, type CorpusSpec } from './corpus.js';
import { InstanceSet, buildInstanceSet, type InstanceSetMeta, type InstanceSetParams, type RecordBlock, type RecordJob } from './instance-set.js';
import type { MaskingOptions, Vocabulary } from './instances.js';
import { Rng, permutation } from './rng.js';
import { TokenStore, TokenStoreWriter, type TokenStoreMeta } from './token-store.js';
import { BertTokenizer, type TokenizerOptions } from './tokenizer.js';
import type { PruneStats } from './train-wordpiece.js';
import { countCorpusWords, dropCountCheckpoint, skipDocuments } from './word-counts.js';
import { PrepPool, documentBatches, workerCount } from './prep-pool.js';
import { encodedDocuments, type EncodeResult, type SegmentResult } from './prep-jobs.js';

export type TokenizerSource =
  | BertTokenizer
  | { vocab: string }
  | { tokenizerJson: string }
  | { train: { vocabSize: number; minFrequency?: number } };

export interface PretrainingDataOptions {
  corpus: CorpusSpec;
  /** Directory that relative corpus/tokenizer paths are relative to (the recipe's). Default '.'. */
  baseDir?: string;
  maxDocuments?: number;
  tokenizer: TokenizerSource;
  /** Tokenizer settings for vocab.txt and training (tokenizer.json carries its own). */
  lowercase?: boolean;
  maxCharsPerWord?: number;
  /** The first phase's sequence length; its instances are built before this resolves. */
  seqLen: number;
  // Options left out take the recipe schema's default (recipeDefault): defaults live only there.
  /** Static masking's max predictions for `seqLen` (dynamic masking takes it per batch). */
  maxPredictions?: number;
  /** Further phases to build now (otherwise built on first use). */
  phases?: { seqLen: number; maxPredictions: number }[];
  shortSeqProb?: number;
  /** Passes over the documents, each with new pairs and (static) masks. */
  dupeFactor?: number;
  /** Fraction of documents held out for evaluation. */
  holdout?: number;
  seed?: number;
  mlm?: {
    maskProb?: number;
    replace?: { mask: number; random: number; keep: number };
    wholeWord?: boolean;
    masking?: 'static' | 'dynamic';
  };
  /** Segment pairs with NSP labels (default true); false packs contiguous text for MLM only. */
  nsp?: boolean;
  cacheDir: string;
  /** Batches prepared ahead by each source. Default 2. */
  prefetch?: number;
  /**
   * data.memory_limit (default 1 GiB): cache files up to a quarter of it are read into memory
   * (larger ones per record), and vocabulary training keeps the distinct words that fit in half of it.
   */
  memoryLimitBytes?: number;
  /** The size up to which a cache file is read whole, when not a quarter of the limit (tests: 0). */
  cacheReadWholeBytes?: number;
  /** Average file size from which files are prepared one per worker job (default 1 MiB). */
  shardMinBytes?: number;
  /** Tokens (times the dupe factor) from which a split's segment pairs are built on worker threads (default 4M). */
  instanceThreadMinTokens?: number;
  /** How often (ms) a token cache build records how far it got; default 5000. */
  checkpointMs?: number;
  /** Called as preparation advances (after each batch of documents): for progress lines. */
  onProgress?: (p: PrepProgress) => void;
  /** Threads that tokenize (and count words for a trained vocabulary) and build segment pairs; 0 or absent = one per CPU core. Results do not depend on it. */
  workers?: number;
  log?: (message: string) => void;
}

export type CacheOutcome = 'hit' | 'built' | 'rebuilt';

export interface PretrainingStats {
  corpus: string;
  documents: number;
  sentences: number;
  tokens: number;
  unkTokens: number;
  trainDocuments: number;
  holdoutDocuments: number;
  vocabSize: number;
  cache: { tokenizer: CacheOutcome | 'given'; tokens: CacheOutcome; instances: Record<string, CacheOutcome> };
  instanceSets: Record<string, InstanceSetMeta>;
  timingsMs: Record<string, number>;
}

export interface PretrainingData {
  tokenizer: BertTokenizer;
  train: BatchSource;
  /** null when `holdout` is 0. */
  holdout: BatchSource | null;
  stats: PretrainingStats;
  close(): void;
}

const sha = (x: unknown): string => createHash('sha256').update(JSON.stringify(x)).digest('hex');

function checkOptions(o: PretrainingDataOptions): void {
  const bad = (m: string): never => {
    throw new UserError(`data: ${m}`, 'bad_data_options', 2);
  };
  if (!Number.isInteger(o.seqLen) || o.seqLen < 8) bad(`seq_len must be an integer ≥ 8 (got ${o.seqLen})`);
  const h = o.holdout ?? recipeDefault<number>('data.holdout');
  if (!(h >= 0 && h < 1)) bad(`holdout must be in [0, 1) (got ${h})`);
  const r = o.mlm?.replace;
  if (r && Math.abs(r.mask + r.random + r.keep - 1) > 1e-6) bad(`mlm.replace must sum to 1 (got ${r.mask + r.random + r.keep})`);
  if ((o.dupeFactor ?? recipeDefault<number>('data.dupe_factor')) < 1) bad('dupe_factor must be ≥ 1');
}

/** Files at least this large on average are prepared one file per worker job. */
const SHARD_MIN_BYTES = 1 << 20;

/** Below this many tokens a split's segment pairs are built faster in this thread than by starting workers (about 0.3 s of work). */
const INSTANCE_THREAD_MIN_TOKENS = 4_000_000;

/**
 * What one distinct word costs while the vocabulary trains (its count, its pieces, its place in the
 * pair index, and the garbage the merges leave): about 1.2 KB of resident memory, measured on a
 * corpus whose long tail is made-up words (scripts/make-big-corpus.mjs --rare).
 */
const TRAINING_BYTES_PER_WORD = 1400;
/** What one distinct word costs in a job's counts (the map entry, then the result sent back). */
const JOB_BYTES_PER_WORD = 80;

/**
 * Distinct words vocabulary training keeps within `memoryLimit`: half of it for the counts the
 * vocabulary trains on, and a 64th per job counter (two jobs per worker are in flight, so 16
 * workers take another half). Depends on the limit only, never on the thread count, so the
 * vocabulary does not either.
 */
export function wordCountLimits(memoryLimit: number): { words: number; jobWords: number } {
  return {
    words: Math.max(100, Math.floor(memoryLimit / 2 / TRAINING_BYTES_PER_WORD)),
    jobWords: Math.max(100, Math.floor(memoryLimit / 64 / JOB_BYTES_PER_WORD)),
  };
}

/** How often a token cache build records how far it got (a killed build loses at most this). */
const CHECKPOINT_MS = 5000;

function prunedNote(p: PruneStats, words: number): string {
  return `data: the corpus has more distinct words than data.memory_limit leaves room for (${words.toLocaleString('en-US')}); word counts were pruned ${p.prunes.toLocaleString('en-US')} times, dropping words then seen at most ${p.maxDroppedCount} times (as word2vec does), so the vocabulary is trained on the frequent words; raise data.memory_limit to keep more`;
}

export interface PrepProgress {
  /** vocabulary: counting words for WordPiece training; tokens: tokenizing into the token cache. */
  stage: 'vocabulary' | 'tokens';
  /** Corpus bytes read in this pass, and the corpus size on disk. */
  bytes: number;
  totalBytes: number;
  documents: number;
}

export async function openPretrainingData(o: PretrainingDataOptions): Promise<PretrainingData> {
  checkOptions(o);
  const log = o.log ?? (() => {});
  const baseDir = o.baseDir ?? '.';
  const memoryLimitTotal = o.memoryLimitBytes ?? 1 << 30;
  const memoryLimit = o.cacheReadWholeBytes ?? memoryLimitTotal / 4;
  const workers = workerCount(o.workers);
  const seed = o.seed ?? recipeDefault<number>('seed');
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  mkdirSync(o.cacheDir, { recursive: true });
  const progress = { bytes: 0 };
  const corpus = readCorpus(o.corpus, baseDir, { maxDocuments: o.maxDocuments, progress });
  const totalBytes = corpus.totalBytes();
  let documents = 0;
  const advance = (stage: PrepProgress['stage'], docs: number): void => {
    documents += docs;
    o.onProgress?.({ stage, bytes: progress.bytes, totalBytes, documents });
  };
  const startPass = (): void => {
    progress.bytes = 0;
    documents = 0;
  };
  const corpusHash = await corpus.contentHash();
  timings.hash = performance.now() - t0;
  // With worker threads and several files of some size, each file is one job (read, split,
  // tokenize in the worker); otherwise this thread reads and batches of documents go to the
  // workers (small files would cost more in jobs than they save: the built-in corpus's 233
  // addresses of 46 KB each prepare faster that way).
  const shardSized = corpus.files.length > 1 && corpus.maxDocuments === undefined && totalBytes / corpus.files.length >= (o.shardMinBytes ?? SHARD_MIN_BYTES);
  const byShards = workers > 1 && shardSized;
  const fileSize = (k: number): number => statSync(corpus.files[k]!).size;

  // 1. Tokenizer: given, loaded, or trained (and cached as tokenizer.json).
  const tokOpts: TokenizerOptions = { lowercase: o.lowercase, maxCharsPerWord: o.maxCharsPerWord };
  let tokenizer: BertTokenizer;
  let tokenizerOutcome: CacheOutcome | 'given' = 'given';
  const src = o.tokenizer;
  if (src instanceof BertTokenizer) tokenizer = src;
  else if ('vocab' in src) tokenizer = BertTokenizer.fromVocabFile(resolve(baseDir, src.vocab), tokOpts);
  else if ('tokenizerJson' in src) tokenizer = BertTokenizer.fromTokenizerJson(resolve(baseDir, src.tokenizerJson), tokOpts);
  else {
    const t = performance.now();
    const train = { vocabSize: src.train.vocabSize, minFrequency: src.train.minFrequency ?? recipeDefault<number>('data.tokenizer.wordpiece.train.min_frequency'), lowercase: o.lowercase ?? recipeDefault<boolean>('data.tokenizer.lowercase'), maxCharsPerWord: o.maxCharsPerWord ?? recipeDefault<number>('data.tokenizer.max_chars_per_word') };
    const countLimits = wordCountLimits(memoryLimitTotal);
    const path = join(o.cacheDir, `tokenizer-${sha({ corpusHash, train, countLimits }).slice(0, 16)}.json`);
    let cached: BertTokenizer | undefined;
    try {
      cached = BertTokenizer.fromTokenizerJson(path);
      tokenizerOutcome = 'hit';
    } catch {
      cached = undefined;
    }
    if (!cached) {
      log(`data: training a WordPiece vocabulary of ${train.vocabSize} on ${corpus.name}`);
      startPass();
      const checkpoint = `${path}.counts.partial.json`;
      const counter = await countCorpusWords({
        corpus,
        // Files as jobs whenever they are shard-sized, whatever the thread count (in this thread
        // with one): where the counts prune decides the vocabulary, so it must not follow `workers`.
        byFiles: shardSized,
        train,
        limits: countLimits,
        workers,
        checkpoint,
        checkpointMs: o.checkpointMs ?? CHECKPOINT_MS,
        advance: (docs, file) => {
          if (file !== undefined) progress.bytes += fileSize(file);
          advance('vocabulary', docs);
        },
        skip: (files, docs) => {
          for (let k = 0; k < files; k++) progress.bytes += fileSize(k);
          documents += docs;
        },
        log,
      });
      if (counter.pruned.prunes > 0) log(prunedNote(counter.pruned, countLimits.words));
      cached = counter.train();
      const tmp = `${path}.tmp-${process.pid}`;
      cached.saveTokenizerJson(tmp);
      renameSync(tmp, path);
      dropCountCheckpoint(checkpoint);
      tokenizerOutcome = 'built';
    }
    tokenizer = cached;
    timings.tokenizer = performance.now() - t;
  }
  const vocab: Vocabulary = { size: tokenizer.size, ...tokenizer.specials, isContinuation: tokenizer.isContinuation };

  // 2. Token store.
  const t1 = performance.now();
  const storeKey = sha({ v: 1, corpusHash, tokenizer: tokenizer.fingerprint() });
  const storePath = join(o.cacheDir, `tokens-${storeKey.slice(0, 16)}.bin`);
  let store = TokenStore.open(storePath, storeKey, memoryLimit);
  let tokensOutcome: CacheOutcome = 'hit';
  if (typeof store === 'string') {
    tokensOutcome = store === 'missing' ? 'built' : 'rebuilt';
    if (store !== 'missing') log(`data: token cache ${storePath} unusable (${store}); rebuilding`);
    rmSync(storePath, { force: true });
    // Resumable: a build killed part-way continues from its last checkpoint (the documents it had
    // consumed are read again, not tokenized again).
    const resumed = TokenStoreWriter.resume(storePath, storeKey, tokenizer.size, tokenizer.specials.unk);
    const w = resumed?.writer ?? new TokenStoreWriter(storePath, storeKey, tokenizer.size, tokenizer.specials.unk, true);
    let consumed = resumed?.inputDocuments ?? 0;
    if (resumed) log(`data: continuing the token cache ${storePath} after ${consumed.toLocaleString('en-US')} documents`);
    const pool = new PrepPool({ kind: 'encode', vocab: tokenizer.vocab, options: { lowercase: tokenizer.lowercase, stripAccents: tokenizer.stripAccents, maxCharsPerWord: tokenizer.maxCharsPerWord } }, workers);
    try {
      startPass();
      // A checkpoint from the batch path (no shard count) is continued by the batch path.
      const shardPath = byShards && (!resumed || resumed.shards !== undefined);
      // The shards a resumed build skips count as read before the stage's first progress report.
      if (shardPath) for (let k = 0; k < (resumed?.shards ?? 0); k++) progress.bytes += fileSize(k);
      advance('tokens', consumed);
      let saved = performance.now();
      if (shardPath) {
        let done = resumed?.shards ?? 0;
        const segments = `${storePath}.segments`;
        mkdirSync(segments, { recursive: true });
        const jobs = corpus.files.map((path, k) => ({ path, format: corpus.format, textField: corpus.textField, width: w.width, segment: join(segments, `${k}.bin`) }));
        try {
          for await (const r of pool.runFiles(jobs.slice(done))) {
            const seg = r as SegmentResult;
            w.addSegment(seg.segment, seg);
            rmSync(seg.segment, { force: true });
            consumed += seg.documents;
            progress.bytes += fileSize(done++);
            advance('tokens', seg.documents);
            if (performance.now() - saved > (o.checkpointMs ?? CHECKPOINT_MS)) {
              w.checkpoint(consumed, done);
              saved = performance.now();
            }
          }
        } finally {
          rmSync(segments, { recursive: true, force: true });
        }
        if (consumed === 0) throw emptyCorpus(corpus.files, corpus.name);
      } else {
        for await (const r of pool.run(documentBatches(skipDocuments(corpus, consumed)))) {
          for (const doc of encodedDocuments(r as EncodeResult)) w.addDocument(doc);
          consumed += (r as EncodeResult).docSentences.length;
          advance('tokens', (r as EncodeResult).docSentences.length);
          if (performance.now() - saved > (o.checkpointMs ?? CHECKPOINT_MS)) {
            w.checkpoint(consumed);
            saved = performance.now();
          }
        }
      }
      w.finish();
    } catch (e) {
      w.abort();
      throw e;
    } finally {
      pool.close();
    }
    store = TokenStore.open(storePath, storeKey, memoryLimit);
    if (typeof store === 'string') throw new Error(`token cache ${storePath} failed verification right after writing (${store})`);
  }
  timings.tokens = performance.now() - t1;
  const tokenStore = store;
  const meta: TokenStoreMeta = store.meta;
  if (meta.numDocs === 0) throw new UserError(`${corpus.name}: corpus is empty after tokenization`, 'bad_corpus');

  // 3. Holdout split by document.
  const holdoutFrac = o.holdout ?? recipeDefault<number>('data.holdout');
  const nHold = holdoutFrac > 0 ? Math.max(1, Math.round(meta.numDocs * holdoutFrac)) : 0;
  if (meta.numDocs - nHold < 1) throw new UserError(`data: holdout ${holdoutFrac} leaves no training documents (${meta.numDocs} in the corpus)`, 'bad_data_options', 2);
  const perm = permutation(meta.numDocs, new Rng(`${seed}|holdout`));
  const holdoutDocs = perm.slice(0, nHold).sort();
  const trainDocs = perm.slice(nHold).sort();

  const masking: MaskingOptions = {
    maskProb: o.mlm?.maskProb ?? recipeDefault<number>('tasks.mlm.mask_prob'),
    replace: o.mlm?.replace ?? { mask: recipeDefault<number>('tasks.mlm.replace.mask'), random: recipeDefault<number>('tasks.mlm.replace.random'), keep: recipeDefault<number>('tasks.mlm.replace.keep') },
    wholeWord: o.mlm?.wholeWord ?? recipeDefault<boolean>('tasks.mlm.whole_word'),
  };
  const dynamic = (o.mlm?.masking ?? recipeDefault<string>('tasks.mlm.masking')) === 'dynamic';
  const nsp = o.nsp ?? true;
  const instanceOutcomes: Record<string, CacheOutcome> = {};
  const instanceMetas: Record<string, InstanceSetMeta> = {};
  const sets = new Map<string, InstanceSet>();

  // Segment pairs of a split with enough tokens to repay starting threads are built on `workers`
  // threads, each reading the token store whole only within its share of the memory limit.
  const instanceThreads = (params: InstanceSetParams, docs: number) => {
    const threads = workerCount(o.workers);
    const tokens = (meta.numTokens * docs * params.dupeFactor) / meta.numDocs;
    if (!params.nsp || threads < 2 || tokens < (o.instanceThreadMinTokens ?? INSTANCE_THREAD_MIN_TOKENS)) return undefined;
    return (order: Uint32Array, jobs: RecordJob[]): AsyncIterable<RecordBlock> => ({
      async *[Symbol.asyncIterator]() {
        const pool = new PrepPool({ kind: 'instances', storePath, storeKey, memoryLimit: Math.floor(memoryLimit / (4 * threads)), order, params, vocab }, threads);
        try {
          yield* pool.runRecords(jobs);
        } finally {
          pool.close();
        }
      },
    });
  };

  const hooksFor = (split: 'train' | 'holdout') => {
    const docIds = split === 'train' ? trainDocs : holdoutDocs;
    const setOf = (seqLen: number, maxPredictions: number) => {
      const params: InstanceSetParams = {
        split,
        seqLen,
        // The holdout is always statically masked, once, so every evaluation sees the same data.
        maxPredictions: split === 'holdout' ? maxPredictions || (o.maxPredictions ?? recipeDefault<number>('tasks.mlm.max_predictions')) : dynamic ? 0 : maxPredictions,
        shortSeqProb: o.shortSeqProb ?? recipeDefault<number>('data.short_seq_prob'),
        dupeFactor: split === 'holdout' ? 1 : (o.dupeFactor ?? recipeDefault<number>('data.dupe_factor')),
        nsp,
        masking,
        seed,
      };
      // v2: segment pairs draw from one random stream per (dupe pass, document), so threads can build them.
      const key = sha({ v: 2, storeKey, holdout: holdoutFrac, params });
      return { params, name: `${split}/${seqLen}/${params.maxPredictions}`, key, path: join(o.cacheDir, `instances-${key.slice(0, 16)}.bin`) };
    };
    const remember = (name: string, set: InstanceSet): InstanceSet => {
      sets.set(name, set);
      instanceMetas[name] = set.meta;
      return set;
    };
    return {
      instanceSet: (seqLen: number, maxPredictions: number): InstanceSet => {
        const { name, key, path } = setOf(seqLen, maxPredictions);
        const have = sets.get(name);
        if (have) return have;
        const set = InstanceSet.open(path, key, memoryLimit);
        if (typeof set === 'string') throw new Error(`instance set ${name} was used before it was prepared (${path}: ${set})`);
        return remember(name, set);
      },
      prepare: async (seqLen: number, maxPredictions: number): Promise<InstanceSet> => {
        const { params, name, key, path } = setOf(seqLen, maxPredictions);
        const have = sets.get(name);
        if (have) return have;
        let set = InstanceSet.open(path, key, memoryLimit);
        instanceOutcomes[name] = 'hit';
        if (typeof set === 'string') {
          instanceOutcomes[name] = set === 'missing' ? 'built' : 'rebuilt';
          if (set !== 'missing') log(`data: instance cache ${path} unusable (${set}); rebuilding`);
          rmSync(path, { force: true });
          const t = performance.now();
          await buildInstanceSet(tokenStore, docIds, params, vocab, path, key, { blocks: instanceThreads(params, docIds.length), checkpointMs: o.checkpointMs, log });
          timings[`instances ${name}`] = performance.now() - t;
          set = InstanceSet.open(path, key, memoryLimit);
          if (typeof set === 'string') throw new Error(`instance cache ${path} failed verification right after writing (${set})`);
        }
        return remember(name, set);
      },
    };
  };

  const prefetch = o.prefetch ?? 2;
  const train = new BatchSource('train', hooksFor('train'), vocab, masking, dynamic, seed, prefetch);
  const holdout = nHold > 0 ? new BatchSource('holdout', hooksFor('holdout'), vocab, masking, false, seed, prefetch) : null;
  const maxP = o.maxPredictions ?? recipeDefault<number>('tasks.mlm.max_predictions');
  const t2 = performance.now();
  for (const ph of [{ seqLen: o.seqLen, maxPredictions: maxP }, ...(o.phases ?? [])]) {
    await train.prepare(ph.seqLen, ph.maxPredictions);
    await holdout?.prepare(ph.seqLen, ph.maxPredictions);
  }
  timings.instances = performance.now() - t2;
  timings.total = performance.now() - t0;

  const stats: PretrainingStats = {
    corpus: corpus.name,
    documents: meta.numDocs,
    sentences: meta.numSentences,
    tokens: meta.numTokens,
    unkTokens: meta.unkTokens,
    trainDocuments: trainDocs.length,
    holdoutDocuments: holdoutDocs.length,
    vocabSize: tokenizer.size,
    cache: { tokenizer: tokenizerOutcome, tokens: tokensOutcome, instances: instanceOutcomes },
    instanceSets: instanceMetas,
    timingsMs: timings,
  };
  return {
    tokenizer,
    train,
    holdout,
    stats,
    close() {
      train.close();
      holdout?.close();
      for (const s of sets.values()) s.close();
      tokenStore.close();
    },
  };
}
