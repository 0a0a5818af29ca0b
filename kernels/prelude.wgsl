// prelude: declarations shared by every kernel module. The runtime places this file right after
// the generated header (`enable ...; alias T = ...; alias T4 = ...;`) and before the kernel file,
// because WGSL has no includes; it holds only declarations, so modules that use none of it are
// unaffected.
//
// StepState: the per-step values (src/plan/step-state.ts), bound read-only by kernels that need
// them. rng_hash / dropout_keep: the counter-based dropout RNG, bit-exact with
// src/graph/ops/rng.ts, so a mask is a pure function of (seed, stream, micro_step, index) and
// the backward regenerates it instead of storing it. linear_id: grid1d's element index;
// grid_invocations: a grid-stride loop's step; slot_scale: a loss kernel's scale from the step state.

struct StepState {
  step: u32,
  lr: f32,
  seed: u32,
  micro_step: u32,
  mlm_scale: f32,
  nsp_scale: f32,
  loss_scale: f32,
  pad1: u32,
}

// lowbias32 (Chris Wellons).
fn rng_hash(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// True when element `index` survives dropout with probability p (24 random bits).
fn dropout_keep(seed: u32, stream: u32, micro_step: u32, index: u32, p: f32) -> bool {
  let r = rng_hash(index ^ rng_hash(stream ^ rng_hash(micro_step ^ rng_hash(seed))));
  return f32(r >> 8u) * (1.0 / 16777216.0) >= p;
}

// The same mask, vectorized and with the per-launch part of the hash chain hoisted:
// key = rng_hash(stream ^ rng_hash(micro_step ^ rng_hash(seed))) is one value per launch, so
// dropout_keep(seed, stream, micro_step, i, p) == keep4(key, i, p) bit for bit.
fn rng_hash4(x: vec4<u32>) -> vec4<u32> {
  var h = x;
  h ^= h >> vec4<u32>(16u);
  h *= vec4<u32>(0x7feb352du);
  h ^= h >> vec4<u32>(15u);
  h *= vec4<u32>(0x846ca68bu);
  h ^= h >> vec4<u32>(16u);
  return h;
}

fn dropout_key(seed: u32, stream: u32, micro_step: u32) -> u32 {
  return rng_hash(stream ^ rng_hash(micro_step ^ rng_hash(seed)));
}

fn keep4(key: u32, index: vec4<u32>, p: f32) -> vec4<bool> {
  let r = rng_hash4(index ^ vec4<u32>(key));
  return vec4<f32>(r >> vec4<u32>(8u)) * (1.0 / 16777216.0) >= vec4<f32>(p);
}

// The element an invocation owns in a launch of WG-wide workgroups enumerated over x and y
// (grid1d): invocation lid of workgroup wid.x + wid.y·nwg.x. (Every kernel module declares WG.)
fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// The invocations of a grid1d launch: a grid-stride loop's step. A launch sized by gridStride
// (src/plan/types.ts) may hold fewer invocations than elements, so each one loops.
fn grid_invocations(nwg: vec3<u32>) -> u32 {
  return nwg.x * nwg.y * WG;
}

// A loss kernel's scale by its params.scale_slot: 0 → mlm_scale, 1 → nsp_scale (the step
// state's per-task scales), anything else → 1 (evaluation).
fn slot_scale(state: StepState, slot: u32) -> f32 {
  if (slot == 0u) { return state.mlm_scale; }
  if (slot == 1u) { return state.nsp_scale; }
  return 1.0;
}
