// matmul: C = epilogue(alpha · op(A) · op(B) + bias) [+ C], batched; with STORE_PRE also
// PRE = alpha · op(A) · op(B) + bias (the pre-activation a fused activation's backward needs).
//
// Ops: matmul_forward and the transposed forms backward needs (dX = dY·W, dW = dYᵀ·X).
// Bindings (group 0), the same for every entry point (kernels/matmul-subgroup.wgsl adds a 6th):
//   0 params  uniform  Params (M, N, K, batch, stride_a, stride_b, stride_c: u32; alpha: f32;
//                      k_begin, k_end: u32, which these entry points ignore: they sum all of K)
//   1 a       storage  array<T>  op(A) is (batch, M, K); stored (M, K), or (K, M) when TRANS_A
//   2 b       storage  array<T>  op(B) is (batch, K, N); stored (K, N), or (N, K) when TRANS_B
//   3 bias    storage  array<T>  (N); read only when HAS_BIAS (bind any buffer otherwise)
//   4 c       storage  array<TC> (batch, M, N), row-major; `=` or, with ACCUMULATE, `+=`; TC is T, or
//                                f32 where mixed precision accumulates a parameter gradient
//   5 pre     storage  array<T>  (batch, M, N) like c; `=` (never accumulated) the value after
//                                alpha and bias, before the epilogue, only when STORE_PRE; read
//                                (an activation's pre-activation) by the backward epilogues
//                                (EPILOGUE 5-7, kernels/matmul-common.wgsl). It is statically
//                                used by every entry: bind a spare writable buffer otherwise (not
//                                one bound read-only in the same dispatch)
// matmul_vec4 declares bindings 1 and 2 as array<T4> (a4, b4; the header's 4-element views,
// vec2<u32> for f16, read through bitcast<vec4<T>>): the contiguous dim of A
// (K, or M with TRANS_A) and of B (N, or K with TRANS_B) and stride_a, stride_b must be
// multiples of 4 and the slices 16-byte aligned (the launch offers vec4 only then).
// Batch strides (elements) are uniforms; a stride of 0 broadcasts that operand.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE, STORE_PRE (bools); EPILOGUE: 0 none, 1 gelu (erf),
//   2 gelu (tanh), 3 relu, 4 tanh, 5-7 times gelu′, gelu_tanh′, relu′ of PRE; WG: invocations per workgroup (64 default; not used by
//   matmul_tiled, whose workgroup is the const 16×16 = 256).
// Launch: workgroups enumerate output tiles linearly (column tile fastest), spread over x and
// y (grid1d), batch in z. Accumulation is always f32.
// Entry points:
//   matmul_naive    one invocation = one C element; tile = WG elements of one row strip
//   matmul_blocked  one invocation = a 4×4 block of C in registers, scalar loads; a workgroup
//                   covers (WG/8·4) × 32.
//   matmul_vec4     one invocation = 4 rows × 8 columns, k in slices of 4, A and B read as
//                   vec4 (12 loads per 128 FMAs); a workgroup covers (WG/8·4) × 64.
//   matmul_tiled    workgroup-memory tiling for real GPUs: a workgroup (256 = 16×16) computes a
//                   64×64 tile, staging 16-deep k-slices of A and B in workgroup memory (2 × 4 KiB)
//                   between barriers; one invocation = a 4×4 block. Any layout, scalar loads.

// #include matmul-common.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> c: array<TC>;
@group(0) @binding(5) var<storage, read_write> pre: array<T>;
// The same bindings 1 and 2 seen as vec4s, for matmul_vec4 only (an entry point uses one view).
@group(0) @binding(1) var<storage, read> a4: array<T4>;
@group(0) @binding(2) var<storage, read> b4: array<T4>;

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

// alpha and bias: the pre-activation.
fn scale_bias(v: f32, n: u32) -> f32 {
  var x = v * params.alpha;
  if (HAS_BIAS) { x = x + f32(bias[n]); }
  return x;
}

fn activate(v: f32) -> f32 {
  var x = v;
  switch (EPILOGUE) {
    case 1u: { x = 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 2u: { x = 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
    case 3u: { x = max(x, 0.0); }
    case 4u: { x = tanh(x); }
    default: {}
  }
  return x;
}

// The accumulated product v of column n → C[index] (and PRE[index] with STORE_PRE).
fn store(index: u32, v: f32, n: u32) {
  let x = scale_bias(v, n);
  if (STORE_PRE) { pre[index] = T(x); }
  var y = activate(x);
  if (is_grad_epilogue()) { y = x * act_grad4(vec4<f32>(f32(pre[index]))).x; }
  if (ACCUMULATE) { c[index] = TC(f32(c[index]) + y); } else { c[index] = TC(y); }
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
  store(batch * params.stride_c + m * params.N + n, acc, n);
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
      store(batch * params.stride_c + m * params.N + n, acc[i][j], n);
    }
  }
}

