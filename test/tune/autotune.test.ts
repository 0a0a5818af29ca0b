// Autotuning (runtime.autotune): the compiler offers every matmul dispatch with several usable
// variants as a tune site and obeys the choices it is given (a forced variant wins); the tuner
// times the candidates on the device, keeps the heuristic unless a candidate is clearly faster,
// and records choices per adapter in the cache file, which later runs reuse without timing; a
// run records its choices in the checkpoint, and a resumed run keeps them whatever the cache says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compiler/compile.js';
import { autotune, defaultSampleMs, deviceIdentity, pickFastest } from '../../src/tune/autotune.js';
import { cachedChoices, recordChoices, type TunedChoice } from '../../src/tune/autotune-cache.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/runner.js';
import { listCheckpoints, loadCheckpoint } from '../../src/train/checkpoint/checkpoints.js';
import { UserError } from '../../src/errors.js';
import { testGpu } from '../support/gpu.js';
import { writeSyntheticCorpus, writeTinyRecipe } from '../support/synthetic-corpus.js';

const root = mkdtempSync(join(tmpdir(), 'bert-autotune-test-'));
writeSyntheticCorpus(root, 40, 5);
const recipeFile = writeTinyRecipe(root);
let log = console.log;
test.before(() => {
  log = console.log;
  console.log = () => {};
});
test.after(() => {
  console.log = log;
  rmSync(root, { recursive: true, force: true });
});

async function compiled(tuned?: Record<string, string>, variants?: Record<string, string>) {
  const { gpu } = await testGpu();
  const { recipe } = await loadRecipe(recipeFile);
  return compile(recipe, 160, { batch: 4, seq: 32, predictions: 5 }, gpu.limits, { training: true, tuned, variants });
}

test('tune sites: one per distinct matmul shape and attention op with several candidates; the plan follows a tuned choice, a forced variant wins', async () => {
  const c = await compiled();
  const sites = c.tuneSites;
  const matmuls = sites.filter((s) => s.kernel === 'matmul');
  const attention = sites.filter((s) => s.kernel === 'attention');
  assert.ok(matmuls.length >= 8, `${matmuls.length} matmul sites`);
  assert.equal(attention.map((s) => s.key), ['attention forward B4 T32 H32 heads2 f32', 'attention backward B4 T32 H32 heads2 f32']);
  assert.is(matmuls.length + attention.length, sites.length);
  assert.is(new Set(sites.map((s) => s.key)).size, sites.length);
  for (const s of sites) {
    assert.ok(s.candidates.length >= 2, s.key);
    assert.is(s.chosen, s.heuristic);
    assert.ok(s.candidates.some((x) => x.variant === s.heuristic), s.key);
    for (const x of s.candidates) {
      assert.is(x.launches.length, s.kernel === 'matmul' ? 1 : s.key.includes('forward') ? 2 : 3);
      assert.ok(x.launches.every((l) => l.bindings.every((b) => b >= 0 && b < s.bufferBytes.length)), `${s.key} ${x.variant}`);
    }
  }
  const kernelsOf = (plan: typeof c.plan, kernels: string[]) => new Set(plan.steps.filter((st) => kernels.includes(st.pipeline.kernel)).map((st) => `${st.pipeline.kernel}/${st.pipeline.entry}`));
  const matmulEntries = (plan: typeof c.plan) => kernelsOf(plan, ['matmul', 'matmul-subgroup']);
  const site = matmuls.find((s) => s.key.includes('gelu'))!;
  const other = site.candidates.find((x) => x.variant !== site.heuristic)!;
  const tuned = await compiled({ [site.key]: other.variant });
  assert.is(tuned.tuneSites.find((s) => s.key === site.key)!.chosen, other.variant);
  assert.ok(matmulEntries(tuned.plan).has(`${other.launches[0]!.pipeline.kernel}/${other.launches[0]!.pipeline.entry}`), `${other.variant} runs`);
  assert.is(tuned.plan.steps.length, c.plan.steps.length);
  // Attention: a tuned variant moves every stage of that op to it.
  const back = attention[1]!;
  const plain = back.candidates.find((x) => x.variant !== back.heuristic && x.launches[0]!.pipeline.kernel !== back.candidates.find((y) => y.variant === back.heuristic)!.launches[0]!.pipeline.kernel)!;
  const tunedBack = await compiled({ [back.key]: plain.variant });
  const backward = tunedBack.plan.steps.filter((st) => /attention_grad/.test(st.pipeline.entry));
  assert.is(backward.length, 6, 'two layers, three stages');
  assert.ok(backward.every((st) => st.pipeline.kernel === plain.launches[0]!.pipeline.kernel), `${plain.variant}: ${backward.map((st) => st.pipeline.kernel).join(', ')}`);
  assert.ok(tunedBack.plan.steps.filter((st) => /attention_(scores|context)/.test(st.pipeline.entry)).every((st) => st.pipeline.kernel !== plain.launches[0]!.pipeline.kernel), 'the forward keeps its own');
  // An unknown key or a variant that cannot run the shape changes nothing.
  assert.equal(JSON.stringify((await compiled({ 'matmul 1x1x1 NN f32': 'vec4', [site.key]: 'no-such' })).plan), JSON.stringify(c.plan));
  const forced = await compiled({ [site.key]: other.variant }, { matmul: 'blocked' });
  assert.is(forced.tuneSites.filter((s) => s.kernel === 'matmul').length, 0);
  assert.equal([...matmulEntries(forced.plan)], ['matmul/matmul_blocked']);
});

