// f16 kernels (the element type T = f16 through the generated header) against the float64
// references, computed on the same f16-rounded inputs the GPU reads. Accumulation is f32 in every
// kernel, so the error is the output's own rounding (half an f16 ulp, 2^-11 relative) plus f32
// accumulation; tolerances per op below. Covers every variant of the families whose bindings are
// all activations (elementwise, matmul forward and input-gradient products, layernorm forward,
// the attention core forward and backward), and the mixed kernels of mixed precision: f16 inputs
// accumulated into f32 parameter gradients (matmul's C as TC, bias, LayerNorm and embedding
// gradients as TG) and the f32 → f16 cast of master weights to their copies (TI).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementwiseLaunch, usableElementwiseVariants, type ElementwiseShape } from '../../src/compiler/kernels/elementwise.js';
import { biasGradLaunch, usableBiasGradVariants } from '../../src/compiler/kernels/matmul-bias-grad.js';
import { embeddingGroups, embeddingLaunch, usableEmbeddingVariants } from '../../src/compiler/kernels/embedding.js';
import { layernormChunks } from '../../src/compiler/kernels/layernorm.js';
import { crossentropyLaunch } from '../../src/compiler/kernels/crossentropy.js';
import { rowsLaunch, usableRowsVariants } from '../../src/compiler/kernels/rows.js';
import { matmulBAligned, matmulBindings, matmulLaunch, matmulLaunches, matmulPartialBytes, matmulSubgroupsFit, usableMatmulVariants, type MatmulShape, type MatmulVariant } from '../../src/compiler/kernels/matmul.js';
import { layernormLaunch, usableLayernormVariants } from '../../src/compiler/kernels/layernorm.js';
import { attentionLaunch, usableAttentionVariants, type AttentionShape, type AttentionStage } from '../../src/compiler/kernels/attention.js';
import { activationBackwardReference, activationForwardReference, addReference, dropoutReference, gegluBackwardReference, gegluForwardReference } from '../../src/graph/ops/elementwise.js';
import { crossentropyReference } from '../../src/graph/ops/crossentropy.js';
import { gatherRowsReference, scatterRowsAddReference } from '../../src/graph/ops/rows.js';
import { matmulReference } from '../../src/graph/ops/matmul.js';
import { layernormBackwardReference, layernormForwardReference, residualDropoutLayernormForwardReference } from '../../src/graph/ops/layernorm.js';
import { biasGradReference } from '../../src/graph/ops/matmul-bias-grad.js';
import { embeddingBackwardReference, embeddingForwardReference, groupRowsById, paddedRowGroups } from '../../src/graph/ops/embedding.js';
import { attentionBackwardReference, attentionForwardReference } from '../../src/graph/ops/attention.js';
import { encodeStepState } from '../../src/plan/step-state.js';
import { testGpu } from '../support/gpu.js';
import { assertClose, roundToHalf, runLaunch } from '../support/harness.js';
import { randomF32, randomInt } from '../support/random.js';

/** f16 outputs: half an ulp relative (2^-11 ≈ 4.9e-4), with headroom for f32 accumulation order. */
const ELEMENTWISE_TOL = { atol: 1e-4, rtol: 1.5e-3 };
/** Products of K terms: the output rounding plus f32 sums of f16 products. */
const matmulTol = (K: number) => ({ atol: 2e-3 * Math.sqrt(K), rtol: 2e-3 });
const LAYERNORM_TOL = { atol: 4e-3, rtol: 2e-3 };
/** Attention chains rounding through probs (f16) and scores: looser. */
const ATTENTION_TOL = { atol: 6e-3, rtol: 6e-3 };
const STEP = { step: 1, lr: 0, seed: 99, microStep: 3, mlmScale: 1, nspScale: 1 };

const half = (n: number, seed: number, scale = 1) => roundToHalf(randomF32(n, seed, scale));

