// Maps the plan's parameters to Hugging Face BERT tensor names and back. The plan's names are
// already Hugging Face's, except the fused attention projection `attention.self.qkv.{weight,bias}`
// (rows [query | key | value]) which is split into query/key/value on export and joined on
// import. Import also accepts TF-converted spellings (LayerNorm.gamma/beta) and a missing tied
// decoder weight.
import type { Recipe } from '../../recipe/index.js';
import type { NamedTensor } from './safetensors.js';
import { UserError } from '../../errors.js';

const QKV = /^(.*\.attention(?:_\d+)?)\.self\.qkv\.(weight|bias)$/;
const PARTS = ['query', 'key', 'value'] as const;

/** Plan tensors (name → data, shape) to Hugging Face tensors. */
export function toHuggingFace(params: NamedTensor[], options: { tiedDecoder: boolean }): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const p of params) {
    const m = QKV.exec(p.name);
    if (!m) {
      out.push(p);
      continue;
    }
    const rows = p.shape[0]! / 3;
    const cols = p.shape.length > 1 ? p.shape[1]! : 1;
    PARTS.forEach((part, i) => {
      const shape = p.shape.length > 1 ? [rows, cols] : [rows];
      out.push({ name: `${m[1]}.self.${part}.${m[2]}`, shape, data: p.data.slice(i * rows * cols, (i + 1) * rows * cols) });
    });
  }
  // transformers' BertForPreTraining names the decoder bias twice (cls.predictions.bias and
  // cls.predictions.decoder.bias); it ties them on load, so one copy is enough. The tied decoder
  // weight is re-tied from the word embeddings on load as well.
  if (options.tiedDecoder) return out.filter((t) => t.name !== 'cls.predictions.decoder.weight');
  return out;
}

function canonical(name: string): string {
  return name
    .replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight')
    .replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias')
    .replace(/^(?!bert\.|cls\.)(embeddings|encoder|pooler)\./, 'bert.$1.');
}

export interface ImportResult {
  /** Plan name → values (already in the plan's layout). */
  values: Map<string, Float32Array>;
  /** Plan names the checkpoint does not provide. */
  missing: string[];
  /** Checkpoint names the plan does not use. */
  unused: string[];
}

/** Hugging Face tensors to plan tensors, checking shapes against the plan. */
export function fromHuggingFace(tensors: Map<string, Pick<NamedTensor, 'name' | 'shape' | 'data'>>, planParams: Array<{ name: string; shape: number[] }>): ImportResult {
  const byName = new Map<string, NamedTensor>();
  for (const t of tensors.values()) byName.set(canonical(t.name), t);
  const used = new Set<string>();
  const values = new Map<string, Float32Array>();
  const missing: string[] = [];
  const take = (name: string, expected: number[]): Float32Array | undefined => {
    const t = byName.get(name);
    if (!t) return undefined;
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      const vocab = /word_embeddings\.weight$|cls\.predictions\.(decoder\.)?(weight|bias)$/.test(name) && t.shape.slice(1).join() === expected.slice(1).join();
      throw new UserError(
        vocab
          ? `${name}: the checkpoint's vocabulary has ${t.shape[0]} rows, the recipe's model ${expected[0]}`
          : `${name}: shape [${t.shape.join(', ')}] in the checkpoint, [${expected.join(', ')}] in the recipe's model`,
        'checkpoint_mismatch',
        1,
      );
    }
    used.add(name);
    return t.data;
  };
  for (const p of planParams) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const m = QKV.exec(p.name);
    if (m) {
      const partShape = [p.shape[0]! / 3, ...p.shape.slice(1)];
      const parts = PARTS.map((part) => take(`${m[1]}.self.${part}.${m[2]}`, partShape));
      if (parts.every((x) => x !== undefined)) {
        const joined = new Float32Array(n);
        parts.forEach((x, i) => joined.set(x!, (i * n) / 3));
        values.set(p.name, joined);
      } else missing.push(p.name);
      continue;
    }
    const direct = take(p.name, p.shape);
    if (direct) values.set(p.name, direct);
    else missing.push(p.name);
  }
  // Decoder bias may come under either of its two names.
  if (!values.has('cls.predictions.bias') && planParams.some((p) => p.name === 'cls.predictions.bias')) {
    const alt = byName.get('cls.predictions.decoder.bias') && take('cls.predictions.decoder.bias', planParams.find((p) => p.name === 'cls.predictions.bias')!.shape);
    if (alt) {
      values.set('cls.predictions.bias', alt);
      used.add('cls.predictions.decoder.bias');
      missing.splice(missing.indexOf('cls.predictions.bias'), 1);
    }
  }
  if (byName.has('cls.predictions.decoder.weight') && !planParams.some((p) => p.name === 'cls.predictions.decoder.weight')) used.add('cls.predictions.decoder.weight');
  const unused = [...byName.keys()].filter((n) => !used.has(n) && !n.endsWith('position_ids'));
  return { values, missing, unused };
}

/** transformers' BertConfig for this model (what `BertForPreTraining.from_pretrained` reads). */
export function bertConfig(recipe: Recipe, vocab: number): Record<string, unknown> {
  const m = recipe.model;
  const blocks = m.graph.filter((i) => i.repeat !== undefined);
  const layers = blocks.reduce((s, b) => s + (b.repeat ?? 0), 0);
  const attention = blocks.flatMap((b) => b.layers ?? []).find((l) => l.attention)?.attention;
  const ff = blocks.flatMap((b) => b.layers ?? []).find((l) => l.feedforward)?.feedforward;
  const standard = attention?.norm === 'post' && ff?.norm === 'post' && ff.activation !== 'geglu' && attention.bias && ff.bias;
  return {
    architectures: [recipe.tasks.nsp ? 'BertForPreTraining' : 'BertForMaskedLM'],
    model_type: 'bert',
    vocab_size: vocab,
    hidden_size: m.hidden,
    num_hidden_layers: layers,
    num_attention_heads: attention?.heads ?? 1,
    intermediate_size: ff?.inner ?? 4 * m.hidden,
    hidden_act: ff?.activation === 'gelu_tanh' ? 'gelu_new' : ff?.activation === 'relu' ? 'relu' : 'gelu',
    hidden_dropout_prob: ff?.dropout ?? 0.1,
    attention_probs_dropout_prob: attention?.probs_dropout ?? 0.1,
    max_position_embeddings: m.max_position,
    type_vocab_size: m.type_vocab,
    initializer_range: m.init_std,
    layer_norm_eps: m.layernorm_eps,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    tie_word_embeddings: recipe.tasks.mlm.tie_embeddings,
    torch_dtype: 'float32',
    // Graphs that transformers' BertModel cannot express (pre-LN, GEGLU, no biases) say so.
    ...(standard ? {} : { bert_webgpu_note: 'non-standard graph (see recipe.yaml); transformers BertModel does not implement it' }),
  };
}
