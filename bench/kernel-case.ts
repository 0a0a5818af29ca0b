// A kernel benchmark case: one launch with the byte size of each binding. The kernels suite
// fills the buffers with small random values, dispatches the launch and times it, so a kernel
// family only has to list its launches at the shapes that matter.
import type { KernelLaunch } from '../src/compiler/kernels/kernel.js';
import type { DeviceLimits, DType } from '../src/plan/types.js';

export interface KernelCase {
  /** Op name, e.g. 'matmul' or 'layernorm_forward'. */
  name: string;
  variant: string;
  shape: string;
  launch: KernelLaunch;
  /** Byte size of each binding, in WGSL binding order from 1. */
  bindingBytes: number[];
  /**
   * Buffers that hold integer data (indices) must hold valid values: binding index (0-based
   * into bindingBytes) -> exclusive upper bound of the random integers written there.
   */
  intBindings?: Record<number, number>;
  /** Exact contents for bindings that need structured data (e.g. a CSR grouping), by index. */
  data?: Record<number, Int32Array | Float32Array>;
  /** Marks the simple baseline the fast variants are compared with. */
  baseline?: boolean;
}

/** Shapes a family is benchmarked at; from a recipe (BERT-base by default). */
export interface BenchShapes {
  /** Tokens per micro-batch (batch × seq). */
  tokens: number;
  batch: number;
  seq: number;
  hidden: number;
  heads: number;
  inner: number;
  vocab: number;
  /** Masked positions per micro-batch. */
  predictions: number;
}

export const BERT_BASE_SHAPES: BenchShapes = { tokens: 32 * 128, batch: 32, seq: 128, hidden: 768, heads: 12, inner: 3072, vocab: 30522, predictions: 32 * 20 };

export type KernelCaseFactory = (shapes: BenchShapes, limits: DeviceLimits, quick: boolean) => KernelCase[];

/**
 * The same shapes again in f16 (labels suffixed " f16"; mixed precision's operand type), where
 * the device has shader-f16. `extra` adds what the f16 form of a shape needs (e.g. f32 gradients).
 */
export function withF16<S extends { dtype?: DType }>(shapes: { label: string; shape: S }[], limits: DeviceLimits, extra: (shape: S) => Partial<S> = () => ({})): { label: string; shape: S }[] {
  if (!limits.features.includes('shader-f16')) return shapes;
  return [...shapes, ...shapes.map(({ label, shape }) => ({ label: `${label} f16`, shape: { ...shape, dtype: 'f16' as const, ...extra(shape) } }))];
}