// 4 rows × 8 columns per invocation with vec4 loads: per 4-deep k-slice 4 A vec4s and 8 B
// vec4s feed 128 FMAs (the blocked kernel's scalar loads feed 4×4×4 with 32 loads).
@compute @workgroup_size(WG)
fn matmul_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let rows_per_wg = (WG / 8u) * 4u;
  let tiles_n = (N + 63u) / 64u;
  let tile = wid.x + wid.y * nwg.x;
  let m0 = (tile / tiles_n) * rows_per_wg + (lid / 8u) * 4u;
  let n0 = (tile % tiles_n) * 64u + (lid % 8u) * 8u;
  let batch = wid.z;
  if (m0 >= M || n0 >= N || batch >= params.batch) { return; }
  let base_a = batch * params.stride_a / 4u;
  let base_b = batch * params.stride_b / 4u;
  // Reads past the edge are clamped; their results are never stored. With TRANS_A, m0 and M
  // are multiples of 4, so the 4 rows m0 .. m0+3 exist.
  var arow: array<u32, 4>;
  var bcol: array<u32, 8>;
  for (var r = 0u; r < 4u; r++) { arow[r] = base_a + min(m0 + r, M - 1u) * (K / 4u); }
  for (var j = 0u; j < 8u; j++) { bcol[j] = base_b + min(n0 + j, N - 1u) * (K / 4u); }
  let abase = base_a + m0 / 4u;
  let bbase0 = base_b + n0 / 4u;
  let bbase1 = base_b + min(n0 / 4u + 1u, N / 4u - 1u);

  var acc: array<vec4<f32>, 8>;  // acc[r·2 + v] = row m0+r, columns n0 + 4v .. +3
  for (var k = 0u; k < K; k += 4u) {
    var av: array<vec4<f32>, 4>;  // av[r] = A[m0+r, k .. k+3]
    if (TRANS_A) {
      // Only this layout allows K % 4 != 0: clamp the address, zero the values past K.
      let t0 = select(vec4<f32>(0.0), vec4<f32>(bitcast<vec4<T>>(a4[abase + min(k, K - 1u) * (M / 4u)])), k < K);
      let t1 = select(vec4<f32>(0.0), vec4<f32>(bitcast<vec4<T>>(a4[abase + min(k + 1u, K - 1u) * (M / 4u)])), k + 1u < K);
      let t2 = select(vec4<f32>(0.0), vec4<f32>(bitcast<vec4<T>>(a4[abase + min(k + 2u, K - 1u) * (M / 4u)])), k + 2u < K);
      let t3 = select(vec4<f32>(0.0), vec4<f32>(bitcast<vec4<T>>(a4[abase + min(k + 3u, K - 1u) * (M / 4u)])), k + 3u < K);
      av[0] = vec4<f32>(t0.x, t1.x, t2.x, t3.x);
      av[1] = vec4<f32>(t0.y, t1.y, t2.y, t3.y);
      av[2] = vec4<f32>(t0.z, t1.z, t2.z, t3.z);
      av[3] = vec4<f32>(t0.w, t1.w, t2.w, t3.w);
    } else {
      for (var r = 0u; r < 4u; r++) { av[r] = vec4<f32>(bitcast<vec4<T>>(a4[arow[r] + k / 4u])); }
    }
    var bv: array<vec4<f32>, 8>;  // bv[kk·2 + v] = B[k+kk, n0 + 4v .. +3]
    if (TRANS_B) {
      var cv: array<vec4<f32>, 8>;  // cv[j] = B[k .. k+3, n0+j]
      for (var j = 0u; j < 8u; j++) { cv[j] = vec4<f32>(bitcast<vec4<T>>(b4[bcol[j] + k / 4u])); }
      bv[0] = vec4<f32>(cv[0].x, cv[1].x, cv[2].x, cv[3].x);
      bv[1] = vec4<f32>(cv[4].x, cv[5].x, cv[6].x, cv[7].x);
      bv[2] = vec4<f32>(cv[0].y, cv[1].y, cv[2].y, cv[3].y);
      bv[3] = vec4<f32>(cv[4].y, cv[5].y, cv[6].y, cv[7].y);
      bv[4] = vec4<f32>(cv[0].z, cv[1].z, cv[2].z, cv[3].z);
      bv[5] = vec4<f32>(cv[4].z, cv[5].z, cv[6].z, cv[7].z);
      bv[6] = vec4<f32>(cv[0].w, cv[1].w, cv[2].w, cv[3].w);
      bv[7] = vec4<f32>(cv[4].w, cv[5].w, cv[6].w, cv[7].w);
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let row = min(k + kk, K - 1u) * (N / 4u);  // rows past K meet a zero A value
        bv[kk * 2u] = vec4<f32>(bitcast<vec4<T>>(b4[bbase0 + row]));
        bv[kk * 2u + 1u] = vec4<f32>(bitcast<vec4<T>>(b4[bbase1 + row]));
      }
    }
    for (var r = 0u; r < 4u; r++) {
      acc[r * 2u] += av[r].x * bv[0] + av[r].y * bv[2] + av[r].z * bv[4] + av[r].w * bv[6];
      acc[r * 2u + 1u] += av[r].x * bv[1] + av[r].y * bv[3] + av[r].z * bv[5] + av[r].w * bv[7];
    }
  }
  let base_c = batch * params.stride_c;
  for (var r = 0u; r < 4u; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let n = n0 + j;
      if (n >= N) { break; }
      store(base_c + m * N + n, acc[r * 2u + j / 4u][j % 4u], n);
    }
  }
}