test('f16 elementwise: add, activations and their gradients, dropout, every variant, odd sizes', async () => {
  const { gpu } = await testGpu();
  if (!gpu.limits.features.includes('shader-f16')) assert.unreachable('this adapter lacks shader-f16');
  for (const n of [1, 7, 64, 1001]) {
    const x = half(n, n, 3);
    const y = half(n, n + 1);
    const shapes: ElementwiseShape[] = [
      { op: 'add', n, dtype: 'f16' },
      { op: 'act_forward', n, activation: 'gelu', dtype: 'f16' },
      { op: 'act_forward', n, activation: 'tanh', dtype: 'f16' },
      { op: 'act_backward', n, activation: 'gelu', dtype: 'f16' },
      { op: 'dropout_forward', n, p: 0.25, stream: 5, dtype: 'f16' },
    ];
    for (const shape of shapes) {
      for (const variant of usableElementwiseVariants(shape)) {
        const launch = elementwiseLaunch(shape, gpu.limits, variant);
        const ctx = `f16 ${shape.op} ${shape.activation ?? ''} ${variant} n=${n}`;
        if (shape.op === 'add') {
          const got = await runLaunch(launch, [{ data: x, f16: true }, { data: y, f16: true }, { data: n, f16: true, read: 'f16' }]);
          assertClose(got.get(2)!, addReference(x, y), ELEMENTWISE_TOL, ctx);
        } else if (shape.op === 'act_forward') {
          const got = await runLaunch(launch, [{ data: x, f16: true }, { data: n, f16: true, read: 'f16' }]);
          assertClose(got.get(1)!, activationForwardReference(shape.activation!, x), ELEMENTWISE_TOL, ctx);
        } else if (shape.op === 'act_backward') {
          const got = await runLaunch(launch, [{ data: y, f16: true }, { data: x, f16: true }, { data: n, f16: true, read: 'f16' }]);
          assertClose(got.get(2)!, activationBackwardReference('gelu', y, x), ELEMENTWISE_TOL, ctx);
        } else {
          const got = await runLaunch(launch, [{ data: encodeStepState(STEP) }, { data: x, f16: true }, { data: n, f16: true, read: 'f16' }]);
          assertClose(got.get(2)!, dropoutReference(x, { p: 0.25, stream: 5, seed: STEP.seed, microStep: STEP.microStep }), ELEMENTWISE_TOL, ctx);
        }
      }
    }
  }
});

test('f16 matmul: every usable variant, odd and aligned shapes, transposes, bias and epilogue', async () => {
  const { gpu } = await testGpu();
  const shapes: MatmulShape[] = [
    { M: 1, N: 1, K: 1 },
    { M: 17, N: 29, K: 31, transB: true, bias: true },
    { M: 33, N: 40, K: 24, transB: true, bias: true, epilogue: 'gelu' },
    { M: 64, N: 48, K: 72, transA: true },
    { M: 32, N: 64, K: 128 },
    // A not vec4-aligned, B aligned: subgroup_scalar_a's shapes.
    { M: 19, N: 24, K: 30 },
    { M: 30, N: 8, K: 12, transA: true, bias: true, epilogue: 'relu' },
  ];
  for (const base of shapes) {
    const shape: MatmulShape = { ...base, dtype: 'f16' };
    const { M, N, K } = shape;
    const a = half(M * K, M + K, 1);
    const b = half(K * N, N + K, 1);
    const bias = half(N, N);
    const usable = usableMatmulVariants(shape, gpu.limits);
    if (matmulSubgroupsFit(gpu.limits) && matmulBAligned(shape)) assert.ok(usable.includes('subgroup_scalar_a'), `subgroup_scalar_a runs ${JSON.stringify(base)}`);
    for (const variant of usable) {
      const launch = matmulLaunch(shape, gpu.limits, variant);
      const out = await runLaunch(launch, [{ data: a, f16: true }, { data: b, f16: true }, { data: bias, f16: true }, { data: M * N, f16: true, read: 'f16' }, { data: 8, f16: true }, ...spareParts(variant)]);
      const ref = matmulReference(a, b, { ...shape, epilogue: shape.epilogue }, shape.bias ? bias : undefined);
      assertClose(out.get(3)!, ref, matmulTol(K), `f16 matmul ${variant} ${JSON.stringify(base)}`);
    }
  }
});

