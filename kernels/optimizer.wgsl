// optimizer: AdamW and LAMB updates of one (offset, length) range of the flat parameter arenas.
//
// Ops:
//   adamw_update (entry points adamw_update_scalar, adamw_update_vec4), with g = grad · clip_scale:
//     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//     p ← p − lr·wd·p − lr·m̂/(√v̂ + eps),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)  (bias correction on)
//     This is torch.optim.AdamW (decoupled decay p ← p·(1 − lr·wd), then the Adam step). With
//     bias correction off (m̂ = m, v̂ = v) it is Google BERT's AdamWeightDecayOptimizer:
//     p ← p − lr·(m/(√v + eps) + wd·p). wd = 0 for no-decay tensors (biases, LayerNorm).
//   lamb_update (You et al. 2019, as NVIDIA's BERT uses it), two dispatches per tensor:
//     lamb_moments  m, v as above; u = m̂/(√v̂ + eps) + wd·p; per-workgroup partials Σp², Σu²
//     lamb_apply    ‖p‖, ‖u‖ from the partials (fixed order), r = ‖p‖/‖u‖ (1 if either is 0, or
//                   if wd = 0 and flag bit 1 is off, as apex FusedLAMB does without use_nvlamb);
//                   u is recomputed from p, m, v (stage 1 wrote m, v); p ← p − lr·r·u
// Skip guarantee: when norm_state[2] (nonfinite) ≠ 0 no entry point writes p, m, v or partials;
//   with ZERO_GRAD the gradient range is still zeroed (the runner skips the step, does not advance
//   step_state.step, and the next step accumulates into clean gradients, as torch's GradScaler +
//   zero_grad do).
//
// Bindings (group 0). Every storage tensor binding is a slice of an arena; element offset + i of
// each slice is element i of the tensor (the four slices share one layout: bind the mirrored
// arenas, or slices at the same byte offset). vec4-typed slices must have a byte size that is a
// multiple of 16 (arenas padded to 16 bytes): the vec4s holding the first and last elements are
// read whole, and their elements outside the range are written back unchanged. Dispatches run in
// order, so neighbouring tensors' updates never overlap.
//   adamw_update_vec4, lamb_moments, lamb_apply
//     0 params      uniform              Params
//     1 p           storage, read_write  array<vec4<T>>  parameters; `=` (lamb_moments only reads)
//     2 g           storage, read_write  array<vec4<T>>  accumulated gradients; read, then `= 0`
//                                        with ZERO_GRAD (lamb_moments only reads)
//     3 m           storage, read_write  array<vec4<T>>  first moment, `=` (lamb_apply only reads)
//     4 v           storage, read_write  array<vec4<T>>  second moment, `=` (lamb_apply only reads)
//     5 step_state  storage, read        StepState  (src/plan/step-state.ts): step (1-based), lr
//     6 norm_state  storage, read        array<f32>  (4) from grad_norm_finalize: [1] clip_scale,
//                                        [2] nonfinite flag
//     7 partials    storage, read_write  array<f32>  LAMB only: lamb_moments `=` slots
//                                        [slot, slot+count) Σp² and [slot+count, slot+2·count) Σu²;
//                                        lamb_apply reads them
//   adamw_update_scalar (the baseline; plain array<T>, no padding needed)
//     0 params, 1 p_s, 2 g_s, 3 m_s, 4 v_s (array<T>, same roles), 5 step_state, 6 norm_state
// Uniforms (Params, 32-bit words; unused words 0):
//    0 offset u32, 1 length u32      the range, in elements of the bound slices
//    2 chunk u32, 4 count u32        the workgroup split: adamw_update_vec4 and lamb_moments run
//                                    `count` workgroups, workgroup w owns the vec4s
//                                    [offset/4 + w·chunk, offset/4 + (w+1)·chunk) ∩ the range
//                                    (for LAMB, count is also the partial slots per norm);
//                                    adamw_update_scalar ignores them
//    3 slot u32                      LAMB: first partials slot of this tensor
//    5 beta1 f32, 6 beta2 f32, 7 one_minus_beta1 f32, 8 one_minus_beta2 f32 (1 − β computed in
//                                    float64 on the host: 1 − f32(0.999) is 1.3e-5 off)
//    9 eps f32, 10 weight_decay f32
//   11 flags u32                     bit 0 bias correction; bit 1 LAMB trust ratio also for wd = 0
//   12 apply_chunk u32, 13 apply_count u32   lamb_apply's own workgroup split (as chunk/count)
// Launch: adamw_update_scalar: one invocation = one element, ceil(length/WG) workgroups.
//   adamw_update_vec4, lamb_moments, lamb_apply: one workgroup = one chunk of vec4s, one
//   invocation = the vec4s lid, lid+WG, ... of it (coalesced). Grids are linear over x/y
//   (grid1d), tail guarded. lamb_moments' lane 0 sums the lanes' Σp², Σu² in lane order; every
//   lamb_apply lane redoes the same slot-order sum of the 2·count partials (count ≤ 8 on CPU
//   adapters, ≤ 64 otherwise), so every workgroup sees bit-identical norms and reruns are
//   bit-identical. The bias corrections 1 − βᵗ are computed per invocation from step_state.step.
// Overrides: WG (lanes per workgroup, default 64), ZERO_GRAD (bool, default true).
// Accumulation and all arithmetic are f32 whatever T is.

