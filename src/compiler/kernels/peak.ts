// Launch definitions of kernels/peak.wgsl: the FMA-bound and grid-stride copy yardsticks
// bert-bench measures the adapter's compute and bandwidth peaks with. Not model ops: the
// compiler never lowers to them.
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';

/** Independent vec4 accumulators and loop unroll in kernels/peak.wgsl (FLOPs are counted with them). */
export const PEAK_CHAINS = 8;
export const PEAK_UNROLL = 4;
export const PEAK_BINDINGS = { peak_fma: ['out'], peak_copy: ['x', 'out'] } as const;

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

export interface PeakCopyShape {
  /** Elements copied (multiple of 4). */
  n: number;
  /** Workgroups of the grid-stride loop (a few per core on a CPU, enough to fill a GPU). */
  workgroups: number;
}

export function peakCopyLaunch(shape: PeakCopyShape, limits: DeviceLimits): KernelLaunch {
  const { n } = shape;
  if (!(n >= 4 && n % 4 === 0)) throw new Error(`peak_copy needs n a positive multiple of 4 (got ${n})`);
  const workgroups = Math.max(1, Math.min(shape.workgroups, ceilDiv(n / 4, WG)));
  return {
    pipeline: { kernel: 'peak', entry: 'peak_copy', dtype: 'f32', features: [], overrides: { WG } },
    uniforms: [n, 0, 0, 0],
    workgroups: grid1d(workgroups, limits),
    flops: 0,
    bytes: 2 * n * 4,
  };
}