test('f16 matmul subgroup: within tolerance of the reference at edge tiles, both B layouts, bias with every epilogue and STORE_PRE, alpha, accumulation into f32, batches', async () => {
  const { gpu } = await testGpu();
  const epilogues = ['none', 'gelu', 'gelu_tanh', 'relu', 'tanh'] as const;
  const shapes: MatmulShape[] = [
    // 260 rows cross the 256-row workgroup tile; N = 24 leaves a partly empty 32-column tile.
    { M: 260, N: 24, K: 40 },
    { M: 37, N: 13, K: 24, transB: true, bias: true, epilogue: 'gelu', storePre: true },
    { M: 70, N: 40, K: 16, transB: true, bias: true, alpha: 0.5 },
    { M: 9, N: 8, K: 8 },
    { M: 33, N: 48, K: 64, accumulate: true, cDtype: 'f32' },
    { M: 12, N: 16, K: 24, transB: true, batch: 3, strideA: 12 * 24 + 8, strideB: 0, strideC: 12 * 16 + 4 },
    ...epilogues.map((epilogue) => ({ M: 20, N: 32, K: 16, transB: true, bias: true, epilogue, storePre: true }) as MatmulShape),
  ];
  let seed = 700;
  for (const base of shapes) {
    const shape: MatmulShape = { ...base, dtype: 'f16' };
    const { M, N, K } = shape;
    const batch = shape.batch ?? 1;
    const sizeA = (batch - 1) * (shape.strideA ?? M * K) + M * K;
    const sizeB = Math.max(1, (batch - 1) * (shape.strideB ?? K * N) + K * N);
    const sizeC = (batch - 1) * (shape.strideC ?? M * N) + M * N;
    const a = half(sizeA, seed++);
    const b = half(sizeB, seed++);
    const bias = half(N, seed++);
    const cDtype = shape.cDtype ?? 'f16';
    const c0 = cDtype === 'f32' ? randomF32(sizeC, seed++) : half(sizeC, seed++);
    const out = await runLaunch(matmulLaunch(shape, gpu.limits, 'subgroup'), [
      { data: a, f16: true },
      { data: b, f16: true },
      { data: bias, f16: true },
      shape.accumulate ? { data: c0, f16: cDtype === 'f16', read: cDtype } : { data: sizeC, f16: cDtype === 'f16', read: cDtype },
      shape.storePre ? { data: sizeC, f16: true, read: 'f16' } : { data: 8, f16: true },
      { data: 4 },
    ]);
    assert.ok(usableMatmulVariants(shape, gpu.limits).includes('subgroup'), `subgroup usable for ${JSON.stringify(base)}`);
    const ctx = `f16 matmul subgroup ${JSON.stringify(base)}`;
    for (let z = 0; z < batch; z++) {
      const at = (x: Float32Array, stride: number | undefined, n: number) => x.subarray(z * (stride ?? n), z * (stride ?? n) + n);
      const ref = matmulReference(at(a, shape.strideA, M * K), at(b, shape.strideB, K * N), { ...shape, batch: 1, epilogue: shape.epilogue }, shape.bias ? bias : undefined, shape.accumulate ? at(c0, shape.strideC, M * N) : undefined);
      const got = (out.get(3)! as Float32Array).subarray(z * (shape.strideC ?? M * N), z * (shape.strideC ?? M * N) + M * N);
      assertClose(got, ref, matmulTol(K), `${ctx} batch ${z}`);
      if (shape.storePre) {
        // PRE: alpha·A·B + bias, before the epilogue, never accumulated.
        const preRef = matmulReference(at(a, shape.strideA, M * K), at(b, shape.strideB, K * N), { ...shape, batch: 1, epilogue: 'none' }, shape.bias ? bias : undefined);
        const pre = (out.get(4)! as Float32Array).subarray(z * (shape.strideC ?? M * N), z * (shape.strideC ?? M * N) + M * N);
        assertClose(pre, preRef, matmulTol(K), `${ctx} PRE batch ${z}`);
      }
    }
  }
});

test('f16 layernorm forward: both variants; statistics stay f32', async () => {
  const { gpu } = await testGpu();
  for (const [N, H] of [[3, 8], [5, 33], [16, 128]] as const) {
    const x = half(N * H, H, 2);
    const gamma = half(H, H + 1);
    const beta = half(H, H + 2);
    for (const variant of usableLayernormVariants({ H })) {
      const launch = layernormLaunch({ op: 'layernorm_forward', N, H, eps: 1e-12, dtype: 'f16' }, gpu.limits, variant);
      const got = await runLaunch(launch, [{ data: x, f16: true }, { data: gamma, f16: true }, { data: beta, f16: true }, { data: N * H, f16: true, read: 'f16' }, { data: 2 * N, read: 'f32' }]);
      const ref = layernormForwardReference(x, gamma, beta, N, H, 1e-12);
      assertClose(got.get(3)!, ref.y, LAYERNORM_TOL, `f16 layernorm ${variant} ${N}x${H}`);
      const stats = got.get(4)!;
      assertClose(Array.from({ length: N }, (_, i) => stats[2 * i]!), ref.mean, { atol: 1e-5, rtol: 1e-5 }, `f16 layernorm ${variant} mean`);
    }
  }
});

