// Builds the forward pretraining graph from a recipe: embeddings, the repeated blocks exactly as
// declared (pre/post norm, activation, biases), final norm, pooler, MLM and NSP heads with their
// losses. Parameter names are Hugging Face BERT's, except the fused QKV projection
// (`attention.self.qkv.*`, rows [query | key | value]) which the checkpoint writer splits.
import type { Recipe, Attention, Feedforward } from '../recipe/index.js';
import { Graph, type OpInputs } from './ir.js';

export interface MicroBatchShape {
  /** Sequences per micro-batch. */
  batch: number;
  /** Tokens per sequence. */
  seq: number;
  /** MLM predictions per sequence. */
  predictions: number;
}

export interface ModelGraph {
  graph: Graph;
  shape: MicroBatchShape;
  vocab: number;
  hidden: number;
  /** Metric tensors the runner reads back: summed per step. */
  metrics: { mlm_loss?: number; mlm_correct?: number; nsp_loss?: number; nsp_correct?: number; cls_loss?: number; cls_correct?: number };
  /** The scalar whose gradient training follows is the sum of these (already weighted/scaled). */
  losses: number[];
  /** Every tensor id that the data layer fills per micro-batch, by input name. */
  inputs: Record<string, number>;
  /** Names of the param tensors tied together (decoder = word embeddings). */
  tied: boolean;
  /** Inference graphs: readable output tensors by name. */
  outputs: Record<string, number>;
}

