// elementwise: memory-bound maps over flat tensors, each in a scalar and a vec4 form.
//
// Ops (entry point = op; `<op>_vec4` is the same op on vec4<T> views, usable when every bound
// tensor's element count and offset are multiples of 4, which BERT sizes always are):
//   copy            out = x                                    bindings: 1 x, 2 out
//   fill            out = alpha                                bindings: 1 out
//   add             out (=|+=) a + b                           bindings: 1 a, 2 b, 3 out
//   scale           out (=|+=) alpha · x                       bindings: 1 x, 2 out
//   scale_inplace   out = alpha · out                          bindings: 1 out
//   act_forward     out (=|+=) act(x)                          bindings: 1 x, 2 out
//   act_backward    dx (=|+=) dy · act'(x); for ACT = tanh the second binding holds the
//                   OUTPUT y and act' = 1 − y²                 bindings: 1 dy, 2 x (or y), 3 dx
//   geglu_forward   inp (rows, 2F) row = [x(F) | gate(F)] (Cramming's GLU convention);
//                   out (rows, F) (=|+=) x · act(gate)          bindings: 1 inp, 2 out
//   geglu_backward  d_in (rows, 2F) (=|+=) [dy · act(gate) | dy · x · act'(gate)]
//                                                              bindings: 1 dy, 2 inp, 3 d_in
//   dropout_forward  out (=|+=) x · keep(i) / (1 − p)          bindings: 1 step_state, 2 x, 3 out
//   dropout_backward dx (=|+=) dy · keep(i) / (1 − p), the same mask regenerated
//                                                              bindings: 1 step_state, 2 dy, 3 dx
//   convert         out = T(x), x of element type TI: f32 master weights → f16 copies (T = f16),
//                   saturating at ±65504
//                                                              bindings: 1 x (array<TI>), 2 out
// Bindings (group 0): 0 params uniform Params; storage bindings 1.. per entry as listed, every
//   tensor array<T> (array<T4> in the _vec4 entries), flat, n elements (GEGLU: n = rows·F
//   output elements); step_state is the StepState block (src/plan/step-state.ts), read-only.
// Dropout: keep(i) = dropout_keep(step_state.seed, params.stream, step_state.micro_step, i, p),
//   i = the element's linear index in the tensor (bit-exact with src/graph/ops/rng.ts).
//   params.alpha carries 1/(1 − p).
// Overrides: ACT (act_*, geglu_*): 1 gelu (erf), 2 gelu (tanh), 3 relu, 4 tanh (matmul's codes);
//   ACCUMULATE (bool): `+=` instead of `=` where marked (=|+=); WG: invocations per workgroup.
// Launch: grid-stride: invocation i handles element (scalar) or vec4 (vec4 entries) i, then
//   i + grid_invocations, ... (gridStride: one pass on a GPU, a few looping workgroups per core
//   on a CPU adapter); workgroups enumerate WG-element tiles linearly over x/y (grid1d). GEGLU: one workgroup = one
//   row, invocations stride over its F outputs (vec4s; vec4 needs F % 4 == 0), so nothing
//   divides by F per element (lavapipe: integer division is per lane).

