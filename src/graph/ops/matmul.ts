// The matrix-multiply ops: the CPU reference C = epilogue(alpha·op(A)·op(B) + bias) [+ C]
// (float64, plain loops; dims: batch, M rows of C, N columns of C, K the contracted dim) and the
// linear and matmul op definitions at the end of the file.
import { activation, activationGrad, type ActivationName } from './activation.js';
import { activationBackwardReference, activationForwardReference } from './elementwise.js';
import { accumulateIf, ioBytes, type OpDef, type OpDefTable } from '../op-def.js';

// The matrix-multiply ops' signatures (inputs, outputs, attributes), merged into OpSignatures.
declare module '../ir.js' {
  interface OpSignatures {
    /**
     * epilogue: an activation fused into the projection (see fusion.ts); storePre: training
     * graphs also write the pre-activation to output `pre` (its backward needs it).
     */
    linear: { inputs: { x: TensorId; w: TensorId; b?: TensorId }; outputs: { y: TensorId; pre?: TensorId }; attrs: { epilogue?: ActivationName; storePre?: boolean } };
    /**
     * rowSum: also Σ_k op(A)[m, k] for each row m of C (fusion.ts folds a layer's bias gradient
     * into its weight-gradient product this way: db = Σ over tokens of dY, the product's A).
     * actGrad: C = (op(A)·op(B)) ⊙ act′(actPre), an activation's backward folded into the product
     * that makes the gradient of its output (fusion.ts fuseActivationBackward).
     */
    matmul: { inputs: { a: TensorId; b: TensorId; actPre?: TensorId }; outputs: { c: TensorId; rowSum?: TensorId }; attrs: { transA: boolean; transB: boolean; actGrad?: ActivationName } };
  }
}


export interface MatmulRefShape {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  strideA?: number;
  strideB?: number;
  alpha?: number;
  /** An activation, or `<activation>_grad`: times its derivative at `pre` (a backward epilogue). */
  epilogue?: ActivationName | 'none' | `${ActivationName}_grad`;
}

