// What a lowering sees: the graph, the device limits, the forced variants, and the plan being
// built (buffer slices of tensors, scratch, dispatch). compile.ts implements it; each kernel
// family's lowering (src/compiler/kernels/<family>.ts) uses it. Its own module, so that the
// lowerings and compile.ts do not import each other.
import type { Graph, Op, OpKind } from '../graph/ir.js';
import type { Recipe } from '../recipe/index.js';
import type { BufferSlice, DeviceLimits, DType, PlanStep } from '../plan/types.js';
import type { KernelLaunch } from './kernels/kernel.js';
import type { TuneSite } from './tune-site.js';

export interface LowerContext {
  g: Graph;
  limits: DeviceLimits;
  variants: Record<string, string>;
  /** Timed choices by tune-site key (CompileOptions.tuned); a forced variant wins over them. */
  tuned: Record<string, string>;
  /** Records a dispatch whose variant a tuner may choose. */
  tuneSite(site: TuneSite): void;
  recipe: Recipe;
  training: boolean;
  slice(tensor: number): BufferSlice;
  /** The storage element type of a tensor (i32 tensors report f32: kernels declare them i32 themselves). */
  dtype(tensor: number): DType;
  /** A scratch buffer private to this plan, by name (sized at the largest request). */
  scratch(name: string, bytes: number): BufferSlice;
  stepState(): BufferSlice;
  /** A 16-byte buffer bound where a kernel's optional input is absent. */
  dummy(): BufferSlice;
  /**
   * A 16-byte buffer bound where a kernel's optional output is absent: not dummy(), which the
   * same dispatch may bind read-only (WebGPU forbids read-only and writable use of one buffer
   * in a dispatch).
   */
  dummyOut(): BufferSlice;
  dispatch(op: Op | string, launch: KernelLaunch, bindings: BufferSlice[], suffix?: string): PlanStep;
}

/** How one op kind becomes dispatches. */
export type Lowering<K extends OpKind> = (op: Op<K>, ctx: LowerContext) => void;

/** Lowerings for a set of op kinds; over all of OpKind it must be complete (a missing kind is a type error). */
export type LoweringTable<K extends OpKind> = { [P in K]: Lowering<P> };