struct Params {
  offset: u32,
  length: u32,
  chunk: u32,
  slot: u32,
  count: u32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  flags: u32,
  apply_chunk: u32,
  apply_count: u32,
}

override WG: u32 = 64u;
override ZERO_GRAD: bool = true;

const BIAS_CORRECTION: u32 = 1u;
const TRUST_NO_DECAY: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> p: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> g: array<vec4<T>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<T>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<T>>;
@group(0) @binding(5) var<storage, read> step_state: StepState;
@group(0) @binding(6) var<storage, read> norm_state: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;
// adamw_update_scalar's views of bindings 1–4.
@group(0) @binding(1) var<storage, read_write> p_s: array<T>;
@group(0) @binding(2) var<storage, read_write> g_s: array<T>;
@group(0) @binding(3) var<storage, read_write> m_s: array<T>;
@group(0) @binding(4) var<storage, read_write> v_s: array<T>;

var<workgroup> red: array<vec2<f32>, WG>;

// 1 − (1 − δ)ᵗ without the cancellation of 1 − pow(β, t) for β near 1 (β2 = 0.999: pow's
// absolute error would be ~3e-4 of the result). ln(1 − δ) and expm1 by series when small.
fn one_minus_pow(delta: f32, t: f32) -> f32 {
  var l: f32;
  if (delta < 0.0625) {
    // ln(1 − δ) = −δ(1 + δ/2 + δ²/3 + … + δ⁷/8); the next term is below 2⁻³⁰ relative.
    let d = delta;
    l = -t * d * (1.0 + d * (1.0 / 2.0 + d * (1.0 / 3.0 + d * (1.0 / 4.0 + d * (1.0 / 5.0 + d * (1.0 / 6.0 + d * (1.0 / 7.0 + d * (1.0 / 8.0))))))));
  } else {
    l = t * log(1.0 - delta);
  }
  if (l > -0.0625) {
    // −expm1(l) = −l(1 + l/2 + l²/6 + l³/24 + l⁴/120 + l⁵/720)
    return -l * (1.0 + l * (1.0 / 2.0 + l * (1.0 / 6.0 + l * (1.0 / 24.0 + l * (1.0 / 120.0 + l * (1.0 / 720.0))))));
  }
  return 1.0 - exp(l);
}

// Per-step constants, the same in every invocation.
struct StepConsts {
  lr: f32,
  clip: f32,
  skip: bool,
  inv_bc1: f32,       // 1/(1 − β1ᵗ), or 1
  inv_sqrt_bc2: f32,  // 1/√(1 − β2ᵗ), or 1
}

