// Data preparation at scale: tokenizing and building segment pairs on worker threads gives
// byte-identical caches (trained vocabulary, token store, instances) for any number of workers, on a corpus of mixed shards; a
// build killed with SIGKILL part-way through tokenizing continues from its checkpoint and ends
// byte-identical to a straight build; `bert-run prepare` builds the caches and finds them again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { parquetWriteFile } from 'hyparquet-writer';
import { openPretrainingData, type PretrainingDataOptions } from '../../src/data/index.js';
import { rng } from '../support/random.js';
import { fixture } from '../support/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bert-prepare-test-'));
const WORDS = 'the of and to a in that is was he for it with as his on be at by had are but from or have an they which one you were all we her she there would their will when who him been has more if no out so said what up its about than into them can only other time new some could these two may first then do any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');

/** `docs` documents of 4–12 random sentences (blank line between documents). */
function text(docs: number, seed: number): string {
  const next = rng(seed);
  const out: string[] = [];
  for (let d = 0; d < docs; d++) {
    const lines: string[] = [];
    for (let s = 4 + Math.floor(next() * 9); s > 0; s--) {
      const n = 5 + Math.floor(next() * 15);
      lines.push(Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]!).join(' ') + '.');
    }
    out.push(lines.join('\n'));
  }
  return out.join('\n\n') + '\n';
}

const corpus = join(root, 'corpus');
mkdirSync(corpus);
writeFileSync(join(corpus, 'a.txt'), text(300, 1));
writeFileSync(join(corpus, 'b.jsonl.gz'), gzipSync(text(300, 2).split('\n\n').map((d) => JSON.stringify({ text: d })).join('\n') + '\n'));
parquetWriteFile({ filename: join(corpus, 'c.parquet'), columnData: [{ name: 'text', data: text(300, 3).split('\n\n'), type: 'STRING' }], rowGroupSize: 64 });
const big = join(root, 'big.txt');
writeFileSync(big, text(12000, 4));

function options(cacheDir: string, files: string[], workers: number): PretrainingDataOptions {
  return { corpus: { files, format: 'lines' }, tokenizer: { train: { vocabSize: 400 } }, seqLen: 32, maxPredictions: 5, dupeFactor: 2, holdout: 0.05, seed: 3, cacheDir, workers, prefetch: 0 };
}

/** Every cache file by name → sha256. */
function digests(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

test.after(() => rmSync(root, { recursive: true, force: true }));

/** A script that prepares the data of the options given as JSON (a child process to kill). */
function prepareScript(): string {
  const script = join(root, 'prepare.mjs');
  const dataModule = pathToFileURL(fixture('..', 'dist', 'src', 'data', 'index.js')).href;
  writeFileSync(
    script,
    `import { openPretrainingData } from ${JSON.stringify(dataModule)};
const o = JSON.parse(process.argv[2]);
const d = await openPretrainingData({ ...o, log: (m) => console.log(m) });
d.close();
console.log('done');
`,
  );
  return script;
}

/** A vocab.txt of the generator's words (a given vocabulary: no WordPiece training pass). */
function writeVocab(): string {
  const path = join(root, 'words.txt');
  writeFileSync(path, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...new Set(WORDS), '.'].join('\n') + '\n');
  return path;
}

test('workers: 1, 2 and 3 threads, by batches and by shards, give byte-identical vocabulary, token and instance caches on mixed shards (segment pairs built on the threads too)', async () => {
  const files = [join(corpus, 'a.txt'), join(corpus, 'b.jsonl.gz'), join(corpus, 'c.parquet')];
  const results: Array<Record<string, string>> = [];
  for (const [workers, shardMinBytes] of [[1, 0], [2, 0], [3, 0], [2, Infinity]] as const) {
    const dir = join(root, `cache-${workers}-${shardMinBytes}`);
    const data = await openPretrainingData({ ...options(dir, files, workers), shardMinBytes, instanceThreadMinTokens: 0 });
    assert.is(data.stats.documents, 900);
    data.close();
    results.push(digests(dir));
  }
  assert.is(Object.keys(results[0]!).length, 4, 'tokenizer, tokens and two instance sets');
  assert.equal(results[1], results[0], '2 workers by shards');
  assert.equal(results[2], results[0], '3 workers by shards');
  assert.equal(results[3], results[0], '2 workers by batches');
});

