// Lowering: op kind → kernel dispatches, as one complete table assembled from each kernel
// family's lowerings (src/compiler/kernels/<family>.ts, next to its launch definition and its
// WGSL). An op kind without a lowering is a type error here, not a run-time surprise.
import type { OpKind } from '../graph/ir.js';
import type { LoweringTable } from './lower-context.js';
import { ATTENTION_LOWERING } from './kernels/attention.js';
import { CROSSENTROPY_LOWERING } from './kernels/crossentropy.js';
import { ELEMENTWISE_LOWERING } from './kernels/elementwise.js';
import { EMBEDDING_LOWERING } from './kernels/embedding.js';
import { LAYERNORM_LOWERING } from './kernels/layernorm.js';
import { BIAS_GRAD_LOWERING } from './kernels/matmul-bias-grad.js';
import { MATMUL_LOWERING } from './kernels/matmul.js';
import { REDUCE_LOWERING } from './kernels/reduce.js';
import { ROWS_LOWERING } from './kernels/rows.js';
import { SQUARED_ERROR_LOWERING } from './kernels/squared-error.js';

export const LOWER: LoweringTable<OpKind> = {
  ...EMBEDDING_LOWERING,
  ...LAYERNORM_LOWERING,
  ...MATMUL_LOWERING,
  ...ELEMENTWISE_LOWERING,
  ...ATTENTION_LOWERING,
  ...ROWS_LOWERING,
  ...CROSSENTROPY_LOWERING,
  ...SQUARED_ERROR_LOWERING,
  ...REDUCE_LOWERING,
  ...BIAS_GRAD_LOWERING,
};
