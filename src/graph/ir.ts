// The op IR: tensors (shape, dtype, role) and ops with named inputs and outputs, in program
// order. The forward graph comes from model.ts, autodiff.ts appends the backward ops; the
// compiler lowers the whole list to kernel dispatches and the CPU evaluator runs it in float64.
// No GPU code and no recipe parsing here.
import type { ActivationName } from './ops/activation.js';

export type TensorDType = 'f32' | 'i32';
/**
 * param: trained weights; grad: their gradients (accumulated over micro-batches); input: data
 * uploaded per micro-batch; activation: intermediate values (planned by liveness);
 * metric: small accumulators read back by the runner.
 */
export type TensorRole = 'param' | 'grad' | 'input' | 'activation' | 'metric';

export type Init =
  | { kind: 'normal'; std: number } // truncated at ±2 std, as BERT does
  | { kind: 'zeros' }
  | { kind: 'ones' };

export interface Tensor {
  id: number;
  /** Dotted name; params use the plan's names (see checkpoint mapping for Hugging Face names). */
  name: string;
  shape: number[];
  dtype: TensorDType;
  role: TensorRole;
  init?: Init;
  /** Grads only: the param this is the gradient of. */
  gradOf?: number;
  /** The output is written in place over this input tensor (shares its memory). */
  inPlaceOf?: number;
  /** Stays readable after the program ends (inference outputs): never shares memory. */
  keep?: boolean;
}

/** A tensor id in the graph. */
type T = number;
type None = Record<string, never>;

/**
 * Every op kind's named inputs, outputs and attributes: the one typed signature the builders,
 * autodiff, the CPU evaluator and the compiler's lowering table all read (no string-keyed records).
 */
export interface OpSignatures {
  embedding: { inputs: { ids: T; types: T; word: T; pos?: T; type?: T }; outputs: { out: T }; attrs: { seq: number } };
  layernorm: { inputs: { x: T; gamma: T; beta: T }; outputs: { y: T; stats: T }; attrs: { eps: number } };
  residual_dropout_layernorm: { inputs: { a: T; residual: T; gamma: T; beta: T }; outputs: { s: T; y: T; stats: T }; attrs: { eps: number; p: number; stream: number } };
  dropout: { inputs: { x: T }; outputs: { y: T }; attrs: { p: number; stream: number } };
  /**
   * epilogue: an activation fused into the projection (see fusion.ts); storePre: training
   * graphs also write the pre-activation to output `pre` (its backward needs it).
   */
  linear: { inputs: { x: T; w: T; b?: T }; outputs: { y: T; pre?: T }; attrs: { epilogue?: ActivationName; storePre?: boolean } };
  activation: { inputs: { x: T }; outputs: { y: T }; attrs: { fn: ActivationName } };
  geglu: { inputs: { x: T }; outputs: { y: T }; attrs: None };
  add: { inputs: { a: T; b: T }; outputs: { y: T }; attrs: None };
  attention: { inputs: { qkv: T; mask: T }; outputs: { out: T; probs: T }; attrs: AttentionAttrs };
  gather_rows: { inputs: { src: T; idx: T; weights: T }; outputs: { out: T }; attrs: None };
  /** slot: which step-state scale multiplies the loss (0 mlm_scale, 1 nsp_scale). */
  crossentropy: { inputs: { logits: T; labels: T; weights: T }; outputs: { loss: T; correct: T; dlogits: T }; attrs: { slot: 0 | 1; grad: boolean } };
  sum: { inputs: { x: T }; outputs: { out: T }; attrs: None };
  matmul: { inputs: { a: T; b: T }; outputs: { c: T }; attrs: { transA: boolean; transB: boolean } };
  bias_grad: { inputs: { dy: T }; outputs: { db: T }; attrs: None };
  /** tanh's derivative is taken from its output y; the others' from the input x. */
  activation_backward: { inputs: { dy: T; x: T; y: T }; outputs: { dx: T }; attrs: { fn: ActivationName } };
  geglu_backward: { inputs: { dy: T; x: T }; outputs: { dx: T }; attrs: None };
  dropout_backward: { inputs: { dy: T }; outputs: { dx: T }; attrs: { p: number; stream: number } };
  layernorm_backward: { inputs: { dy: T; x: T; gamma: T; stats: T }; outputs: { dx: T; dgamma?: T; dbeta?: T }; attrs: None };
  attention_backward: { inputs: { dout: T; qkv: T; out: T; probs: T; mask: T }; outputs: { dqkv: T }; attrs: AttentionAttrs };
  embedding_backward: { inputs: { dout: T; types: T; unique: T; offsets: T; rows: T }; outputs: { dword?: T; dpos?: T; dtype?: T }; attrs: { seq: number } };
  scatter_rows_add: { inputs: { dout: T; idx: T; weights: T }; outputs: { dsrc: T }; attrs: None };
  fill: { inputs: None; outputs: { out: T }; attrs: { value: number } };
}

export interface AttentionAttrs {
  batch: number;
  seq: number;
  heads: number;
  p: number;
  stream: number;
}

export type OpKind = keyof OpSignatures;
export type OpInputs<K extends OpKind> = OpSignatures[K]['inputs'];
export type OpOutputs<K extends OpKind> = OpSignatures[K]['outputs'];
export type OpAttrs = { [K in OpKind]: OpSignatures[K]['attrs'] };

/** One op of kind K; `Op` alone is the union over all kinds, narrowed by `op.kind`. */
export type Op<K extends OpKind = OpKind> = { [Kind in K]: OpOf<Kind> }[K];

interface OpOf<K extends OpKind> {
  kind: K;
  /** Dotted path, e.g. 'encoder.3.attention.softmax'; backward ops end in '.bwd'. */
  label: string;
  inputs: OpInputs<K>;
  outputs: OpOutputs<K>;
  attrs: OpSignatures[K]['attrs'];
  /** Outputs written with `+=` instead of `=`. */
  accumulate: string[];
}

/** Tensor ids an op reads or writes, by name (for code that treats every op alike). */
export function tensorsOf(io: object): Array<[string, number]> {
  return Object.entries(io as Record<string, number | undefined>).filter((e): e is [string, number] => e[1] !== undefined);
}

export class Graph {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  private readonly byName = new Map<string, number>();

  tensor(name: string, shape: number[], role: TensorRole, dtype: TensorDType = 'f32', extra: Partial<Tensor> = {}): number {
    if (this.byName.has(name)) throw new Error(`graph: duplicate tensor name ${name}`);
    const id = this.tensors.length;
    this.tensors.push({ id, name, shape, dtype, role, ...extra });
    this.byName.set(name, id);
    return id;
  }

  get(id: number): Tensor {
    const t = this.tensors[id];
    if (!t) throw new Error(`graph: no tensor ${id}`);
    return t;
  }

  find(name: string): number | undefined {
    return this.byName.get(name);
  }

  named(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) throw new Error(`graph: no tensor named ${name}`);
    return id;
  }

  op<K extends OpKind>(kind: K, label: string, inputs: OpInputs<K>, outputs: OpOutputs<K>, attrs: OpAttrs[K], accumulate: Array<keyof OpOutputs<K> & string> = []): Op<K> {
    const op = { kind, label, inputs, outputs, attrs, accumulate } as unknown as Op<K>;
    this.ops.push(op as Op);
    return op;
  }

  params(): Tensor[] {
    return this.tensors.filter((t) => t.role === 'param');
  }

  /** Number of elements. */
  size(id: number): number {
    return this.get(id).shape.reduce((a, b) => a * b, 1);
  }
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