test('f16 attention core: scores, context and the backward stages, every usable variant, with dropout', async () => {
  const { gpu } = await testGpu();
  for (const shape of [{ B: 2, T: 5, H: 8, heads: 2 }, { B: 1, T: 16, H: 32, heads: 4 }] as AttentionShape[]) {
    const { B, T, H, heads } = shape;
    const qkv = half(B * T * 3 * H, T + H, 1);
    const dOut = half(B * T * H, T + H + 1, 1);
    const mask = new Int32Array(B * T).fill(1);
    mask[T - 1] = 0;
    const drop = { p: 0.1, stream: 3, seed: STEP.seed, microStep: STEP.microStep };
    const state = encodeStepState(STEP);
    const full = { ...shape, dropout: drop.p, stream: drop.stream };
    const nProbs = B * heads * T * T;
    const ref = attentionForwardReference(qkv, mask, shape, drop);
    const dRef = attentionBackwardReference(dOut, qkv, mask, shape, drop);
    for (const variant of usableAttentionVariants(full, gpu.limits)) {
      const launch = (stage: AttentionStage) => attentionLaunch({ ...full, dtype: 'f16' }, gpu.limits, stage, variant);
      const ctx = `f16 attention ${variant} ${JSON.stringify(shape)}`;
      const probs = (await runLaunch(launch('scores'), [{ data: qkv, f16: true }, { data: mask }, { data: nProbs, f16: true, read: 'f16' }])).get(2)! as Float32Array;
      assertClose(probs, ref.probs, ATTENTION_TOL, `${ctx} probs`);
      const out = (await runLaunch(launch('context'), [{ data: qkv, f16: true }, { data: probs, f16: true }, { data: state }, { data: B * T * H, f16: true, read: 'f16' }])).get(3)! as Float32Array;
      assertClose(out, ref.out, ATTENTION_TOL, `${ctx} out`);
      const afterV = (await runLaunch(launch('grad_v'), [{ data: dOut, f16: true }, { data: probs, f16: true }, { data: state }, { data: B * T * 3 * H, f16: true, read: 'f16' }])).get(3)! as Float32Array;
      const dS = (await runLaunch(launch('grad_scores'), [{ data: dOut, f16: true }, { data: probs, f16: true, read: 'f16' }, { data: state }, { data: qkv, f16: true }, { data: out, f16: true }])).get(1)! as Float32Array;
      const dQkv = (await runLaunch(launch('grad_qk'), [{ data: qkv, f16: true }, { data: dS, f16: true }, { data: afterV, f16: true, read: 'f16' }])).get(2)!;
      assertClose(dQkv, dRef, { atol: 2e-2, rtol: 2e-2 }, `${ctx} d_qkv`);
    }
  }
});

