// Launch definition of kernels/matmul.wgsl: C = epilogue(alpha·op(A)·op(B) + bias) [+ C].
// Bindings: a, b, bias, c (see the WGSL header for layouts).
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant } from './kernel.js';

export type Epilogue = 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'tanh';
const EPILOGUE_CODES: Record<Epilogue, number> = { none: 0, gelu: 1, gelu_tanh: 2, relu: 3, tanh: 4 };

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** Batch strides in elements; default dense, 0 broadcasts. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  alpha?: number;
  bias?: boolean;
  epilogue?: Epilogue;
  accumulate?: boolean;
  dtype?: DType;
}

export const MATMUL_VARIANTS = ['naive', 'blocked'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];
export const MATMUL_BINDINGS = ['a', 'b', 'bias', 'c'] as const;

/** Variants that can run this shape on this device. */
export function usableMatmulVariants(_shape: MatmulShape, _limits: DeviceLimits): MatmulVariant[] {
  return [...MATMUL_VARIANTS];
}

export function pickMatmulVariant(shape: MatmulShape, limits: DeviceLimits, forced?: Record<string, string>): MatmulVariant {
  // Register blocking wins whenever there is more than a sliver of output to block over.
  const heuristic: MatmulVariant = shape.M >= 4 && shape.N >= 4 ? 'blocked' : 'naive';
  return chooseVariant('matmul', usableMatmulVariants(shape, limits), heuristic, forced);
}

export function matmulLaunch(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant = pickMatmulVariant(shape, limits)): KernelLaunch {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const wg = 64;
  let tiles: number;
  if (variant === 'naive') tiles = M * ceilDiv(N, wg);
  else tiles = ceilDiv(M, (wg / 8) * 4) * ceilDiv(N, 32);
  const [x, y] = grid1d(tiles, limits);
  if (batch > limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul batch ${batch} exceeds the device's workgroup limit`);
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  return {
    pipeline: {
      kernel: 'matmul',
      entry: `matmul_${variant}`,
      dtype,
      features: dtype === 'f16' ? ['shader-f16'] : [],
      overrides: {
        TRANS_A: shape.transA ? 1 : 0,
        TRANS_B: shape.transB ? 1 : 0,
        HAS_BIAS: shape.bias ? 1 : 0,
        ACCUMULATE: shape.accumulate ? 1 : 0,
        EPILOGUE: EPILOGUE_CODES[shape.epilogue ?? 'none'],
        WG: wg,
      },
    },
    uniforms: [M, N, K, batch, shape.strideA ?? M * K, shape.strideB ?? K * N, shape.strideC ?? M * N, f32Bits(shape.alpha ?? 1)],
    workgroups: [x, y, batch],
    flops: 2 * batch * M * N * K,
    bytes: elementBytes * batch * (M * K + K * N + M * N * (shape.accumulate ? 2 : 1)),
  };
}
