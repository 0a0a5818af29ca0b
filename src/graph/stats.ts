// Model statistics behind `bert-run check` and bert-bench's MFU, read off the built graph (not a
// second derivation from the recipe): every parameter tensor (its plan/Hugging Face name, shape,
// group, weight decay), a layer table, parameter counts per group, FLOPs per token from the ops'
// own cost rules, and a device-memory estimate for one micro-batch. FLOPs count matrix-multiply
// work only (2 per multiply-add), as MFU does; the training figure is the real forward + backward
// graph. The layer table's descriptions come from the recipe; its counts from the graph.
import type { Recipe } from '../recipe/index.js';
import { appliesWeightDecay } from '../recipe/weight-decay.js';
import { appendBackward } from './autodiff.js';
import { fuseTrainingEpilogues } from './fusion.js';
import type { Graph, Op } from './ir.js';
import { buildModelGraph } from './model.js';
import type { OpDef } from './op-def.js';
import { OP_DEFS } from './ops/index.js';

export type ParamGroup = 'embeddings' | 'attention' | 'feedforward' | 'final_norm' | 'pooler' | 'mlm_head' | 'nsp_head' | 'classifier';

export interface ParamTensor {
  /** The plan's name (Hugging Face's, except the fused `attention.self.qkv`). */
  name: string;
  /** [out, in] for dense weights, [rows, H] for embeddings. */
  shape: number[];
  group: ParamGroup;
  /** False when a schedule.no_decay pattern matches the name. */
  decay: boolean;
}

export interface LayerRow {
  /** e.g. `encoder.0-11.attention` */
  name: string;
  detail: string;
  /** How many copies (the repeat count). */
  count: number;
  /** Parameters of one copy. */
  params: number;
}

export interface ModelStats {
  /** Embedding rows after padding. */
  vocabSize: number;
  hidden: number;
  /** Transformer blocks (sum of repeat counts). */
  blocks: number;
  parameters: ParamTensor[];
  layers: LayerRow[];
  groups: { group: ParamGroup; params: number }[];
  totalParams: number;
  flops: {
    seqLen: number;
    /** Forward matmul FLOPs per token, heads included (MLM head on max_predictions tokens per sequence). */
    forwardPerToken: number;
    /** Forward + backward matmul FLOPs per token, from the differentiated graph. */
    trainingPerToken: number;
    /** trainingPerToken x tokens per optimizer step (batch_size x seqLen). */
    trainingPerStep: number;
  };
  memory: {
    microBatch: number;
    seqLen: number;
    /** Bytes: f32 parameters, gradients and optimizer moments, plus the forward activations kept for backward. */
    params: number;
    grads: number;
    optimizer: number;
    activations: number;
    total: number;
  };
}

export interface StatsOptions {
  /** Embedding rows (the padded vocabulary): see vocabRows in src/recipe. */
  vocabSize: number;
  /** Sequence length for FLOPs and memory (default data.seq_len). */
  seqLen?: number;
  /** Sequences per pass for the memory estimate (default schedule.micro_batch_size). */
  microBatch?: number;
  /** tasks.classify: the number of labels. */
  classes?: number;
}

const GROUP_ORDER: ParamGroup[] = ['embeddings', 'attention', 'feedforward', 'final_norm', 'pooler', 'mlm_head', 'nsp_head', 'classifier'];