test('f16 GEGLU forward and backward, the fused post-LN residual + dropout + LayerNorm, the input embeddings', async () => {
  const { gpu } = await testGpu();
  for (const [rows, F] of [[3, 5], [4, 16]] as const) {
    const inp = half(rows * 2 * F, F, 2);
    const dy = half(rows * F, F + 1);
    for (const variant of usableElementwiseVariants({ op: 'geglu_forward', n: rows * F, cols: F })) {
      const fwd = await runLaunch(elementwiseLaunch({ op: 'geglu_forward', n: rows * F, cols: F, dtype: 'f16' }, gpu.limits, variant), [{ data: inp, f16: true }, { data: rows * F, f16: true, read: 'f16' }]);
      assertClose(fwd.get(1)!, gegluForwardReference(inp, rows, F), ELEMENTWISE_TOL, `f16 geglu_forward ${variant}`);
      const bwd = await runLaunch(elementwiseLaunch({ op: 'geglu_backward', n: rows * F, cols: F, dtype: 'f16' }, gpu.limits, variant), [{ data: dy, f16: true }, { data: inp, f16: true }, { data: rows * 2 * F, f16: true, read: 'f16' }]);
      assertClose(bwd.get(2)!, gegluBackwardReference(dy, inp, rows, F), ELEMENTWISE_TOL, `f16 geglu_backward ${variant}`);
    }
  }
  for (const [N, H] of [[3, 9], [8, 64]] as const) {
    const res = half(N * H, N);
    const a = half(N * H, N + 1);
    const gamma = half(H, H);
    const beta = half(H, H + 1);
    for (const variant of usableLayernormVariants({ H })) {
      const launch = layernormLaunch({ op: 'residual_dropout_layernorm_forward', N, H, eps: 1e-12, p: 0.1, stream: 4, dtype: 'f16' }, gpu.limits, variant);
      const got = await runLaunch(launch, [{ data: encodeStepState(STEP) }, { data: res, f16: true }, { data: a, f16: true }, { data: gamma, f16: true }, { data: beta, f16: true }, { data: N * H, f16: true, read: 'f16' }, { data: N * H, f16: true, read: 'f16' }, { data: 2 * N, read: 'f32' }]);
      const ref = residualDropoutLayernormForwardReference(res, a, gamma, beta, N, H, 1e-12, { p: 0.1, seed: STEP.seed, stream: 4, microStep: STEP.microStep });
      assertClose(got.get(5)!, ref.s, ELEMENTWISE_TOL, `f16 residual_dropout_layernorm ${variant} s`);
      // y is normalized from the f16-stored s the kernel keeps in f32: LayerNorm's tolerance.
      assertClose(got.get(6)!, ref.y, LAYERNORM_TOL, `f16 residual_dropout_layernorm ${variant} y`);
    }
  }
  const c = { N: 12, H: 8, seq: 4, V: 9, P: 4, TV: 2 };
  const ids = randomInt(c.N, 1, c.V);
  const types = randomInt(c.N, 2, c.TV);
  const [word, pos, type] = [half(c.V * c.H, 3), half(c.P * c.H, 4), half(c.TV * c.H, 5)];
  for (const variant of usableEmbeddingVariants(c)) {
    const got = await runLaunch(embeddingLaunch({ op: 'embedding_forward', ...c, dtype: 'f16' }, gpu.limits, variant), [{ data: ids }, { data: types }, { data: word, f16: true }, { data: pos, f16: true }, { data: type, f16: true }, { data: c.N * c.H, f16: true, read: 'f16' }]);
    assertClose(got.get(5)!, embeddingForwardReference(ids, types, word, pos, type, c.N, c.H, c.seq), ELEMENTWISE_TOL, `f16 embedding_forward ${variant}`);
  }
});

test('f16 rows (gather, weighted scatter-add) and the fused softmax cross-entropy (f16 logits, f32 losses)', async () => {
  const { gpu } = await testGpu();
  const [N, H] = [7, 8];
  const idx = [6, 0, 3, 3];
  const weights = Float32Array.from([1, 0, 1, 1]);
  const src = half(N * H, 1);
  const dOut = half(idx.length * H, 2);
  for (const variant of usableRowsVariants({ H })) {
    const gathered = await runLaunch(rowsLaunch({ op: 'gather_rows', R: idx.length, H, N, dtype: 'f16' }, gpu.limits, variant), [{ data: src, f16: true }, { data: Int32Array.from(idx) }, { data: idx.length * H, f16: true, read: 'f16' }]);
    assertClose(gathered.get(2)!, gatherRowsReference(src, idx, H), { atol: 0, rtol: 0 }, `f16 gather ${variant}`);
    const scattered = await runLaunch(rowsLaunch({ op: 'scatter_rows_add', R: idx.length, H, N, dtype: 'f16' }, gpu.limits, variant), [{ data: dOut, f16: true }, { data: Int32Array.from(idx) }, { data: weights }, { data: N * H, f16: true, read: 'f16' }]);
    assertClose(scattered.get(3)!, scatterRowsAddReference(dOut, idx, weights, N, H), ELEMENTWISE_TOL, `f16 scatter ${variant}`);
  }
  for (const [R, V] of [[5, 2], [6, 300]] as const) {
    const logits = half(R * V, V, 4);
    const labels = randomInt(R, V, V);
    const w = Float32Array.from({ length: R }, (_, i) => (i === 1 ? 0 : 1));
    const state = encodeStepState({ ...STEP, mlmScale: 0.25 });
    const out = await runLaunch(crossentropyLaunch({ R, V, scale: 'mlm', dtype: 'f16' }, gpu.limits), [{ data: logits, f16: true, read: 'f16' }, { data: labels }, { data: w }, { data: state }, { data: R, read: 'f32' }, { data: R, read: 'f32' }]);
    const ref = crossentropyReference(logits, labels, w, { R, V }, 0.25);
    assertClose(out.get(4)!, ref.losses, { atol: 1e-4, rtol: 1e-4 }, `f16 crossentropy ${R}x${V} losses (f32)`);
    assertClose(out.get(0)!, ref.dLogits, { atol: 1e-4, rtol: 2e-3 }, `f16 crossentropy ${R}x${V} d_logits (f16)`);
  }
});

