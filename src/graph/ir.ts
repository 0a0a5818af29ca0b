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

export type OpAttrs = {
  embedding: { seq: number };
  layernorm: { eps: number };
  residual_dropout_layernorm: { eps: number; p: number; stream: number };
  dropout: { p: number; stream: number };
  /**
   * epilogue: an activation fused into the projection (see fusion.ts); storePre: training
   * graphs also write the pre-activation to output `pre` (its backward needs it).
   */
  linear: { epilogue?: ActivationName; storePre?: boolean };
  activation: { fn: ActivationName };
  geglu: Record<string, never>;
  add: Record<string, never>;
  attention: { batch: number; seq: number; heads: number; p: number; stream: number };
  gather_rows: Record<string, never>;
  /** slot: which step-state scale multiplies the loss (0 mlm_scale, 1 nsp_scale). */
  crossentropy: { slot: 0 | 1; grad: boolean };
  sum: Record<string, never>;
  matmul: { transA: boolean; transB: boolean };
  bias_grad: Record<string, never>;
  activation_backward: { fn: ActivationName };
  geglu_backward: Record<string, never>;
  dropout_backward: { p: number; stream: number };
  layernorm_backward: Record<string, never>;
  attention_backward: { batch: number; seq: number; heads: number; p: number; stream: number };
  embedding_backward: { seq: number };
  scatter_rows_add: Record<string, never>;
  fill: { value: number };
};

export type OpKind = keyof OpAttrs;

export interface Op<K extends OpKind = OpKind> {
  kind: K;
  /** Dotted path, e.g. 'encoder.3.attention.softmax'; backward ops end in '.bwd'. */
  label: string;
  inputs: Record<string, number>;
  outputs: Record<string, number>;
  attrs: OpAttrs[K];
  /** Outputs written with `+=` instead of `=`. */
  accumulate: string[];
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

  op<K extends OpKind>(kind: K, label: string, inputs: Record<string, number>, outputs: Record<string, number>, attrs: OpAttrs[K], accumulate: string[] = []): Op<K> {
    const op: Op<K> = { kind, label, inputs, outputs, attrs, accumulate };
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
