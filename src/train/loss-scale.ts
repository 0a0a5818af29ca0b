// Dynamic loss scaling, as NVIDIA's and PyTorch's AMP do it: the loss is multiplied by S before
// the backward (folded into the step state's loss scales), the norm pass divides the gradients by
// S, and a step whose gradients overflow is skipped; then S shrinks by `factor`, and after
// `growthInterval` clean steps in a row it grows by `factor`. S below `min` is a collapse: the
// run stops with one line instead of decaying silently (users of NVIDIA's BERT report scales of
// 1e-44 with no message). Pure: the runner feeds it each settled step. With it on, the runner reads
// each step's result before starting the next (as PyTorch's GradScaler does), so every step runs
// at the scale its predecessors decided, and a resumed run continues with exactly that scale.
import type { Recipe } from '../recipe/index.js';

export interface LossScaleState {
  scale: number;
  /** Clean steps in a row at this scale. */
  goodSteps: number;
  /** Overflowing (skipped) steps so far. */
  overflows: number;
}

export class LossScaler {
  private constructor(
    readonly dynamic: boolean,
    private readonly factor: number,
    private readonly growthInterval: number,
    private readonly min: number,
    private s: LossScaleState,
  ) {}

  /** From the recipe; `saved` restores a checkpoint's state (exact resume). */
  static fromRecipe(recipe: Recipe, saved?: LossScaleState): LossScaler {
    const c = recipe.runtime.loss_scale;
    const dynamic = c.dynamic === 'on' || (c.dynamic === 'auto' && recipe.runtime.precision === 'f16');
    const initial = dynamic ? c.initial : 1;
    return new LossScaler(dynamic, c.factor, c.growth_interval, c.min, saved && dynamic ? { ...saved } : { scale: initial, goodSteps: 0, overflows: 0 });
  }

  /** S for the next step's micro-batches and update. */
  get scale(): number {
    return this.s.scale;
  }

  get state(): LossScaleState {
    return { ...this.s };
  }

  /** A settled step (run at the current scale). Returns what changed, for the log. */
  observe(overflowed: boolean): 'grew' | 'shrank' | 'kept' {
    if (!this.dynamic) return 'kept';
    if (overflowed) {
      this.s.overflows++;
      this.s.goodSteps = 0;
      this.s.scale /= this.factor;
      return 'shrank';
    }
    this.s.goodSteps++;
    if (this.s.goodSteps < this.growthInterval) return 'kept';
    this.s.goodSteps = 0;
    this.s.scale *= this.factor;
    return 'grew';
  }

  /** Whether S has fallen below the floor (the run cannot recover). */
  get collapsed(): boolean {
    return this.dynamic && this.s.scale < this.min;
  }

  get floor(): number {
    return this.min;
  }
}