test('convert: f32 master weights to f16 copies, exactly the rounded values, both variants', async () => {
  const { gpu } = await testGpu();
  for (const n of [1, 5, 64, 1003]) {
    const x = randomF32(n, n, 4);
    x[0] = 70000; // past the f16 range: saturates (WGSL leaves the plain conversion undefined)
    for (const variant of usableElementwiseVariants({ op: 'convert', n })) {
      const launch = elementwiseLaunch({ op: 'convert', n, dtype: 'f16', inDtype: 'f32' }, gpu.limits, variant);
      assert.equal(launch.pipeline.types, { TI: 'f32' });
      const got = (await runLaunch(launch, [{ data: x }, { data: n, f16: true, read: 'f16' }])).get(1)!;
      assert.equal(Array.from(got.subarray(0, n)), Array.from(roundToHalf(x.map((v) => Math.min(v, 65504)))), `convert ${variant} n=${n}`);
    }
  }
});

/** The subgroup variants' partial-accumulator binding, a spare one where K is whole. */
function spareParts(variant: MatmulVariant): { data: number }[] {
  return matmulBindings(variant).length > 5 ? [{ data: 4 }] : [];
}

test('mixed: f16 inputs accumulated into f32 parameter gradients (matmul dW as TC, bias, LayerNorm, embedding as TG)', async () => {
  const { gpu } = await testGpu();
  // dW (out, in) += dYᵀ (out, rows) · X (rows, in): f16 operands, f32 C accumulated in place.
  // 4,101 rows: past CPU_SPLIT_K_ABOVE, so a CPU adapter's subgroup kernels run K in chunks.
  for (const [rows, out, inF] of [[13, 7, 9], [64, 32, 48], [4101, 12, 20]] as const) {
    const shape: MatmulShape = { M: out, N: inF, K: rows, transA: true, accumulate: true, dtype: 'f16', cDtype: 'f32' };
    const dy = half(rows * out, rows + 1);
    const x = half(rows * inF, rows + 2);
    const c0 = randomF32(out * inF, rows + 3);
    for (const variant of usableMatmulVariants(shape, gpu.limits)) {
      const launches = matmulLaunches(shape, gpu.limits, variant);
      assert.equal(launches[0]!.pipeline.types, { TC: 'f32' });
      const partial = matmulBindings(variant).length > 5 ? [{ data: matmulPartialBytes(shape, gpu.limits, variant) / 4 }] : [];
      const got = await runLaunch(launches, [{ data: dy, f16: true }, { data: x, f16: true }, { data: 8, f16: true }, { data: c0, read: 'f32' }, { data: 8, f16: true }, ...partial]);
      const ref = matmulReference(dy, x, shape, undefined, c0);
      // f32 output: only the f32 accumulation of exact f16 products remains.
      assertClose(got.get(3)!, ref, { atol: 1e-5 * Math.sqrt(rows), rtol: 1e-5 }, `f16→f32 matmul ${variant} ${rows}x${out}x${inF}`);
    }
  }
  // db (N) += Σ_m dY[m, :] with dY f16.
  for (const [M, N] of [[9, 7], [100, 64]] as const) {
    const dy = half(M * N, M + N);
    const db0 = randomF32(N, M);
    for (const variant of usableBiasGradVariants({ M, N })) {
      const launch = biasGradLaunch({ M, N, accumulate: true, dtype: 'f16', gradDtype: 'f32' }, gpu.limits, variant);
      const partial = await runLaunch(launch.partial, [{ data: dy, f16: true }, { data: launch.scratchElements, read: 'f32' }]);
      const out = await runLaunch(launch.final, [{ data: partial.get(1)! }, { data: db0, read: 'f32' }]);
      assertClose(out.get(1)!, biasGradReference(dy, M, N, db0), { atol: 1e-5 * Math.sqrt(M), rtol: 1e-5 }, `f16→f32 bias_grad ${variant}`);
    }
  }
  // LayerNorm backward: dx in f16, dgamma/dbeta accumulated in f32.
  for (const [N, H] of [[5, 12], [70, 32]] as const) {
    const x = half(N * H, N, 2);
    const gamma = half(H, H);
    const dy = half(N * H, N + 1);
    const fwd = layernormForwardReference(x, gamma, new Float64Array(H), N, H, 1e-12);
    const stats = new Float32Array(2 * N);
    for (let i = 0; i < N; i++) [stats[2 * i], stats[2 * i + 1]] = [fwd.mean[i]!, fwd.rstd[i]!];
    const ref = layernormBackwardReference(dy, x, gamma, stats.filter((_, i) => i % 2 === 0), stats.filter((_, i) => i % 2 === 1), N, H);
    const dg0 = randomF32(H, 5);
    const db0 = randomF32(H, 6);
    for (const variant of usableLayernormVariants({ H })) {
      const dx = await runLaunch(layernormLaunch({ op: 'layernorm_backward', N, H, dtype: 'f16' }, gpu.limits, variant), [{ data: dy, f16: true }, { data: x, f16: true }, { data: gamma, f16: true }, { data: stats }, { data: N * H, f16: true, read: 'f16' }]);
      assertClose(dx.get(4)!, ref.dx, { atol: 4e-3, rtol: 4e-3 }, `f16 layernorm_backward ${variant} dx`);
      const partials = await runLaunch(layernormLaunch({ op: 'layernorm_backward_params', N, H, dtype: 'f16' }, gpu.limits, variant), [{ data: dy, f16: true }, { data: x, f16: true }, { data: stats }, { data: layernormChunks(N) * 2 * H, read: 'f32' }]);
      const finish = layernormLaunch({ op: 'layernorm_backward_params_finish', N, H, dtype: 'f16', gradDtype: 'f32' }, gpu.limits, variant);
      assert.equal(finish.pipeline.types, { TG: 'f32' });
      const fin = await runLaunch(finish, [{ data: partials.get(3)! as Float32Array }, { data: dg0, read: 'f32' }, { data: db0, read: 'f32' }]);
      const tol = { atol: 1e-4 * Math.sqrt(N), rtol: 1e-4 };
      assertClose(fin.get(1)!, ref.dgamma.map((v, i) => v + dg0[i]!), tol, `f16→f32 layernorm ${variant} dgamma`);
      assertClose(fin.get(2)!, ref.dbeta.map((v, i) => v + db0[i]!), tol, `f16→f32 layernorm ${variant} dbeta`);
    }
  }
  // Embedding tables' gradients in f32 from an f16 upstream gradient.
  const c = { N: 20, H: 8, seq: 5, V: 11, P: 6, TV: 2 };
  const ids = randomInt(c.N, 3, 4);
  const types = randomInt(c.N, 4, c.TV);
  const dOut = half(c.N * c.H, 7);
  const ref = embeddingBackwardReference(dOut, ids, types, c.N, c.H, c.seq, c.V, c.P, c.TV);
  const g = paddedRowGroups(groupRowsById(ids), embeddingGroups(c));
  for (const variant of usableEmbeddingVariants(c)) {
    const launch = (op: 'embedding_backward_word' | 'embedding_backward_position' | 'embedding_backward_type') => embeddingLaunch({ op, ...c, dtype: 'f16', gradDtype: 'f32' }, gpu.limits, variant);
    const word = await runLaunch(launch('embedding_backward_word'), [{ data: dOut, f16: true }, { data: g.unique }, { data: g.offsets }, { data: g.rows }, { data: c.V * c.H, read: 'f32' }]);
    assertClose(word.get(4)!, ref.dWord, { atol: 1e-5, rtol: 1e-5 }, `f16→f32 embedding ${variant} d_word`);
    const pos = await runLaunch(launch('embedding_backward_position'), [{ data: dOut, f16: true }, { data: c.P * c.H, read: 'f32' }]);
    assertClose(pos.get(1)!, ref.dPos, { atol: 1e-5, rtol: 1e-5 }, `f16→f32 embedding ${variant} d_pos`);
    const type = await runLaunch(launch('embedding_backward_type'), [{ data: dOut, f16: true }, { data: types }, { data: c.TV * c.H, read: 'f32' }]);
    assertClose(type.get(2)!, ref.dType, { atol: 1e-5, rtol: 1e-5 }, `f16→f32 embedding ${variant} d_type`);
  }
});

test.run();
