// Inference from a run directory (issue 7): a tiny run on the synthetic corpus, then fill-mask,
// forward and embed against each other, against the same sequences run one at a time, and
// against the float64 CPU evaluation of the inference graph; the plans follow the autotune
// cache; every bad input is a one-line error naming the file; the CLI's exit codes and atomic output.
import { RecipeError } from '../../src/recipe/index.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { train } from '../../src/train/runner.js';
import { listCheckpoints } from '../../src/train/checkpoint/checkpoints.js';
import { InferenceModel, embedTexts, fillMask, maskedMean, parseBatchJson, readTextLines, softmax, type Embedding, type ForwardBatch, type ForwardResult } from '../../src/train/inference.js';
import { UserError } from '../../src/errors.js';
import { deviceIdentity } from '../../src/tune/autotune.js';
import { recordChoices } from '../../src/tune/autotune-cache.js';
import { testGpu } from '../support/gpu.js';
import { assertClose } from '../support/harness.js';
import { evaluateOnCpu } from '../support/plan-run.js';
import { writeSyntheticCorpus, writeTinyRecipe } from '../support/synthetic-corpus.js';

const repo = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();
const root = mkdtempSync(join(tmpdir(), 'bert-inference-test-'));
const runDir = join(root, 'run');
let model: InferenceModel;
let log = console.log;

test.before(async () => {
  writeSyntheticCorpus(root, 40, 7);
  const recipe = writeTinyRecipe(root);
  const { gpu } = await testGpu();
  log = console.log;
  console.log = () => {};
  try {
    await train({ recipe, out: runDir, gpu, json: true, sets: ['schedule.steps=30'] });
  } finally {
    console.log = log;
  }
  model = await InferenceModel.open(runDir, { gpu });
});

test.after(() => {
  model?.close();
  rmSync(root, { recursive: true, force: true });
});

const SENTENCES = ['the cat sat on the warm mat by the door .', 'birds sing loudly', 'we eat fresh bread with butter and sweet jam .'];

/** One sequence's rows of a result (its first `n` positions). */
function rowsOf(r: ForwardResult, b: number, n: number, what: 'mlm_logits' | 'hidden_states'): Float32Array {
  const width = what === 'mlm_logits' ? r.vocab : r.hidden;
  return r[what].subarray(b * r.seq * width, (b * r.seq + n) * width);
}

function oneLineError(fn: () => unknown, mentions: string, context: string): UserError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, `${context}: a UserError (got ${(e as Error).stack})`);
    assert.not.match(e.message, /\n/, `${context}: one line`);
    assert.ok(e.message.includes(mentions), `${context}: "${e.message}" names ${mentions}`);
    return e;
  }
  assert.unreachable(`${context}: no error`);
  throw new Error('unreachable');
}

async function oneLineErrorAsync(fn: () => Promise<unknown>, mentions: string, context: string): Promise<UserError> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  return oneLineError(() => {
    if (error) throw error;
  }, mentions, context);
}

test('the run dir loads: recipe, tokenizer, every parameter, model rows', () => {
  assert.ok(model.vocab >= model.tokenizer.size && model.vocab % 8 === 0, `vocab rows ${model.vocab} for ${model.tokenizer.size} tokens`);
  assert.is(model.maxPosition, 32);
  assert.ok(model.hasPooler && model.hasNsp);
  assert.ok(model.params.has('bert.embeddings.word_embeddings.weight') && model.params.has('cls.seq_relationship.weight'));
  const enc = model.encode('the [MASK] sat', 'on the mat');
  const { cls, sep, mask } = model.tokenizer.specials;
  assert.is(enc.ids[0], cls);
  assert.is(enc.ids[2], mask, '[MASK] written in the text is the mask token');
  assert.is(enc.ids.filter((i) => i === sep).length, 2);
  assert.is(enc.typeIds.filter((t) => t === 1).length, model.tokenizer.encode('on the mat').length + 1, 'segment b and its [SEP] have type 1');
  assert.is(enc.typeIds.length, enc.ids.length);
});

