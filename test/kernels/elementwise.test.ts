// elementwise: every op in both variants against the float64 references, on odd sizes (n = 1,
// n not a multiple of 4 for scalar), accumulation, every activation, GEGLU and dropout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementwiseLaunch, usableElementwiseVariants, ELEMENTWISE_VARIANTS, type ElementwiseShape, type ElementwiseVariant } from '../../src/compiler/kernels/elementwise.js';
import { addReference, scaleReference, activationForwardReference, activationBackwardReference, gegluForwardReference, gegluBackwardReference, dropoutReference } from '../../src/graph/ops/elementwise.js';
import type { ActivationName } from '../../src/graph/ops/activation.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import { CPU_GRID_STRIDE_WORKGROUPS, type DeviceLimits } from '../../src/plan/types.js';
import type { KernelLaunch } from '../../src/compiler/kernels/kernel.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32 } from '../support/random.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };
const ACT_TOL = { atol: 2e-6, rtol: 2e-5 }; // erf polynomial (1.5e-7) and f32 exp/tanh
const STEP = { step: 1, lr: 0, seed: 1234, microStep: 7, mlmScale: 1, nspScale: 1 };

async function check(shape: ElementwiseShape, variant: ElementwiseVariant, seed: number, limits?: DeviceLimits): Promise<KernelLaunch> {
  const { gpu } = await testGpu();
  const launch = elementwiseLaunch(shape, limits ?? gpu.limits, variant);
  const n = shape.n;
  const acc = shape.accumulate ?? false;
  const x = randomF32(n, seed, 3);
  const y = randomF32(n, seed + 1);
  const out0 = randomF32(n, seed + 2);
  const into = acc ? out0 : undefined;
  const act: ActivationName = shape.activation ?? 'gelu';
  const ctx = `elementwise ${shape.op} ${variant} ${JSON.stringify(shape)}`;
  const plus = (r: Float64Array, base?: Float32Array) => (base ? r.map((v, i) => v + base[i]!) : r);
  switch (shape.op) {
    case 'copy': {
      const got = await runLaunch(launch, [{ data: x }, { data: n, read: 'f32' }]);
      assertClose(got.get(1)!, x, { atol: 0, rtol: 0 }, ctx);
      break;
    }
    case 'fill': {
      const got = await runLaunch(launch, [{ data: out0, read: 'f32' }]);
      assertClose(got.get(0)!, new Float64Array(n).fill(shape.alpha ?? 0), { atol: 0, rtol: 0 }, ctx);
      break;
    }
    case 'add': {
      const got = await runLaunch(launch, [{ data: x }, { data: y }, { data: out0, read: 'f32' }]);
      assertClose(got.get(2)!, addReference(x, y, into), TOL, ctx);
      break;
    }
    case 'scale': {
      const got = await runLaunch(launch, [{ data: x }, { data: out0, read: 'f32' }]);
      assertClose(got.get(1)!, scaleReference(x, shape.alpha ?? 1, into), TOL, ctx);
      break;
    }
    case 'scale_inplace': {
      const got = await runLaunch(launch, [{ data: out0, read: 'f32' }]);
      assertClose(got.get(0)!, scaleReference(out0, shape.alpha ?? 1), TOL, ctx);
      break;
    }
    case 'act_forward': {
      const got = await runLaunch(launch, [{ data: x }, { data: out0, read: 'f32' }]);
      assertClose(got.get(1)!, plus(activationForwardReference(act, x), into), ACT_TOL, ctx);
      break;
    }
    case 'act_backward': {
      const saved = act === 'tanh' ? Float32Array.from(activationForwardReference('tanh', x)) : x;
      const got = await runLaunch(launch, [{ data: y }, { data: saved }, { data: out0, read: 'f32' }]);
      assertClose(got.get(2)!, plus(activationBackwardReference(act, y, saved), into), ACT_TOL, ctx);
      break;
    }
    case 'geglu_forward': {
      const F = shape.cols!;
      const inp = randomF32(2 * n, seed + 3, 3);
      const got = await runLaunch(launch, [{ data: inp }, { data: out0, read: 'f32' }]);
      assertClose(got.get(1)!, plus(gegluForwardReference(inp, n / F, F, act), into), ACT_TOL, ctx);
      break;
    }
    case 'geglu_backward': {
      const F = shape.cols!;
      const inp = randomF32(2 * n, seed + 3, 3);
      const d0 = randomF32(2 * n, seed + 4);
      const got = await runLaunch(launch, [{ data: y }, { data: inp }, { data: d0, read: 'f32' }]);
      assertClose(got.get(2)!, plus(gegluBackwardReference(y, inp, n / F, F, act), acc ? d0 : undefined), ACT_TOL, ctx);
      break;
    }
    case 'dropout_forward':
    case 'dropout_backward': {
      const got = await runLaunch(launch, [{ data: encodeStepState(STEP) }, { data: x }, { data: out0, read: 'f32' }]);
      const ref = dropoutReference(x, { p: shape.p ?? 0, seed: STEP.seed, stream: shape.stream ?? 0, microStep: STEP.microStep });
      assertClose(got.get(2)!, plus(ref, into), TOL, ctx);
      break;
    }
  }
  return launch;
}

const SIZES = [1, 3, 4, 37, 260, 1000];

