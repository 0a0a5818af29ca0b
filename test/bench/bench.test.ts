// bert-bench end to end: `kernels step --quick --json` on the test adapter prints one parseable
// row per line with positive finite timings, throughput and % of peak; plus the pure helpers
// (roofline classification, baseline ordering, op families).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withPeak } from '../../bench/peaks.js';
import { baselineFirst } from '../../bench/kernel-suite.js';
import { opFamily } from '../../bench/step.js';
import type { KernelCase } from '../../bench/kernel-case.js';
import type { BenchRow } from '../../bench/types.js';

// dist/test/bench → repository root.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

test('withPeak: roofline picks the FMA peak above the machine balance, copy below', () => {
  const peaks = { gflops: 100, gbps: 10 }; // balance: 10 FLOP/byte
  const compute = withPeak({ suite: 's', name: 'matmul', variant: 'v', shape: 'x', median_ms: 1, min_ms: 1, max_ms: 1, gflops: 50, gbps: 1 }, peaks);
  assert.is(compute.peak, 'fma');
  assert.is(compute.pct_of_peak, 50);
  const memory = withPeak({ suite: 's', name: 'layernorm', variant: 'v', shape: 'x', median_ms: 1, min_ms: 1, max_ms: 1, gflops: 5, gbps: 8 }, peaks);
  assert.is(memory.peak, 'copy');
  assert.is(memory.pct_of_peak, 80);
  const copyOnly = withPeak({ suite: 's', name: 'copy', variant: 'v', shape: 'x', median_ms: 1, min_ms: 1, max_ms: 1, gbps: 5 }, peaks);
  assert.is(copyOnly.peak, 'copy');
  assert.is(copyOnly.pct_of_peak, 50);
});

test('baselineFirst: groups by op and shape, baseline first, first-seen order kept', () => {
  const c = (name: string, variant: string, shape: string, baseline = false) => ({ name, variant, shape, baseline }) as unknown as KernelCase;
  const order = baselineFirst([c('a', 'fast', '1'), c('b', 'x', '1'), c('a', 'slow', '1', true), c('a', 'fast', '2')]).map((k) => `${k.name}.${k.variant}.${k.shape}`);
  assert.equal(order, ['a.slow.1', 'a.fast.1', 'b.x.1', 'a.fast.2']);
});

test('opFamily: kernel file, subgroup matmul counted as matmul', () => {
  const step = (kernel: string) => ({ pipeline: { kernel, entry: 'e', dtype: 'f32' as const, overrides: {}, features: [] } });
  assert.is(opFamily(step('matmul-subgroup')), 'matmul');
  assert.is(opFamily(step('matmul')), 'matmul');
  assert.is(opFamily(step('layernorm')), 'layernorm');
});

