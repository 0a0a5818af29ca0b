// The counter-based dropout RNG, bit-exact with the WGSL copies (kernels/*.wgsl `rng_hash`,
// `dropout_keep`): the mask is a pure function of (seed, stream, micro_step, index), so the
// backward pass regenerates it instead of storing it, and every device draws the same mask.

/** lowbias32 (Chris Wellons): a fast 32-bit integer hash with good avalanche. */
export function rngHash(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) with 24 bits, as the kernels compute it. */
export function dropoutUniform(seed: number, stream: number, microStep: number, index: number): number {
  const r = rngHash((index ^ rngHash((stream ^ rngHash((microStep ^ rngHash(seed)) >>> 0)) >>> 0)) >>> 0);
  return (r >>> 8) / 16777216;
}

/** True when element `index` survives dropout with probability p. */
export function dropoutKeep(seed: number, stream: number, microStep: number, index: number, p: number): boolean {
  return dropoutUniform(seed, stream, microStep, index) >= p;
}
