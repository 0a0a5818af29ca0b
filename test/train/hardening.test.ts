// Training against the inputs users get wrong: a recipe's own vocabulary file (relative and
// absolute), a model.init that does not fit (shapes, vocabulary, heads), a --resume with another
// recipe or a state past the schedule, a bad corpus (no run dir may be left), kill -9 during
// checkpointing (no temporary survives, metrics.jsonl reads as one straight run) and divergence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train, type TrainOptions } from '../../src/train/runner.js';
import { listCheckpoints } from '../../src/train/checkpoint/checkpoints.js';
import { packageRoot } from '../../src/package-root.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { writeSyntheticCorpus, writeTinyRecipe } from '../support/synthetic-corpus.js';

const root = mkdtempSync(join(tmpdir(), 'bert-hardening-test-'));
writeSyntheticCorpus(root, 40, 7);
const recipe = writeTinyRecipe(root);
const bin = join(packageRoot(), 'bin/bert-run.js');
let printed: string[] = [];
let log = console.log;

test.before(() => {
  log = console.log;
  console.log = (line: string) => void printed.push(String(line)); // --json progress lines, kept for assertions
});
test.after(() => {
  console.log = log;
  rmSync(root, { recursive: true, force: true });
});

async function run(o: Omit<TrainOptions, 'recipe' | 'gpu'> & { recipe?: string }) {
  const { gpu } = await testGpu();
  printed = [];
  return train({ recipe, gpu, json: true, ...o });
}

async function refused(o: Parameters<typeof run>[0], pattern: RegExp): Promise<UserError> {
  try {
    await run(o);
  } catch (e) {
    assert.instance(e, UserError, (e as Error)?.stack);
    assert.not.match((e as Error).message, /\n/);
    assert.match((e as Error).message, pattern);
    return e as UserError;
  }
  throw new Error(`expected a refusal matching ${pattern}`);
}

function cli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max')).join('\n') };
}

const base = join(root, 'base');
const short = ['schedule.steps=2', 'schedule.eval.every=0', 'schedule.lr.warmup_steps=0'];

test('a recipe with its own vocab.txt or tokenizer.json trains, with relative and absolute paths', async () => {
  await run({ out: base, sets: short });
  const vocabDir = join(root, 'vocab');
  mkdirSync(vocabDir);
  copyFileSync(join(base, 'vocab.txt'), join(vocabDir, 'vocab.txt'));
  copyFileSync(join(base, 'tokenizer.json'), join(vocabDir, 'tokenizer.json'));
  // The recipe sits in a sub-folder, so a doubled base directory cannot pass by accident.
  const sub = join(root, 'sub');
  mkdirSync(sub);
  const text = readFileSync(recipe, 'utf8').replace('files: [corpus.txt]', 'files: [../corpus.txt]');
  writeFileSync(join(sub, 'rel-vocab.yaml'), text.replace(/tokenizer: \{ wordpiece: .* \}/, 'tokenizer: { vocab: ../vocab/vocab.txt }'));
  writeFileSync(join(sub, 'rel-json.yaml'), text.replace(/tokenizer: \{ wordpiece: .* \}/, 'tokenizer: { tokenizer_json: ../vocab/tokenizer.json }'));
  for (const [file, sets] of [
    ['rel-vocab.yaml', short],
    ['rel-json.yaml', short],
    ['rel-vocab.yaml', [...short, `data.tokenizer.vocab=${join(vocabDir, 'vocab.txt')}`]],
  ] as const) {
    const r = await run({ recipe: join(sub, file), out: join(root, `own-${file}-${sets.length}`), sets: [...sets] });
    assert.is(r.steps, 2, file);
    assert.equal(readFileSync(join(root, `own-${file}-${sets.length}`, 'vocab.txt'), 'utf8'), readFileSync(join(vocabDir, 'vocab.txt'), 'utf8'));
  }
});