test('fill-mask: sorted probabilities summing to at most 1; top-1 is the argmax of forward logits', async () => {
  const text = 'the cat sat on the [MASK] mat by the door .';
  const r = await fillMask(model, text, 5);
  assert.is(r.masks.length, 1);
  const m = r.masks[0]!;
  assert.is(r.tokens[m.position], '[MASK]');
  assert.is(m.candidates.length, 5);
  const probs = m.candidates.map((c) => c.prob);
  for (let i = 1; i < probs.length; i++) assert.ok(probs[i - 1]! >= probs[i]!, `sorted: ${probs}`);
  const sum = probs.reduce((a, b) => a + b, 0);
  assert.ok(sum > 0 && sum <= 1 + 1e-9, `sum ${sum}`);
  for (const c of m.candidates) assert.is(model.tokenizer.vocab[c.id], c.token);

  const batch = model.pad([model.encode(text)]);
  const f = await model.forward(batch);
  const row = f.mlm_logits.subarray(m.position * f.vocab, (m.position + 1) * f.vocab);
  let best = 0;
  for (let i = 1; i < model.tokenizer.size; i++) if (row[i]! > row[best]!) best = i;
  assert.is(m.candidates[0]!.id, best);
  assertClose([m.candidates[0]!.prob], [softmax(row)[best]!], { atol: 1e-9, rtol: 1e-9 }, 'top-1 probability');
  // Two masks: one prediction each; --top-k is honoured.
  const two = await fillMask(model, 'the [MASK] sat on the [MASK] .', 3);
  assert.equal(two.masks.map((x) => x.candidates.length), [3, 3]);
  await oneLineErrorAsync(() => fillMask(model, 'no mask here', 5), '[MASK]', 'no [MASK]');
  await oneLineErrorAsync(() => fillMask(model, `[MASK] ${'the cat sat '.repeat(12)}`, 5), 'max_position 32', 'too long');
});

test('forward: a padded batch equals the same sequences run one at a time (unpadded)', async () => {
  const seqs = [model.encode(SENTENCES[0]!), model.encode(SENTENCES[1]!, SENTENCES[2]!), model.encode(SENTENCES[1]!)];
  const batch = model.pad(seqs, 30);
  const together = await model.forward(batch);
  for (let b = 0; b < seqs.length; b++) {
    const n = seqs[b]!.ids.length;
    const alone = await model.forward(model.pad([seqs[b]!]));
    assert.is(alone.seq, n);
    const tol = { atol: 1e-4, rtol: 1e-4 };
    assertClose(rowsOf(together, b, n, 'mlm_logits'), rowsOf(alone, 0, n, 'mlm_logits'), tol, `sequence ${b} MLM logits`);
    assertClose(rowsOf(together, b, n, 'hidden_states'), rowsOf(alone, 0, n, 'hidden_states'), tol, `sequence ${b} hidden states`);
    assertClose(together.pooled!.subarray(b * together.hidden, (b + 1) * together.hidden), alone.pooled!, tol, `sequence ${b} pooled`);
    assertClose(together.nsp_logits!.subarray(b * 2, b * 2 + 2), alone.nsp_logits!, tol, `sequence ${b} NSP logits`);
  }
  // More sequences than one plan holds run in chunks with the same results.
  const many = model.pad(Array.from({ length: 18 }, (_, i) => seqs[i % 3]!), 30);
  const chunked = await model.forward(many);
  assertClose(chunked.mlm_logits.subarray(17 * 30 * chunked.vocab), together.mlm_logits.subarray(2 * 30 * together.vocab), { atol: 1e-5, rtol: 1e-5 }, 'the 18th sequence (second chunk)');
});

test('forward equals the float64 CPU evaluation of the inference graph', async () => {
  const batch = model.pad([model.encode(SENTENCES[0]!, SENTENCES[1]!), model.encode(SENTENCES[2]!)]);
  const got = await model.forward(batch);
  const compiled = model.compileShape(batch.batch, batch.seq, 'cpu-reference');
  const values = evaluateOnCpu(compiled, model.params, model.planInputs(batch), { step: 1, lr: 0, seed: 0, microStep: 0, mlmScale: 1, nspScale: 1 });
  const pairs: Array<[string, Float32Array]> = [
    ['mlm_logits', got.mlm_logits],
    ['hidden', got.hidden_states],
    ['pooled', got.pooled!],
    ['nsp_logits', got.nsp_logits!],
  ];
  for (const [name, ours] of pairs) {
    const ref = values.get(compiled.model.outputs[name]!)!;
    assert.is(ref.length, ours.length, `${name} size`);
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    assertClose(ours, ref, { atol: 1e-5 + 1e-3 * scale, rtol: 1e-3 }, `${name} vs float64 CPU`);
  }
});

