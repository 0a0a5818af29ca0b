// What defining an op means: one object per op kind, in the op's file under src/graph/ops/, with
// its float64 CPU evaluation (the reference the GPU is checked against), its gradient rule (the
// ops autodiff appends for it; forward ops only), its shape rule and its cost (FLOPs, bytes). The typed
// signature (inputs, outputs, attributes) is the op's entry in OpSignatures (ir.ts). autodiff,
// the CPU evaluator and the model statistics read these definitions; nothing else keeps a
// per-op switch. Lowering to kernels is the compiler's table (src/compiler/lower.ts).
import type { Graph, Op, OpInputs, OpKind, OpOutputs } from './ir.js';
import type { StepState } from '../plan/step-state.js';

export type Values = Map<number, Float64Array>;

export interface EvalContext {
  g: Graph;
  values: Values;
  step: StepState;
  /** The value of a tensor (throws when it has none yet). */
  get(id: number): Float64Array;
  /** Writes an output, adding when the op accumulates into it. */
  set(op: Op, name: string, value: ArrayLike<number>): void;
}

export interface GradContext<K extends OpKind = OpKind> {
  g: Graph;
  op: Op<K>;
  /** The gradient of a forward output, or undefined when nothing depends on it. */
  dOut(name: keyof OpOutputs<K> & string): number | undefined;
  /** Whether the input needs a gradient (a parameter, or computed from one). */
  needs(input: keyof OpInputs<K> & string): boolean;
  /**
   * Adds a contribution to the gradient of input `name`. `emit(target, accumulate)` must add
   * one op writing the contribution into target (`+=` when accumulate).
   */
  contribute(name: keyof OpInputs<K> & string, emit: (target: number, accumulate: boolean) => void, canAccumulate: boolean): void;
  /** The gradient of input `name` is exactly tensor `grad` (no op needed). */
  alias(name: keyof OpInputs<K> & string, grad: number): void;
  /** A fresh activation-gradient tensor shaped like the given tensor. */
  temp(like: number, suffix: string): number;
  /** The backward op's label: the forward label, an optional suffix, then `.bwd`. */
  label(suffix?: string): string;
}

export interface OpCost {
  /** Arithmetic operations (a multiply-add counts 2). */
  flops: number;
  /** Bytes read and written (f32), from the tensors' sizes. */
  bytes: number;
  /** Matrix-multiply work: what MFU counts (model FLOPs in the 6N sense). */
  matmul: boolean;
}

export interface OpDef<K extends OpKind> {
  kind: K;
  /** The float64 reference: reads inputs from c, writes every output with c.set. */
  evaluate(op: Op<K>, c: EvalContext): void;
  /**
   * The gradient rule of a forward op: appends the ops that compute its inputs' gradients.
   * 'none' for ops that no loss differentiates through (backward ops, metric sums, fills).
   */
  gradient: ((c: GradContext<K>) => void) | 'none';
  /**
   * The shape rule: each output's shape from the inputs' shapes and the attributes. Outputs
   * whose size the inputs do not determine (a table gradient's rows) are left out.
   */
  shapes(op: Op<K>, shapeOf: (id: number) => readonly number[]): Partial<Record<keyof OpOutputs<K>, readonly number[]>>;
  cost(op: Op<K>, g: Graph): OpCost;
  /**
   * A loss op: it writes its inputs' gradients itself (dlogits in place of the logits), so the
   * backward pass starts at it although nothing differentiates its outputs.
   */
  loss?: true;
  /** Outputs that stay f32 in a mixed-precision graph (statistics, per-row losses, counts). */
  f32Outputs?: ReadonlyArray<keyof OpOutputs<K> & string>;
}

/** Definitions for a set of op kinds (one family's file). */
export type OpDefTable<K extends OpKind> = { [P in K]: OpDef<P> };

/** Every op kind's definition: a missing kind is a type error. */
export type OpDefs = OpDefTable<OpKind>;

/** `+=` marker list for an output when accumulate is set. */
export const accumulateIf = <N extends string>(flag: boolean, name: N): N[] => (flag ? [name] : []);

/** Bytes of every tensor the op reads or writes (f32), the usual memory-traffic estimate. */
export function ioBytes(op: Op, g: Graph): number {
  let n = 0;
  for (const id of Object.values(op.inputs as Record<string, number | undefined>)) if (id !== undefined) n += g.size(id);
  for (const id of Object.values(op.outputs as Record<string, number | undefined>)) if (id !== undefined) n += g.size(id);
  return 4 * n;
}

/** The cost of an elementwise op: `perElement` operations on each element of tensor `over`. */
export function elementwiseCost(op: Op, g: Graph, over: number, perElement: number): OpCost {
  return { flops: perElement * g.size(over), bytes: ioBytes(op, g), matmul: false };
}
