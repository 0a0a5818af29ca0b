// The op registry: every op kind's definition, merged from each family's file (src/graph/ops/
// <family>.ts: signature, references, evaluation, gradient rule, cost). An op kind whose
// signature exists without a definition is a type error here.
import type { OpDefs } from '../op-def.js';
import { ATTENTION_OPS } from './attention.js';
import { CROSSENTROPY_OPS } from './crossentropy.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { EMBEDDING_OPS } from './embedding.js';
import { LAYERNORM_OPS } from './layernorm.js';
import { BIAS_GRAD_OPS } from './matmul-bias-grad.js';
import { MATMUL_OPS } from './matmul.js';
import { REDUCE_OPS } from './reduce.js';
import { ROWS_OPS } from './rows.js';
import { SQUARED_ERROR_OPS } from './squared-error.js';

export const OP_DEFS: OpDefs = {
  ...EMBEDDING_OPS,
  ...LAYERNORM_OPS,
  ...MATMUL_OPS,
  ...ELEMENTWISE_OPS,
  ...ATTENTION_OPS,
  ...ROWS_OPS,
  ...CROSSENTROPY_OPS,
  ...SQUARED_ERROR_OPS,
  ...REDUCE_OPS,
  ...BIAS_GRAD_OPS,
};
