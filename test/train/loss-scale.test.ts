// Dynamic loss scaling: the scaler's rules (shrink once per scale on overflow, grow after clean
// steps, collapse below the floor, exact restore), and end to end: power-of-two scales change no
// result (a growing scale trains bit-identically to none), overflowing steps are skipped and shrink
// S, a stop and resume restores S exactly, and a collapse stops the run with one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../src/train/runner.js';
import { LossScaler } from '../../src/train/loss-scale.js';
import { listCheckpoints, loadCheckpoint } from '../../src/train/checkpoint/checkpoints.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { syntheticRunRoot } from '../support/synthetic-corpus.js';

const { root, recipe } = syntheticRunRoot(test, 'bert-loss-scale-test-', 30, 5);

async function scaler(sets: string[], saved?: Parameters<typeof LossScaler.fromRecipe>[1]) {
  return LossScaler.fromRecipe((await loadRecipe(recipe, { sets })).recipe, saved);
}

test('the scaler: off in f32 unless asked; shrinks on overflow; grows after clean steps; collapses below the floor', async () => {
  const off = await scaler([]);
  assert.is(off.dynamic, false);
  assert.is(off.scale, 1);
  assert.is(off.observe(true), 'kept');
  const s = await scaler(['runtime.loss_scale.dynamic=on', 'runtime.loss_scale.initial=64', 'runtime.loss_scale.growth_interval=3', 'runtime.loss_scale.min=4']);
  assert.is(s.scale, 64);
  assert.is(s.observe(true), 'shrank');
  assert.is(s.scale, 32);
  assert.equal([s.observe(false), s.observe(false), s.observe(true)], ['kept', 'kept', 'shrank']);
  assert.is(s.scale, 16);
  assert.equal([s.observe(false), s.observe(false), s.observe(false)], ['kept', 'kept', 'grew']);
  assert.is(s.scale, 32);
  assert.equal(s.state, { scale: 32, goodSteps: 0, overflows: 2 });
  for (let i = 0; i < 3; i++) s.observe(true);
  assert.is(s.scale, 4);
  assert.not.ok(s.collapsed);
  s.observe(true);
  assert.ok(s.collapsed);
  const restored = await scaler(['runtime.loss_scale.dynamic=on'], { scale: 512, goodSteps: 7, overflows: 3 });
  assert.equal(restored.state, { scale: 512, goodSteps: 7, overflows: 3 });
});

const dynamic = (initial: number, interval = 2000) => ['runtime.loss_scale.dynamic=on', `runtime.loss_scale.initial=${initial}`, `runtime.loss_scale.growth_interval=${interval}`];
const base = ['schedule.steps=12', 'schedule.log.every=1', 'schedule.lr.warmup_steps=2'];

test('a power-of-two loss scale that grows every 3 steps trains bit-identically to no scaling', async () => {
  const { gpu } = await testGpu();
  const plain = await train({ recipe, gpu, json: true, out: join(root, 'plain'), sets: base });
  const scaled = await train({ recipe, gpu, json: true, out: join(root, 'scaled'), sets: [...base, ...dynamic(1024, 3)] });
  assert.equal(scaled.history.map((h) => [h.loss, h.grad_norm]), plain.history.map((h) => [h.loss, h.grad_norm]));
  assert.equal(scaled.history.map((h) => h.loss_scale), [1024, 1024, 1024, 2048, 2048, 2048, 4096, 4096, 4096, 8192, 8192, 8192]);
  assert.ok(scaled.history.every((h) => !h.skipped));
  assert.ok(plain.history.every((h) => h.loss_scale === undefined));
});

test('an overflowing scale: those steps are skipped and S shrinks until the gradients fit; training then proceeds', async () => {
  const { gpu } = await testGpu();
  const out = join(root, 'overflow');
  const r = await train({ recipe, gpu, json: true, out, sets: [...base, 'schedule.steps=40', ...dynamic(2 ** 72)] });
  const skipped = r.history.filter((h) => h.skipped);
  const applied = r.history.filter((h) => !h.skipped);
  assert.ok(skipped.length >= 1 && applied.length >= 10, `${skipped.length} skipped, ${applied.length} applied`);
  // Skips come first, at scales that only shrink; every applied step ran below the first skip's scale.
  assert.ok(r.history.slice(0, skipped.length).every((h) => h.skipped), 'the overflowing steps are the first ones');
  const scales = r.history.map((h) => h.loss_scale!);
  assert.ok(scales.every((s, i) => i === 0 || s <= scales[i - 1]!), `scales never grow here: ${scales}`);
  assert.ok(applied.every((h) => h.loss_scale! < skipped[0]!.loss_scale! && Number.isFinite(h.loss)));
  // Each overflow halved S: the first applied step ran at S / 2^(skips).
  assert.is(applied[0]!.loss_scale, 2 ** 72 / 2 ** skipped.length);
  const final = loadCheckpoint(listCheckpoints(out).pop()!.dir).state.loss_scale!;
  assert.is(final.overflows, skipped.length);
  assert.is(final.scale, applied[applied.length - 1]!.loss_scale);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.filter((l) => !l.eval).every((l) => typeof l.loss_scale === 'number'));
});

test('stop and resume with dynamic loss scaling: the same losses and scales as one straight run', async () => {
  const { gpu } = await testGpu();
  const sets = [...base, 'schedule.steps=16', ...dynamic(2 ** 68, 3)];
  const straight = await train({ recipe, gpu, json: true, out: join(root, 'ls-straight'), sets });
  const first = await train({ recipe, gpu, json: true, out: join(root, 'ls-resumed'), sets, stopAfter: 7 });
  const second = await train({ recipe, gpu, json: true, out: join(root, 'ls-resumed'), sets, resume: true });
  const pick = (h: typeof straight.history) => h.map((x) => [x.loss, x.loss_scale, x.skipped]);
  assert.equal(pick([...first.history, ...second.history]), pick(straight.history));
  assert.ok(straight.history.some((h) => h.skipped) && straight.history.some((h) => !h.skipped), 'both kinds of step happen');
});

test('loss-scale collapse stops the run with one line', async () => {
  const { gpu } = await testGpu();
  try {
    // Scales this large overflow every step: S halves until it falls below the floor.
    await train({ recipe, gpu, json: true, out: join(root, 'collapse'), sets: [...base, 'schedule.steps=40', ...dynamic(2 ** 96), `runtime.loss_scale.min=${2 ** 92}`] });
    assert.unreachable('expected a collapse');
  } catch (e) {
    assert.instance(e, UserError);
    assert.is((e as UserError).code, 'loss_scale_collapse');
    assert.match((e as UserError).message, /^training stopped: the loss scale collapsed to 2\.475\d*e\+27 \(below runtime\.loss_scale\.min 4\.951\d*e\+27\) after 5 overflowing steps/);
    assert.not.match((e as UserError).message, /\n/);
  }
});

test.run();