fn step_consts() -> StepConsts {
  var c: StepConsts;
  c.lr = step_state.lr;
  c.clip = norm_state[1];
  c.skip = norm_state[2] != 0.0;
  c.inv_bc1 = 1.0;
  c.inv_sqrt_bc2 = 1.0;
  if ((params.flags & BIAS_CORRECTION) != 0u) {
    let t = f32(step_state.step);
    c.inv_bc1 = 1.0 / one_minus_pow(params.one_minus_beta1, t);
    c.inv_sqrt_bc2 = inverseSqrt(one_minus_pow(params.one_minus_beta2, t));
  }
  return c;
}

// Elements of vec4 q that lie inside [offset, offset + length).
fn in_range(q: u32) -> vec4<bool> {
  let e = vec4<u32>(q * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
  return (e >= vec4<u32>(params.offset)) & (e < vec4<u32>(params.offset + params.length));
}

// First vec4 of the range and one past its last.
fn vec_start() -> u32 { return params.offset / 4u; }
fn vec_end() -> u32 { return (params.offset + params.length + 3u) / 4u; }

// A skipped step (non-finite gradient norm) updates nothing; with ZERO_GRAD this invocation's
// share of the gradient range [start, stop) (vec4s) is still zeroed. Returns whether it skipped.
fn skipped(c: StepConsts, start: u32, stop: u32, lid: u32) -> bool {
  if (!c.skip) { return false; }
  if (ZERO_GRAD) {
    for (var q = start + lid; q < stop; q += WG) { g[q] = select(g[q], vec4<T>(T(0.0)), in_range(q)); }
  }
  return true;
}

@compute @workgroup_size(WG)
fn adamw_update_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.length) { return; }
  let e = params.offset + i;
  let c = step_consts();
  if (c.skip) {
    if (ZERO_GRAD) { g_s[e] = T(0.0); }
    return;
  }
  let grad = f32(g_s[e]) * c.clip;
  let mi = params.beta1 * f32(m_s[e]) + params.one_minus_beta1 * grad;
  let vi = params.beta2 * f32(v_s[e]) + params.one_minus_beta2 * grad * grad;
  let pi = f32(p_s[e]);
  let denom = sqrt(vi) * c.inv_sqrt_bc2 + params.eps;
  p_s[e] = T(pi * (1.0 - c.lr * params.weight_decay) - c.lr * c.inv_bc1 * mi / denom);
  m_s[e] = T(mi);
  v_s[e] = T(vi);
  if (ZERO_GRAD) { g_s[e] = T(0.0); }
}

@compute @workgroup_size(WG)
fn adamw_update_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= params.count) { return; }
  let start = vec_start() + w * params.chunk;
  let stop = min(start + params.chunk, vec_end());
  let c = step_consts();
  let zero = vec4<T>(T(0.0));
  if (skipped(c, start, stop, lid)) { return; }
  for (var q = start + lid; q < stop; q += WG) {
    let keep = in_range(q);
    let g0 = g[q];
    let p0 = p[q];
    let m0 = m[q];
    let v0 = v[q];
    let grad = vec4<f32>(g0) * c.clip;
    let m1 = params.beta1 * vec4<f32>(m0) + params.one_minus_beta1 * grad;
    let v1 = params.beta2 * vec4<f32>(v0) + params.one_minus_beta2 * grad * grad;
    let denom = sqrt(v1) * c.inv_sqrt_bc2 + params.eps;
    let p1 = vec4<f32>(p0) * (1.0 - c.lr * params.weight_decay) - c.lr * c.inv_bc1 * m1 / denom;
    p[q] = select(p0, vec4<T>(p1), keep);
    m[q] = select(m0, vec4<T>(m1), keep);
    v[q] = select(v0, vec4<T>(v1), keep);
    if (ZERO_GRAD) { g[q] = select(g0, zero, keep); }
  }
}

