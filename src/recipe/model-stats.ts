// Model statistics as a pure function of the Recipe: every parameter tensor (name, shape, group,
// weight decay or not), a layer table, parameter counts per group, training FLOPs per token and a
// device-memory estimate for one micro-batch. The compiler's graph is cross-checked against these
// counts, so they are exact; FLOPs count matmuls only (2 per multiply-add) and memory is an estimate.
// Shapes are [in, out] for dense weights, [rows, H] for embeddings.
import type { Attention, Feedforward, Recipe } from './recipe-types.js';

export type ParamGroup = 'embeddings' | 'attention' | 'feedforward' | 'final_norm' | 'pooler' | 'mlm_head' | 'nsp_head';

export interface ParamTensor {
  name: string;
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
    /** Forward + backward (3x forward). */
    trainingPerToken: number;
    /** trainingPerToken x tokens per optimizer step (batch_size x seqLen). */
    trainingPerStep: number;
  };
  memory: {
    microBatch: number;
    seqLen: number;
    /** Bytes: f32 parameters, gradients and optimizer moments, plus activations kept for backward. */
    params: number;
    grads: number;
    optimizer: number;
    activations: number;
    total: number;
  };
}

export interface StatsOptions {
  /** Tokenizer vocabulary size, needed when model.vocab_size is from-tokenizer with a vocab file. */
  vocabSize?: number;
  /** Sequence length for FLOPs and memory (default data.seq_len). */
  seqLen?: number;
  /** Sequences per pass for the memory estimate (default schedule.micro_batch_size). */
  microBatch?: number;
}

/** Embedding rows: model.vocab_size (or the tokenizer's) rounded up to pad_vocab_to_multiple_of. */
export function vocabRows(recipe: Recipe, tokenizerVocab?: number): number {
  const m = recipe.model;
  let v: number | undefined = typeof m.vocab_size === 'number' ? m.vocab_size : tokenizerVocab ?? recipe.data.tokenizer.wordpiece?.train.vocab_size;
  if (v === undefined) throw new Error('model-stats: vocab_size is from-tokenizer and the tokenizer file was not read; pass options.vocabSize');
  const k = m.pad_vocab_to_multiple_of;
  v = Math.ceil(v / k) * k;
  return v;
}

function globRegex(pattern: string): RegExp {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*') + '$');
}

const attentionParams = (H: number, a: Attention): number => 3 * H * H + H * H + (a.bias ? 4 * H : 0) + 2 * H;
const ffInner = (f: Feedforward): number => (f.activation === 'geglu' ? 2 * f.inner : f.inner);
const ffParams = (H: number, f: Feedforward): number => H * ffInner(f) + f.inner * H + (f.bias ? ffInner(f) + H : 0) + 2 * H;

