// embedding benchmark cases at BERT-base: forward over (tokens, hidden) from the (vocab, hidden)
// table, and the three deterministic table gradients; scalar is the baseline.
import { embeddingLaunch, embeddingGroups, usableEmbeddingVariants, EMBEDDING_BINDINGS, type EmbeddingShape } from '../../src/compiler/kernels/embedding.js';
import type { KernelCase, KernelCaseFactory } from '../kernel-case.js';
import { groupRowsById, paddedRowGroups } from '../../src/graph/ops/embedding.js';

export function embeddingCases(shapes: { label: string; shape: EmbeddingShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    const { N, H, V, P, TV } = shape;
    const G = embeddingGroups(shape);
    const sizes: Record<string, number> = { ids: 4 * N, types: 4 * N, word: 4 * V * H, pos: 4 * P * H, type: 4 * TV * H, out: 4 * N * H, d_out: 4 * N * H, unique: 4 * G, offsets: 4 * (G + 1), rows: 4 * N, d_word: 4 * V * H, d_pos: 4 * P * H, d_type: 4 * TV * H };
    const names = EMBEDDING_BINDINGS[shape.op];
    // Valid random indices; the word gradient gets a real CSR grouping of random token ids.
    const data: Record<number, Int32Array> = {};
    if (shape.op === 'embedding_backward_word') {
      let seed = 12345;
      const ids = Int32Array.from({ length: N }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % V));
      const groups = paddedRowGroups(groupRowsById(ids), G);
      names.forEach((name, i) => {
        if (name === 'unique') data[i] = groups.unique;
        if (name === 'offsets') data[i] = groups.offsets;
        if (name === 'rows') data[i] = groups.rows;
      });
    }
    const bounds: Record<string, number> = { ids: V, types: TV, unique: V, offsets: 1, rows: N };
    const intBindings: Record<number, number> = {};
    names.forEach((name, i) => {
      if (bounds[name] !== undefined) intBindings[i] = bounds[name]!;
    });
    for (const variant of usableEmbeddingVariants(shape)) {
      cases.push({ name: shape.op, variant, shape: label, launch: embeddingLaunch(shape, limits, variant), bindingBytes: names.map((n) => sizes[n]!), intBindings, data, baseline: variant === 'scalar' });
    }
  }
  return cases;
}

export const embeddingBenchCases: KernelCaseFactory = (s, limits, quick) => {
  const base = quick ? { N: 256, H: 128, seq: 128, V: 1000, P: 512, TV: 2 } : { N: s.tokens, H: s.hidden, seq: s.seq, V: s.vocab, P: 512, TV: 2 };
  const label = `${base.N}x${base.H} V${base.V}`;
  return embeddingCases(
    [
      { label, shape: { op: 'embedding_forward', ...base } },
      { label, shape: { op: 'embedding_backward_word', ...base } },
      { label, shape: { op: 'embedding_backward_position', ...base } },
      { label, shape: { op: 'embedding_backward_type', ...base } },
    ],
    limits,
  );
};
