// matmul: C = epilogue(alpha · op(A) · op(B) + bias) [+ C], batched.
//
// Ops: matmul_forward and the transposed forms backward needs (dX = dY·W, dW = dYᵀ·X).
// Bindings (group 0):
//   0 params  uniform  Params
//   1 a       storage  array<T>  op(A) is (batch, M, K); stored (M, K), or (K, M) when TRANS_A
//   2 b       storage  array<T>  op(B) is (batch, K, N); stored (K, N), or (N, K) when TRANS_B
//   3 bias    storage  array<T>  (N); read only when HAS_BIAS (bind any buffer otherwise)
//   4 c       storage  array<T>  (batch, M, N), row-major; `=` or, with ACCUMULATE, `+=`
// Batch strides (elements) are uniforms; a stride of 0 broadcasts that operand.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE (bools); EPILOGUE: 0 none, 1 gelu (erf),
//   2 gelu (tanh), 3 relu, 4 tanh; WG: invocations per workgroup (64 default).
// Launch: workgroups enumerate output tiles linearly, spread over x and y (grid1d), batch in z.
// Entry points:
//   matmul_naive    one invocation = one C element; tile = WG elements of one row strip
//   matmul_blocked  one invocation = a 4×4 block of C in registers, scalar loads; a workgroup
//                   covers (WG/8·4) × 32; accumulation always f32.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  alpha: f32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override EPILOGUE: u32 = 0u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> c: array<T>;

fn a_at(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return f32(a[base + k * params.M + m]); }
  return f32(a[base + m * params.K + k]);
}

fn b_at(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return f32(b[base + n * params.K + k]); }
  return f32(b[base + k * params.N + n]);
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// erf by Abramowitz–Stegun 7.1.26 has 1.5e-7 absolute error: below f32 resolution for GELU.
fn erf_approx(x: f32) -> f32 {
  let s = sign(x);
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return s * y;
}

fn epilogue(v: f32, n: u32) -> f32 {
  var x = v * params.alpha;
  if (HAS_BIAS) { x = x + f32(bias[n]); }
  switch (EPILOGUE) {
    case 1u: { x = 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 2u: { x = 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
    case 3u: { x = max(x, 0.0); }
    case 4u: { x = tanh(x); }
    default: {}
  }
  return x;
}

fn store(index: u32, v: f32) {
  if (ACCUMULATE) { c[index] = T(f32(c[index]) + v); } else { c[index] = T(v); }
}

@compute @workgroup_size(WG)
fn matmul_naive(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (params.N + WG - 1u) / WG;
  let tile = wid.x + wid.y * nwg.x;
  let m = tile / tiles_n;
  let n = (tile % tiles_n) * WG + lid;
  let batch = wid.z;
  if (m >= params.M || n >= params.N || batch >= params.batch) { return; }
  let base_a = batch * params.stride_a;
  let base_b = batch * params.stride_b;
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) {
    acc += a_at(base_a, m, k) * b_at(base_b, k, n);
  }
  store(batch * params.stride_c + m * params.N + n, epilogue(acc, n));
}

// The 4×4 register block: each loaded A value feeds 4 FMAs and each B value 4, so loads per
// FMA drop 4× against naive (on lavapipe the cost is loads, DESIGN.md).
@compute @workgroup_size(WG)
fn matmul_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let rows_per_wg = (WG / 8u) * 4u;
  let tiles_n = (params.N + 31u) / 32u;
  let tile = wid.x + wid.y * nwg.x;
  let m0 = (tile / tiles_n) * rows_per_wg + (lid / 8u) * 4u;
  let n0 = (tile % tiles_n) * 32u + (lid % 8u) * 4u;
  let batch = wid.z;
  if (m0 >= params.M || n0 >= params.N || batch >= params.batch) { return; }
  let base_a = batch * params.stride_a;
  let base_b = batch * params.stride_b;
  // Clamp reads at the edges; the stores below skip the out-of-range results.
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = min(m0 + i, params.M - 1u);
    cols[i] = min(n0 + i, params.N - 1u);
  }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < params.K; k++) {
    let bv = vec4<f32>(b_at(base_b, k, cols[0]), b_at(base_b, k, cols[1]), b_at(base_b, k, cols[2]), b_at(base_b, k, cols[3]));
    acc[0] += a_at(base_a, rows[0], k) * bv;
    acc[1] += a_at(base_a, rows[1], k) * bv;
    acc[2] += a_at(base_a, rows[2], k) * bv;
    acc[3] += a_at(base_a, rows[3], k) * bv;
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= params.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= params.N) { break; }
      store(batch * params.stride_c + m * params.N + n, epilogue(acc[i][j], n));
    }
  }
}
