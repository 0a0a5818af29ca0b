// attention-common: declarations shared by kernels/attention.wgsl and kernels/attention-plain.wgsl
// (two modules because one calls subgroup builtins, which need `enable subgroups;`): the uniform
// block, the WG override, the constants, every binding (several views per binding number; an entry
// point uses one), the hoisted dropout factor and vec4 reductions. Included by both (`// #include`), after the prelude.
// The _v4 views hold 4 elements each as the header's T4 (vec4<f32>, or for f16 the same 8 bytes as
// a vec2<u32>: half the per-component loads and stores on lavapipe); kernels read them with
// bitcast<vec4<T>> and write bitcast<T4>(vec4<T>(...)), the same bits as a vec4<T> view.

struct Params {
  B: u32,
  T: u32,
  H: u32,
  heads: u32,
  D: u32,
  stream: u32,
  p: f32,
  scale: f32,
}

override WG: u32 = 64u;

const NEG_INF: f32 = -3.4028234e38;
const MASK_BIAS: f32 = -10000.0;

@group(0) @binding(0) var<uniform> params: Params;
// Binding 1
@group(0) @binding(1) var<storage, read> qkv: array<T>;
@group(0) @binding(1) var<storage, read> d_out: array<T>;
@group(0) @binding(1) var<storage, read> qkv_v4: array<T4>;
@group(0) @binding(1) var<storage, read> d_out_v4: array<T4>;
// Binding 2
@group(0) @binding(2) var<storage, read> mask: array<i32>;
@group(0) @binding(2) var<storage, read> probs: array<T>;
@group(0) @binding(2) var<storage, read_write> probs_rw2: array<T>;
@group(0) @binding(2) var<storage, read> probs_v4: array<T4>;
@group(0) @binding(2) var<storage, read_write> probs_rw2_v4: array<T4>;
// Binding 3
@group(0) @binding(3) var<storage, read_write> probs_rw3: array<T>;
@group(0) @binding(3) var<storage, read_write> probs_rw3_v4: array<T4>;
@group(0) @binding(3) var<storage, read> step_state: StepState;
@group(0) @binding(3) var<storage, read_write> d_qkv3: array<T>;
@group(0) @binding(3) var<storage, read_write> d_qkv3_v4: array<T4>;
// Binding 4
@group(0) @binding(4) var<storage, read_write> out_rw: array<T>;
@group(0) @binding(4) var<storage, read_write> d_qkv4: array<T>;
@group(0) @binding(4) var<storage, read_write> out_rw_v4: array<T4>;
@group(0) @binding(4) var<storage, read_write> d_qkv4_v4: array<T4>;
@group(0) @binding(4) var<storage, read> qkv4: array<T>;
@group(0) @binding(4) var<storage, read> qkv4_v4: array<T4>;
// Binding 5
@group(0) @binding(5) var<storage, read> out_ro: array<T>;
@group(0) @binding(5) var<storage, read> out_ro_v4: array<T4>;

// The dropout RNG (rng_hash, dropout_keep) comes from kernels/prelude.wgsl.
// dropout_keep with its index-independent part (`site` = rng_hash(stream ^ rng_hash(micro_step ^
// rng_hash(seed)))) hoisted out of the loops; returns the factor keep/(1 − p), 1 when p = 0.
fn drop_factor(site: u32, index: u32) -> f32 {
  if (params.p <= 0.0) { return 1.0; }
  let r = rng_hash(index ^ site);
  return select(0.0, 1.0 / (1.0 - params.p), f32(r >> 8u) * (1.0 / 16777216.0) >= params.p);
}

// drop_factor of the 4 consecutive elements from `index`, the same values.
fn drop_factor4(site: u32, index: u32) -> vec4<f32> {
  if (params.p <= 0.0) { return vec4<f32>(1.0); }
  return select(vec4<f32>(0.0), vec4<f32>(1.0 / (1.0 - params.p)), keep4(site, vec4<u32>(index) + vec4<u32>(0u, 1u, 2u, 3u), params.p));
}

fn drop_site(seed: u32, micro_step: u32) -> u32 {
  return rng_hash(params.stream ^ rng_hash(micro_step ^ rng_hash(seed)));
}

// Tile t of the launch (grid1d: tiles enumerate linearly over x and y).
fn grid_tile(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// Horizontal max and sum of a vec4 (softmax rows).
fn vmax(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }
fn vsum(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }
