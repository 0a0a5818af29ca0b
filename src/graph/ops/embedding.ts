// CPU references for kernels/embedding.wgsl, float64, plain loops, and the CPU grouping the
// deterministic backward needs. N token rows (batch·seq), H hidden, V vocab, P positions,
// TV token types; position of row n = n % seq. The op definitions follow at the end.
import type { OpOutputs } from '../ir.js';
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The embedding ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    embedding: { inputs: { ids: TensorId; types: TensorId; word: TensorId; pos?: TensorId; type?: TensorId }; outputs: { out: TensorId }; attrs: { seq: number } };
    embedding_backward: { inputs: { dout: TensorId; types: TensorId; unique: TensorId; offsets: TensorId; rows: TensorId }; outputs: { dword?: TensorId; dpos?: TensorId; dtype?: TensorId }; attrs: { seq: number } };
  }
}


/** out (N, H) = word[ids[n]] + pos[n % seq] + type[types[n]]. word (V, H), pos (P, H), type (TV, H). */
export function embeddingForwardReference(
  ids: ArrayLike<number>,
  types: ArrayLike<number>,
  word: ArrayLike<number>,
  pos: ArrayLike<number>,
  type: ArrayLike<number>,
  N: number,
  H: number,
  seq: number,
): Float64Array {
  const out = new Float64Array(N * H);
  for (let n = 0; n < N; n++) {
    const w = ids[n]!;
    const t = n % seq;
    const k = types[n]!;
    for (let c = 0; c < H; c++) out[n * H + c] = word[w * H + c]! + pos[t * H + c]! + type[k * H + c]!;
  }
  return out;
}

export interface EmbeddingGrads {
  dWord: Float64Array; // (V, H)
  dPos: Float64Array; // (P, H)
  dType: Float64Array; // (TV, H)
}

/** Gradients of the three tables (zero-initialized here; the kernels add into existing ones). */
export function embeddingBackwardReference(dOut: ArrayLike<number>, ids: ArrayLike<number>, types: ArrayLike<number>, N: number, H: number, seq: number, V: number, P: number, TV: number): EmbeddingGrads {
  const dWord = new Float64Array(V * H);
  const dPos = new Float64Array(P * H);
  const dType = new Float64Array(TV * H);
  for (let n = 0; n < N; n++) {
    const w = ids[n]!;
    const t = n % seq;
    const k = types[n]!;
    for (let c = 0; c < H; c++) {
      const d = dOut[n * H + c]!;
      dWord[w * H + c] = dWord[w * H + c]! + d;
      dPos[t * H + c] = dPos[t * H + c]! + d;
      dType[k * H + c] = dType[k * H + c]! + d;
    }
  }
  return { dWord, dPos, dType };
}

export interface RowGroups {
  /** Distinct ids, ascending. (U) */
  unique: Int32Array;
  /** Group u holds rows[offsets[u] .. offsets[u+1]). (U + 1) */
  offsets: Int32Array;
  /** Row indices grouped by id, ascending within a group. (N) */
  rows: Int32Array;
}

/**
 * CSR grouping of token rows by id (a counting sort, stable): the input of the deterministic
 * embedding_backward_word, built per batch by the runner.
 */
export function groupRowsById(ids: ArrayLike<number>): RowGroups {
  const N = ids.length;
  const counts = new Map<number, number>();
  for (let n = 0; n < N; n++) counts.set(ids[n]!, (counts.get(ids[n]!) ?? 0) + 1);
  const unique = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
  const offsets = new Int32Array(unique.length + 1);
  const start = new Map<number, number>();
  for (let u = 0; u < unique.length; u++) {
    start.set(unique[u]!, offsets[u]!);
    offsets[u + 1] = offsets[u]! + counts.get(unique[u]!)!;
  }
  const rows = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const at = start.get(ids[n]!)!;
    rows[at] = n;
    start.set(ids[n]!, at + 1);
  }
  return { unique, offsets, rows };
}

