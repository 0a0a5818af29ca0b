// reduce: partials + finish in both variants against the float64 reference, for n = 0, 1,
// odd n, several chunks, sum of squares, accumulation of two arrays into one set of partials,
// alpha and `+=` into out; and the same bits on every run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reducePartialsLaunch, reduceFinishLaunch, reducePartialCount, usableReduceVariants, REDUCE_VARIANTS, type ReduceVariant } from '../../src/compiler/kernels/reduce.js';
import { reduceSumReference } from '../../src/graph/ops/reduce.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

async function gpuSum(xs: Float32Array[], square: boolean, variant: ReduceVariant, alpha = 1, out0?: number): Promise<number> {
  const { gpu } = await testGpu();
  const count = Math.max(...xs.map((x) => reducePartialCount(x.length, variant)));
  let partials: Float32Array = new Float32Array(count);
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    if (x.length === 0) continue;
    const launch = reducePartialsLaunch({ n: x.length, square, accumulate: k > 0 }, gpu.limits, variant);
    partials = (await runLaunch(launch, [{ data: x }, { data: partials, read: 'f32' }])).get(1)! as Float32Array;
  }
  const fin = reduceFinishLaunch({ count, alpha, accumulate: out0 !== undefined }, gpu.limits);
  return (await runLaunch(fin, [{ data: partials }, { data: Float32Array.of(out0 ?? 123), read: 'f32' }])).get(1)![0]!;
}

for (const variant of REDUCE_VARIANTS) {
  test(`reduce ${variant}: sums and sums of squares over odd sizes and several chunks`, async () => {
    let seed = 1;
    for (const n of [1, 3, 4, 37, 1000, 4096, 4100, 20000, 70001]) {
      if (!usableReduceVariants({ n }).includes(variant)) continue;
      const x = randomF32(n, seed++);
      for (const square of [false, true]) {
        const got = await gpuSum([x], square, variant);
        const ref = reduceSumReference(x, square);
        assertClose([got], [ref], { atol: 1e-5 * Math.sqrt(n), rtol: 1e-5 }, `reduce ${variant} n ${n} square ${square}`);
      }
    }
  });

  test(`reduce ${variant}: two arrays into one set of partials, alpha, += into out`, async () => {
    const a = randomF32(8000, 5);
    const b = randomF32(400, 6);
    const got = await gpuSum([a, b], true, variant, 0.5, 2);
    assertClose([got], [2 + 0.5 * (reduceSumReference(a, true) + reduceSumReference(b, true))], { atol: 1e-3, rtol: 1e-5 }, `reduce ${variant} accumulate`);
  });
}

test('reduce: n = 0 gives 0; the same bits on every run', async () => {
  assert.is(await gpuSum([new Float32Array(0)], false, 'scalar'), 0);
  const x = randomF32(50000, 9, 100);
  const first = await gpuSum([x], false, 'vec4');
  for (let k = 0; k < 2; k++) assert.is(await gpuSum([x], false, 'vec4'), first);
});

test.run();