test('a long tail of distinct words under a small data.memory_limit: word counts prune (logged), and the caches stay byte-identical for 1, 2 and 3 threads, by shards and by batches', async () => {
  const next = rng(11);
  const madeUp = () => Array.from({ length: 4 + Math.floor(next() * 5) }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(next() * 26)]).join('');
  const tailDir = join(root, 'tail');
  mkdirSync(tailDir);
  const files = [0, 1, 2].map((k) => {
    const file = join(tailDir, `${k}.txt`);
    writeFileSync(file, text(200, 20 + k).replace(/[a-z]+/g, (w) => (next() < 0.15 ? madeUp() : w)));
    return file;
  });
  const byShards: Array<Record<string, string>> = [];
  const byBatches: Array<Record<string, string>> = [];
  for (const [workers, shardMinBytes] of [[1, 0], [2, 0], [3, 0], [1, Infinity], [2, Infinity]] as const) {
    const dir = join(root, `tail-${workers}-${shardMinBytes}`);
    const logs: string[] = [];
    // 2 MiB: vocabulary training keeps 749 distinct words, a job's counter 409 (the corpus has thousands).
    const data = await openPretrainingData({ ...options(dir, files, workers), shardMinBytes, instanceThreadMinTokens: 0, memoryLimitBytes: 2 << 20, log: (m) => logs.push(m) });
    data.close();
    assert.ok(logs.some((m) => /word counts were pruned \d+ times/.test(m)), logs.join('\n'));
    (shardMinBytes === 0 ? byShards : byBatches).push(digests(dir));
  }
  assert.equal(byShards[1], byShards[0], '2 threads by shards');
  assert.equal(byShards[2], byShards[0], '3 threads by shards');
  assert.equal(byBatches[1], byBatches[0], '2 threads by batches');
});