test('pickFastest keeps the heuristic unless a candidate is at least 10% faster', () => {
  assert.is(pickFastest('subgroup', { subgroup: 1, vec4: 0.95 }), 'subgroup');
  assert.is(pickFastest('subgroup', { subgroup: 1, vec4: 0.8, blocked: 0.85 }), 'vec4');
  assert.is(pickFastest('naive', { naive: 0.2, vec4: 0.02 }), 'vec4');
});

test('the tuner times candidates on the device, records them per adapter, and later calls reuse them without timing', async () => {
  const { gpu, runtime } = await testGpu();
  const sites = (await compiled()).tuneSites.slice(0, 3);
  const cachePath = join(root, 'cache', 'autotune.json');
  const lines: string[] = [];
  const first = await autotune(runtime, gpu.report, sites, { mode: 'cached', cachePath, budgetSeconds: 60, log: (l) => lines.push(l) });
  assert.is(first.length, 3);
  assert.ok(lines[0]!.startsWith('autotune: timing 3 kernel shapes ('), lines[0]);
  for (const o of first) {
    assert.is(o.cached, false);
    const site = sites.find((s) => s.key === o.key)!;
    assert.equal(Object.keys(o.ms).sort(), site.candidates.map((c) => c.variant).sort());
    assert.ok(Object.values(o.ms).every((t) => t > 0 && Number.isFinite(t)));
    // The heuristic's pick, or a candidate at least 10% faster than it when the two were timed in turn.
    assert.ok(o.variant === o.heuristic || o.ms[o.variant]! * 1.1 < o.ms[o.heuristic]!, `${o.key}: ${o.variant} over ${o.heuristic} ${JSON.stringify(o.ms)}`);
    const line = lines.find((l) => l.startsWith(`autotune: ${o.key}: `))!;
    if (o.variant !== o.heuristic) assert.match(line, /, timed in turn\)$/);
  }
  const { key, adapter } = deviceIdentity(gpu.report);
  const file = JSON.parse(readFileSync(cachePath, 'utf8'));
  assert.is(file.devices[key].adapter, adapter);
  assert.equal(Object.keys(file.devices[key].sites).sort(), sites.map((s) => s.key).sort());

  lines.length = 0;
  const again = await autotune(runtime, gpu.report, sites, { mode: 'cached', cachePath, budgetSeconds: 60, log: (l) => lines.push(l) });
  assert.equal(lines, [], 'nothing timed');
  assert.equal(again.map((o) => [o.key, o.variant, o.cached]), first.map((o) => [o.key, o.variant, true]));

  // Another adapter (or driver) has no timings yet; 'on' times again; a zero budget times nothing.
  const other = await autotune(runtime, { ...gpu.report, driver: 'another driver' }, sites.slice(0, 1), { mode: 'cached', cachePath, budgetSeconds: 60 });
  assert.is(other[0]!.cached, false);
  const redo = await autotune(runtime, gpu.report, sites.slice(0, 1), { mode: 'on', cachePath, budgetSeconds: 60 });
  assert.is(redo[0]!.cached, false);
  lines.length = 0;
  const none = await autotune(runtime, gpu.report, (await compiled()).tuneSites.slice(3, 5), { mode: 'cached', cachePath: join(root, 'cache', 'empty.json'), budgetSeconds: 0, log: (l) => lines.push(l) });
  assert.equal(none, []);
  assert.match(lines[lines.length - 1]!, /budget of 0 s spent; 2 shapes keep the heuristic's variant/);
  assert.is(await autotune(runtime, gpu.report, sites, { mode: 'off', cachePath, budgetSeconds: 60 }).then((r) => r.length), 0);
});

