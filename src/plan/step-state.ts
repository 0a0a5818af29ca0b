// The step-state block: the few values that change between steps without re-compiling or
// re-binding anything (DESIGN.md "Kernel plan"; issue 6). The runner writes it with one
// queue.writeBuffer before each micro-batch; kernels that need it bind it read-only as
//
//   struct StepState {
//     step: u32,        // optimizer step, 1-based (bias correction)
//     lr: f32,          // learning rate for this step
//     seed: u32,        // run seed for dropout
//     micro_step: u32,  // global micro-batch counter: dropout masks differ per micro-batch
//     mlm_scale: f32,   // MLM task weight / predicted tokens in the whole accumulated batch
//     nsp_scale: f32,   // NSP task weight / sequences in the whole accumulated batch
//     loss_scale: f32,  // S: the scales above include it; the norm pass divides the gradients by it
//     pad1: u32,
//   }
//   @group(0) @binding(k) var<storage, read> step_state: StepState;
//
// kernels/prelude.wgsl declares this struct for every kernel module (WGSL has no includes).
import { f32Bits } from './types.js';

export interface StepState {
  step: number;
  lr: number;
  seed: number;
  microStep: number;
  mlmScale: number;
  nspScale: number;
  /** Dynamic loss scale S (already folded into mlmScale and nspScale); default 1. */
  lossScale?: number;
}

/** The id of the one buffer holding the step state, shared by every plan of a run. */
export const STEP_STATE_BUFFER = 'step_state';

export const STEP_STATE_WORDS = 8;
export const STEP_STATE_BYTES = STEP_STATE_WORDS * 4;

export function encodeStepState(s: StepState): Uint32Array {
  return new Uint32Array([s.step >>> 0, f32Bits(s.lr), s.seed >>> 0, s.microStep >>> 0, f32Bits(s.mlmScale), f32Bits(s.nspScale), f32Bits(s.lossScale ?? 1), 0]);
}

export function decodeStepState(words: Uint32Array): StepState {
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  return { step: words[0]!, lr: f[1]!, seed: words[2]!, microStep: words[3]!, mlmScale: f[4]!, nspScale: f[5]!, lossScale: f[6]! };
}