struct Params {
  n: u32,       // elements (GEGLU: output elements rows·F)
  cols: u32,    // GEGLU: F
  alpha: f32,   // fill value, scale factor, or dropout's 1/(1 − p)
  p: f32,       // dropout probability
  stream: u32,  // dropout stream (per call site)
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

override ACT: u32 = 1u;
override ACCUMULATE: bool = false;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;

// Scalar views. WGSL lets entry points that never meet share binding numbers, so each entry
// statically uses only the variables of its own binding list.
@group(0) @binding(1) var<storage, read> in1: array<T>;
@group(0) @binding(2) var<storage, read> in2: array<T>;
@group(0) @binding(2) var<storage, read_write> out2: array<T>;
@group(0) @binding(3) var<storage, read_write> out3: array<T>;
@group(0) @binding(1) var<storage, read_write> out1: array<T>;
@group(0) @binding(1) var<storage, read> step_state: StepState;
// vec4 views of the same bindings.
@group(0) @binding(1) var<storage, read> in1v: array<T4>;
@group(0) @binding(2) var<storage, read> in2v: array<T4>;
@group(0) @binding(2) var<storage, read_write> out2v: array<T4>;
@group(0) @binding(3) var<storage, read_write> out3v: array<T4>;
@group(0) @binding(1) var<storage, read_write> out1v: array<T4>;
// convert's input: another element type (TI), e.g. f32 master weights read for their f16 copies.
@group(0) @binding(1) var<storage, read> in_cast: array<TI>;
@group(0) @binding(1) var<storage, read> in_castv: array<TI4>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
// convert saturates: WGSL leaves an out-of-range float conversion's value undefined.
const F16_MAX: f32 = 65504.0;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// erf by Abramowitz–Stegun 7.1.26 has 1.5e-7 absolute error: below f32 resolution for GELU.
fn erf_approx(x: vec4<f32>) -> vec4<f32> {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return sign(x) * y;
}

fn act(x: vec4<f32>) -> vec4<f32> {
  switch (ACT) {
    case 1u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 2u: { return 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
    case 3u: { return max(x, vec4<f32>(0.0)); }
    default: { return tanh(x); }
  }
}

// act'(x); for tanh, x is the activation's output y.
fn act_grad(x: vec4<f32>) -> vec4<f32> {
  switch (ACT) {
    case 1u: { return 0.5 * (1.0 + erf_approx(x * 0.7071067811865476)) + x * INV_SQRT_2PI * exp(-0.5 * x * x); }
    case 2u: {
      let t = tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 0.134145 * x * x);
    }
    case 3u: { return select(vec4<f32>(0.0), vec4<f32>(1.0), x > vec4<f32>(0.0)); }
    default: { return 1.0 - x * x; }
  }
}

// Dropout multiplier (keep / (1 − p)) of the 4 elements starting at linear index i.
fn dropout_mul4(i: u32) -> vec4<f32> {
  let key = dropout_key(step_state.seed, params.stream, step_state.micro_step);
  return select(vec4<f32>(0.0), vec4<f32>(params.alpha), keep4(key, vec4<u32>(i) + vec4<u32>(0u, 1u, 2u, 3u), params.p));
}

fn dropout_mul(i: u32) -> f32 {
  return select(0.0, params.alpha, dropout_keep(step_state.seed, params.stream, step_state.micro_step, i, params.p));
}

// dst[i] = v, or += v with ACCUMULATE: the store every accumulating entry ends with (dst is the
// entry's out2 or out3 view; store_sum4 for the vec4 views).
fn store_sum(dst: ptr<storage, array<T>, read_write>, i: u32, v: f32) {
  var x = v;
  if (ACCUMULATE) { x += f32((*dst)[i]); }
  (*dst)[i] = T(x);
}

fn store_sum4(dst: ptr<storage, array<T4>, read_write>, i: u32, v: vec4<f32>) {
  var x = v;
  if (ACCUMULATE) { x += vec4<f32>(bitcast<vec4<T>>((*dst)[i])); }
  (*dst)[i] = bitcast<T4>(vec4<T>(x));
}

// ---- scalar entries: one invocation = one element ----

@compute @workgroup_size(WG)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    out2[i] = in1[i];
  }
}

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    out1[i] = T(params.alpha);
  }
}

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out3, i, f32(in1[i]) + f32(in2[i]));
  }
}

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out2, i, params.alpha * f32(in1[i]));
  }
}

@compute @workgroup_size(WG)
fn scale_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    out1[i] = T(params.alpha * f32(out1[i]));
  }
}

@compute @workgroup_size(WG)
fn act_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out2, i, act(vec4<f32>(f32(in1[i]))).x);
  }
}

@compute @workgroup_size(WG)
fn act_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out3, i, f32(in1[i]) * act_grad(vec4<f32>(f32(in2[i]))).x);
  }
}

@compute @workgroup_size(WG)
fn geglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let f = params.cols;
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.n / f) { return; }
  for (var j = lid; j < f; j += WG) {
    let i = r * f + j;
    let base = r * 2u * f + j;
    store_sum(&out2, i, f32(in1[base]) * act(vec4<f32>(f32(in1[base + f]))).x);
  }
}

@compute @workgroup_size(WG)
fn geglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let f = params.cols;
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.n / f) { return; }
  for (var j = lid; j < f; j += WG) {
    let i = r * f + j;
    let base = r * 2u * f + j;
    let dy = f32(in1[i]);
    let x = f32(in2[base]);
    let g = vec4<f32>(f32(in2[base + f]));
    var dx = dy * act(g).x;
    var dg = dy * x * act_grad(g).x;
    if (ACCUMULATE) {
      dx += f32(out3[base]);
      dg += f32(out3[base + f]);
    }
    out3[base] = T(dx);
    out3[base + f] = T(dg);
  }
}