/** The input tensors of a micro-batch (names the runner uploads). */
export const INPUT_NAMES = [
  'input_ids',
  'token_type_ids',
  'attention_mask',
  'masked_positions',
  'masked_ids',
  'masked_weights',
  'nsp_labels',
  'class_labels',
  'class_targets',
  'cls_rows',
  'cls_weights',
  'emb_unique',
  'emb_offsets',
  'emb_rows',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export interface BuildOptions {
  /** Evaluation graphs turn every dropout off and skip the loss gradients. */
  training: boolean;
  /**
   * Inference graphs have no losses: MLM logits for the gathered rows (pass every row as a
   * masked position), NSP logits, the pooled output and the last hidden states, kept readable.
   */
  inference?: boolean;
  /** tasks.classify: the number of labels (the classifier's outputs; 1 for regression). */
  classes?: number;
}

export function buildModelGraph(recipe: Recipe, vocab: number, shape: MicroBatchShape, options: BuildOptions = { training: true }): ModelGraph {
  const g = new Graph();
  const train = options.training;
  const dropP = (p: number) => (train ? p : 0);
  const m = recipe.model;
  const H = m.hidden;
  const { batch: B, seq: T, predictions: P } = shape;
  const N = B * T;
  const R = B * P;
  const std = m.init_std;
  const eps = m.layernorm_eps;
  let stream = 1;
  const nextStream = () => stream++;

  const weight = (name: string, shape: number[]) => g.tensor(name, shape, 'param', 'f32', { init: { kind: 'normal', std } });
  const biasParam = (name: string, n: number) => g.tensor(name, [n], 'param', 'f32', { init: { kind: 'zeros' } });
  const normParams = (prefix: string) => ({
    gamma: g.tensor(`${prefix}.weight`, [H], 'param', 'f32', { init: { kind: 'ones' } }),
    beta: g.tensor(`${prefix}.bias`, [H], 'param', 'f32', { init: { kind: 'zeros' } }),
  });
  const act = (name: string, shape: number[]) => g.tensor(name, shape, 'activation');

  const inputs: Record<string, number> = {
    input_ids: g.tensor('input_ids', [N], 'input', 'i32'),
    token_type_ids: g.tensor('token_type_ids', [N], 'input', 'i32'),
    attention_mask: g.tensor('attention_mask', [N], 'input', 'i32'),
    ...(recipe.tasks.classify
      ? recipe.tasks.classify.regression
        ? { class_targets: g.tensor('class_targets', [B], 'input', 'f32') }
        : { class_labels: g.tensor('class_labels', [B], 'input', 'i32') }
      : {
          masked_positions: g.tensor('masked_positions', [R], 'input', 'i32'),
          masked_ids: g.tensor('masked_ids', [R], 'input', 'i32'),
          masked_weights: g.tensor('masked_weights', [R], 'input', 'f32'),
          nsp_labels: g.tensor('nsp_labels', [B], 'input', 'i32'),
        }),
    cls_rows: g.tensor('cls_rows', [B], 'input', 'i32'),
    cls_weights: g.tensor('cls_weights', [B], 'input', 'f32'),
    // CSR grouping of token rows by id for the deterministic embedding gradient, padded to
    // min(N, vocab) groups (src/graph/ops/embedding.ts paddedRowGroups).
    emb_unique: g.tensor('emb_unique', [Math.min(N, vocab)], 'input', 'i32'),
    emb_offsets: g.tensor('emb_offsets', [Math.min(N, vocab) + 1], 'input', 'i32'),
    emb_rows: g.tensor('emb_rows', [N], 'input', 'i32'),
  };

  const linear = (label: string, x: number, rows: number, inF: number, outF: number, prefix: string, hasBias: boolean): number => {
    const w = weight(`${prefix}.weight`, [outF, inF]);
    const b = hasBias ? biasParam(`${prefix}.bias`, outF) : undefined;
    const y = act(`${label}.out`, [rows, outF]);
    g.op('linear', label, b === undefined ? { x, w } : { x, w, b }, { y }, {});
    return y;
  };
  const layernorm = (label: string, x: number, rows: number, prefix: string): number => {
    const { gamma, beta } = normParams(prefix);
    const y = act(`${label}.y`, [rows, H]);
    const stats = act(`${label}.stats`, [rows, 2]); // (mean, rstd) per row, for backward
    g.op('layernorm', label, { x, gamma, beta }, { y, stats }, { eps });
    return y;
  };
  const dropout = (label: string, x: number, rows: number, cols: number, p: number): number => {
    if (p <= 0) return x;
    const y = act(`${label}.y`, [rows, cols]);
    g.op('dropout', label, { x }, { y }, { p, stream: nextStream() });
    return y;
  };
  // Post-LN: norm(residual + dropout(a)); pre-LN: residual + dropout(a).
  const residual = (label: string, a: number, res: number, norm: 'pre' | 'post', p: number, normPrefix: string): number => {
    if (norm === 'post') {
      const { gamma, beta } = normParams(normPrefix);
      const s = act(`${label}.sum`, [N, H]);
      const y = act(`${label}.y`, [N, H]);
      const stats = act(`${label}.stats`, [N, 2]);
      g.op('residual_dropout_layernorm', label, { a, residual: res, gamma, beta }, { s, y, stats }, { eps, p, stream: p > 0 ? nextStream() : 0 });
      return y;
    }
    const d = dropout(`${label}.dropout`, a, N, H, p);
    const y = act(`${label}.y`, [N, H]);
    g.op('add', label, { a: res, b: d }, { y }, {});
    return y;
  };

  let x: number | undefined;
  let layerIndex = 0;
  let pooled: number | undefined;
  let poolerDeclared: { activation: 'tanh' | 'none' } | undefined;

  for (const item of m.graph) {
    if (item.embeddings) {
      const e = item.embeddings;
      const word = weight('bert.embeddings.word_embeddings.weight', [vocab, H]);
      const embInputs: OpInputs<'embedding'> = { ids: inputs.input_ids!, types: inputs.token_type_ids!, word };
      if (e.position === 'learned') embInputs.pos = weight('bert.embeddings.position_embeddings.weight', [m.max_position, H]);
      if (e.token_type) embInputs.type = weight('bert.embeddings.token_type_embeddings.weight', [m.type_vocab, H]);
      const out = act('embeddings.sum', [N, H]);
      g.op('embedding', 'embeddings', embInputs, { out }, { seq: T });
      x = e.norm === 'layernorm' ? layernorm('embeddings.layernorm', out, N, 'bert.embeddings.LayerNorm') : out;
      x = dropout('embeddings.dropout', x, N, H, dropP(e.dropout));
    } else if (item.repeat !== undefined && item.layers) {
      for (let r = 0; r < item.repeat; r++, layerIndex++) {
        const prefix = `bert.encoder.layer.${layerIndex}`;
        const counts = { attention: 0, feedforward: 0 };
        for (const layer of item.layers) {
          if (x === undefined) throw new Error('graph: encoder layer before embeddings');
          if (layer.attention) {
            const k = counts.attention++;
            x = attentionBlock(`encoder.${layerIndex}.attention${k ? `_${k}` : ''}`, `${prefix}.attention${k ? `_${k}` : ''}`, x, layer.attention);
          } else if (layer.feedforward) {
            const k = counts.feedforward++;
            x = feedforwardBlock(`encoder.${layerIndex}.feedforward${k ? `_${k}` : ''}`, prefix, k, x, layer.feedforward);
          }
        }
      }
    } else if (item.final_norm) {
      if (x === undefined) throw new Error('graph: final_norm before embeddings');
      x = layernorm('encoder.final_norm', x, N, 'bert.encoder.LayerNorm');
    } else if (item.pooler) {
      poolerDeclared = item.pooler;
    }
  }
  if (x === undefined) throw new Error('graph: the model has no embeddings');

  function attentionBlock(label: string, prefix: string, input: number, a: Attention): number {
    const h = a.norm === 'pre' ? layernorm(`${label}.layernorm`, input, N, `${prefix}.output.LayerNorm`) : input;
    const qkv = linear(`${label}.qkv`, h, N, H, 3 * H, `${prefix}.self.qkv`, a.bias);
    const out = act(`${label}.context`, [N, H]);
    const probs = act(`${label}.probs`, [B * a.heads * T * T]);
    g.op('attention', `${label}.core`, { qkv, mask: inputs.attention_mask! }, { out, probs }, { batch: B, seq: T, heads: a.heads, p: dropP(a.probs_dropout), stream: dropP(a.probs_dropout) > 0 ? nextStream() : 0 });
    const proj = linear(`${label}.output`, out, N, H, H, `${prefix}.output.dense`, a.bias);
    return residual(`${label}.residual`, proj, input, a.norm, dropP(a.dropout), `${prefix}.output.LayerNorm`);
  }

  function feedforwardBlock(label: string, layerPrefix: string, k: number, input: number, f: Feedforward): number {
    const suffix = k ? `_${k}` : '';
    const normPrefix = `${layerPrefix}.output${suffix}.LayerNorm`;
    const h = f.norm === 'pre' ? layernorm(`${label}.layernorm`, input, N, normPrefix) : input;
    const innerOut = f.activation === 'geglu' ? 2 * f.inner : f.inner;
    const pre = linear(`${label}.intermediate`, h, N, H, innerOut, `${layerPrefix}.intermediate${suffix}.dense`, f.bias);
    const hidden = act(`${label}.activation.y`, [N, f.inner]);
    if (f.activation === 'geglu') g.op('geglu', `${label}.geglu`, { x: pre }, { y: hidden }, {});
    else g.op('activation', `${label}.${f.activation}`, { x: pre }, { y: hidden }, { fn: f.activation });
    const out = linear(`${label}.output`, hidden, N, f.inner, H, `${layerPrefix}.output${suffix}.dense`, f.bias);
    return residual(`${label}.residual`, out, input, f.norm, dropP(f.dropout), normPrefix);
  }

  const sumInto = (label: string, source: number, name: string): number => {
    const metric = g.tensor(name, [1], 'metric');
    g.op('sum', label, { x: source }, { out: metric }, {}, ['out']);
    return metric;
  };

  // Pooler parameters exist whenever declared (checkpoints carry them); ops run only for NSP.
  let poolerWeights: { w: number; b: number } | undefined;
  if (poolerDeclared) {
    poolerWeights = { w: weight('bert.pooler.dense.weight', [H, H]), b: biasParam('bert.pooler.dense.bias', H) };
  }

  const pooledOutput = (): number => {
    if (!poolerWeights) throw new Error('graph: the head needs a pooler');
    const cls = act('pooler.gather.out', [B, H]);
    g.op('gather_rows', 'pooler.gather', { src: x!, idx: inputs.cls_rows!, weights: inputs.cls_weights! }, { out: cls }, {});
    const dense = act('pooler.dense.out', [B, H]);
    g.op('linear', 'pooler.dense', { x: cls, w: poolerWeights.w, b: poolerWeights.b }, { y: dense }, {});
    if (poolerDeclared!.activation !== 'tanh') return dense;
    const out = act('pooler.tanh.y', [B, H]);
    g.op('activation', 'pooler.tanh', { x: dense }, { y: out }, { fn: 'tanh' });
    return out;
  };

  if (recipe.tasks.classify) return classificationHead(recipe.tasks.classify.dropout, recipe.tasks.classify.regression);

  // Fine-tuning, as transformers' BertForSequenceClassification: pooled [CLS] → dropout → linear
  // `classifier` → cross-entropy over the labels, or for regression (one output) the squared
  // error against the targets, torch's MSELoss (slot 0 of the step state scales either). The
  // pretraining heads are not built; evaluation and inference graphs keep the logits readable.
  function classificationHead(p: number, regression: boolean): ModelGraph {
    const classes = options.classes;
    if (classes === undefined || (regression ? classes !== 1 : !(classes >= 2))) {
      throw new Error(`graph: tasks.classify needs ${regression ? 'one output for regression (options.classes = 1)' : 'the number of labels (options.classes >= 2)'}`);
    }
    const pooledOut = dropout('classifier.dropout', pooledOutput(), B, H, dropP(p));
    const logits = linear('classifier', pooledOut, B, H, classes, 'classifier', true);
    const outputs: Record<string, number> = {};
    if (!train) {
      g.get(logits).keep = true;
      outputs.logits = logits;
    }
    if (options.inference) return { graph: g, shape, vocab, hidden: H, metrics: {}, losses: [], inputs, tied: false, outputs };
    const loss = act('classifier.loss', [B]);
    const dlogits = g.tensor('classifier.logits.grad', [B, classes], 'activation', 'f32', { inPlaceOf: logits });
    if (regression) {
      g.op('squared_error', 'classifier.loss', { predictions: logits, targets: inputs.class_targets!, weights: inputs.cls_weights! }, { loss, dpredictions: dlogits }, { slot: 0, grad: train });
      return { graph: g, shape, vocab, hidden: H, metrics: { cls_loss: sumInto('classifier.loss.sum', loss, 'metric.cls_loss') }, losses: [loss], inputs, tied: false, outputs };
    }
    const correct = act('classifier.correct', [B]);
    g.op('crossentropy', 'classifier.loss', { logits, labels: inputs.class_labels!, weights: inputs.cls_weights! }, { loss, correct, dlogits }, { slot: 0, grad: train });
    const metrics: ModelGraph['metrics'] = {
      cls_loss: sumInto('classifier.loss.sum', loss, 'metric.cls_loss'),
      cls_correct: sumInto('classifier.correct.sum', correct, 'metric.cls_correct'),
    };
    return { graph: g, shape, vocab, hidden: H, metrics, losses: [loss], inputs, tied: false, outputs };
  }

  // MLM head: gather the masked rows before the vocabulary projection (DESIGN: dense logits
  // for every token would be 500 MB at BERT-base sizes).
  const mlm = recipe.tasks.mlm;
  const gathered = act('mlm.gather.out', [R, H]);
  g.op('gather_rows', 'mlm.gather', { src: x, idx: inputs.masked_positions!, weights: inputs.masked_weights! }, { out: gathered }, {});
  let t = gathered;
  if (mlm.head.transform) {
    const dense = linear('mlm.transform.dense', t, R, H, H, 'cls.predictions.transform.dense', true);
    t = act('mlm.transform.activation.y', [R, H]);
    g.op('activation', `mlm.transform.${mlm.head.activation}`, { x: dense }, { y: t }, { fn: mlm.head.activation });
    if (mlm.head.norm === 'layernorm') t = layernorm('mlm.transform.layernorm', t, R, 'cls.predictions.transform.LayerNorm');
  }
  const decoderWeight = mlm.tie_embeddings ? g.named('bert.embeddings.word_embeddings.weight') : weight('cls.predictions.decoder.weight', [vocab, H]);
  const logits = act('mlm.logits', [R, vocab]);
  const decoderInputs: OpInputs<'linear'> = { x: t, w: decoderWeight };
  if (mlm.head.decoder_bias) decoderInputs.b = biasParam('cls.predictions.bias', vocab);
  g.op('linear', 'mlm.decoder', decoderInputs, { y: logits }, {});
  const outputs: Record<string, number> = {};
  if (options.inference) {
    const keep = (name: string, id: number) => {
      g.get(id).keep = true;
      outputs[name] = id;
    };
    keep('hidden', x);
    keep('mlm_logits', logits);
    if (poolerWeights) {
      const cls = act('pooler.gather.out', [B, H]);
      g.op('gather_rows', 'pooler.gather', { src: x, idx: inputs.cls_rows!, weights: inputs.cls_weights! }, { out: cls }, {});
      const dense = act('pooler.dense.out', [B, H]);
      g.op('linear', 'pooler.dense', { x: cls, w: poolerWeights.w, b: poolerWeights.b }, { y: dense }, {});
      let pooledOut = dense;
      if (poolerDeclared!.activation === 'tanh') {
        pooledOut = act('pooler.tanh.y', [B, H]);
        g.op('activation', 'pooler.tanh', { x: dense }, { y: pooledOut }, { fn: 'tanh' });
      }
      keep('pooled', pooledOut);
      if (recipe.tasks.nsp) keep('nsp_logits', linear('nsp.classifier', pooledOut, B, H, 2, 'cls.seq_relationship', true));
    }
    return { graph: g, shape, vocab, hidden: H, metrics: { mlm_loss: -1, mlm_correct: -1 }, losses: [], inputs, tied: mlm.tie_embeddings, outputs };
  }
  const mlmLoss = act('mlm.loss', [R]);
  const mlmCorrect = act('mlm.correct', [R]);
  const mlmGrad = g.tensor('mlm.logits.grad', [R, vocab], 'activation', 'f32', { inPlaceOf: logits });
  g.op('crossentropy', 'mlm.loss', { logits, labels: inputs.masked_ids!, weights: inputs.masked_weights! }, { loss: mlmLoss, correct: mlmCorrect, dlogits: mlmGrad }, { slot: 0, grad: train });
  const metrics: ModelGraph['metrics'] = {
    mlm_loss: sumInto('mlm.loss.sum', mlmLoss, 'metric.mlm_loss'),
    mlm_correct: sumInto('mlm.correct.sum', mlmCorrect, 'metric.mlm_correct'),
  };
  const losses = [mlmLoss];

  if (recipe.tasks.nsp) {
    if (!poolerWeights) throw new Error('graph: nsp needs a pooler');
    const cls = act('nsp.gather.out', [B, H]);
    g.op('gather_rows', 'pooler.gather', { src: x, idx: inputs.cls_rows!, weights: inputs.cls_weights! }, { out: cls }, {});
    const dense = act('pooler.dense.out', [B, H]);
    g.op('linear', 'pooler.dense', { x: cls, w: poolerWeights.w, b: poolerWeights.b }, { y: dense }, {});
    if (poolerDeclared!.activation === 'tanh') {
      pooled = act('pooler.tanh.y', [B, H]);
      g.op('activation', 'pooler.tanh', { x: dense }, { y: pooled }, { fn: 'tanh' });
    } else pooled = dense;
    const nspLogits = linear('nsp.classifier', pooled, B, H, 2, 'cls.seq_relationship', true);
    const nspLoss = act('nsp.loss', [B]);
    const nspCorrect = act('nsp.correct', [B]);
    const nspGrad = g.tensor('nsp.logits.grad', [B, 2], 'activation', 'f32', { inPlaceOf: nspLogits });
    g.op('crossentropy', 'nsp.loss', { logits: nspLogits, labels: inputs.nsp_labels!, weights: inputs.cls_weights! }, { loss: nspLoss, correct: nspCorrect, dlogits: nspGrad }, { slot: 1, grad: train });
    metrics.nsp_loss = sumInto('nsp.loss.sum', nspLoss, 'metric.nsp_loss');
    metrics.nsp_correct = sumInto('nsp.correct.sum', nspCorrect, 'metric.nsp_correct');
    losses.push(nspLoss);
  }

  return { graph: g, shape, vocab, hidden: H, metrics, losses, inputs, tied: mlm.tie_embeddings, outputs };
}
