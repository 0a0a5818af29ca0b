// grad-norm: the global gradient norm for clipping and the skip-step check, deterministic.
//
// Ops: sumsq_partial (Σ x² of one (offset, length) range into fixed partial slots),
// sumsq_partial_segments (the same for up to MAX_SEGMENTS ranges of one bound slice in one
// dispatch, each range split and summed exactly as sumsq_partial splits and sums it) and
// grad_norm_finalize (Σ of the partials in fixed order → the norm state). The compiler gives each
// gradient tensor its own slots, fills them with sumsq_partial_segments dispatches, then runs one
// grad_norm_finalize over all slots; the optimizer kernels read the norm state.
//
// Bindings (group 0); the two entry points use different sets (WGSL allows two resource
// variables on one @binding when no entry point uses both):
//   sumsq_partial
//     0 params    uniform  Params
//     1 x         storage, read        array<vec4<T>>  the bound slice; the range is elements
//                                      [offset, offset + length) of it. The slice's byte size must be
//                                      a multiple of 16 (arenas padded to 16 bytes): the vec4 holding
//                                      the last element is read whole (elements outside the range are
//                                      read, never counted).
//     2 partials  storage, read_write  array<f32>  (slot + count) at least; writes [slot, slot + count)
//   sumsq_partial_segments
//     0 segments  uniform  Segments {count (segments), workgroups, pad, pad, seg[MAX_SEGMENTS],
//                          slots[MAX_SEGMENTS / 4]}: seg[s] = (offset, length, first workgroup,
//                          chunk) of range s (seg[s].z ascending), slots[s / 4][s % 4] = its first
//                          partials slot
//     1 x, 2 partials      as sumsq_partial; workgroup w of segment s (seg[s].z ≤ w < seg[s+1].z)
//                          computes sumsq_partial's workgroup w − seg[s].z of that range (offset
//                          a multiple of 4, so the same vec4s, lanes and order) into
//                          partials[slot of s + w − seg[s].z]
//   grad_norm_finalize
//     0 params      uniform  Params
//     1 partials    storage, read        array<f32>  reads [slot, slot + count)
//     2 norm_state  storage, read_write  array<f32>  (4), `=`:
//                     [0] global_norm = sqrt(Σ partials) / S, the norm of the unscaled gradients
//                     [1] clip_scale  = (max_norm > 0 ? min(1, max_norm / (global_norm + 1e-6)) : 1) / S:
//                                       the factor the updates multiply the (scaled) gradients by
//                     [2] nonfinite   = 1.0 if Σ partials is NaN or ±Inf (a NaN/Inf gradient, or a
//                                       sum of squares past f32 range), else 0.0
//                     [3] sumsq       = Σ partials (of the scaled gradients)
//     3 step_state  storage, read        StepState: loss_scale = S, the dynamic loss scale the
//                                       gradients carry (1 without loss scaling; a power of two, so
//                                       dividing by it is exact)
// Uniforms (Params, 32-bit words): 0 offset u32, 1 length u32, 2 chunk u32 (vec4s per workgroup,
//   sumsq_partial), 3 slot u32, 4 count u32 (partials written by / summed by the dispatch),
//   5 max_norm f32 (finalize; 0 = no clipping), 6–7 unused.
// Launch: sumsq_partial: `count` workgroups (grid1d over x/y); workgroup w sums the vec4s
//   [offset/4 + w·chunk, offset/4 + (w+1)·chunk) of the range: each lane a fixed strided subset in
//   order, then lane 0 sums the lanes' values in lane order; partials[slot + w] `=` the sum. One invocation =
//   a strided set of vec4s of one chunk; one workgroup = one chunk = one slot.
//   grad_norm_finalize: one workgroup; lane l sums slots l, l+WG, ... in order, then lane 0 sums
//   the lanes in order.
//   Every order is fixed by (length, chunk, WG), so two runs are bit-identical.
// Overrides: WG (lanes per workgroup, default 64).
// Accumulation is f32 whatever T is.