for (const variant of ELEMENTWISE_VARIANTS) {
  const sizes = SIZES.filter((n) => usableElementwiseVariants({ op: 'copy', n }).includes(variant));
  test(`elementwise ${variant}: copy, fill, add, scale (=, +=)`, async () => {
    let seed = 1;
    for (const n of sizes) {
      await check({ op: 'copy', n }, variant, seed++);
      await check({ op: 'fill', n, alpha: -2.5 }, variant, seed++);
      await check({ op: 'add', n }, variant, seed++);
      await check({ op: 'add', n, accumulate: true }, variant, seed++);
      await check({ op: 'scale', n, alpha: 0.3 }, variant, seed++);
      await check({ op: 'scale', n, alpha: -2, accumulate: true }, variant, seed++);
      await check({ op: 'scale_inplace', n, alpha: 0.125 }, variant, seed++);
    }
  });

  test(`elementwise ${variant}: every activation forward and backward`, async () => {
    let seed = 100;
    for (const activation of ['gelu', 'gelu_tanh', 'relu', 'tanh'] as const) {
      for (const n of sizes.slice(-2)) {
        await check({ op: 'act_forward', n, activation }, variant, seed++);
        await check({ op: 'act_backward', n, activation }, variant, seed++);
      }
      await check({ op: 'act_forward', n: sizes[0]!, activation, accumulate: true }, variant, seed++);
      await check({ op: 'act_backward', n: sizes[0]!, activation, accumulate: true }, variant, seed++);
    }
  });

  test(`elementwise ${variant}: GEGLU forward and backward`, async () => {
    let seed = 200;
    const shapes: [number, number][] = variant === 'vec4' ? [[1, 4], [3, 8], [5, 12]] : [[1, 1], [3, 5], [4, 7]];
    for (const [rows, F] of shapes) {
      for (const activation of ['gelu', 'gelu_tanh'] as const) {
        await check({ op: 'geglu_forward', n: rows * F, cols: F, activation }, variant, seed++);
        await check({ op: 'geglu_backward', n: rows * F, cols: F, activation }, variant, seed++);
      }
      await check({ op: 'geglu_forward', n: rows * F, cols: F, accumulate: true }, variant, seed++);
      await check({ op: 'geglu_backward', n: rows * F, cols: F, accumulate: true }, variant, seed++);
    }
  });

  test(`elementwise ${variant}: dropout forward/backward regenerate the shared RNG's mask`, async () => {
    let seed = 300;
    for (const n of sizes) {
      await check({ op: 'dropout_forward', n, p: 0.1, stream: 3 }, variant, seed++);
      await check({ op: 'dropout_backward', n, p: 0.5, stream: 11, accumulate: true }, variant, seed++);
      await check({ op: 'dropout_forward', n, p: 0, stream: 1 }, variant, seed++);
    }
  });
}

test('elementwise: grid-stride launches cover every element, looping on a CPU adapter and once per invocation on a GPU', async () => {
  const { gpu } = await testGpu();
  const asAdapter = (isCpu: boolean): DeviceLimits => ({ ...gpu.limits, adapter: { vendor: 'test', architecture: '', description: '', isCpu } });
  // 2.5 passes of the CPU grid in vec4s, plus a tail that is not a whole workgroup.
  const n = CPU_GRID_STRIDE_WORKGROUPS * 64 * 4 * 2 + 4 * 37 + 4;
  let seed = 400;
  for (const isCpu of [true, false]) {
    for (const variant of ELEMENTWISE_VARIANTS) {
      const workgroups = (launch: KernelLaunch) => launch.workgroups[0] * launch.workgroups[1];
      const perInvocation = variant === 'vec4' ? 4 : 1;
      const shapes: ElementwiseShape[] = [
        { op: 'copy', n }, { op: 'add', n, accumulate: true }, { op: 'scale_inplace', n, alpha: 0.5 },
        { op: 'act_forward', n, activation: 'gelu' }, { op: 'act_backward', n, activation: 'tanh' },
        { op: 'dropout_forward', n, p: 0.1, stream: 5 }, { op: 'dropout_backward', n, p: 0.2, stream: 5, accumulate: true },
      ];
      for (const shape of shapes) {
        const launch = await check(shape, variant, seed++, asAdapter(isCpu));
        const full = Math.ceil(n / perInvocation / 64);
        assert.is(workgroups(launch), isCpu ? CPU_GRID_STRIDE_WORKGROUPS : full, `${shape.op} ${variant} isCpu=${isCpu}`);
      }
    }
  }
});

test('elementwise: grid folds over y under a small per-dimension limit', async () => {
  const { gpu } = await testGpu();
  const limits = { ...gpu.limits, maxComputeWorkgroupsPerDimension: 4 };
  const n = 64 * 4 * 3 + 5; // 13 workgroups of 64: 4 × 4 with a tail
  const launch = elementwiseLaunch({ op: 'scale', n, alpha: 2 }, limits, 'scalar');
  assert.ok(launch.workgroups[1] > 1);
  const x = randomF32(n, 9);
  const got = await runLaunch(launch, [{ data: x }, { data: n, read: 'f32' }]);
  assertClose(got.get(1)!, scaleReference(x, 2), TOL, 'folded grid');
});

test.run();
