// matmul benchmark cases: every usable variant at 1024³ and at BERT-base's training shapes, in
// f32 and, where the device has shader-f16, in f16 (mixed precision's operands; withF16).
import { matmulBindings, matmulLaunch, usableMatmulVariants, type MatmulShape } from '../../src/compiler/kernels/matmul.js';
import { withF16, type KernelCase, type KernelCaseFactory } from '../kernel-case.js';

export function matmulCases(shapes: { label: string; shape: MatmulShape }[], limits: Parameters<KernelCaseFactory>[1], skipTiledAbove = Infinity): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    const batch = shape.batch ?? 1;
    const e = shape.dtype === 'f16' ? 2 : 4;
    for (const variant of usableMatmulVariants(shape, limits)) {
      if (variant === 'tiled' && shape.M * shape.N * shape.K > skipTiledAbove) continue;
      cases.push({
        name: 'matmul',
        variant,
        shape: label,
        launch: matmulLaunch(shape, limits, variant),
        // a, b, bias, c, pre (a spare 16 bytes unless storePre), and for the subgroup variants
        // the partial accumulators (16 bytes: one launch over all of K; bench/matmul suite
        // shapes are below the K a CPU splits).
        bindingBytes: [batch * shape.M * shape.K * e, batch * shape.K * shape.N * e, shape.N * e, batch * shape.M * shape.N * e, shape.storePre ? batch * shape.M * shape.N * e : 16, ...(matmulBindings(variant).length > 5 ? [16] : [])],
        baseline: variant === 'naive',
      });
    }
  }
  return cases;
}

export const matmulBenchCases: KernelCaseFactory = (s, limits, quick) => {
  if (quick) return matmulCases(withF16<MatmulShape>([{ label: '128x128x128', shape: { M: 128, N: 128, K: 128 } }], limits), limits);
  return matmulCases(withF16<MatmulShape>(
    [
      { label: '1024x1024x1024', shape: { M: 1024, N: 1024, K: 1024 } },
      // M×N×K = tokens × out × in, as the forward projections of BERT-base run them.
      { label: `${s.tokens}x${s.hidden}x${s.hidden}`, shape: { M: s.tokens, N: s.hidden, K: s.hidden, transB: true } },
      { label: `${s.tokens}x${s.inner}x${s.hidden}`, shape: { M: s.tokens, N: s.inner, K: s.hidden, transB: true } },
      { label: `${s.tokens}x${s.hidden}x${s.inner}`, shape: { M: s.tokens, N: s.hidden, K: s.inner, transB: true } },
    ], limits),
    limits,
    // The tiled variant is for real GPUs; on a CPU rasterizer it runs below 1 GFLOP/s, so the
    // BERT-base shapes would take minutes per sample: there it is timed at 1024³ only.
    limits.adapter?.isCpu ? 1024 ** 3 : Infinity,
  );
};
