// Paced device waits (src/runtime/gpu-wait.ts): while a paced wait is pending, the global
// setImmediate that Dawn's Node binding re-queues its event polling with answers at once for
// the first SPIN_MS and then through a 1 ms timer; it is restored when the last wait settles;
// an unpaced wait changes nothing; and a real device wait through the runtime settles, paced on
// this CPU adapter, with the work done.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promisify } from 'node:util';
import { deviceWait, pacingActive, SPIN_MS } from '../../src/runtime/gpu-wait.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { elementwiseLaunch } from '../../src/compiler/kernels/elementwise.js';
import { testGpu } from '../support/gpu.js';
import { runLaunch } from '../support/harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const kind = (handle: unknown) => (handle as object).constructor.name;

test('a paced wait serves setImmediate at once, then by timer, and restores it', async () => {
  const original = globalThis.setImmediate;
  const seen: string[] = [];
  await deviceWait(true, async () => {
    assert.ok(pacingActive());
    assert.is.not(globalThis.setImmediate, original);
    const early = globalThis.setImmediate(() => {});
    seen.push(kind(early));
    await sleep(SPIN_MS + 3);
    const late = globalThis.setImmediate(() => {});
    seen.push(kind(late));
    // A callback queued late still runs, and the promise form is Node's own.
    await new Promise<void>((resolve) => globalThis.setImmediate(resolve));
    assert.is(await promisify(globalThis.setImmediate)('value'), 'value');
  });
  assert.equal(seen, ['Immediate', 'Timeout']);
  assert.is(globalThis.setImmediate, original);
  assert.not.ok(pacingActive());
});

test('overlapping paced waits restore setImmediate only when the last settles; a failed one too', async () => {
  const original = globalThis.setImmediate;
  let releaseFirst!: () => void;
  const first = deviceWait(true, () => new Promise<void>((resolve) => (releaseFirst = resolve)));
  const second = deviceWait(true, () => sleep(1));
  await second;
  assert.ok(pacingActive(), 'the first wait is still pending');
  assert.is.not(globalThis.setImmediate, original);
  releaseFirst();
  await first;
  assert.is(globalThis.setImmediate, original);
  const failed = await deviceWait(true, () => Promise.reject(new Error('lost'))).then(() => 'settled', (e: Error) => e.message);
  assert.is(failed, 'lost');
  assert.is(globalThis.setImmediate, original);
  assert.not.ok(pacingActive());
});

test('an unpaced wait leaves setImmediate alone', async () => {
  const original = globalThis.setImmediate;
  await deviceWait(false, async () => {
    assert.is(globalThis.setImmediate, original);
    assert.not.ok(pacingActive());
  });
});

test('runtime waits are paced on a CPU adapter unless BERT_SPIN_WAITS=1, and still see the work done', async () => {
  const { gpu, runtime } = await testGpu();
  assert.is(runtime.paceWaits, gpu.report.isCpu);
  const saved = process.env.BERT_SPIN_WAITS;
  process.env.BERT_SPIN_WAITS = '1';
  try {
    assert.not.ok(new Runtime(gpu).paceWaits);
    process.env.BERT_SPIN_WAITS = 'yes';
    assert.throws(() => new Runtime(gpu), /^BERT_SPIN_WAITS must be 0 or 1 \(got "yes"\)$/);
    process.env.BERT_SPIN_WAITS = '0';
    assert.is(new Runtime(gpu).paceWaits, gpu.report.isCpu);
  } finally {
    if (saved === undefined) delete process.env.BERT_SPIN_WAITS;
    else process.env.BERT_SPIN_WAITS = saved;
  }
  // A copy large enough to outlast the spin window on lavapipe, read back through runtime.read.
  const n = 1 << 22;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (i % 977) - 488;
  const original = globalThis.setImmediate;
  const out = await runLaunch(elementwiseLaunch({ op: 'copy', n }, gpu.limits, 'vec4'), [{ data: x }, { data: n, read: 'f32' }]);
  const y = out.get(1)!;
  let bad = -1;
  for (let i = 0; i < n; i++) if (y[i] !== x[i]) { bad = i; break; }
  assert.is(bad, -1, `first wrong element at ${bad}`);
  assert.is(globalThis.setImmediate, original);
});

test.run();
