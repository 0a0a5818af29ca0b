// CPU references for kernels/rows.wgsl, float64, plain loops: row gather and its adjoint, the
// weighted scatter-add. src (N, H), idx (R), out (R, H). Then the op definitions.
import { elementwiseCost, type OpDef, type OpDefTable } from '../op-def.js';

// The row gather/scatter ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    gather_rows: { inputs: { src: TensorId; idx: TensorId; weights: TensorId }; outputs: { out: TensorId }; attrs: NoAttrs };
    scatter_rows_add: { inputs: { dout: TensorId; idx: TensorId; weights: TensorId }; outputs: { dsrc: TensorId }; attrs: NoAttrs };
  }
}


/** out[r] = src[idx[r]]. */
export function gatherRowsReference(src: ArrayLike<number>, idx: ArrayLike<number>, H: number): Float64Array {
  const R = idx.length;
  const out = new Float64Array(R * H);
  for (let r = 0; r < R; r++) for (let c = 0; c < H; c++) out[r * H + c] = src[idx[r]! * H + c]!;
  return out;
}

/**
 * d_src[idx[r]] += d_out[r] for rows with weights[r] ≠ 0 only (padding predictions carry
 * weight 0 and are skipped). d_src (N, H) starts from `into` (zeros when omitted).
 */
export function scatterRowsAddReference(dOut: ArrayLike<number>, idx: ArrayLike<number>, weights: ArrayLike<number>, N: number, H: number, into?: ArrayLike<number>): Float64Array {
  const dSrc = new Float64Array(N * H);
  if (into) for (let i = 0; i < N * H; i++) dSrc[i] = into[i]!;
  for (let r = 0; r < idx.length; r++) {
    if (weights[r] === 0) continue;
    for (let c = 0; c < H; c++) dSrc[idx[r]! * H + c] = dSrc[idx[r]! * H + c]! + dOut[r * H + c]!;
  }
  return dSrc;
}

// The op definitions: gather_rows and its adjoint scatter_rows_add (weighted, `+=`).
export const gatherRowsOp: OpDef<'gather_rows'> = {
  kind: 'gather_rows',
  evaluate(op, c) {
    const H = c.g.get(op.inputs.src).shape[1]!;
    c.set(op, 'out', gatherRowsReference(c.get(op.inputs.src), c.get(op.inputs.idx), H));
  },
  gradient(c) {
    const dout = c.dOut('out')!;
    const { idx, weights } = c.op.inputs;
    // scatter writes only the gathered rows, so the target must start as zeros.
    c.contribute('src', (t, a) => {
      if (!a) c.g.op('fill', c.label('zero'), {}, { out: t }, { value: 0 });
      c.g.op('scatter_rows_add', c.label(), { dout, idx, weights }, { dsrc: t }, {}, ['dsrc']);
    }, true);
  },
  shapes: (op, shapeOf) => ({ out: [shapeOf(op.inputs.idx).reduce((a, b) => a * b, 1), shapeOf(op.inputs.src)[1]!] }),
  cost: (op, g) => elementwiseCost(op, g, op.outputs.out, 0),
};

export const scatterRowsAddOp: OpDef<'scatter_rows_add'> = {
  kind: 'scatter_rows_add',
  evaluate(op, c) {
    const [N, H] = c.g.get(op.outputs.dsrc).shape as [number, number];
    c.set(op, 'dsrc', scatterRowsAddReference(c.get(op.inputs.dout), c.get(op.inputs.idx), c.get(op.inputs.weights), N, H));
  },
  gradient: 'none',
  shapes: () => ({}), // writes rows of a table the inputs do not size
  cost: (op, g) => elementwiseCost(op, g, op.inputs.dout, 2),
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const ROWS_OPS: OpDefTable<'gather_rows' | 'scatter_rows_add'> = {
  gather_rows: gatherRowsOp,
  scatter_rows_add: scatterRowsAddOp,
};
