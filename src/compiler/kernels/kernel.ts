// What a kernel's launch definition produces: the pipeline to use, its uniform words, the
// workgroup grid and the work it does. Launch definitions are pure functions of shapes and
// device limits (STYLE.md 11); bindings are named in each kernel's `bindings` list, in
// WGSL binding order starting at 1.
import type { DeviceLimits, DType, ElementAlias, PipelineSpec } from '../../plan/types.js';

export interface KernelLaunch {
  pipeline: PipelineSpec;
  uniforms: number[];
  workgroups: [number, number, number];
  flops: number;
  bytes: number;
}

/**
 * Picks the variant: a forced one (recipe runtime.variants, or BERT_VARIANT_<KERNEL> which the
 * CLI reads and passes in) wins if it is valid for this shape and device; otherwise the
 * heuristic's choice. Pure: the compiler reads no environment.
 */
export function chooseVariant<V extends string>(
  kernel: string,
  usable: readonly V[],
  heuristic: V,
  forced?: Record<string, string>,
): V {
  const wanted = forced?.[kernel];
  if (wanted === undefined || wanted === 'auto') return heuristic;
  if ((usable as readonly string[]).includes(wanted)) return wanted as V;
  return heuristic;
}

/**
 * A pipeline's other element types (see PipelineSpec.types): only those that differ from T are
 * named, so f32 plans carry none.
 */
export function otherTypes(dtype: DType, types: Partial<Record<ElementAlias, DType | undefined>>): Pick<PipelineSpec, 'types'> {
  const differing = Object.entries(types).filter(([, t]) => t !== undefined && t !== dtype);
  return differing.length > 0 ? { types: Object.fromEntries(differing) as PipelineSpec['types'] } : {};
}

export function hasSubgroups(limits: DeviceLimits): boolean {
  return limits.features.includes('subgroups');
}