test('a build killed (SIGKILL) while tokenizing continues from its checkpoint and ends byte-identical', async () => {
  const straight = join(root, 'straight');
  (await openPretrainingData({ ...options(straight, [big], 1), checkpointMs: 50 })).close();
  const dir = join(root, 'killed');
  const script = prepareScript();
  const opts = JSON.stringify({ ...options(dir, [big], 1), checkpointMs: 50 });
  // First process: killed once a checkpoint of the token cache exists.
  const child = spawn(process.execPath, [script, opts], { stdio: 'ignore' });
  const started = Date.now();
  const checkpoint = () => existsSync(dir) && readdirSync(dir).some((f) => /^tokens-.*\.partial\.json$/.test(f));
  while (!checkpoint() && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(checkpoint(), 'a checkpoint appeared');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(!readdirSync(dir).some((f) => /^tokens-[0-9a-f]+\.bin$/.test(f)), 'killed before the token cache was finished');
  // Second process: continues, and says from where.
  const rerun = spawnSync(process.execPath, [script, opts], { encoding: 'utf8' });
  assert.is(rerun.status, 0, rerun.stderr);
  const m = /continuing the token cache .* after ([\d,]+) documents/.exec(rerun.stdout);
  assert.ok(m && Number(m[1]!.replace(/,/g, '')) > 0, rerun.stdout);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.partial')), 'no partial files left');
  assert.equal(digests(dir), digests(straight));
});

test('shard by shard (several files, worker threads): a killed build continues at the next shard, byte-identical', async () => {
  const shards = join(root, 'shards');
  mkdirSync(shards);
  for (let k = 0; k < 24; k++) writeFileSync(join(shards, `s${String(k).padStart(2, '0')}.txt`), text(150, 100 + k));
  const files = Array.from({ length: 24 }, (_, k) => join(shards, `s${String(k).padStart(2, '0')}.txt`));
  const straight = join(root, 'shards-straight');
  (await openPretrainingData({ ...options(straight, files, 1), tokenizer: { vocab: writeVocab() } })).close();
  const dir = join(root, 'shards-killed');
  const opts = JSON.stringify({ ...options(dir, files, 2), tokenizer: { vocab: writeVocab() }, checkpointMs: 0, shardMinBytes: 0 });
  const child = spawn(process.execPath, [prepareScript(), opts], { stdio: 'ignore' });
  const started = Date.now();
  const checkpoint = () => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.partial.json'));
  while (!checkpoint() && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const partial = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.partial.json'))!), 'utf8')) as { shards?: number };
  assert.ok(partial.shards !== undefined && partial.shards > 0 && partial.shards < 24, `killed after ${partial.shards} of 24 shards`);
  const rerun = spawnSync(process.execPath, [prepareScript(), opts], { encoding: 'utf8' });
  assert.is(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, /continuing the token cache/);
  assert.equal(digests(dir), digests(straight));
});

/** Runs the prepare script on `opts` until a file matching `partial` appears in `dir`, kills it (SIGKILL), and returns that file's checkpoint. */
async function killAtCheckpoint(dir: string, opts: string, partial: RegExp): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [prepareScript(), opts], { stdio: 'ignore' });
  const started = Date.now();
  const found = () => (existsSync(dir) ? readdirSync(dir).find((f) => partial.test(f)) : undefined);
  while (!found() && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const file = found();
  assert.ok(file, `a checkpoint matching ${partial} appeared`);
  return JSON.parse(readFileSync(join(dir, file!), 'utf8')) as Record<string, unknown>;
}

test('killed while counting words (by batches of one file, and by files on two threads): the rerun continues the counts and ends byte-identical', async () => {
  const shards = Array.from({ length: 12 }, (_, k) => join(root, `count-shard-${k}.txt`));
  shards.forEach((f, k) => writeFileSync(f, text(300, 200 + k)));
  for (const [name, files, workers, shardMinBytes] of [['batches', [big], 1, Infinity], ['files', shards, 2, 0]] as const) {
    const straight = join(root, `count-straight-${name}`);
    (await openPretrainingData({ ...options(straight, [...files], 1), shardMinBytes })).close();
    const dir = join(root, `count-killed-${name}`);
    const opts = JSON.stringify({ ...options(dir, [...files], workers), shardMinBytes, checkpointMs: 0 });
    const c = await killAtCheckpoint(dir, opts, /^tokenizer-.*\.counts\.partial\.json$/);
    assert.ok((c.documents as number) > 0, `${name}: killed after ${c.documents} documents`);
    assert.ok(!readdirSync(dir).some((f) => /^tokenizer-[0-9a-f]+\.json$/.test(f)), `${name}: killed before the vocabulary was trained`);
    const rerun = spawnSync(process.execPath, [prepareScript(), opts], { encoding: 'utf8' });
    assert.is(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stdout, /continuing the word counts after [\d,]+ documents/);
    assert.ok(!readdirSync(dir).some((f) => f.includes('.partial')), `${name}: no partial files left`);
    assert.equal(digests(dir), digests(straight), name);
  }
  // A damaged checkpoint (a negative count) is not continued: counting starts over, same result.
  const dir = join(root, 'count-damaged');
  const opts = JSON.stringify({ ...options(dir, [big], 1), shardMinBytes: Infinity, checkpointMs: 0 });
  await killAtCheckpoint(dir, opts, /^tokenizer-.*\.counts\.partial\.json$/);
  const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.counts.partial.json'))!);
  const c = JSON.parse(readFileSync(file, 'utf8')) as { counts: number[] };
  c.counts[0] = -5;
  writeFileSync(file, JSON.stringify(c));
  const rerun = spawnSync(process.execPath, [prepareScript(), opts], { encoding: 'utf8' });
  assert.is(rerun.status, 0, rerun.stderr);
  assert.not.match(rerun.stdout, /continuing the word counts/);
  assert.equal(digests(dir), digests(join(root, 'count-straight-batches')), 'damaged checkpoint: counted from the start');
});

test('killed while building segment pairs: the rerun continues at the next document range and ends byte-identical', async () => {
  const vocab = writeVocab();
  const straight = join(root, 'pairs-straight');
  (await openPretrainingData({ ...options(straight, [big], 1), tokenizer: { vocab }, dupeFactor: 5 })).close();
  const dir = join(root, 'pairs-killed');
  const opts = JSON.stringify({ ...options(dir, [big], 1), tokenizer: { vocab }, dupeFactor: 5, checkpointMs: 0 });
  const c = await killAtCheckpoint(dir, opts, /^instances-.*\.partial\.json$/);
  assert.ok((c.jobs as number) > 0, `killed after ${c.jobs} ranges`);
  const rerun = spawnSync(process.execPath, [prepareScript(), opts], { encoding: 'utf8' });
  assert.is(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, /continuing the instance cache .* after [\d,]+ of [\d,]+ document ranges/);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.partial')), 'no partial files left');
  assert.equal(digests(dir), digests(straight));
});

test('bert-run prepare builds the caches, then finds them; a fine-tuning recipe has nothing to prepare', () => {
  const recipe = join(root, 'recipe.yaml');
  writeFileSync(
    recipe,
    `version: 1
name: prep
model:
  hidden: 32
  max_position: 32
  graph:
    - embeddings: {}
    - repeat: 1
      layers:
        - attention: { heads: 2 }
        - feedforward: { inner: 64 }
tasks:
  mlm: { max_predictions: 5 }
data:
  corpus: { files: ["corpus/*"] }
  tokenizer: { wordpiece: { train: { vocab_size: 300 } } }
  seq_len: 32
  dupe_factor: 1
  workers: 2
  cache_dir: ${JSON.stringify(join(root, 'cli-cache'))}
`,
  );
  const cli = (...args: string[]) => spawnSync(process.execPath, [fixture('..', 'bin', 'bert-run.js'), 'prepare', ...args], { encoding: 'utf8' });
  const first = cli(recipe);
  assert.is(first.status, 0, first.stderr);
  assert.match(first.stdout, /prepared prep in .*: 900 documents, .* caches \(tokenizer built, tokens built, train\/32\/5 built, holdout\/32\/5 built\)/);
  const again = cli(recipe, '--json');
  assert.is(again.status, 0, again.stderr);
  const done = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; cache?: { tokens: string } }).find((e) => e.event === 'done');
  assert.is(done?.cache?.tokens, 'hit');
  writeFileSync(join(root, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
  writeFileSync(join(root, 'labelled.jsonl'), '{"text": "the", "label": "a"}\n{"text": "the the", "label": "b"}\n');
  const classify = join(root, 'classify.yaml');
  writeFileSync(classify, readFileSync(recipe, 'utf8').replace('tasks:\n  mlm: { max_predictions: 5 }', 'tasks:\n  classify: {}').replace('        - feedforward: { inner: 64 }\n', '        - feedforward: { inner: 64 }\n    - pooler: {}\n').replace(/  corpus: .*\n  tokenizer: .*\n/, '  labelled: { files: [labelled.jsonl] }\n  tokenizer: { vocab: vocab.txt }\n'));
  const finetune = cli(classify);
  assert.is(finetune.status, 2, finetune.stderr);
  assert.match(finetune.stderr, /classify.yaml: a fine-tuning recipe has no corpus to prepare/, finetune.stderr);
});

test.run();
