// attention: every variant (subgroup, subgroup_vec4, plain, plain_vec4) runs the five launches
// against the float64 reference on odd shapes (T = 1, 7, 19, 130; D = 1, 5, 18 across one or two
// column tiles; one or several row blocks), padding keys, dropout on and off, and a grid folded
// over y. Forward and backward run chained on the device, each stage fed the previous stage's
// device output (as the plan will run them).
import { kernelVariantsFromEnv } from '../../src/cli/env.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attentionLaunch, pickAttentionVariant, usableAttentionVariants, ATTENTION_VARIANTS, type AttentionShape, type AttentionVariant } from '../../src/compiler/kernels/attention.js';
import { attentionBackwardReference, attentionForwardReference } from '../../src/graph/ops/attention.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import type { DeviceLimits } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, runLaunch } from '../support/harness.js';
import { randomF32, rng } from '../support/random.js';

const SEED = 4242;
const MICRO_STEP = 3;

async function check(shape: AttentionShape, variant: AttentionVariant, seed: number, limitsOverride?: Partial<DeviceLimits>): Promise<void> {
  const { gpu } = await testGpu();
  const limits = { ...gpu.limits, ...limitsOverride };
  const { B, T, H, heads } = shape;
  const qkv = randomF32(B * T * 3 * H, seed, 1.5);
  const dOut = randomF32(B * T * H, seed + 1);
  const next = rng(seed + 2);
  const mask = new Int32Array(B * T);
  // Key 0 is always real (BERT's [CLS]); about a fifth of the others are padding.
  for (let i = 0; i < B * T; i++) mask[i] = i % T === 0 || next() > 0.2 ? 1 : 0;
  const state = encodeStepState({ step: 1, lr: 1e-4, seed: SEED, microStep: MICRO_STEP, mlmScale: 1, nspScale: 1 });
  const drop = { p: shape.dropout ?? 0, seed: SEED, stream: shape.stream ?? 0, microStep: MICRO_STEP };
  const context = `attention ${variant} ${JSON.stringify(shape)}`;
  const nProbs = B * heads * T * T;
  const launch = (stage: Parameters<typeof attentionLaunch>[2]) => attentionLaunch(shape, limits, stage, variant);

  const ref = attentionForwardReference(qkv, mask, shape, drop);
  const probs = (await runLaunch(launch('scores'), [{ data: qkv }, { data: mask }, { data: nProbs, read: 'f32' }])).get(2)! as Float32Array;
  assertClose(probs, ref.probs, { atol: 1e-6, rtol: 1e-4 }, `${context} probs`);
  const out = (await runLaunch(launch('context'), [{ data: qkv }, { data: probs }, { data: state }, { data: B * T * H, read: 'f32' }])).get(3)! as Float32Array;
  assertClose(out, ref.out, { atol: 1e-5, rtol: 1e-4 }, `${context} out`);

  const dRef = attentionBackwardReference(dOut, qkv, mask, shape, drop);
  const afterV = (await runLaunch(launch('grad_v'), [{ data: dOut }, { data: probs }, { data: state }, { data: B * T * 3 * H, read: 'f32' }])).get(3)! as Float32Array;
  const dS = (await runLaunch(launch('grad_scores'), [{ data: dOut }, { data: probs.slice(), read: 'f32' }, { data: state }, { data: qkv }, { data: out }])).get(1)! as Float32Array;
  const dQkv = (await runLaunch(launch('grad_qk'), [{ data: qkv }, { data: dS }, { data: afterV, read: 'f32' }])).get(2)!;
  assertClose(dQkv, dRef, { atol: 2e-5 * Math.sqrt(T), rtol: 2e-4 }, `${context} d_qkv`);
}

const SHAPES: AttentionShape[] = [
  { B: 1, T: 1, H: 1, heads: 1 },
  { B: 1, T: 7, H: 5, heads: 1 },
  { B: 2, T: 7, H: 10, heads: 2 },
  { B: 2, T: 19, H: 36, heads: 2 },
  { B: 1, T: 130, H: 6, heads: 2 },
];

// D a multiple of 4, so the vec4 variants run them too; with T a multiple of 4 as well,
// subgroup_vec4 also runs its 4-step entries for context, grad_v and grad_qk.
const SHAPES_D4: AttentionShape[] = [
  { B: 1, T: 1, H: 4, heads: 1 },
  { B: 2, T: 7, H: 8, heads: 2 },
  { B: 1, T: 19, H: 40, heads: 2 },
  { B: 1, T: 130, H: 8, heads: 2 },
  { B: 2, T: 8, H: 8, heads: 2 },
  { B: 1, T: 132, H: 40, heads: 2 },
  // D = 44 and 64: two column tiles of subgroup_vec4's 32-wide 4-step entries, the last part full.
  { B: 1, T: 12, H: 88, heads: 2 },
  { B: 1, T: 8, H: 64, heads: 1 },
];

test('attention: the vec4 variants are usable exactly when D % 4 == 0; plain ones always', async () => {
  const { gpu } = await testGpu();
  assert.ok(gpu.hasFeature('subgroups'), 'the test device must offer subgroups to test the subgroup variants');
  const odd: AttentionShape = { B: 1, T: 8, H: 10, heads: 2 };
  const even: AttentionShape = { B: 1, T: 8, H: 16, heads: 2 };
  assert.equal(usableAttentionVariants(odd, gpu.limits), ['plain', 'subgroup']);
  assert.equal(usableAttentionVariants(even, gpu.limits), ['plain', 'plain_vec4', 'subgroup', 'subgroup_vec4']);
  const none = { ...gpu.limits, features: [] };
  assert.equal(usableAttentionVariants(odd, none), ['plain']);
  assert.equal(usableAttentionVariants(even, none), ['plain', 'plain_vec4']);
});