struct Params {
  offset: u32,
  length: u32,
  chunk: u32,
  slot: u32,
  count: u32,
  max_norm: f32,
  pad0: u32,
  pad1: u32,
}

const MAX_SEGMENTS: u32 = 64u;

struct Segments {
  count: u32,
  workgroups: u32,
  pad0: u32,
  pad1: u32,
  seg: array<vec4<u32>, MAX_SEGMENTS>,
  slots: array<vec4<u32>, MAX_SEGMENTS / 4u>,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
// sumsq_partial_segments
@group(0) @binding(0) var<uniform> segments: Segments;
// sumsq_partial
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
// grad_norm_finalize
@group(0) @binding(1) var<storage, read> partials_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm_state: array<f32>;
@group(0) @binding(3) var<storage, read> step_state: StepState;

var<workgroup> red: array<f32, WG>;

// Σ over the workgroup in lane order, valid in lane 0; every lane must call it (uniform control
// flow). One barrier and a serial sum: lavapipe pays per barrier more than for 64 adds, and on
// GPUs it is a few thousand cycles per workgroup that streams at least WG·8 vec4s.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
  red[lid] = value;
  workgroupBarrier();
  var total = 0.0;
  if (lid == 0u) {
    for (var i = 0u; i < WG; i++) { total += red[i]; }
  }
  return total;
}

// Elements of vec4 q that lie inside [offset, offset + length).
fn in_range(q: u32, offset: u32, length: u32) -> vec4<bool> {
  let e = vec4<u32>(q * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
  return (e >= vec4<u32>(offset)) & (e < vec4<u32>(offset + length));
}

// Workgroup w's Σ x² over its chunk of the range (valid in lane 0; every lane must call it).
fn range_sumsq(offset: u32, length: u32, chunk: u32, w: u32, lid: u32) -> f32 {
  let v0 = offset / 4u;
  let v_end = (offset + length + 3u) / 4u;
  let start = v0 + w * chunk;
  let stop = min(start + chunk, v_end);
  var acc = vec4<f32>(0.0);
  for (var q = start + lid; q < stop; q += WG) {
    let g = select(vec4<f32>(0.0), vec4<f32>(x[q]), in_range(q, offset, length));
    acc += g * g;
  }
  return workgroup_sum(lid, (acc.x + acc.y) + (acc.z + acc.w));
}

// Exponent all ones: ±Inf or NaN. Bit test, because WGSL lets compilers assume finite floats.
fn nonfinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(WG)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= params.count) { return; }
  let total = range_sumsq(params.offset, params.length, params.chunk, w, lid);
  if (lid == 0u) { partials[params.slot + w] = total; }
}

@compute @workgroup_size(WG)
fn sumsq_partial_segments(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= segments.workgroups) { return; }
  // The last segment starting at or before w (binary search over the first workgroups).
  var lo = 0u;
  var hi = segments.count - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (segments.seg[mid].z <= w) { lo = mid; } else { hi = mid - 1u; }
  }
  let s = segments.seg[lo];
  let total = range_sumsq(s.x, s.y, s.w, w - s.z, lid);
  if (lid == 0u) { partials[segments.slots[lo / 4u][lo % 4u] + w - s.z] = total; }
}

@compute @workgroup_size(WG)
fn grad_norm_finalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (wid.x > 0u || wid.y > 0u || wid.z > 0u) { return; }
  var acc = 0.0;
  for (var i = lid; i < params.count; i += WG) {
    acc += partials_in[params.slot + i];
  }
  let sumsq = workgroup_sum(lid, acc);
  if (lid == 0u) {
    let scale = step_state.loss_scale;
    let norm = sqrt(sumsq) / scale;
    let bad = nonfinite(sumsq);
    var clip = 1.0;
    if (params.max_norm > 0.0 && !bad) { clip = min(1.0, params.max_norm / (norm + 1e-6)); }
    norm_state[0] = norm;
    norm_state[1] = clip / scale;
    norm_state[2] = select(0.0, 1.0, bad);
    norm_state[3] = sumsq;
  }
}