export function modelStats(recipe: Recipe, options: StatsOptions = {}): ModelStats {
  const { model, tasks, schedule } = recipe;
  const H = model.hidden;
  const V = vocabRows(recipe, options.vocabSize);
  const T = options.seqLen ?? recipe.data.seq_len;
  const B = options.microBatch ?? schedule.micro_batch_size;
  const noDecay = schedule.no_decay.map(globRegex);
  const parameters: ParamTensor[] = [];
  const layers: LayerRow[] = [];
  const add = (name: string, shape: number[], group: ParamGroup): void => {
    parameters.push({ name, shape, group, decay: !noDecay.some((re) => re.test(name)) });
  };
  const norm = (prefix: string, group: ParamGroup): void => {
    add(`${prefix}.weight`, [H], group);
    add(`${prefix}.bias`, [H], group);
  };

  let fwd = 0; // forward FLOPs per token
  let act = 0; // activation floats kept per token
  let blocks = 0;
  let pooler = false;
  for (const item of model.graph) {
    if (item.embeddings) {
      const e = item.embeddings;
      add('embeddings.word.weight', [V, H], 'embeddings');
      if (e.position === 'learned') add('embeddings.position.weight', [model.max_position, H], 'embeddings');
      if (e.token_type) add('embeddings.token_type.weight', [model.type_vocab, H], 'embeddings');
      if (e.norm === 'layernorm') norm('embeddings.norm', 'embeddings');
      const parts = [`word ${V}x${H}`, e.position === 'learned' ? `position ${model.max_position}x${H}` : '', e.token_type ? `type ${model.type_vocab}x${H}` : ''];
      layers.push({
        name: 'embeddings',
        detail: `${parts.filter(Boolean).join(' + ')}${e.norm === 'layernorm' ? ', layernorm' : ''}, dropout ${e.dropout}`,
        count: 1,
        params: V * H + (e.position === 'learned' ? model.max_position * H : 0) + (e.token_type ? model.type_vocab * H : 0) + (e.norm === 'layernorm' ? 2 * H : 0),
      });
      act += 3 * H;
    } else if (item.repeat !== undefined && item.layers) {
      const first = blocks;
      const seen = new Map<string, number>();
      const names = item.layers.map((l) => {
        const kind = l.attention ? 'attention' : 'feedforward';
        const n = seen.get(kind) ?? 0;
        seen.set(kind, n + 1);
        return n === 0 ? kind : `${kind}_${n}`;
      });
      for (let r = 0; r < item.repeat; r++, blocks++) {
        item.layers.forEach((l, j) => {
          const p = `encoder.${blocks}.${names[j]}`;
          if (l.attention) {
            add(`${p}.qkv.weight`, [H, 3 * H], 'attention');
            if (l.attention.bias) add(`${p}.qkv.bias`, [3 * H], 'attention');
            add(`${p}.out.weight`, [H, H], 'attention');
            if (l.attention.bias) add(`${p}.out.bias`, [H], 'attention');
            norm(`${p}.norm`, 'attention');
          } else if (l.feedforward) {
            const f = l.feedforward;
            add(`${p}.in.weight`, [H, ffInner(f)], 'feedforward');
            if (f.bias) add(`${p}.in.bias`, [ffInner(f)], 'feedforward');
            add(`${p}.out.weight`, [f.inner, H], 'feedforward');
            if (f.bias) add(`${p}.out.bias`, [H], 'feedforward');
            norm(`${p}.norm`, 'feedforward');
          }
        });
      }
      item.layers.forEach((l, j) => {
        const name = `encoder.${item.repeat === 1 ? first : `${first}-${blocks - 1}`}.${names[j]}`;
        if (l.attention) {
          const a = l.attention;
          layers.push({ name, detail: `${a.heads} heads x ${H / a.heads}, ${a.norm}-LN${a.bias ? '' : ', no bias'}, dropout ${a.dropout}/${a.probs_dropout}`, count: item.repeat!, params: attentionParams(H, a) });
          fwd += item.repeat! * (2 * H * 3 * H + 2 * H * H + 4 * T * H);
          act += item.repeat! * (7 * H + 2 + 2 * a.heads * T);
        } else if (l.feedforward) {
          const f = l.feedforward;
          layers.push({ name, detail: `${H} -> ${ffInner(f)}${f.activation === 'geglu' ? ` -> ${f.inner}` : ''} -> ${H}, ${f.activation}, ${f.norm}-LN${f.bias ? '' : ', no bias'}, dropout ${f.dropout}`, count: item.repeat!, params: ffParams(H, f) });
          fwd += item.repeat! * (2 * H * ffInner(f) + 2 * f.inner * H);
          act += item.repeat! * (4 * H + 2 + ffInner(f) + f.inner);
        }
      });
    } else if (item.final_norm) {
      norm('final_norm', 'final_norm');
      layers.push({ name: 'final_norm', detail: 'layernorm', count: 1, params: 2 * H });
      act += H;
    } else if (item.pooler) {
      pooler = true;
      add('pooler.dense.weight', [H, H], 'pooler');
      add('pooler.dense.bias', [H], 'pooler');
      layers.push({ name: 'pooler', detail: `[CLS] ${H} -> ${H}, ${item.pooler.activation}`, count: 1, params: H * H + H });
      fwd += (2 * H * H) / T;
    }
  }

  const mlm = tasks.mlm;
  const head = mlm.head;
  let mlmParams = 0;
  if (head.transform) {
    add('mlm.transform.weight', [H, H], 'mlm_head');
    add('mlm.transform.bias', [H], 'mlm_head');
    mlmParams += H * H + H;
    if (head.norm === 'layernorm') {
      norm('mlm.norm', 'mlm_head');
      mlmParams += 2 * H;
    }
  }
  if (!mlm.tie_embeddings) {
    add('mlm.decoder.weight', [H, V], 'mlm_head');
    mlmParams += H * V;
  }
  if (head.decoder_bias) {
    add('mlm.decoder.bias', [V], 'mlm_head');
    mlmParams += V;
  }
  layers.push({
    name: 'mlm_head',
    detail: `${head.transform ? `dense ${H} -> ${H}, ${head.activation}${head.norm === 'layernorm' ? ', layernorm' : ''}; ` : ''}decoder ${H} -> ${V}${mlm.tie_embeddings ? ' (tied to word embeddings)' : ''}`,
    count: 1,
    params: mlmParams,
  });
  const predictionsPerToken = mlm.max_predictions / T;
  fwd += predictionsPerToken * ((head.transform ? 2 * H * H : 0) + 2 * H * V);
  act += predictionsPerToken * (3 * H + 2 * V);
  if (tasks.nsp) {
    add('nsp.classifier.weight', [H, 2], 'nsp_head');
    add('nsp.classifier.bias', [2], 'nsp_head');
    layers.push({ name: 'nsp_head', detail: `${pooler ? 'pooled ' : ''}[CLS] ${H} -> 2`, count: 1, params: 2 * H + 2 });
    fwd += (2 * H * 2) / T;
  }

  const order: ParamGroup[] = ['embeddings', 'attention', 'feedforward', 'final_norm', 'pooler', 'mlm_head', 'nsp_head'];
  const size = (t: ParamTensor): number => t.shape.reduce((a, b) => a * b, 1);
  const groups = order
    .map((group) => ({ group, params: parameters.filter((t) => t.group === group).reduce((a, t) => a + size(t), 0) }))
    .filter((g) => g.params > 0);
  const totalParams = groups.reduce((a, g) => a + g.params, 0);

  const actBytes = recipe.runtime.precision === 'f16' ? 2 : 4;
  const memory = {
    microBatch: B,
    seqLen: T,
    params: 4 * totalParams,
    grads: 4 * totalParams,
    optimizer: 8 * totalParams,
    activations: Math.ceil(actBytes * act * B * T),
    total: 0,
  };
  memory.total = memory.params + memory.grads + memory.optimizer + memory.activations;
  return {
    vocabSize: V,
    hidden: H,
    blocks,
    parameters,
    layers,
    groups,
    totalParams,
    flops: { seqLen: T, forwardPerToken: Math.round(fwd), trainingPerToken: Math.round(3 * fwd), trainingPerStep: Math.round(3 * fwd * schedule.batch_size * T) },
    memory,
  };
}