// The LAMB direction u = m̂/(√v̂ + eps) + wd·p, shared by both stages.
fn lamb_direction(c: StepConsts, p0: vec4<f32>, m1: vec4<f32>, v1: vec4<f32>) -> vec4<f32> {
  return m1 * c.inv_bc1 / (sqrt(v1) * c.inv_sqrt_bc2 + params.eps) + params.weight_decay * p0;
}

// Σ over the workgroup in lane order, valid in lane 0; every lane must call it (uniform control
// flow). One barrier and a serial sum (see kernels/grad-norm.wgsl for why not a tree).
fn workgroup_sum2(lid: u32, value: vec2<f32>) -> vec2<f32> {
  red[lid] = value;
  workgroupBarrier();
  var total = vec2<f32>(0.0);
  if (lid == 0u) {
    for (var i = 0u; i < WG; i++) { total += red[i]; }
  }
  return total;
}

@compute @workgroup_size(WG)
fn lamb_moments(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= params.count) { return; }
  let c = step_consts();
  if (c.skip) { return; }
  let start = vec_start() + w * params.chunk;
  let stop = min(start + params.chunk, vec_end());
  var sum_p = vec4<f32>(0.0);
  var sum_u = vec4<f32>(0.0);
  for (var q = start + lid; q < stop; q += WG) {
    let keep = in_range(q);
    let m0 = m[q];
    let v0 = v[q];
    let p0 = vec4<f32>(p[q]);
    let grad = vec4<f32>(g[q]) * c.clip;
    let m1 = params.beta1 * vec4<f32>(m0) + params.one_minus_beta1 * grad;
    let v1 = params.beta2 * vec4<f32>(v0) + params.one_minus_beta2 * grad * grad;
    m[q] = select(m0, vec4<T>(m1), keep);
    v[q] = select(v0, vec4<T>(v1), keep);
    let u = select(vec4<f32>(0.0), lamb_direction(c, p0, m1, v1), keep);
    let pk = select(vec4<f32>(0.0), p0, keep);
    sum_p += pk * pk;
    sum_u += u * u;
  }
  let s = workgroup_sum2(lid, vec2<f32>((sum_p.x + sum_p.y) + (sum_p.z + sum_p.w), (sum_u.x + sum_u.y) + (sum_u.z + sum_u.w)));
  if (lid == 0u) {
    partials[params.slot + w] = s.x;
    partials[params.slot + params.count + w] = s.y;
  }
}

@compute @workgroup_size(WG)
fn lamb_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= params.apply_count) { return; }
  let start = vec_start() + w * params.apply_chunk;
  let stop = min(start + params.apply_chunk, vec_end());
  let c = step_consts();
  let zero = vec4<T>(T(0.0));
  if (skipped(c, start, stop, lid)) { return; }
  // Every lane sums the partials itself, in slot order: no barrier, and every lane of every
  // workgroup gets bit-identical norms.
  var pp = 0.0;
  var uu = 0.0;
  for (var i = 0u; i < params.count; i++) {
    pp += partials[params.slot + i];
    uu += partials[params.slot + params.count + i];
  }
  let norm_p = sqrt(pp);
  let norm_u = sqrt(uu);
  var ratio = 1.0;
  let adapt = params.weight_decay != 0.0 || (params.flags & TRUST_NO_DECAY) != 0u;
  if (adapt && norm_p > 0.0 && norm_u > 0.0) { ratio = norm_p / norm_u; }
  let rate = c.lr * ratio;
  for (var q = start + lid; q < stop; q += WG) {
    let keep = in_range(q);
    let p0 = p[q];
    let u = lamb_direction(c, vec4<f32>(p0), vec4<f32>(m[q]), vec4<f32>(v[q]));
    p[q] = select(p0, vec4<T>(vec4<f32>(p0) - rate * u), keep);
    if (ZERO_GRAD) { g[q] = select(g[q], zero, keep); }
  }
}
