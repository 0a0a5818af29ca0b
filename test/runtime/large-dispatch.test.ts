// A dispatch that needs more workgroups than the device allows in one dimension (the real
// limit, not a test override) is spread over x and y and still covers every element once. The
// launch is sized as for a GPU: on a CPU adapter (lavapipe here) grid-stride launches stay small.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementwiseLaunch } from '../../src/compiler/kernels/elementwise.js';
import { testGpu } from '../support/gpu.js';
import { runLaunch } from '../support/harness.js';

test('scalar copy over more than maxComputeWorkgroupsPerDimension workgroups', async () => {
  const { gpu } = await testGpu();
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const n = max * 64 + 12345; // WG 64, one element per invocation: max + 193 workgroups
  const asGpu = { ...gpu.limits, adapter: { vendor: 'test', architecture: '', description: '', isCpu: false } };
  const launch = elementwiseLaunch({ op: 'copy', n }, asGpu, 'scalar');
  assert.ok(launch.workgroups[1] > 1, `expected a grid folded over y, got ${launch.workgroups}`);
  assert.ok(launch.workgroups[0] <= max && launch.workgroups[1] <= max);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (i % 1021) - 510 + i / n;
  const out = await runLaunch(launch, [{ data: x }, { data: n, read: 'f32' }]);
  const y = out.get(1)!;
  let bad = -1;
  for (let i = 0; i < n; i++) if (y[i] !== x[i]) { bad = i; break; }
  assert.is(bad, -1, `first wrong element at ${bad}: ${y[bad]} vs ${x[bad]}`);
});

test.run();
