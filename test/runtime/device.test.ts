// `bert-run device`, the no-adapter message, GPU errors that name the step label, and the
// architecture rule that only src/runtime imports webgpu.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { testGpu } from '../support/gpu.js';
import { GpuError } from '../../src/runtime/runtime.js';
import { elementwiseLaunch } from '../../src/compiler/kernels/elementwise.js';

const root = packageRoot();
const bertRun = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/bert-run.js'), ...args], { encoding: 'utf8' });

test('bert-run device --json reports the adapter, features and limits', () => {
  const r = bertRun('device', '--json');
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.type(report.description, 'string');
  assert.ok(report.limits.maxStorageBufferBindingSize >= 134217728);
  assert.ok(report.limits.maxComputeWorkgroupsPerDimension >= 65535);
  assert.ok(Array.isArray(report.deviceFeatures));
});

test('no adapter: one line that says how to get one, exit 1', () => {
  const r = bertRun('device', '--backend', 'd3d12');
  assert.is(r.status, 1);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('bert-run:'));
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /no WebGPU adapter found.*lavapipe/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test('unknown flags and commands are one-line errors with a hint, exit 2', () => {
  const r = bertRun('device', '--jsno');
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown flag --jsno \(did you mean --json\?\)/);
  const c = bertRun('devcie');
  assert.is(c.status, 2);
  assert.match(c.stderr, /unknown command 'devcie' \(did you mean 'device'\?\)/);
});

test('a Dawn validation error becomes a GpuError naming the step label', async () => {
  const { runtime } = await testGpu();
  const launch = elementwiseLaunch({ op: 'copy', n: 64 }, runtime.gpu.limits, 'scalar');
  const small = await runtime.createBuffer('small', 16);
  try {
    // The output binding is larger than the buffer: Dawn refuses the bind group.
    await runtime.prepare({ label: 'encoder.7.test.copy', ...launch, bindings: [{ buffer: 'x', offset: 0, size: 256 }, { buffer: 'x', offset: 0, size: 256 }] }, () => small);
    assert.unreachable('invalid binding accepted');
  } catch (e) {
    assert.instance(e, GpuError);
    assert.match((e as Error).message, /^encoder\.7\.test\.copy/);
  } finally {
    small.destroy();
  }
});

test('only src/runtime imports webgpu', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && /from ['"]webgpu['"]|import\(['"]webgpu['"]\)|require\(['"]webgpu['"]\)/.test(readFileSync(path, 'utf8'))) offenders.push(relative(root, path));
    }
  };
  for (const dir of ['src', 'bench']) walk(join(root, dir));
  assert.equal(offenders.filter((f) => !f.startsWith('src/runtime/')), []);
  assert.ok(offenders.includes('src/runtime/device.ts'), 'the runtime does import it');
});

test.run();
