// Launch definition of kernels/peak.wgsl: the FMA-bound yardstick bert-bench measures the
// adapter's compute peak with. Not a model op: the compiler never lowers to it.
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';

/** Independent vec4 accumulators and loop unroll in kernels/peak.wgsl (FLOPs are counted with them). */
export const PEAK_CHAINS = 8;
export const PEAK_UNROLL = 4;
export const PEAK_BINDINGS = ['out'] as const;

const WG = 64;

export interface PeakFmaShape {
  /** Invocations (each writes one element of out). */
  n: number;
  /** Loop trips per invocation. */
  iters: number;
}

/** FLOPs one invocation does: trips × unroll × chains × (vec4 FMA = 4 multiplies + 4 adds). */
export function peakFmaFlopsPerInvocation(iters: number): number {
  return iters * PEAK_UNROLL * PEAK_CHAINS * 8;
}

export function peakFmaLaunch(shape: PeakFmaShape, limits: DeviceLimits): KernelLaunch {
  const { n, iters } = shape;
  if (!(n >= 1 && iters >= 1)) throw new Error(`peak_fma needs n, iters ≥ 1 (got ${n}, ${iters})`);
  return {
    pipeline: { kernel: 'peak', entry: 'peak_fma', dtype: 'f32', features: [], overrides: { WG } },
    uniforms: [n, iters, f32Bits(0.5), 0],
    workgroups: grid1d(ceilDiv(n, WG), limits),
    flops: n * peakFmaFlopsPerInvocation(iters),
    bytes: n * 4,
  };
}