test('embed: mean vectors are the masked average of the last hidden states; pooled is the pooler output', async () => {
  const file = join(root, 'texts.txt');
  writeFileSync(file, `${SENTENCES[0]}\n\n${SENTENCES[1]}\n${SENTENCES[2]}\n`);
  const lines = readTextLines(file);
  assert.equal(lines.map((l) => l.line), [1, 3, 4], 'blank lines skipped, line numbers kept');
  const out: Embedding[] = [];
  await embedTexts(model, lines, file, (es) => out.push(...es), 2);
  assert.is(out.length, 3);
  const H = model.hiddenSize;
  for (const [i, e] of out.entries()) {
    const enc = model.encode(lines[i]!.text);
    assert.is(e.tokens, enc.ids.length);
    const batch = model.pad([enc]);
    const r = await model.forward(batch);
    // By hand: the plain average over the real tokens of this sequence.
    const ref = new Float64Array(H);
    for (let t = 0; t < enc.ids.length; t++) for (let h = 0; h < H; h++) ref[h]! += r.hidden_states[t * H + h]! / enc.ids.length;
    assertClose(e.mean, ref, { atol: 1e-4, rtol: 1e-4 }, `line ${e.line} mean`);
    assertClose(e.pooled!, r.pooled!, { atol: 1e-4, rtol: 1e-4 }, `line ${e.line} pooled`);
  }
  // maskedMean ignores padded positions.
  const hidden = Float32Array.from([1, 2, 3, 4, 100, 100]);
  assert.equal(Array.from(maskedMean(hidden, Int32Array.from([1, 1, 0]), 1, 3, 2)), [2, 3]);
});

test('a checkpoint directory, and a run dir without a final model (newest checkpoint), load the same weights; data paths may be gone', async () => {
  const { gpu } = await testGpu();
  const checkpoint = listCheckpoints(runDir).pop()!.dir;
  const copy = join(root, 'copied-run');
  mkdirSync(copy);
  cpSync(join(runDir, 'checkpoints'), join(copy, 'checkpoints'), { recursive: true });
  // The recipe names a corpus that no longer exists: inference does not need it.
  const recipePath = join(listCheckpoints(copy).pop()!.dir, 'recipe.yaml');
  writeFileSync(recipePath, readFileSync(recipePath, 'utf8').replaceAll(join(root, 'corpus.txt'), '/nonexistent/corpus.txt'));
  const batch = model.pad([model.encode(SENTENCES[0]!)]);
  const ref = await model.forward(batch);
  const notes: string[] = [];
  for (const dir of [checkpoint, copy]) {
    const other = await InferenceModel.open(dir, { gpu, log: (m) => notes.push(m) });
    try {
      assert.equal(Array.from((await other.forward(batch)).mlm_logits), Array.from(ref.mlm_logits), dir);
    } finally {
      other.close();
    }
  }
  assert.ok(notes.some((n) => n.includes('newest checkpoint')), notes.join('; '));
});

