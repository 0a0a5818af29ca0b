// The `data` suite: throughput of the data pipeline on the built-in corpus (State of the Union,
// ~10 MB): basic tokenization, full tokenization (basic + WordPiece), WordPiece training, instance
// creation (Google's algorithm, static masking; one thread and all cores), batch assembly (static and dynamic masking), and
// the same tokenization through Hugging Face `tokenizers` when that package is installed (it is not
// a dependency; the row is skipped with a printed reason otherwise). Tokens/s count WordPiece tokens.
// The napkin math: the trainer consumes about 19,000 tokens/s at best on the CPU development
// machines (PyTorch CPU BERT-tiny, DESIGN.md), so each stage should exceed 190,000 tokens/s.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BertTokenizer,
  basicTokenize,
  openPretrainingData,
  readCorpus,
  trainWordPiece,
  type Document,
} from '../src/data/index.js';
import { time } from './timing.js';
import { workerCount } from '../src/data/prep-pool.js';
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import { BufferPool } from '../src/runtime/executor.js';
import { benchRecipe, defaultRecipePath } from './shapes.js';
import { timeTrainStep } from './step.js';
import type { BenchRow, BenchSuite } from './types.js';

const TRAINER_TOKENS_PER_S = 19_000;

export const dataSuite: BenchSuite = {
  name: 'data',
  summary: 'tokenization, WordPiece training, instance creation and batching on the built-in corpus',
  async run(options, report) {
    const quick = options.quick;
    const docs: Document[] = [];
    for await (const d of readCorpus({ source: 'sotu' }, '.', { maxDocuments: quick ? 20 : undefined })) docs.push(d);
    const sentences = docs.flat();
    const bytes = sentences.reduce((s, x) => s + Buffer.byteLength(x), 0);
    const shape = `sotu ${docs.length} docs (${(bytes / 1e6).toFixed(1)} MB)`;
    const row = (name: string, variant: string, t: { median_ms: number; min_ms: number; max_ms: number }, tokens: number, extra: Record<string, number | string> = {}): BenchRow => {
      const tps = tokens / (t.median_ms / 1000);
      return {
        suite: 'data',
        name,
        variant,
        shape,
        median_ms: t.median_ms,
        min_ms: t.min_ms,
        max_ms: t.max_ms,
        tokens_per_s: Math.round(tps),
        extra: { tokens, x_trainer_cpu: Number((tps / TRAINER_TOKENS_PER_S).toFixed(0)), ...extra },
      };
    };

    // WordPiece training (BERT-sized vocabulary).
    let tokenizer!: BertTokenizer;
    const vocabSize = quick ? 4000 : 30522;
    const tTrain = await time('wordpiece_train', async () => {
      tokenizer = trainWordPiece(docs, { vocabSize, minFrequency: 2, lowercase: true });
    }, { quick, minIterations: 1 });
    let words = 0;
    for (const s of sentences) words += basicTokenize(s, { lowercase: true }).length;
    report(row('wordpiece_train', `vocab ${tokenizer.size}`, tTrain, words, { unit: 'basic words' }));

    const tBasic = await time('basic_tokenize', async () => {
      for (const s of sentences) basicTokenize(s, { lowercase: true });
    }, { quick });
    report(row('basic_tokenize', 'ours', tBasic, words, { unit: 'basic words' }));

    let tokens = 0;
    for (const s of sentences) tokens += tokenizer.encode(s).length;
    const tTok = await time('tokenize', async () => {
      // A fresh tokenizer each pass: its word cache starts cold, as in a real single pass.
      const t = new BertTokenizer(tokenizer.vocab, { lowercase: true });
      for (const s of sentences) t.encode(s);
    }, { quick });
    report(row('tokenize', 'ours (basic + wordpiece)', tTok, tokens));

    // Hugging Face tokenizers on the same text with the same vocabulary, when installed.
    const dir = mkdtempSync(join(tmpdir(), 'bert-bench-data-'));
    try {
      tokenizer.saveTokenizerJson(join(dir, 'tokenizer.json'));
      let hf: any;
      let hfName = '';
      for (const name of ['@huggingface/tokenizers', 'tokenizers']) {
        try {
          hf = await import(name);
          hfName = name;
          break;
        } catch {
          /* not installed */
        }
      }
      const Tokenizer = hf?.Tokenizer ?? hf?.default?.Tokenizer;
      if (!Tokenizer) {
        console.log('data: skipping the hf-tokenizers row: neither @huggingface/tokenizers nor tokenizers is installed (add one as a dev dependency)');
      } else {
        // tokenizers.js (pure JS): constructed from the tokenizer.json we wrote, plus a minimal config.
        const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
        const hft = new Tokenizer(json, { do_lower_case: true, model_max_length: 1 << 30 });
        const encode = async (batch: string[]): Promise<number[][]> => batch.map((s) => Array.from(hft.encode(s).ids as ArrayLike<number>, Number));
        // Agreement on the first sentences (HF adds [CLS]/[SEP] through the post-processor).
        const sample = sentences.slice(0, 2000);
        const hfIds = await encode(sample);
        let mismatches = 0;
        sample.forEach((s, i) => {
          if (JSON.stringify(hfIds[i]!.slice(1, -1)) !== JSON.stringify(tokenizer.encode(s))) mismatches++;
        });
        const tHf = await time('tokenize_hf', async () => {
          for (let i = 0; i < sentences.length; i += 1024) await encode(sentences.slice(i, i + 1024));
        }, { quick });
        report(row('tokenize', `hf (${hfName})`, tHf, tokens, { mismatches_of_2000: mismatches }));
      }

      // Instance creation and batches: the real pipeline on a fresh cache, segment pairs built with
      // one thread and with every core (byte-identical sets).
      const dupe = quick ? 1 : 5;
      const instanceThreads = [...new Set([1, workerCount(0)])];
      const one = (v: number) => ({ median_ms: v, min_ms: v, max_ms: v });
      const cacheDir = join(dir, 'cache-1');
      const instanceMs: Record<number, number> = {};
      let data!: Awaited<ReturnType<typeof openPretrainingData>>;
      for (const workers of instanceThreads) {
        data?.close();
        data = await openPretrainingData({
          corpus: { source: 'sotu' },
          maxDocuments: quick ? 20 : undefined,
          tokenizer,
          seqLen: 128,
          maxPredictions: 20,
          dupeFactor: dupe,
          holdout: 0,
          cacheDir: workers === 1 ? cacheDir : join(dir, `cache-${workers}`),
          prefetch: 0,
          workers,
          instanceThreadMinTokens: 0,
        });
        const ms = data.stats.timingsMs;
        const built = data.stats.instanceSets['train/128/20']!;
        instanceMs[workers] = ms['instances train/128/20']!;
        if (workers === 1) report(row('tokenize_to_cache', 'read + tokenize + write', one(ms.tokens!), data.stats.tokens));
        report(row('create_instances', `static masks, dupe ${dupe}, ${workers} worker${workers > 1 ? 's' : ''}`, one(instanceMs[workers]!), built.tokens, { instances: built.count, speedup_vs_1: Number((instanceMs[1]! / instanceMs[workers]!).toFixed(2)) }));
      }
      data.close();
      // Preparation throughput, one thread against every core (the caches are byte-identical).
      const threads = [...new Set([1, workerCount(0)])];
      const prepared: Record<number, number> = {};
      for (const workers of threads) {
        const d = await openPretrainingData({ corpus: { source: 'sotu' }, maxDocuments: quick ? 20 : undefined, tokenizer, seqLen: 128, maxPredictions: 20, dupeFactor: 1, holdout: 0, cacheDir: join(dir, `prep-${workers}`), prefetch: 0, workers });
        const ms = d.stats.timingsMs.tokens!;
        prepared[workers] = ms;
        const mbs = bytes / 1e6 / (ms / 1000); // MB of text (the sentences read), as docs/data-at-scale.md counts
        report(row('prepare_tokens', `read + tokenize + write, ${workers} worker${workers > 1 ? 's' : ''}`, one(ms), d.stats.tokens, { mb_per_s: Number(mbs.toFixed(2)), speedup_vs_1: Number((prepared[1]! / ms).toFixed(2)) }));
        d.close();
      }
      const bestPrepare = data.stats.tokens / (Math.min(...Object.values(prepared)) / 1000);

      // The trainer's consumption at the recipe's own micro-batch: preparation must stay ahead of it.
      const r = await benchRecipe(options.recipe ?? defaultRecipePath('tiny.yaml'));
      const gpu = await openGpu();
      const runtime = new Runtime(gpu);
      const pool = new BufferPool(runtime);
      try {
        const s = r.recipe.schedule;
        const shape = { batch: s.micro_batch_size, seq: r.recipe.data.seq_len, predictions: r.recipe.tasks.mlm.max_predictions };
        const t = await timeTrainStep(runtime, pool, gpu.limits, r.recipe, r.vocab, shape, quick);
        const stepMs = (s.batch_size / s.micro_batch_size) * t.micro.median_ms + t.opt.median_ms;
        const trainerTps = (s.batch_size * shape.seq) / (stepMs / 1000);
        report({ suite: 'data', name: 'trainer', variant: r.name, shape: `${s.batch_size}x${shape.seq} (micro-batch ${s.micro_batch_size})`, median_ms: stepMs, min_ms: stepMs, max_ms: stepMs, tokens_per_s: Math.round(trainerTps), extra: { prepare_ahead_x: Number((bestPrepare / trainerTps).toFixed(1)) } });
        options.log?.(`data: preparation ${Math.round(bestPrepare).toLocaleString('en-US')} tokens/s, the ${r.name} trainer consumes ${Math.round(trainerTps).toLocaleString('en-US')} tokens/s on ${gpu.report.description || gpu.report.device}: ${(bestPrepare / trainerTps).toFixed(0)}× ahead`);
      } finally {
        pool.destroy();
        gpu.destroy();
      }

      for (const masking of ['static', 'dynamic'] as const) {
        const d = await openPretrainingData({
          corpus: { source: 'sotu' },
          maxDocuments: quick ? 20 : undefined,
          tokenizer,
          seqLen: 128,
          maxPredictions: 20,
          dupeFactor: 1,
          cacheDir,
          prefetch: 0,
          mlm: { masking },
        });
        const tB = await time(`batches_${masking}`, async () => {
          for (let i = 0; i < 20; i++) d.train.next(32, 128, 20);
        }, { quick });
        report(row('batches', `${masking} masking, 20 x (32, 128)`, tB, 20 * 32 * 128, { unit: 'slots (B*T)' }));
        d.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