/** a: (batch, M, K) or (batch, K, M) if transA; b: (batch, K, N) or (batch, N, K) if transB. */
export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulRefShape,
  bias?: ArrayLike<number>,
  accumulateInto?: ArrayLike<number>,
  pre?: ArrayLike<number>,
): Float64Array {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const strideA = shape.strideA ?? M * K;
  const strideB = shape.strideB ?? K * N;
  const out = new Float64Array(batch * M * N); // (batch, M, N)
  for (let p = 0; p < batch; p++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = a[p * strideA + (shape.transA ? k * M + m : m * K + k)]!;
          const bv = b[p * strideB + (shape.transB ? n * K + k : k * N + n)]!;
          sum += av * bv;
        }
        let x = sum * (shape.alpha ?? 1);
        if (bias) x += bias[n]!;
        const i = p * M * N + m * N + n;
        const e = shape.epilogue;
        if (e !== undefined && e.endsWith('_grad')) {
          if (!pre) throw new Error(`matmulReference: the ${e} epilogue needs pre`);
          x *= activationGrad(e.slice(0, -'_grad'.length) as ActivationName, pre[i]!);
        } else if (e && e !== 'none') x = activation(e as ActivationName, x);
        out[i] = x + (accumulateInto ? accumulateInto[i]! : 0);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The op definitions: linear (y = act(x·wᵀ + b), weights [out, in] as Hugging Face stores them)
// and matmul (C = op(A)·op(B), the backward's products).

export const linearOp: OpDef<'linear'> = {
  kind: 'linear',
  evaluate(op, c) {
    const { x, w, b } = op.inputs;
    const [R, K] = c.g.get(x).shape as [number, number];
    const N = c.g.get(w).shape[0]!;
    const { epilogue, storePre } = op.attrs;
    const bias = b !== undefined ? c.get(b) : undefined;
    if (storePre) {
      // Training fusion: pre = x·wᵀ + b, y = epilogue(pre).
      const pre = matmulReference(c.get(x), c.get(w), { M: R, N, K, transB: true }, bias);
      c.set(op, 'pre', pre);
      c.set(op, 'y', activationForwardReference(epilogue!, pre));
    } else {
      c.set(op, 'y', matmulReference(c.get(x), c.get(w), { M: R, N, K, transB: true, epilogue }, bias));
    }
  },
  gradient(c) {
    // y (R, out) = act(x (R, in) · wᵀ (in, out) + b), act the fused epilogue (fusion.ts) or none
    const { x, w, b } = c.op.inputs;
    const { epilogue } = c.op.attrs;
    let dy = c.dOut('y')!;
    if (epilogue) {
      // The activation's backward first: its derivative from the pre-activation (tanh: from y).
      const { y, pre: stored } = c.op.outputs;
      const pre = epilogue === 'tanh' ? y : stored;
      if (pre === undefined) throw new Error(`autodiff: ${c.op.label} fuses ${epilogue} without storing the pre-activation`);
      const dpre = stored !== undefined ? c.temp(stored, 'grad') : c.temp(y, 'pre.grad');
      c.g.op('activation_backward', c.label('act'), { dy, x: pre, y }, { dx: dpre }, { fn: epilogue });
      dy = dpre;
    }
    if (c.needs('x')) c.contribute('x', (t, a) => c.g.op('matmul', c.label('dx'), { a: dy, b: w }, { c: t }, { transA: false, transB: false }, accumulateIf(a, 'c')), true);
    if (c.needs('w')) c.contribute('w', (t, a) => c.g.op('matmul', c.label('dw'), { a: dy, b: x }, { c: t }, { transA: true, transB: false }, accumulateIf(a, 'c')), true);
    if (b !== undefined && c.needs('b')) c.contribute('b', (t, a) => c.g.op('bias_grad', c.label('db'), { dy }, { db: t }, {}, accumulateIf(a, 'db')), true);
  },
  shapes: (op, shapeOf) => {
    const y = [shapeOf(op.inputs.x)[0]!, shapeOf(op.inputs.w)[0]!];
    return op.outputs.pre !== undefined ? { y, pre: y } : { y };
  },
  cost(op, g) {
    const [R, K] = g.get(op.inputs.x).shape as [number, number];
    const N = g.get(op.inputs.w).shape[0]!;
    return { flops: 2 * R * K * N, bytes: ioBytes(op, g), matmul: true };
  },
};

/** (M, N, K) of C = op(A)·op(B) from the operands' 2-D shapes. */
export function matmulDims(aShape: readonly number[], bShape: readonly number[], transA: boolean, transB: boolean): { M: number; N: number; K: number } {
  const [a0, a1] = aShape as [number, number];
  const [b0, b1] = bShape as [number, number];
  return { M: transA ? a1 : a0, K: transA ? a0 : a1, N: transB ? b0 : b1 };
}

/** Σ_k op(A)[m, k] for each m: a (M, K), or (K, M) if transA. */
export function rowSumReference(a: ArrayLike<number>, M: number, K: number, transA: boolean): Float64Array {
  const out = new Float64Array(M); // (M)
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[transA ? k * M + m : m * K + k]!;
    out[m] = s;
  }
  return out;
}

export const matmulOp: OpDef<'matmul'> = {
  kind: 'matmul',
  evaluate(op, c) {
    const { a, b } = op.inputs;
    const { transA, transB } = op.attrs;
    const dims = matmulDims(c.g.get(a).shape, c.g.get(b).shape, transA, transB);
    const product = matmulReference(c.get(a), c.get(b), { ...dims, transA, transB });
    const { actGrad } = op.attrs;
    c.set(op, 'c', actGrad !== undefined ? activationBackwardReference(actGrad, product, c.get(op.inputs.actPre!)) : product);
    if (op.outputs.rowSum !== undefined) c.set(op, 'rowSum', rowSumReference(c.get(a), dims.M, dims.K, transA));
  },
  gradient: 'none',
  shapes(op, shapeOf) {
    const { M, N } = matmulDims(shapeOf(op.inputs.a), shapeOf(op.inputs.b), op.attrs.transA, op.attrs.transB);
    return op.outputs.rowSum !== undefined ? { c: [M, N], rowSum: [M] } : { c: [M, N] };
  },
  cost(op, g) {
    const { M, N, K } = matmulDims(g.get(op.inputs.a).shape, g.get(op.inputs.b).shape, op.attrs.transA, op.attrs.transB);
    return { flops: 2 * M * N * K + (op.outputs.rowSum !== undefined ? M * K : 0), bytes: ioBytes(op, g), matmul: true };
  },
};

/** This family's op definitions (ops/index.ts merges the families into OP_DEFS). */
export const MATMUL_OPS: OpDefTable<'linear' | 'matmul'> = {
  linear: linearOp,
  matmul: matmulOp,
};