/** The group of a parameter, by its name in the graph (model.ts names them). */
export function paramGroup(name: string): ParamGroup {
  if (name.startsWith('bert.embeddings.')) return 'embeddings';
  if (name.startsWith('bert.encoder.LayerNorm.')) return 'final_norm';
  if (/^bert\.encoder\.layer\.\d+\.attention(_\d+)?\./.test(name)) return 'attention';
  if (name.startsWith('bert.encoder.layer.')) return 'feedforward';
  if (name.startsWith('bert.pooler.')) return 'pooler';
  if (name.startsWith('cls.predictions.')) return 'mlm_head';
  if (name.startsWith('cls.seq_relationship.')) return 'nsp_head';
  if (name.startsWith('classifier.')) return 'classifier';
  throw new Error(`stats: parameter ${name} belongs to no group`);
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function matmulFlops(g: Graph, ops: readonly Op[]): number {
  let flops = 0;
  for (const op of ops) {
    const cost = (OP_DEFS[op.kind] as OpDef<Op['kind']>).cost(op, g);
    if (cost.matmul) flops += cost.flops;
  }
  return flops;
}

export function modelStats(recipe: Recipe, options: StatsOptions): ModelStats {
  const { model, tasks, schedule } = recipe;
  const H = model.hidden;
  const V = options.vocabSize;
  const T = options.seqLen ?? recipe.data.seq_len;
  const B = options.microBatch ?? schedule.micro_batch_size;
  // One sequence: every per-token figure below is exact for any batch (attention is per sequence).
  const one = { batch: 1, seq: T, predictions: tasks.mlm.max_predictions };
  const { graph: g } = buildModelGraph(recipe, V, one, { training: true, classes: options.classes });
  const forwardFlops = matmulFlops(g, g.ops);
  const forwardActivations = g.tensors.filter((t) => t.role === 'activation').reduce((a, t) => a + elements(t.shape), 0);
  const parameters: ParamTensor[] = g.params().map((t) => ({ name: t.name, shape: [...t.shape], group: paramGroup(t.name), decay: appliesWeightDecay(t.name, recipe) }));

  const trained = buildModelGraph(recipe, V, one, { training: true, classes: options.classes }).graph;
  fuseTrainingEpilogues(trained);
  appendBackward(trained);
  const trainingFlops = matmulFlops(trained, trained.ops);

  const paramsWhere = (test: (name: string) => boolean) => parameters.filter((p) => test(p.name)).reduce((a, p) => a + elements(p.shape), 0);
  const layers = layerRows(recipe, V, paramsWhere);
  const groups = GROUP_ORDER.map((group) => ({ group, params: parameters.filter((t) => t.group === group).reduce((a, t) => a + elements(t.shape), 0) })).filter((x) => x.params > 0);
  const totalParams = groups.reduce((a, x) => a + x.params, 0);

  const actBytes = recipe.runtime.precision === 'f16' ? 2 : 4;
  const memory = {
    microBatch: B,
    seqLen: T,
    params: 4 * totalParams,
    grads: 4 * totalParams,
    optimizer: 8 * totalParams,
    activations: actBytes * forwardActivations * B,
    total: 0,
  };
  memory.total = memory.params + memory.grads + memory.optimizer + memory.activations;
  return {
    vocabSize: V,
    hidden: H,
    blocks: model.graph.reduce((a, item) => a + (item.repeat ?? 0), 0),
    parameters,
    layers,
    groups,
    totalParams,
    flops: {
      seqLen: T,
      forwardPerToken: Math.round(forwardFlops / T),
      trainingPerToken: Math.round(trainingFlops / T),
      trainingPerStep: Math.round((trainingFlops / T) * schedule.batch_size * T),
    },
    memory,
  };
}

/** The recipe's layers as rows: descriptions from the recipe, parameter counts from the graph. */
function layerRows(recipe: Recipe, V: number, paramsWhere: (test: (name: string) => boolean) => number): LayerRow[] {
  const { model, tasks } = recipe;
  const H = model.hidden;
  const rows: LayerRow[] = [];
  let blocks = 0;
  for (const item of model.graph) {
    if (item.embeddings) {
      const e = item.embeddings;
      const parts = [`word ${V}x${H}`, e.position === 'learned' ? `position ${model.max_position}x${H}` : '', e.token_type ? `type ${model.type_vocab}x${H}` : ''];
      rows.push({
        name: 'embeddings',
        detail: `${parts.filter(Boolean).join(' + ')}${e.norm === 'layernorm' ? ', layernorm' : ''}, dropout ${e.dropout}`,
        count: 1,
        params: paramsWhere((n) => n.startsWith('bert.embeddings.')),
      });
    } else if (item.repeat !== undefined && item.layers) {
      const first = blocks;
      blocks += item.repeat;
      const seen = { attention: 0, feedforward: 0 };
      for (const l of item.layers) {
        const kind = l.attention ? 'attention' : 'feedforward';
        const k = seen[kind]++;
        const suffix = k ? `_${k}` : '';
        const name = `encoder.${item.repeat === 1 ? first : `${first}-${blocks - 1}`}.${kind}${suffix}`;
        const layer = `bert.encoder.layer.${first}.`;
        if (l.attention) {
          const a = l.attention;
          rows.push({ name, detail: `${a.heads} heads x ${H / a.heads}, ${a.norm}-LN${a.bias ? '' : ', no bias'}, dropout ${a.dropout}/${a.probs_dropout}`, count: item.repeat, params: paramsWhere((n) => n.startsWith(`${layer}attention${suffix}.`)) });
        } else if (l.feedforward) {
          const f = l.feedforward;
          const inner = f.activation === 'geglu' ? 2 * f.inner : f.inner;
          rows.push({
            name,
            detail: `${H} -> ${inner}${f.activation === 'geglu' ? ` -> ${f.inner}` : ''} -> ${H}, ${f.activation}, ${f.norm}-LN${f.bias ? '' : ', no bias'}, dropout ${f.dropout}`,
            count: item.repeat,
            params: paramsWhere((n) => n.startsWith(`${layer}intermediate${suffix}.`) || n.startsWith(`${layer}output${suffix}.`)),
          });
        }
      }
    } else if (item.final_norm) {
      rows.push({ name: 'final_norm', detail: 'layernorm', count: 1, params: paramsWhere((n) => n.startsWith('bert.encoder.LayerNorm.')) });
    } else if (item.pooler) {
      rows.push({ name: 'pooler', detail: `[CLS] ${H} -> ${H}, ${item.pooler.activation}`, count: 1, params: paramsWhere((n) => n.startsWith('bert.pooler.')) });
    }
  }
  if (tasks.classify) {
    rows.push({ name: 'classifier', detail: `pooled [CLS], dropout ${tasks.classify.dropout}, ${H} -> ${tasks.classify.regression ? '1 score' : 'labels'}`, count: 1, params: paramsWhere((n) => n.startsWith('classifier.')) });
    return rows;
  }
  const head = tasks.mlm.head;
  rows.push({
    name: 'mlm_head',
    detail: `${head.transform ? `dense ${H} -> ${H}, ${head.activation}${head.norm === 'layernorm' ? ', layernorm' : ''}; ` : ''}decoder ${H} -> ${V}${tasks.mlm.tie_embeddings ? ' (tied to word embeddings)' : ''}`,
    count: 1,
    params: paramsWhere((n) => n.startsWith('cls.predictions.')),
  });
  if (tasks.nsp) rows.push({ name: 'nsp_head', detail: `${model.graph.some((i) => i.pooler) ? 'pooled ' : ''}[CLS] ${H} -> 2`, count: 1, params: paramsWhere((n) => n.startsWith('cls.seq_relationship.')) });
  return rows;
}