test('attention: subgroup_vec4 runs the _vec4 entries of every stage exactly when T % 4 == 0', async () => {
  const { gpu } = await testGpu();
  for (const stage of ['scores', 'context', 'grad_v', 'grad_scores', 'grad_qk'] as const) {
    assert.ok(attentionLaunch({ B: 1, T: 12, H: 8, heads: 2 }, gpu.limits, stage, 'subgroup_vec4').pipeline.entry.endsWith('_vec4'), stage);
    assert.not.ok(attentionLaunch({ B: 1, T: 13, H: 8, heads: 2 }, gpu.limits, stage, 'subgroup_vec4').pipeline.entry.endsWith('_vec4'), stage);
  }
});

test('attention: the heuristic keeps subgroups when usable, else plain; a forced variant (recipe or BERT_VARIANT_ATTENTION via the CLI) wins', async () => {
  const { gpu } = await testGpu();
  const odd: AttentionShape = { B: 1, T: 8, H: 10, heads: 2 };
  const even: AttentionShape = { B: 1, T: 8, H: 16, heads: 2 };
  const none = { ...gpu.limits, features: [] };
  assert.is(pickAttentionVariant(odd, gpu.limits, {}), 'subgroup');
  assert.is(pickAttentionVariant(even, gpu.limits, {}), 'subgroup_vec4');
  assert.is(pickAttentionVariant(odd, none, {}), 'plain');
  assert.is(pickAttentionVariant(even, none, {}), 'plain_vec4');
  // Subgroups that do not fit (sizes below 8) fall back to plain too.
  assert.is(pickAttentionVariant(even, { ...gpu.limits, subgroupMinSize: 4 }, {}), 'plain_vec4');
  assert.is(pickAttentionVariant(even, gpu.limits, { attention: 'plain' }), 'plain');
  // A forced variant the device cannot run is ignored.
  assert.is(pickAttentionVariant(even, none, { attention: 'subgroup' }), 'plain_vec4');
  // BERT_VARIANT_ATTENTION reaches the compiler through the CLI's reading of the environment.
  assert.equal(kernelVariantsFromEnv({ BERT_VARIANT_ATTENTION: 'plain', BERT_VARIANT_MATMUL: 'vec4', BERT_DEBUG: 'plan' }), { attention: 'plain', matmul: 'vec4' });
  const previous = process.env.BERT_VARIANT_ATTENTION;
  process.env.BERT_VARIANT_ATTENTION = 'plain';
  try {
    // The compiler itself reads no environment.
    assert.is(pickAttentionVariant(even, gpu.limits), 'subgroup_vec4');
  } finally {
    if (previous === undefined) delete process.env.BERT_VARIANT_ATTENTION;
    else process.env.BERT_VARIANT_ATTENTION = previous;
  }
  const launch = attentionLaunch(even, none, 'context', 'plain');
  assert.is(launch.pipeline.kernel, 'attention-plain');
  assert.equal(launch.pipeline.features, []);
});

for (const variant of ATTENTION_VARIANTS) {
  const vec4 = variant.endsWith('_vec4');
  test(`attention ${variant}: odd shapes, padding keys, no dropout`, async () => {
    let seed = 10;
    for (const shape of vec4 ? SHAPES_D4 : SHAPES) await check(shape, variant, seed++);
  });

  test(`attention ${variant}: several row blocks (workgroup size capped at 8)`, async () => {
    const { gpu } = await testGpu();
    const cap = { maxComputeInvocationsPerWorkgroup: Math.max(8, gpu.limits.subgroupMaxSize ?? 8) };
    await check(vec4 ? { B: 1, T: 130, H: 24, heads: 2 } : { B: 1, T: 130, H: 10, heads: 2 }, variant, 20, cap);
    await check(vec4 ? { B: 2, T: 37, H: 8, heads: 1 } : { B: 2, T: 37, H: 18, heads: 1 }, variant, 21, cap);
    // T % 4 == 0 (the subgroup _vec4 entries), the last row block part full, dropout on.
    await check(vec4 ? { B: 1, T: 68, H: 24, heads: 2, dropout: 0.2, stream: 3 } : { B: 1, T: 68, H: 10, heads: 2, dropout: 0.2, stream: 3 }, variant, 22, cap);
  });

  test(`attention ${variant}: attention-probs dropout (regenerated in backward)`, async () => {
    await check({ B: 2, T: 7, H: 8, heads: 2, dropout: 0.25, stream: 5 }, variant, 30);
    await check({ B: 2, T: 12, H: 24, heads: 2, dropout: 0.25, stream: 9 }, variant, 32);
    await check({ B: 1, T: 19, H: 36, heads: 3, dropout: 0.1, stream: 77 }, variant, 31);
    // Dropout over two 32-column tiles (D = 40): each tile regenerates the same mask.
    await check({ B: 1, T: 16, H: 80, heads: 2, dropout: 0.2, stream: 11 }, variant, 33);
  });

  test(`attention ${variant}: grid folded over y when tiles exceed the per-dimension limit`, async () => {
    const { gpu } = await testGpu();
    const shape: AttentionShape = { B: 3, T: 9, H: 12, heads: 3 };
    const limit = 5;
    for (const stage of ['scores', 'grad_qk'] as const) {
      const folded = attentionLaunch(shape, { ...gpu.limits, maxComputeWorkgroupsPerDimension: limit }, stage, variant).workgroups;
      assert.ok(folded[1] > 1 && folded[0] <= limit, `${stage}: grid ${folded} not folded under ${limit}`);
    }
    await check(shape, variant, 40, { maxComputeWorkgroupsPerDimension: limit });
  });
}

test.run();
