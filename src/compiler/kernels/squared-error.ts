// Launch definition of kernels/squared-error.wgsl: the regression head's squared-error loss and
// its gradient (in place of the predictions), one invocation per row. The lowering of the
// squared_error op sits at the end of this file. See the WGSL header for layouts.
import { grid1d } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import type { LoweringTable } from '../lower-context.js';
import type { CrossentropyScale } from './crossentropy.js';

export interface SquaredErrorShape {
  /** Rows: one prediction per sequence. */
  R: number;
  /** Which step-state scale multiplies loss and gradient (as crossentropy's). */
  scale: CrossentropyScale;
  /** Overwrite the predictions with their gradient (training); false for evaluation. Default true. */
  writeGrad?: boolean;
  dtype?: DType;
}

/** Storage bindings in WGSL order from 1. */
export const SQUARED_ERROR_BINDINGS = ['predictions', 'targets', 'weights', 'step_state', 'losses'] as const;
const SCALE_SLOTS: Record<CrossentropyScale, number> = { mlm: 0, nsp: 1, one: 2 };
const WG = 64;

export function squaredErrorLaunch(shape: SquaredErrorShape, limits: DeviceLimits): KernelLaunch {
  const { R } = shape;
  const writeGrad = shape.writeGrad ?? true;
  const dtype = shape.dtype ?? 'f32';
  return {
    pipeline: { kernel: 'squared-error', entry: 'squared_error', dtype, features: dtype === 'f16' ? ['shader-f16'] : [], overrides: { WG, WRITE_GRAD: writeGrad ? 1 : 0 } },
    uniforms: [R, SCALE_SLOTS[shape.scale], 0, 0],
    workgroups: grid1d(Math.ceil(R / WG), limits),
    flops: R * (writeGrad ? 6 : 4),
    bytes: R * ((dtype === 'f16' ? 2 : 4) * (writeGrad ? 2 : 1) + 12),
  };
}

// Lowering: one dispatch; the loss scale comes from the step state (mlm or nsp slot).
export const SQUARED_ERROR_LOWERING: LoweringTable<'squared_error'> = {
  squared_error(op, ctx) {
    const { predictions, targets, weights } = op.inputs;
    const [R] = ctx.g.get(predictions).shape as [number];
    const launch = squaredErrorLaunch({ R, scale: op.attrs.slot === 0 ? 'mlm' : 'nsp', writeGrad: op.attrs.grad, dtype: ctx.dtype(predictions) }, ctx.limits);
    ctx.dispatch(op, launch, [predictions, targets, weights].map((t) => ctx.slice(t)).concat([ctx.stepState(), ctx.slice(op.outputs.loss)]));
  },
};