const TILE: u32 = 64u;     // output tile edge of matmul_tiled
const TILE_K: u32 = 16u;   // k-slice staged in workgroup memory
const TILED_WG: u32 = 256u;
var<workgroup> a_tile: array<f32, 1024>;  // [TILE_K][TILE]: a_tile[kk·64 + m]
var<workgroup> b_tile: array<f32, 1024>;  // [TILE_K][TILE]: b_tile[kk·64 + n]

// Classic shared-memory tiling: each A and B element is read from storage once per 64-wide
// tile instead of once per output, and the 16×16 invocations read the staged slice.
@compute @workgroup_size(TILED_WG)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let tiles_n = (N + TILE - 1u) / TILE;
  let tiles_m = (M + TILE - 1u) / TILE;
  let tile = wid.x + wid.y * nwg.x;
  let batch = wid.z;
  // Uniform over the workgroup, so every invocation reaches the barriers below.
  if (tile >= tiles_m * tiles_n || batch >= params.batch) { return; }
  let tm = (tile / tiles_n) * TILE;
  let tn = (tile % tiles_n) * TILE;
  let base_a = batch * params.stride_a;
  let base_b = batch * params.stride_b;
  let ty = lid / 16u;
  let tx = lid % 16u;
  var acc: array<vec4<f32>, 4>;  // acc[r] = row tm + 4ty + r, columns tn + 4tx .. +3
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    // Stage A[tm .. +64, k0 .. +16] and B[k0 .. +16, tn .. +64], zero outside; consecutive
    // invocations read consecutive addresses of whichever dim is contiguous.
    for (var i = 0u; i < 4u; i++) {
      let e = lid + i * TILED_WG;
      var am: u32; var ak: u32;
      if (TRANS_A) { am = e % TILE; ak = e / TILE; } else { ak = e % TILE_K; am = e / TILE_K; }
      let gm = tm + am;
      let gk = k0 + ak;
      var av = 0.0;
      if (gm < M && gk < K) { av = a_at(base_a, gm, gk); }
      a_tile[ak * TILE + am] = av;
      var bn: u32; var bk: u32;
      if (TRANS_B) { bk = e % TILE_K; bn = e / TILE_K; } else { bn = e % TILE; bk = e / TILE; }
      let gn = tn + bn;
      let gk2 = k0 + bk;
      var bv = 0.0;
      if (gn < N && gk2 < K) { bv = b_at(base_b, gk2, gn); }
      b_tile[bk * TILE + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let bv = vec4<f32>(b_tile[kk * TILE + tx * 4u], b_tile[kk * TILE + tx * 4u + 1u],
                         b_tile[kk * TILE + tx * 4u + 2u], b_tile[kk * TILE + tx * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) { acc[r] += a_tile[kk * TILE + ty * 4u + r] * bv; }
    }
    workgroupBarrier();
  }
  let base_c = batch * params.stride_c;
  for (var r = 0u; r < 4u; r++) {
    let m = tm + ty * 4u + r;
    if (m >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = tn + tx * 4u + j;
      if (n >= N) { break; }
      store(base_c + m * N + n, acc[r][j], n);
    }
  }
}