test('model.init that does not fit is refused in one line by training and by check, and no run dir is made', async () => {
  const vocab = join(base, 'vocab.txt');
  const cases: Array<[string[], RegExp]> = [
    // Another hidden size: the first tensor is named with both shapes.
    [[`data.tokenizer.vocab=${vocab}`, 'model.hidden=48', 'model.graph[1].layers[1].feedforward.inner=64'], /bert\.embeddings\.word_embeddings\.weight: shape \[\d+, 32\] in the checkpoint, \[\d+, 48\] in the recipe's model/],
    // Same shapes, other heads: config.json tells.
    [[`data.tokenizer.vocab=${vocab}`, 'model.graph[1].layers[0].attention.heads=4'], /config\.json says num_attention_heads 2, the recipe's model has 4/],
    // A trained tokenizer of another size: the vocab sizes are named.
    [['data.tokenizer.wordpiece.train.vocab_size=120'], /the checkpoint's vocabulary has \d+ rows, the recipe's model \d+/],
  ];
  // Same size, other token order: the ids would mean other words.
  const lines = readFileSync(vocab, 'utf8').split('\n');
  [lines[20], lines[21]] = [lines[21]!, lines[20]!];
  writeFileSync(join(root, 'swapped-vocab.txt'), lines.join('\n'));
  cases.push([[`data.tokenizer.vocab=${join(root, 'swapped-vocab.txt')}`], /differs from this run's tokenizer \(\d+ tokens; first difference at id 20/]);
  for (const [i, [sets, pattern]] of cases.entries()) {
    const out = join(root, `init-${i}`);
    const all = [...short, `model.init=${base}`, ...sets];
    await refused({ out, sets: all }, pattern);
    assert.not.ok(existsSync(out), `run dir ${out} was created`);
    if (i !== 2) {
      // check reads the same files (a trained tokenizer is only known once the corpus is read).
      const c = cli(['check', recipe, ...all.flatMap((s) => ['--set', s])]);
      assert.is(c.status, 1, c.stderr);
      assert.is(c.stderr.split('\n').length, 1, c.stderr);
      assert.match(c.stderr, pattern);
    }
  }
  // And the fitting case still starts from the checkpoint.
  const ok = await run({ out: join(root, 'init-ok'), sets: [...short, `model.init=${base}`, `data.tokenizer.vocab=${vocab}`] });
  assert.is(ok.steps, 2);
});

test('--resume refuses another recipe (naming the keys) and a state past the schedule; allows run settings', async () => {
  const out = join(root, 'resume');
  await run({ out, sets: ['schedule.steps=4', 'schedule.lr.warmup_steps=1'], stopAfter: 2 });
  const e = await refused({ out, resume: true, sets: ['schedule.steps=4', 'schedule.lr.warmup_steps=1', 'model.hidden=48', 'schedule.optimizer.adamw.lr=0.01'] }, /--resume: the recipe differs from the one .*step-0000002 was trained with, in model\.hidden, schedule\.optimizer\.adamw\.lr$/);
  assert.is(e.hint, 'resume with the same recipe, or start a new run with --out DIR');
  assert.is(e.exitCode, 2);
  await refused({ out, resume: true, sets: ['schedule.steps=1', 'schedule.lr.warmup_steps=1'] }, /state\.json: step 2 is past this recipe's schedule\.steps 1/);
  const statePath = join(listCheckpoints(out)[0]!.dir, 'state.json');
  const good = readFileSync(statePath, 'utf8');
  for (const [edit, pattern] of [
    [(s: Record<string, unknown>) => (s.updates = -1), /state\.json: updates must be a non-negative integer \(got -1\)/],
    [(s: Record<string, unknown>) => (s.step = 'two'), /state\.json: step must be a non-negative integer \(got "two"\)/],
    [(s: Record<string, unknown>) => (s.unigram = { x: 1 }), /state\.json: unigram must map token ids/],
    [(s: Record<string, unknown>) => (s.format = 'other'), /state\.json: format is "other"/],
  ] as const) {
    const state = JSON.parse(good) as Record<string, unknown>;
    edit(state);
    writeFileSync(statePath, JSON.stringify(state));
    await refused({ out, resume: true, sets: ['schedule.steps=4', 'schedule.lr.warmup_steps=1'] }, pattern);
  }
  writeFileSync(statePath, good);
  const r = await run({ out, resume: true, sets: ['schedule.steps=6', 'schedule.lr.warmup_steps=1', 'schedule.log.every=1', 'runtime.profile=false'] });
  assert.is(r.steps, 6);
});

test('a bad corpus is refused before the run dir exists', async () => {
  for (const [name, bytes] of [
    ['empty.txt', ''],
    ['binary.txt', 'abc\u0000def\n'],
    ['latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])],
  ] as const) {
    writeFileSync(join(root, name), bytes);
    const out = join(root, `bad-${name}`);
    await refused({ out, sets: [...short, `data.corpus.files=[${name}]`] }, new RegExp(name.replace('.', '\\.')));
    assert.not.ok(existsSync(out), `${name}: run dir left behind`);
  }
});

/** Metrics records without the fields that measure wall-clock time. */
function metrics(dir: string): unknown[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { time: _t, tokens_per_s: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
    void _t;
    void _s;
    return rest;
  });
}

test('kill -9 while checkpointing: the next run removes dead temporaries and metrics.jsonl reads as one straight run', async () => {
  const sets = ['schedule.steps=24', 'schedule.log.every=1', 'schedule.checkpoint.every=1', 'schedule.checkpoint.keep=2', 'schedule.eval.every=6'];
  await run({ out: join(root, 'straight'), sets });
  const out = join(root, 'killed');
  let killedAt = 0;
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [bin, recipe, '--out', out, '--json', ...sets.flatMap((s) => ['--set', s])], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const steps = [...buffered.matchAll(/"event":"step","step":(\d+)/g)].map((m) => Number(m[1]));
      if (!killedAt && steps.some((s) => s >= 9)) {
        killedAt = Math.max(...steps);
        child.kill('SIGKILL');
      }
    });
    child.on('close', () => resolve());
  });
  assert.ok(killedAt >= 9 && killedAt < 24, `killed at step ${killedAt}`);
  // What a kill in the middle of writing leaves, from a process that is surely dead.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  mkdirSync(join(out, 'checkpoints', `.tmp-step-0000099-${dead}`));
  writeFileSync(join(out, 'checkpoints', `.tmp-step-0000099-${dead}`, 'model.safetensors'), 'partial');
  writeFileSync(join(out, `recipe.yaml.tmp-${dead}`), 'partial');
  // A live writer's temporary is not touched (the test runner's parent process is alive).
  const live = `config.json.tmp-${process.ppid}`;
  writeFileSync(join(out, live), 'theirs');
  const r = await run({ out, sets, resume: true });
  assert.is(r.steps, 24);
  const leftovers = [...readdirSync(out), ...readdirSync(join(out, 'checkpoints'))].filter((n) => n.includes('.tmp-'));
  assert.equal(leftovers, [live]);
  assert.equal(metrics(out), metrics(join(root, 'straight')));
});

test('divergence: a finite loss far above its running median warns once, or stops the run when asked', async () => {
  const wild = ['schedule.steps=12', 'schedule.optimizer.adamw.lr=10', 'schedule.lr.warmup_steps=0', 'schedule.clip_grad_norm=0', 'schedule.log.every=1'];
  const out = join(root, 'wild');
  const r = await run({ out, sets: wild });
  assert.is(r.steps, 12);
  const warnings = printed.map((l) => JSON.parse(l) as { event: string; message?: string }).filter((e) => e.event === 'info' && /^warning: loss/.test(e.message ?? ''));
  assert.is(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]!.message!, /× the median .* \(schedule\.divergence\.factor 4\); the model may be diverging/);
  assert.is(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"divergence":true')).length, 1);
  const e = await refused({ out: join(root, 'wild-stop'), sets: [...wild, 'schedule.divergence.stop=true'] }, /^training stopped: loss .* at step \d+ is .*× the median/);
  assert.is(e.code, 'diverged');
  // The default recipe's healthy run says nothing.
  await run({ out: join(root, 'calm'), sets: ['schedule.steps=30', 'schedule.log.every=1'] });
  assert.not.ok(printed.some((l) => l.includes('warning: loss')));
});

test.run();
