// `bert-run prepare <recipe>`: builds the recipe's tokenizer and data caches (token store, the
// instances of every phase) ahead of training, as create_pretraining_data.py does, with a progress
// line (documents, MB read, MB/s, ETA); training then starts from the caches at once. Killed while
// counting words, tokenizing or building segment pairs, a rerun continues from that stage's last
// checkpoint (data/word-counts.ts, data/token-store.ts, data/instance-set.ts).
import { formatDuration } from '../../train/progress.js';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { loadRecipe } from '../../recipe/index.js';
import { openPretrainingData, type PrepProgress } from '../../data/index.js';
import { dataOptions } from '../../train/phases.js';

const MB = 1e6;

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'build the tokenizer and data caches of a recipe ahead of training (resumable)',
  usage: `usage: bert-run prepare <recipe.yaml> [--set key=value]... [--json]

  --set k=v   override a recipe value (data.workers, data.memory_limit, data.cache_dir, ...)
  --json      progress and the summary as JSON lines on stdout
  Builds what training would (a trained WordPiece vocabulary, the token cache, the instances of
  every sequence-length phase) in data.cache_dir with data.workers threads; a second run finds
  them and returns at once. Killed (kill -9 included) while counting words, tokenizing or building
  segment pairs, a rerun continues from that stage's last checkpoint (one every 5 s).`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { set: 'list', json: 'boolean' }, 'prepare');
    if (positionals.length !== 1) throw new UserError('prepare: expected exactly one recipe file (see bert-run prepare --help)', 'bad_args', 2);
    const loaded = await loadRecipe(positionals[0]!, { sets: (flags.set as string[] | undefined) ?? [] });
    const recipe = loaded.recipe;
    if (recipe.tasks.classify) throw new UserError(`${positionals[0]}: a fine-tuning recipe has no corpus to prepare (its labelled examples are read at the start of training)`, 'bad_args', 2);
    const json = Boolean(flags.json);
    const tty = Boolean(process.stderr.isTTY) && !json;
    const t0 = performance.now();
    let last = 0;
    let stage = '';
    let stageStart = t0;
    let stageStartBytes = 0;
    const show = (p: PrepProgress): void => {
      const now = performance.now();
      // A resumed stage starts with the bytes it skips: the rate counts only what this run read.
      if (p.stage !== stage) {
        stage = p.stage;
        stageStart = now;
        stageStartBytes = p.bytes;
      }
      if (now - last < (tty ? 200 : 5000) && p.bytes < p.totalBytes) return;
      last = now;
      const seconds = (now - stageStart) / 1000;
      const rate = (p.bytes - stageStartBytes) / MB / Math.max(1e-9, seconds);
      const eta = rate > 0 ? (p.totalBytes - p.bytes) / MB / rate : Infinity;
      const what = p.stage === 'vocabulary' ? 'counting words' : 'tokenizing';
      const line = `prepare: ${what}: ${p.documents.toLocaleString('en-US')} documents, ${(p.bytes / MB).toFixed(1)} / ${(p.totalBytes / MB).toFixed(1)} MB (${Math.min(100, (100 * p.bytes) / Math.max(1, p.totalBytes)).toFixed(0)}%), ${rate.toFixed(1)} MB/s, ETA ${formatDuration(eta)}`;
      if (json) console.log(JSON.stringify({ event: 'progress', ...p, mb_per_s: Number(rate.toFixed(2)), eta_s: Number.isFinite(eta) ? Math.round(eta) : null }));
      else if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else process.stderr.write(`${line}\n`);
    };
    const info = (m: string): void => {
      if (tty) process.stderr.write('\r\x1b[2K');
      if (json) console.log(JSON.stringify({ event: 'info', message: m }));
      else process.stderr.write(`${m.startsWith('data') ? m : `data: ${m}`}\n`);
    };
    const data = await openPretrainingData({ ...dataOptions(recipe, loaded.file, info), onProgress: show, prefetch: 0 });
    try {
      if (tty) process.stderr.write('\r\x1b[2K');
      const s = data.stats;
      const seconds = (performance.now() - t0) / 1000;
      const summary = {
        recipe: recipe.name,
        cache_dir: recipe.data.cache_dir,
        documents: s.documents,
        tokens: s.tokens,
        vocab: s.vocabSize,
        cache: s.cache,
        instances: Object.fromEntries(Object.entries(s.instanceSets).map(([k, m]) => [k, m.count])),
        seconds: Number(seconds.toFixed(2)),
        timings_ms: Object.fromEntries(Object.entries(s.timingsMs).map(([k, v]) => [k, Math.round(v)])),
      };
      if (json) console.log(JSON.stringify({ event: 'done', ...summary }));
      else {
        const built = Object.entries({ tokenizer: s.cache.tokenizer, tokens: s.cache.tokens, ...s.cache.instances }).map(([k, v]) => `${k} ${v}`).join(', ');
        console.log(`prepared ${recipe.name} in ${formatDuration(seconds)}: ${s.documents.toLocaleString('en-US')} documents, ${s.tokens.toLocaleString('en-US')} tokens, vocab ${s.vocabSize}; ` +
          `instances ${Object.entries(summary.instances).map(([k, n]) => `${k}: ${n.toLocaleString('en-US')}`).join(', ')}; caches (${built}) in ${recipe.data.cache_dir}`);
      }
      return 0;
    } finally {
      data.close();
    }
  },
};
