// A tune site: one op's dispatches whose kernel family has several variants that can run them,
// with the launches of each candidate, so a tuner can time them on the device without knowing
// the model. Sites are keyed by everything that shapes the work (dims, transposes, dtypes,
// epilogue, dropout), so a timing made for one plan serves every plan with the same op. Plain
// data, made by the lowerings (compile.ts collects them); the choices come back as
// CompileOptions.tuned.
import type { PipelineSpec } from '../plan/types.js';

export interface TuneLaunch {
  pipeline: PipelineSpec;
  uniforms: number[];
  workgroups: [number, number, number];
  /** The site's buffers this launch binds, in binding order (indexes into TuneSite.bufferBytes). */
  bindings: number[];
}

export interface TuneCandidate {
  variant: string;
  /** The op's dispatches with this variant, in order. */
  launches: TuneLaunch[];
}

export interface TuneSite {
  /** Kernel family and shape, e.g. 'matmul 1024x512x128 NT f32 bias gelu'. */
  key: string;
  kernel: string;
  /** What the heuristic picks, and what this compile used (the tuned choice, or the heuristic). */
  heuristic: string;
  chosen: string;
  candidates: TuneCandidate[];
  /** Bytes of each buffer the launches bind (a tuner binds scratch buffers of these sizes). */
  bufferBytes: number[];
  flops: number;
}