/**
 * The grouping padded to a fixed capacity G (the launch's `groups`, default min(N, V)), so one
 * static dispatch serves every batch: unique (G) padded with −1, offsets (G + 1) padded with
 * the row count (empty groups, which the kernel skips).
 */
export function paddedRowGroups(g: RowGroups, capacity: number): { unique: Int32Array; offsets: Int32Array; rows: Int32Array } {
  if (g.unique.length > capacity) throw new Error(`${g.unique.length} distinct ids exceed the group capacity ${capacity}`);
  const unique = new Int32Array(capacity).fill(-1);
  unique.set(g.unique);
  const offsets = new Int32Array(capacity + 1).fill(g.rows.length);
  offsets.set(g.offsets);
  return { unique, offsets, rows: g.rows };
}

// ---------------------------------------------------------------------------------------------
// The op definitions: embedding (word + position + token type) and embedding_backward (every
// table's gradient from one kernel family, grouped by the CSR rows the data layer uploads).

export const embeddingOp: OpDef<'embedding'> = {
  kind: 'embedding',
  evaluate(op, c) {
    const { ids, types, word, pos, type } = op.inputs;
    const N = c.g.size(ids);
    const H = c.g.get(word).shape[1]!;
    const zeros = (rows: number) => new Float64Array(rows * H);
    const maxType = Math.max(0, ...c.get(types)) + 1;
    c.set(op, 'out', embeddingForwardReference(c.get(ids), c.get(types), c.get(word), pos !== undefined ? c.get(pos) : zeros(N), type !== undefined ? c.get(type) : zeros(maxType), N, H, op.attrs.seq));
  },
  gradient(c) {
    const dout = c.dOut('out')!;
    const ins = c.op.inputs;
    const outputs: OpOutputs<'embedding_backward'> = {};
    // All three tables accumulate (+=): the word table also receives the tied decoder's gradient.
    const targets = [['word', 'dword'], ['pos', 'dpos'], ['type', 'dtype']] as const;
    const pending = targets.filter(([input]) => ins[input] !== undefined && c.needs(input));
    if (pending.length === 0) return;
    // One kernel writes every table gradient; route each through contribute so bookkeeping holds.
    for (const [input, output] of pending) c.contribute(input, (t) => void (outputs[output] = t), true);
    const g = c.g;
    const inputs = { dout, types: ins.types, unique: g.named('emb_unique'), offsets: g.named('emb_offsets'), rows: g.named('emb_rows') };
    g.op('embedding_backward', c.label(), inputs, outputs, { seq: c.op.attrs.seq }, Object.keys(outputs) as Array<keyof typeof outputs>);
  },
  shapes: (op, shapeOf) => ({ out: [shapeOf(op.inputs.ids).reduce((a, b) => a * b, 1), shapeOf(op.inputs.word)[1]!] }),
  cost: (op, g) => elementwiseCost(op, g, op.outputs.out, 2),
};

export const embeddingBackwardOp: OpDef<'embedding_backward'> = {
  kind: 'embedding_backward',
  evaluate(op, c) {
    // Per-table sums in plain loops (the kernels' CSR grouping only fixes the summation order).
    const dout = c.get(op.inputs.dout);
    const [N, H] = c.g.get(op.inputs.dout).shape as [number, number];
    const seq = op.attrs.seq;
    const ids = c.get(c.g.named('input_ids'));
    const types = c.get(op.inputs.types);
    const table = (name: 'dword' | 'dpos' | 'dtype', rowOf: (n: number) => number) => {
      const id = op.outputs[name];
      if (id === undefined) return;
      const out = new Float64Array(c.g.size(id));
      for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) out[rowOf(n) * H + h] += dout[n * H + h]!;
      c.set(op, name, out);
    };
    table('dword', (n) => ids[n]!);
    table('dpos', (n) => n % seq);
    table('dtype', (n) => types[n]!);
  },
  gradient: 'none',
  shapes: () => ({}), // table rows come from the tables, not from these inputs
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dout, 3),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const EMBEDDING_OPS: OpDefTable<'embedding' | 'embedding_backward'> = {
  embedding: embeddingOp,
  embedding_backward: embeddingBackwardOp,
};
