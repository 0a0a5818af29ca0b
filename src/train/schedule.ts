// Learning-rate schedule as Google's BERT and Hugging Face compute it: linear warmup from 0
// over warmup_steps, then linear / cosine decay (or constant) down to min_lr_ratio·lr at the
// last step. `step` is 0-based (the number of optimizer steps already taken).

export interface LrSchedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  decay: 'linear' | 'cosine' | 'constant';
  minLrRatio: number;
}

export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  if (s.decay === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  const shape = s.decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.lr * (s.minLrRatio + (1 - s.minLrRatio) * shape);
}
