// Parameter initialization, as BERT does it: weights ~ truncated normal (±2σ, σ = init_std),
// biases 0, norm scales 1. Deterministic per (seed, parameter name), so adding a parameter does
// not change the others' initial values.
import type { PlanParam } from '../plan/types.js';
import { rngHash } from '../graph/ops/rng.js';

function nameHash(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h >>> 0;
}

/** A seeded stream of uniforms in (0, 1). */
function uniforms(seed: number): () => number {
  let counter = 0;
  return () => (rngHash((seed ^ rngHash(counter++)) >>> 0) + 0.5) / 4294967296;
}

export function initParam(param: Pick<PlanParam, 'name' | 'shape' | 'init'>, seed: number): Float32Array {
  const n = param.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const init = param.init;
  if (init.kind === 'ones') out.fill(1);
  else if (init.kind === 'normal') {
    const next = uniforms(rngHash((seed ^ nameHash(param.name)) >>> 0));
    for (let i = 0; i < n; i++) {
      // Box–Muller, redrawn outside ±2 (truncated normal).
      let z: number;
      do z = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
      while (Math.abs(z) > 2);
      out[i] = z * init.std;
    }
  }
  return out;
}