@compute @workgroup_size(WG)
fn dropout_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out3, i, f32(in2[i]) * dropout_mul(i));
  }
}

@compute @workgroup_size(WG)
fn dropout_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    store_sum(&out3, i, f32(in2[i]) * dropout_mul(i));
  }
}

@compute @workgroup_size(WG)
fn convert(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n; i += grid_invocations(nwg)) {
    out2[i] = T(clamp(f32(in_cast[i]), -F16_MAX, F16_MAX));
  }
}

// ---- vec4 entries: one invocation = 4 consecutive elements (n % 4 == 0) ----

@compute @workgroup_size(WG)
fn copy_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    out2v[i] = in1v[i];
  }
}

@compute @workgroup_size(WG)
fn fill_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    out1v[i] = bitcast<T4>(vec4<T>(T(params.alpha)));
  }
}

@compute @workgroup_size(WG)
fn add_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out3v, i, vec4<f32>(bitcast<vec4<T>>(in1v[i])) + vec4<f32>(bitcast<vec4<T>>(in2v[i])));
  }
}

@compute @workgroup_size(WG)
fn scale_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out2v, i, params.alpha * vec4<f32>(bitcast<vec4<T>>(in1v[i])));
  }
}

@compute @workgroup_size(WG)
fn scale_inplace_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    out1v[i] = bitcast<T4>(vec4<T>(params.alpha * vec4<f32>(bitcast<vec4<T>>(out1v[i]))));
  }
}

@compute @workgroup_size(WG)
fn act_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out2v, i, act(vec4<f32>(bitcast<vec4<T>>(in1v[i]))));
  }
}

@compute @workgroup_size(WG)
fn act_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out3v, i, vec4<f32>(bitcast<vec4<T>>(in1v[i])) * act_grad(vec4<f32>(bitcast<vec4<T>>(in2v[i]))));
  }
}

@compute @workgroup_size(WG)
fn geglu_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let f = params.cols / 4u;
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.n / params.cols) { return; }
  for (var j = lid; j < f; j += WG) {
    let i = r * f + j;
    let base = r * 2u * f + j;
    store_sum4(&out2v, i, vec4<f32>(bitcast<vec4<T>>(in1v[base])) * act(vec4<f32>(bitcast<vec4<T>>(in1v[base + f]))));
  }
}

@compute @workgroup_size(WG)
fn geglu_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let f = params.cols / 4u;
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.n / params.cols) { return; }
  for (var j = lid; j < f; j += WG) {
    let i = r * f + j;
    let base = r * 2u * f + j;
    let dy = vec4<f32>(bitcast<vec4<T>>(in1v[i]));
    let x = vec4<f32>(bitcast<vec4<T>>(in2v[base]));
    let g = vec4<f32>(bitcast<vec4<T>>(in2v[base + f]));
    var dx = dy * act(g);
    var dg = dy * x * act_grad(g);
    if (ACCUMULATE) {
      dx += vec4<f32>(bitcast<vec4<T>>(out3v[base]));
      dg += vec4<f32>(bitcast<vec4<T>>(out3v[base + f]));
    }
    out3v[base] = bitcast<T4>(vec4<T>(dx));
    out3v[base + f] = bitcast<T4>(vec4<T>(dg));
  }
}

@compute @workgroup_size(WG)
fn dropout_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out3v, i, vec4<f32>(bitcast<vec4<T>>(in2v[i])) * dropout_mul4(i * 4u));
  }
}

@compute @workgroup_size(WG)
fn dropout_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    store_sum4(&out3v, i, vec4<f32>(bitcast<vec4<T>>(in2v[i])) * dropout_mul4(i * 4u));
  }
}

@compute @workgroup_size(WG)
fn convert_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = linear_id(wid, nwg, lid); i < params.n / 4u; i += grid_invocations(nwg)) {
    out2v[i] = bitcast<T4>(vec4<T>(clamp(vec4<f32>(bitcast<vec4<TI>>(in_castv[i])), vec4<f32>(-F16_MAX), vec4<f32>(F16_MAX))));
  }
}