test('samples repeat a launch until they last sampleMs (10 ms by default where waits are paced, 1 ms elsewhere)', async () => {
  const { gpu, runtime } = await testGpu();
  assert.is(defaultSampleMs({ paceWaits: true }), 10);
  assert.is(defaultSampleMs({ paceWaits: false }), 1);
  const sites = (await compiled()).tuneSites.filter((s) => s.kernel === 'matmul').slice(0, 2);
  // Each submit's launch count and how long it took to finish (one submit per sample).
  const samples: Array<{ launches: number; ms: number }> = [];
  let started = 0;
  let launches = 0;
  const recording = new Proxy(runtime, {
    get(target, name, receiver) {
      if (name === 'submit') {
        return (list: Parameters<typeof target.submit>[0]) => {
          started = performance.now();
          launches = list.length;
          return target.submit(list);
        };
      }
      if (name === 'finish') {
        return async () => {
          await target.finish();
          samples.push({ launches, ms: performance.now() - started });
        };
      }
      const v = Reflect.get(target, name, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const sampleMs = 20;
  const outcomes = await autotune(recording, gpu.report, sites, { mode: 'on', budgetSeconds: 60, sampleMs });
  assert.is(outcomes.length, 2);
  // The test shapes take well under 20 ms a launch: samples repeat them, about sampleMs long (the
  // median against an eighth of it: this machine's speed drifts by 2x between samples, and with an
  // empty shader cache a parallel test file compiling on the other core slowed the launch that
  // sets the count: median 4.8 ms, 1.7-42 ms, in one such run).
  const repeated = samples.filter((s) => s.launches > 1).map((s) => s.ms).sort((a, b) => a - b);
  assert.ok(repeated.length >= 10, `${repeated.length} repeated samples`);
  const medianMs = repeated[repeated.length >> 1]!;
  assert.ok(medianMs >= sampleMs / 8, `median sample ${medianMs.toFixed(2)} ms: ${repeated.map((t) => t.toFixed(1)).join(' ')}`);
});

test('a short candidate is cut against single launches, not against a median per launch: a wait overhead does not write it off', async () => {
  const { gpu, runtime } = await testGpu();
  const site = (await compiled()).tuneSites.find((s) => s.kernel === 'matmul')!;
  // Every submit waits 10 ms more, as a slow device wait would: a lone launch of a sub-ms test
  // shape then takes 10+ ms, while a 100 ms sample of many launches still shows its own time.
  const overhead = new Proxy(runtime, {
    get(target, name, receiver) {
      if (name === 'submit') {
        return async (list: Parameters<typeof target.submit>[0]) => {
          await new Promise((r) => setTimeout(r, 10));
          return target.submit(list);
        };
      }
      const v = Reflect.get(target, name, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const [o] = await autotune(overhead, gpu.report, [site], { mode: 'on', budgetSeconds: 60, sampleMs: 100 });
  // Sampled candidates record a median per launch (the 10 ms spread over many); one written off
  // records its lone first launch (10 ms or more).
  assert.equal(Object.keys(o!.ms).sort(), site.candidates.map((c) => c.variant).sort());
  for (const [variant, ms] of Object.entries(o!.ms)) assert.ok(ms < 8, `${variant}: ${ms.toFixed(2)} ms, written off unsampled`);
});

test('a candidate whose first run includes the driver compiling its pipeline is not written off as hopeless', async () => {
  const { gpu, runtime } = await testGpu();
  const sites = (await compiled()).tuneSites.slice(0, 2);
  // Every prepared dispatch's first submit waits 300 ms, as lavapipe's first dispatch of a big
  // shader does while it compiles; the tiny test shapes themselves take well under 50 ms.
  const seen = new WeakSet<object>();
  const slowFirst = new Proxy(runtime, {
    get(target, name, receiver) {
      if (name === 'submit') {
        return async (list: object[]) => {
          if (list.some((p) => !seen.has(p))) {
            for (const p of list) seen.add(p);
            await new Promise((r) => setTimeout(r, 300));
          }
          return target.submit(list as Parameters<typeof target.submit>[0]);
        };
      }
      const v = Reflect.get(target, name, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const outcomes = await autotune(slowFirst, gpu.report, sites, { mode: 'on', budgetSeconds: 60 });
  assert.is(outcomes.length, 2);
  for (const o of outcomes) for (const [variant, ms] of Object.entries(o.ms)) assert.ok(ms < 250, `${o.key}: ${variant} recorded ${ms.toFixed(1)} ms, its compile included`);
});

test("every candidate of a site is sampled with the same launches per sample, even when the heuristic's first launch includes its compile", async () => {
  const { gpu, runtime } = await testGpu();
  const sites = (await compiled()).tuneSites.filter((s) => s.candidates.length > 1).slice(0, 2);
  // As above, every prepared dispatch's first submit waits 300 ms (a compile). The heuristic is
  // timed first: its first launch used to set its launches per sample (one, over 10 ms), while
  // the others, re-run after a hopeless-looking first launch, got several: its samples then held
  // a whole wait's overhead per launch and theirs a share of one.
  const seen = new WeakSet<object>();
  const perSample = new Map<string, number[]>();
  const recording = new Proxy(runtime, {
    get(target, name, receiver) {
      if (name === 'submit') {
        return async (list: Parameters<typeof target.submit>[0]) => {
          if (list.some((p) => !seen.has(p))) {
            for (const p of list) seen.add(p);
            await new Promise((r) => setTimeout(r, 300));
          }
          // A candidate's run submits its launches `reps` times over: the launch labels end in their index.
          const launches = new Set(list).size;
          const key = list[0]!.label.replace(/ \d+$/, '');
          perSample.set(key, [...(perSample.get(key) ?? []), list.length / launches]);
          return target.submit(list);
        };
      }
      const v = Reflect.get(target, name, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  // 40 ms samples: a test shape's launch stays well under that even on a loaded machine (at the
  // default 10 ms, a launch slowed past it by a parallel test file is rightly sampled alone).
  const outcomes = await autotune(recording, gpu.report, sites, { mode: 'on', budgetSeconds: 60, sampleMs: 40 });
  assert.is(outcomes.length, 2);
  for (const site of sites) {
    // A candidate's sampling count: its most frequent one (its first runs are single launches;
    // one written off as hopeless has only those).
    const counts = new Map<string, number>();
    for (const c of site.candidates) {
      const runs = perSample.get(`autotune ${site.key} ${c.variant}`) ?? [];
      const freq = new Map<number, number>();
      for (const n of runs) freq.set(n, (freq.get(n) ?? 0) + 1);
      if (runs.some((n) => n > 1)) counts.set(c.variant, [...freq].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0]![0]);
    }
    // The test shapes take well under a sample: the heuristic is repeated, as are the others.
    const heuristic = counts.get(site.heuristic);
    assert.ok(heuristic !== undefined && heuristic > 1, `${site.key}: the heuristic ${site.heuristic} sampled ${heuristic ?? 1} launch at a time`);
    assert.ok(counts.size >= 2, `${site.key}: ${counts.size} candidates sampled`);
    for (const [variant, n] of counts) assert.is(n, heuristic, `${site.key}: ${variant} sampled ${n} launches at a time, the heuristic ${heuristic}`);
  }
});

test('the cache file: a recorded choice is kept unless replaced on purpose; concurrent writers merge; a damaged file is one line naming it', async () => {
  const path = join(root, 'merge', 'autotune.json');
  const choice = (variant: string): TunedChoice => ({ variant, ms: { [variant]: 1 }, heuristic: 'subgroup', at: '2026-12-07T00:00:00Z' });
  await recordChoices(path, 'dev', 'a device', { k1: choice('vec4') }, false);
  const kept = await recordChoices(path, 'dev', 'a device', { k1: choice('blocked'), k2: choice('tiled') }, false);
  assert.is(kept.k1!.variant, 'vec4');
  assert.is(kept.k2!.variant, 'tiled');
  assert.is((await recordChoices(path, 'dev', 'a device', { k1: choice('blocked') }, true)).k1!.variant, 'blocked');
  await Promise.all([recordChoices(path, 'dev', 'a device', { k3: choice('vec4') }, false), recordChoices(path, 'dev2', 'another', { k3: choice('naive') }, false)]);
  assert.equal(Object.keys(cachedChoices(path, 'dev')).sort(), ['k1', 'k2', 'k3']);
  assert.is(cachedChoices(path, 'dev2').k3!.variant, 'naive');
  writeFileSync(path, '{"format": "bert-webgpu.autotune/1", "devi');
  try {
    cachedChoices(path, 'dev');
    assert.unreachable('damaged');
  } catch (e) {
    assert.instance(e, UserError);
    assert.is((e as Error).message, `autotune cache ${path}: not JSON (delete it to start a new one)`);
  }
});

test('a cache that cannot be written is a warning: the run goes on with its timings', async () => {
  const { gpu, runtime } = await testGpu();
  // A file where the cache's folder should be: unwritable for root too.
  const blocker = join(root, 'not-a-folder');
  writeFileSync(blocker, '');
  const lines: string[] = [];
  const sites = (await compiled()).tuneSites.slice(0, 1);
  const r = await autotune(runtime, gpu.report, sites, { mode: 'cached', cachePath: join(blocker, 'autotune.json'), budgetSeconds: 60, log: (l) => lines.push(l) });
  assert.is(r.length, 1);
  assert.is(r[0]!.cached, false);
  assert.match(lines[lines.length - 1]!, /^autotune: cannot write .*not-a-folder.*; these choices last for this run only$/);
});

test('a run records its choices in run.json and its checkpoints; a resumed run keeps them even when the cache now says otherwise', async () => {
  const { gpu } = await testGpu();
  const cache = join(root, 'run-cache.json');
  const sets = ['schedule.steps=4', 'runtime.autotune=cached'];
  const straight = await train({ recipe: recipeFile, out: join(root, 'straight'), gpu, json: true, sets, autotuneCache: cache });
  const info = JSON.parse(readFileSync(join(root, 'straight', 'run.json'), 'utf8'));
  assert.ok(info.autotune.length >= 8);
  const half = await train({ recipe: recipeFile, out: join(root, 'resumed'), gpu, json: true, sets, autotuneCache: cache, stopAfter: 2 });
  const state = loadCheckpoint(listCheckpoints(join(root, 'resumed')).pop()!.dir).state;
  assert.equal(state.kernels, Object.fromEntries(info.autotune.map((o: { key: string; variant: string }) => [o.key, o.variant])));
  // Every recorded choice flipped to another candidate in the cache: the resumed run must not follow.
  const file = JSON.parse(readFileSync(cache, 'utf8'));
  for (const device of Object.values(file.devices) as Array<{ sites: Record<string, TunedChoice> }>) {
    for (const c of Object.values(device.sites)) c.variant = Object.keys(c.ms).find((v) => v !== c.variant)!;
  }
  writeFileSync(cache, JSON.stringify(file));
  const flippedChoices = Object.fromEntries(Object.values(file.devices).flatMap((d) => Object.entries((d as { sites: Record<string, TunedChoice> }).sites)).map(([k, c]) => [k, c.variant]));
  const kernelsOf = (dir: string) => loadCheckpoint(listCheckpoints(dir).pop()!.dir).state.kernels;
  // A fresh run follows the cache (else the resume check below proves nothing). Whether the
  // flipped variants also change the loss bits depends on the machine: some candidates
  // accumulate in the same order.
  await train({ recipe: recipeFile, out: join(root, 'flipped'), gpu, json: true, sets, autotuneCache: cache });
  assert.equal(kernelsOf(join(root, 'flipped')), flippedChoices);
  assert.not.equal(flippedChoices, state.kernels);
  const rest = await train({ recipe: recipeFile, out: join(root, 'resumed'), gpu, json: true, sets, autotuneCache: cache, resume: true });
  assert.equal(kernelsOf(join(root, 'resumed')), state.kernels, 'the resumed run keeps its checkpoint\'s choices');
  assert.equal([...half.history, ...rest.history].map((h) => h.loss), straight.history.map((h) => h.loss));
});

test.run();
