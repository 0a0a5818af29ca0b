// layernorm benchmark cases at BERT-base's (tokens, hidden): forward, the fused post-LN
// residual + dropout + LN forward, and the three backward launches; scalar is the baseline.
import { layernormLaunch, usableLayernormVariants, layernormPartialsBytes, LAYERNORM_BINDINGS, type LayernormShape } from '../../src/compiler/kernels/layernorm.js';
import { STEP_STATE_BYTES } from '../../src/plan/step-state.js';
import { withF16, type KernelCase, type KernelCaseFactory } from '../kernel-case.js';

function bindingBytes(shape: LayernormShape): number[] {
  const { N, H } = shape;
  const sizes: Record<string, number> = { x: N * H * 4, y: N * H * 4, dy: N * H * 4, dx: N * H * 4, residual: N * H * 4, a: N * H * 4, s: N * H * 4, gamma: H * 4, beta: H * 4, dgamma: H * 4, dbeta: H * 4, stats: N * 8, step_state: STEP_STATE_BYTES, partials: layernormPartialsBytes(N, H) };
  return LAYERNORM_BINDINGS[shape.op].map((name) => sizes[name]!);
}

export function layernormCases(shapes: { label: string; shape: LayernormShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    for (const variant of usableLayernormVariants(shape)) {
      cases.push({ name: shape.op, variant, shape: label, launch: layernormLaunch(shape, limits, variant), bindingBytes: bindingBytes(shape), baseline: variant === 'scalar' });
    }
  }
  return cases;
}

export const layernormBenchCases: KernelCaseFactory = (s, limits, quick) => {
  const [N, H] = quick ? [256, 128] : [s.tokens, s.hidden];
  const label = `${N}x${H}`;
  return layernormCases(
    withF16([
      { label, shape: { op: 'layernorm_forward', N, H } as LayernormShape },
      { label, shape: { op: 'residual_dropout_layernorm_forward', N, H, p: 0.1, stream: 3 } },
      { label, shape: { op: 'layernorm_backward', N, H, accumulate: true } },
      { label, shape: { op: 'layernorm_backward_params', N, H } },
      { label, shape: { op: 'layernorm_backward_params_finish', N, H } },
    ], limits, (shape) => (shape.op === 'layernorm_backward_params_finish' ? { gradDtype: 'f32' } : {})),
    limits,
  );
};
