// The op IR: tensors (shape, dtype, role) and ops with named inputs and outputs, in program
// order. The forward graph comes from model.ts, autodiff.ts appends the backward ops; the
// compiler lowers the whole list to kernel dispatches and the CPU evaluator runs it in float64.
// No GPU code and no recipe parsing here.

export type TensorDType = 'f32' | 'f16' | 'i32';
/**
 * param: trained weights (f32 masters); param_copy: their f16 copies in mixed precision, which
 * the ops read (refreshed after every update); grad: the params' gradients (accumulated over
 * micro-batches); input: data uploaded per micro-batch; activation: intermediate values (planned
 * by liveness); metric: small accumulators read back by the runner.
 */
export type TensorRole = 'param' | 'param_copy' | 'grad' | 'input' | 'activation' | 'metric';

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
  /** param_copy only: the master param this is the f16 copy of. */
  copyOf?: number;
}

/** A tensor id in the graph (in op signatures). */
export type TensorId = number;
/** No attributes (in op signatures). */
export type NoAttrs = Record<string, never>;

/**
 * Every op kind's named inputs, outputs and attributes: the one typed signature the builders,
 * autodiff, the CPU evaluator and the compiler's lowering table all read (no string-keyed records).
 */
/**
 * Every op kind's named inputs, outputs and attributes: the one typed signature the builders,
 * autodiff, the CPU evaluator and the compiler's lowering table all read (no string-keyed
 * records). Empty here: each op's file in src/graph/ops/ adds its entry (TypeScript declaration
 * merging), next to the op's definition.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface OpSignatures {}

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
