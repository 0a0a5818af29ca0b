// Optimizer benchmark cases: the AdamW update (scalar baseline vs vec4), the two LAMB stages and
// the gradient-norm pass at BERT-base tensor sizes. The real step is ~200 dispatches, one per
// parameter tensor (bertParamTensors lists them); these cases time the sizes that dominate it:
// the word embeddings, an FFN weight and a LayerNorm vector. The update is bandwidth-bound, so
// read the GB/s column (p, g, m, v read + p, m, v written + g zeroed = 32 bytes per parameter).
//
// The suite fills every buffer with small random floats; step_state and norm_state are filled
// with zeros instead (intBindings, bound 1): a random norm_state would hold a nonzero nonfinite
// flag and time the skip path. With zeros lr = 0 and clip_scale = 0, which moves no parameter
// but runs every load, store and FLOP of a real step (bias correction off: step = 0).
import type { BenchShapes, KernelCase, KernelCaseFactory } from '../kernel-case.js';
import type { DeviceLimits } from '../../src/plan/types.js';
import {
  adamwUpdateLaunch,
  gradNormFinalizeLaunch,
  lambApplyLaunch,
  lambMomentsLaunch,
  lambPartialSlots,
  sumsqPartialLaunch,
  sumsqPartialSlots,
  usableAdamwVariants,
  NORM_STATE_WORDS,
} from '../../src/compiler/kernels/optimizer.js';
import { STEP_STATE_BYTES } from '../../src/plan/step-state.js';

export interface ParamTensor {
  name: string;
  length: number;
  /** Weight decay applies (matrices); not for biases and LayerNorm. */
  decay: boolean;
}

/**
 * BERT-base's parameter tensors as Hugging Face's BertForPreTraining holds them (decoder weight
 * tied to the word embeddings): 206 tensors, ~110M parameters. Layers (12), positions (512) and
 * token types (2) are not in BenchShapes, so they are BERT-base's.
 */
export function bertParamTensors(s: BenchShapes, layers = 12, positions = 512, typeVocab = 2): ParamTensor[] {
  const H = s.hidden;
  const I = s.inner;
  const t: ParamTensor[] = [];
  const add = (name: string, length: number, decay: boolean) => t.push({ name, length, decay });
  const layerNorm = (name: string) => {
    add(`${name}.weight`, H, false);
    add(`${name}.bias`, H, false);
  };
  add('embeddings.word', s.vocab * H, true);
  add('embeddings.position', positions * H, true);
  add('embeddings.token_type', typeVocab * H, true);
  layerNorm('embeddings.norm');
  for (let l = 0; l < layers; l++) {
    for (const proj of ['query', 'key', 'value', 'output']) {
      add(`encoder.${l}.attention.${proj}.weight`, H * H, true);
      add(`encoder.${l}.attention.${proj}.bias`, H, false);
    }
    layerNorm(`encoder.${l}.attention.norm`);
    add(`encoder.${l}.feedforward.inner.weight`, I * H, true);
    add(`encoder.${l}.feedforward.inner.bias`, I, false);
    add(`encoder.${l}.feedforward.output.weight`, H * I, true);
    add(`encoder.${l}.feedforward.output.bias`, H, false);
    layerNorm(`encoder.${l}.feedforward.norm`);
  }
  add('pooler.weight', H * H, true);
  add('pooler.bias', H, false);
  add('mlm.transform.weight', H * H, true);
  add('mlm.transform.bias', H, false);
  layerNorm('mlm.transform.norm');
  add('mlm.decoder.bias', s.vocab, false);
  add('nsp.weight', 2 * H, true);
  add('nsp.bias', 2, false);
  return t;
}

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-6, biasCorrection: false };

/** Byte size of a vec4-padded f32 slice of n elements. */
const padded = (n: number) => Math.ceil(n / 4) * 16;

export function optimizerCases(tensors: { label: string; length: number }[], limits: DeviceLimits, partialsForNorm: number): KernelCase[] {
  const cases: KernelCase[] = [];
  const zeroState = { 4: 1, 5: 1 }; // step_state, norm_state: all zero words (see header)
  for (const { label, length } of tensors) {
    const range = { offset: 0, length };
    const arena = [padded(length), padded(length), padded(length), padded(length), STEP_STATE_BYTES, NORM_STATE_WORDS * 4];
    for (const variant of usableAdamwVariants({ ...range, ...HYPER, weightDecay: 0.01 }, limits)) {
      cases.push({
        name: 'adamw_update',
        variant,
        shape: label,
        launch: adamwUpdateLaunch({ ...range, ...HYPER, weightDecay: 0.01 }, limits, variant),
        bindingBytes: arena,
        intBindings: zeroState,
        baseline: variant === 'scalar',
      });
    }
    const lamb = { ...range, ...HYPER, weightDecay: 0.01, slot: 0 };
    const partials = 4 * 2 * lambPartialSlots(range, limits);
    cases.push({ name: 'lamb_moments', variant: 'vec4', shape: label, launch: lambMomentsLaunch(lamb, limits), bindingBytes: [...arena, partials], intBindings: zeroState });
    cases.push({ name: 'lamb_apply', variant: 'vec4', shape: label, launch: lambApplyLaunch(lamb, limits), bindingBytes: [...arena, partials], intBindings: zeroState });
    cases.push({
      name: 'sumsq_partial',
      variant: 'vec4',
      shape: label,
      launch: sumsqPartialLaunch({ ...range, slot: 0 }, limits),
      bindingBytes: [padded(length), 4 * sumsqPartialSlots(range, limits)],
    });
  }
  cases.push({
    name: 'grad_norm_finalize',
    variant: 'serial',
    shape: `${partialsForNorm} partials`,
    launch: gradNormFinalizeLaunch({ count: partialsForNorm, maxNorm: 1 }, limits),
    bindingBytes: [4 * partialsForNorm, NORM_STATE_WORDS * 4, STEP_STATE_BYTES],
  });
  return cases;
}

export const optimizerBenchCases: KernelCaseFactory = (s, limits, quick) => {
  if (quick) return optimizerCases([{ label: '4099', length: 4099 }], limits, 64);
  const tensors = bertParamTensors(s);
  const partials = tensors.reduce((n, t) => n + sumsqPartialSlots({ offset: 0, length: t.length }, limits), 0);
  return optimizerCases(
    [
      { label: `${s.vocab}x${s.hidden}`, length: s.vocab * s.hidden },
      { label: `${s.inner}x${s.hidden}`, length: s.inner * s.hidden },
      { label: `${s.hidden}`, length: s.hidden },
    ],
    limits,
    partials,
  );
};
