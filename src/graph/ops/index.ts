// The op registry: every op kind's definition, in one plain table. A kind added to
// OpSignatures (ir.ts) without a definition here is a type error.
import type { OpDefs } from '../op-def.js';
import { attentionBackwardOp, attentionOp } from './attention.js';
import { crossentropyOp } from './crossentropy.js';
import { activationBackwardOp, activationOp, addOp, dropoutBackwardOp, dropoutOp, fillOp, gegluBackwardOp, gegluOp } from './elementwise.js';
import { embeddingBackwardOp, embeddingOp } from './embedding.js';
import { layernormBackwardOp, layernormOp, residualDropoutLayernormOp } from './layernorm.js';
import { biasGradOp } from './matmul-bias-grad.js';
import { linearOp, matmulOp } from './matmul.js';
import { sumOp } from './reduce.js';
import { gatherRowsOp, scatterRowsAddOp } from './rows.js';

export const OP_DEFS: OpDefs = {
  embedding: embeddingOp,
  layernorm: layernormOp,
  residual_dropout_layernorm: residualDropoutLayernormOp,
  dropout: dropoutOp,
  linear: linearOp,
  activation: activationOp,
  geglu: gegluOp,
  add: addOp,
  attention: attentionOp,
  gather_rows: gatherRowsOp,
  crossentropy: crossentropyOp,
  sum: sumOp,
  matmul: matmulOp,
  bias_grad: biasGradOp,
  activation_backward: activationBackwardOp,
  geglu_backward: gegluBackwardOp,
  dropout_backward: dropoutBackwardOp,
  layernorm_backward: layernormBackwardOp,
  attention_backward: attentionBackwardOp,
  embedding_backward: embeddingBackwardOp,
  scatter_rows_add: scatterRowsAddOp,
  fill: fillOp,
};