test('bert-bench kernels step --quick --json: every row parses with positive finite numbers', () => {
  const run = spawnSync(process.execPath, [join(root, 'bin/bert-bench.js'), 'kernels', 'step', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, `bert-bench exited ${run.status}: ${run.stderr}`);
  const lines = run.stdout.split('\n').filter((l) => l.trim() !== '');
  const rows = lines.map((line) => {
    let row: BenchRow | undefined;
    try {
      row = JSON.parse(line) as BenchRow;
    } catch {
      assert.unreachable(`not a JSON row: ${line}`);
    }
    return row!;
  });
  assert.ok(rows.length > 20, `only ${rows.length} rows`);
  for (const r of rows) {
    const where = `${r.suite}/${r.name}/${r.variant}/${r.shape}`;
    for (const k of ['suite', 'name', 'variant', 'shape'] as const) assert.ok(typeof r[k] === 'string' && r[k] !== '', `${where}: ${k}`);
    for (const k of ['median_ms', 'min_ms', 'max_ms', 'pct_of_peak'] as const) assert.ok(positive(r[k]), `${where}: ${k} = ${r[k]}`);
    assert.ok(r.min_ms <= r.median_ms && r.median_ms <= r.max_ms, `${where}: min ≤ median ≤ max`);
    assert.ok(positive(r.gflops) || positive(r.gbps), `${where}: gflops ${r.gflops} / gbps ${r.gbps}`);
    assert.ok(r.peak === 'fma' || r.peak === 'copy' || r.peak === 'matmul', `${where}: peak ${r.peak}`);
  }
  const names = (suite: string) => new Set(rows.filter((r) => r.suite === suite).map((r) => r.name));
  assert.ok(names('peak').has('peak_fma') && names('peak').has('peak_copy'), 'peak rows');
  for (const op of ['matmul', 'layernorm_forward', 'attention_scores', 'softmax_crossentropy', 'adamw_update', 'embedding_forward', 'copy']) {
    assert.ok(names('kernels').has(op), `kernels suite has ${op}`);
  }
  const naive = rows.find((r) => r.suite === 'kernels' && r.name === 'matmul' && r.variant === 'naive');
  assert.is(naive?.vs_baseline, 1, 'the naive matmul is the baseline');
  assert.ok(rows.some((r) => r.suite === 'kernels' && r.name === 'matmul' && r.variant !== 'naive' && positive(r.vs_baseline)), 'faster matmuls carry a ratio');
  assert.ok(rows.some((r) => r.suite === 'kernels' && r.name === 'matmul' && / f16$/.test(r.shape) && positive(r.gflops)), 'f16 matmul rows next to f32');
  const step = rows.find((r) => r.suite === 'step' && r.name === 'train_step');
  assert.ok(step, 'train_step row');
  assert.ok(positive(step!.tokens_per_s) && positive(step!.extra?.sequences_per_s) && positive(step!.extra?.mfu_matmul_pct) && positive(step!.extra?.model_tflops), 'step napkin math');
  // Mixed precision next to f32 (the test adapter has shader-f16).
  const f16 = rows.find((r) => r.suite === 'step' && r.name === 'train_step' && / f16$/.test(String(r.variant)));
  assert.ok(f16 && positive(f16.tokens_per_s), 'an f16 train_step row');
  const families = rows.filter((r) => r.suite === 'step' && r.variant === 'family');
  assert.ok(families.some((r) => r.name === 'matmul'), 'matmul family');
  const share = families.reduce((a, r) => a + Number(r.extra?.share_pct ?? 0), 0);
  assert.ok(Math.abs(share - 100) < 0.5, `family shares sum to ${share}`);
});

test('bert-bench matmul --quick --json: the FMA peak first, every variant row against it', () => {
  const run = spawnSync(process.execPath, [join(root, 'bin/bert-bench.js'), 'matmul', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, `bert-bench exited ${run.status}: ${run.stderr}`);
  const rows = run.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as BenchRow);
  assert.is(rows[0]?.name, 'peak_fma', 'the peak is measured first');
  const matmuls = rows.filter((r) => r.suite === 'matmul');
  assert.ok(new Set(matmuls.map((r) => r.variant)).has('subgroup'), 'a subgroup row');
  for (const r of matmuls) {
    assert.ok(positive(r.pct_of_peak) && (r.peak === 'fma' || r.peak === 'copy'), `${r.variant} ${r.shape}: ${r.pct_of_peak} of ${r.peak}`);
  }
});

test('bert-bench ab: the challenger and the heuristic pick timed in turn at each tune site where both are candidates; without --variant one line, exit 2', () => {
  const bench = join(root, 'bin/bert-bench.js');
  const bare = spawnSync(process.execPath, [bench, 'ab', '--quick'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.is(bare.status, 2);
  assert.is(bare.stderr.trim().split('\n').filter((l) => !/^Warning:/.test(l)).length, 1, bare.stderr);
  assert.match(bare.stderr, /ab: name one challenger with --variant kernel=name/);
  const run = spawnSync(process.execPath, [bench, 'ab', '--quick', '--json', '--variant', 'attention=subgroup'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, run.stderr);
  const rows = run.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as BenchRow);
  // tiny.yaml's step has two attention sites (forward, backward), each with subgroup_vec4 as the heuristic's pick.
  assert.is(rows.length, 4, run.stdout);
  for (let i = 0; i < rows.length; i += 2) {
    const [base, challenger] = [rows[i]!, rows[i + 1]!];
    assert.is(base.variant, base.extra?.heuristic);
    assert.is(challenger.variant, 'subgroup');
    assert.is(base.shape, challenger.shape);
    assert.is(base.vs_baseline, 1);
    assert.ok(positive(challenger.vs_baseline) && Math.abs(challenger.vs_baseline! - base.median_ms / challenger.median_ms) < 1e-9, 'ratio of the medians');
    for (const r of [base, challenger]) assert.ok(positive(r.median_ms) && r.min_ms <= r.median_ms && r.median_ms <= r.max_ms && positive(r.gflops), JSON.stringify(r));
  }
});

test.run();
