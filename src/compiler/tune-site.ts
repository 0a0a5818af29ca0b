// A tune site: one dispatch whose kernel family has several variants that can run it, with the
// launch of each candidate, so a tuner can time them on the device without knowing the model.
// Sites are keyed by everything that shapes the work (dims, transposes, dtypes, epilogue), so a
// timing made for one plan serves every plan with the same dispatch. Plain data, made by the
// lowerings (compile.ts collects them); the choices come back as CompileOptions.tuned.
import type { PipelineSpec } from '../plan/types.js';

export interface TuneCandidate {
  variant: string;
  pipeline: PipelineSpec;
  uniforms: number[];
  workgroups: [number, number, number];
}

export interface TuneSite {
  /** Kernel family and shape, e.g. 'matmul 1024x512x128 NT f32 bias gelu'. */
  key: string;
  kernel: string;
  /** What the heuristic picks, and what this compile used (the tuned choice, or the heuristic). */
  heuristic: string;
  chosen: string;
  candidates: TuneCandidate[];
  /** Bytes of each storage binding, in binding order (a tuner binds scratch buffers of these sizes). */
  bindingBytes: number[];
  flops: number;
}