test('inference plans follow the autotune cache (never timing); runtime.autotune off and a damaged cache give the heuristic', async () => {
  const { gpu } = await testGpu();
  const probe = model.compileShape(3, 7);
  const site = probe.tuneSites.find((s) => s.candidates.length > 1)!;
  assert.ok(site, 'the plan has a tune site');
  const other = site.candidates.find((c) => c.variant !== site.heuristic)!.variant;
  const cachePath = join(root, 'inference-autotune.json');
  const { key, adapter } = deviceIdentity(gpu.report);
  await recordChoices(cachePath, key, adapter, { [site.key]: { variant: other, ms: { [other]: 1, [site.heuristic]: 2 }, heuristic: site.heuristic, at: '2026-12-07T00:00:00Z' } }, true);
  const chosen = (m: InferenceModel) => m.compileShape(3, 7).tuneSites.find((s) => s.key === site.key)!.chosen;
  const tuned = await InferenceModel.open(runDir, { gpu, autotuneCache: cachePath });
  try {
    assert.is(site.chosen, site.heuristic, 'without a cached choice: the heuristic');
    assert.is(chosen(tuned), other, 'the cached choice');
  } finally {
    tuned.close();
  }
  const runDirOff = join(root, 'run-autotune-off');
  cpSync(runDir, runDirOff, { recursive: true });
  const resolved = join(runDirOff, 'recipe.yaml');
  writeFileSync(resolved, readFileSync(resolved, 'utf8').replace(/autotune: cached/, 'autotune: off'));
  const off = await InferenceModel.open(runDirOff, { gpu, autotuneCache: cachePath });
  try {
    assert.is(chosen(off), site.heuristic, 'runtime.autotune off');
  } finally {
    off.close();
  }
  writeFileSync(cachePath, '{"format": "bert-webgpu.autotune/1", "devi');
  const notes: string[] = [];
  const damaged = await InferenceModel.open(runDir, { gpu, autotuneCache: cachePath, log: (m) => notes.push(m) });
  try {
    assert.is(chosen(damaged), site.heuristic);
    assert.match(notes.join('\n'), /autotune cache not used \(autotune cache .*inference-autotune.json: not JSON/);
  } finally {
    damaged.close();
  }
});

test('bad input: one-line errors naming the file', async () => {
  const { gpu } = await testGpu();
  const missing = join(root, 'no-such-run');
  await oneLineErrorAsync(() => InferenceModel.open(missing, { gpu }), missing, 'missing run dir');
  const empty = join(root, 'empty-dir');
  mkdirSync(empty);
  await oneLineErrorAsync(() => InferenceModel.open(empty, { gpu }), join(empty, 'model.safetensors'), 'no model.safetensors');
  const corrupt = join(root, 'corrupt-run');
  cpSync(runDir, corrupt, { recursive: true });
  writeFileSync(join(corrupt, 'model.safetensors'), 'garbage');
  await oneLineErrorAsync(() => InferenceModel.open(corrupt, { gpu }), join(corrupt, 'model.safetensors'), 'corrupt model.safetensors');
  // The run's recipe goes through the recipe loader: file:line:col, the recipe exit code.
  const badRecipe = join(root, 'bad-recipe-run');
  cpSync(runDir, badRecipe, { recursive: true });
  const recipeText = readFileSync(join(badRecipe, 'recipe.yaml'), 'utf8');
  writeFileSync(join(badRecipe, 'recipe.yaml'), recipeText.replace(/^( {2}hidden:) 32$/m, '$1 thirty-two'));
  try {
    await InferenceModel.open(badRecipe, { gpu });
    assert.unreachable('bad recipe accepted');
  } catch (e) {
    assert.instance(e, RecipeError);
    const line = recipeText.split('\n').findIndex((l) => l === '  hidden: 32') + 1;
    assert.ok(line > 0);
    assert.match((e as RecipeError).message, new RegExp(`recipe\\.yaml:${line}:11: model\\.hidden: must be an integer \\(got "thirty-two"\\)$`));
    assert.is((e as RecipeError).exitCode, 2);
  }

  const batchFile = join(root, 'batch.json');
  const cases: Array<[string, unknown]> = [
    ['not JSON', '{"input_ids": [[2, 3]'],
    ['not an object', [[2, 3]]],
    ['ragged', { input_ids: [[2, 5, 3], [2, 3]] }],
    ['flat list', { input_ids: [2, 5, 3] }],
    ['non-integer id', { input_ids: [[2, 5.5, 3]] }],
    ['id out of range', { input_ids: [[2, model.vocab, 3]] }],
    ['negative id', { input_ids: [[2, -1, 3]] }],
    ['wrong token_type_ids shape', { input_ids: [[2, 5, 3]], token_type_ids: [[0, 0]] }],
    ['wrong attention_mask rows', { input_ids: [[2, 5, 3]], attention_mask: [[1, 1, 1], [1, 1, 1]] }],
    ['token type out of range', { input_ids: [[2, 5, 3]], token_type_ids: [[0, 2, 0]] }],
    ['mask not 0/1', { input_ids: [[2, 5, 3]], attention_mask: [[1, 2, 1]] }],
    ['all-zero mask', { input_ids: [[2, 5, 3]], attention_mask: [[0, 0, 0]] }],
    ['too long', { input_ids: [Array.from({ length: 33 }, () => 5)] }],
  ];
  for (const [what, content] of cases) {
    writeFileSync(batchFile, typeof content === 'string' ? content : JSON.stringify(content));
    oneLineError(() => parseBatchJson(batchFile, model), batchFile, `batch.json: ${what}`);
  }
  oneLineError(() => parseBatchJson(join(root, 'nope.json'), model), join(root, 'nope.json'), 'missing batch.json');
  // A device or FIFO as input is refused, not read until memory runs out.
  oneLineError(() => parseBatchJson('/dev/zero', model), '/dev/zero', 'batch.json from /dev/zero');
  oneLineError(() => readTextLines('/dev/zero'), '/dev/zero', 'texts from /dev/zero');
  writeFileSync(batchFile, JSON.stringify({ input_ids: [[2, 5, 3, 0]], attention_mask: [[1, 1, 1, 0]] }));
  const ok: ForwardBatch = parseBatchJson(batchFile, model);
  assert.equal([ok.batch, ok.seq, Array.from(ok.token_type_ids), Array.from(ok.attention_mask)], [1, 4, [0, 0, 0, 0], [1, 1, 1, 0]], 'defaults and given values');

  const texts = join(root, 'empty.txt');
  writeFileSync(texts, '\n  \n');
  oneLineError(() => readTextLines(texts), texts, 'empty texts file');
  const long = join(root, 'long.txt');
  writeFileSync(long, `the cat\n${'the cat sat on the mat '.repeat(6)}\n`);
  await oneLineErrorAsync(() => embedTexts(model, readTextLines(long), long, () => assert.unreachable('no output before the check')), `${long}:2`, 'text longer than max_position');
});

test('CLI: bert-run forward exit codes, atomic output, values equal to the library', async () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/bert-run.js'), ...args], { cwd: root, encoding: 'utf8' });
  const outDir = join(root, 'cli-out');
  mkdirSync(outDir);
  const out = join(outDir, 'out.json');
  const batchFile = join(root, 'cli-batch.json');
  const seqs = [model.encode(SENTENCES[0]!), model.encode(SENTENCES[1]!)];
  const batch = model.pad(seqs);
  const T = batch.seq;
  const rows = (a: Int32Array) => Array.from({ length: batch.batch }, (_, b) => Array.from(a.subarray(b * T, (b + 1) * T)));
  writeFileSync(batchFile, JSON.stringify({ input_ids: rows(batch.input_ids), token_type_ids: rows(batch.token_type_ids), attention_mask: rows(batch.attention_mask) }));

  const badFlag = cli('forward', runDir, '--input', batchFile, '--ouput', out);
  assert.is(badFlag.status, 2, badFlag.stderr);
  assert.match(badFlag.stderr, /did you mean --output/);
  assert.is(cli('forward', runDir, '--input', batchFile).status, 2, 'missing --output');

  writeFileSync(join(root, 'bad-batch.json'), JSON.stringify({ input_ids: [[2, 5, 3], [2, 3]] }));
  const bad = cli('forward', runDir, '--input', join(root, 'bad-batch.json'), '--output', out);
  assert.is(bad.status, 1, bad.stderr);
  const errLines = bad.stderr.split('\n').filter((l) => l.startsWith('bert-run:'));
  assert.is(errLines.length, 1, bad.stderr);
  assert.ok(errLines[0]!.includes(join(root, 'bad-batch.json')) && errLines[0]!.includes('ragged'), errLines[0]);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(readdirSync(outDir), [], 'no output file (or temp file) after an error');

  const good = cli('forward', runDir, '--input', batchFile, '--output', out);
  assert.is(good.status, 0, good.stderr);
  assert.equal(readdirSync(outDir), ['out.json']);
  const j = JSON.parse(readFileSync(out, 'utf8')) as { shape: Record<string, number>; mlm_logits: number[][][]; nsp_logits: number[][]; pooled: number[][]; hidden: number[][][] };
  const ref = await model.forward(batch);
  assert.equal(j.shape, { batch: 2, seq: T, vocab: model.vocab, hidden: model.hiddenSize });
  const tol = { atol: 1e-5, rtol: 1e-5 };
  assertClose(j.mlm_logits.flat(2), ref.mlm_logits, tol, 'CLI MLM logits');
  assertClose(j.hidden.flat(2), ref.hidden_states, tol, 'CLI hidden');
  assertClose(j.pooled.flat(), ref.pooled!, tol, 'CLI pooled');
  assertClose(j.nsp_logits.flat(), ref.nsp_logits!, tol, 'CLI NSP logits');
});

test.run();
