// matmul, subgroup variant: C = epilogue(alpha · op(A) · op(B) + bias) [+ C], batched.
// The same op, bindings, uniforms and overrides as kernels/matmul.wgsl; only the entry point
// and the vector element type of a and b differ. It needs `enable subgroups;` (the generated
// header adds it for PipelineSpec.features ['subgroups']), which is why it is its own file.
//
// Bindings (group 0), entry point matmul_subgroup:
//   0 params  uniform  Params (M, N, K, batch, stride_a, stride_b, stride_c: u32; alpha: f32)
//   1 a       storage  array<vec4<T>>  op(A) (batch, M, K); stored (M, K), or (K, M) when TRANS_A
//   2 b       storage  array<vec4<T>>  op(B) (batch, K, N); stored (K, N), or (N, K) when TRANS_B
//   3 bias    storage  array<T>        (N); read only when HAS_BIAS (bind any buffer otherwise)
//   4 c       storage  array<T>        (batch, M, N) row-major; `=`, or `+=` with ACCUMULATE
// vec4 bindings: the contiguous dim of A (K, or M with TRANS_A) and of B (N, or K with
// TRANS_B) and the batch strides stride_a, stride_b must be multiples of 4, and the bound
// slices 16-byte aligned (the launch only offers this variant then).
//
// Why this shape (DESIGN.md, runtime facts): on lavapipe every storage load is a per-lane
// loop, so the cost is loads per FLOP; a subgroup shares a loaded value by broadcast.
// One invocation = R (4) consecutive rows × CN (8) columns of C, 32 f32 accumulators.
// Every invocation of a workgroup works on the same CN columns; per 4-deep k-slice the
// CN columns' B values are CN vec4s, lane j of each subgroup loads vec4 j and
// subgroupBroadcast hands it to the other lanes. A is not shared (each lane's own rows,
// R vec4 loads per k-slice). One workgroup = WG·R rows × CN columns.
// Subgroup size: any size ≥ 8 works (lanes ≥ 8 load a duplicate that nobody reads), and
// subgroups must be full (WG a multiple of the largest subgroup size); the launch checks
// limits.subgroupMinSize ≥ 8 and WG % subgroupMaxSize == 0. Which invocations form a
// subgroup does not matter: all share the columns.
// The bounds guard is per workgroup (uniform), so that every lane reaches the broadcasts;
// rows/columns past the edge read clamped addresses and skip their stores.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE (bools); EPILOGUE: 0 none, 1 gelu (erf),
//   2 gelu (tanh), 3 relu, 4 tanh; WG: invocations per workgroup (64, or a smaller multiple
//   of the largest subgroup size when M is short: matmulSubgroupWorkgroup).
// Launch: workgroups enumerate (row tile, column tile) linearly, column tile fastest, spread
// over x and y (grid1d); batch in z. Accumulation is f32.

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

const R: u32 = 4u;   // rows of C per invocation
const CN: u32 = 8u;  // columns of C per workgroup (= per invocation)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> c: array<T>;

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
fn matmul_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32,
                   @builtin(subgroup_invocation_id) lane: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let tiles_n = (N + CN - 1u) / CN;
  let tiles_m = (M + WG * R - 1u) / (WG * R);
  let tile = wid.x + wid.y * nwg.x;
  let batch = wid.z;
  // Uniform over the workgroup: no lane may leave before the broadcasts.
  if (tile >= tiles_m * tiles_n || batch >= params.batch) { return; }
  let m0 = (tile / tiles_n) * (WG * R) + lid * R;
  let n0 = (tile % tiles_n) * CN;
  let base_a = batch * params.stride_a / 4u;
  let base_b = batch * params.stride_b / 4u;
  let j = lane & 7u;  // which of the 8 shared B vec4s this lane loads

  // A addressing (in vec4s): without TRANS_A, row r's k-slice at arow[r] + k/4; with TRANS_A
  // the 4 rows (m0 is a multiple of 4, M too) of k at abase + k·M/4.
  var arow: array<u32, 4>;
  for (var r = 0u; r < R; r++) { arow[r] = base_a + min(m0 + r, M - 1u) * (K / 4u); }
  let abase = base_a + min(m0, M - 4u) / 4u;
  // B addressing: with TRANS_B lane j loads column n0+j's k-slice; without, it loads
  // row k + j/2, columns n0 + 4·(j%2) .. +3.
  let bcol = base_b + min(n0 + j, N - 1u) * (K / 4u);
  let brow_kk = j / 2u;
  let brow_col = base_b + min(n0 / 4u + (j % 2u), N / 4u - 1u);

  var acc: array<vec4<f32>, 8>;  // acc[r·2 + v] = row m0+r, columns n0 + 4v .. +3
  for (var k = 0u; k < K; k += 4u) {
    // This lane's A: av[r] = A[m0+r, k .. k+3].
    var av: array<vec4<f32>, 4>;
    if (TRANS_A) {
      // K need not be a multiple of 4 here: clamp the address, zero the values past K.
      var t: array<vec4<f32>, 4>;
      for (var kk = 0u; kk < 4u; kk++) {
        let kc = k + kk;
        t[kk] = select(vec4<f32>(0.0), vec4<f32>(a[abase + min(kc, K - 1u) * (M / 4u)]), kc < K);
      }
      for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(t[0][r], t[1][r], t[2][r], t[3][r]); }
    } else {
      for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(a[arow[r] + k / 4u]); }
    }
    var mine: vec4<f32>;
    if (TRANS_B) {
      mine = vec4<f32>(b[bcol + k / 4u]);
    } else {
      mine = vec4<f32>(b[brow_col + min(k + brow_kk, K - 1u) * (N / 4u)]);
    }
    var bv: array<vec4<f32>, 8>;
    bv[0] = subgroupBroadcast(mine, 0u);
    bv[1] = subgroupBroadcast(mine, 1u);
    bv[2] = subgroupBroadcast(mine, 2u);
    bv[3] = subgroupBroadcast(mine, 3u);
    bv[4] = subgroupBroadcast(mine, 4u);
    bv[5] = subgroupBroadcast(mine, 5u);
    bv[6] = subgroupBroadcast(mine, 6u);
    bv[7] = subgroupBroadcast(mine, 7u);
    if (TRANS_B) {
      // bv[cc] = B[k .. k+3, n0+cc]; regroup (free: registers) into the layout below.
      let c0 = bv[0]; let c1 = bv[1]; let c2 = bv[2]; let c3 = bv[3];
      let c4 = bv[4]; let c5 = bv[5]; let c6 = bv[6]; let c7 = bv[7];
      bv[0] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
      bv[1] = vec4<f32>(c4.x, c5.x, c6.x, c7.x);
      bv[2] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
      bv[3] = vec4<f32>(c4.y, c5.y, c6.y, c7.y);
      bv[4] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
      bv[5] = vec4<f32>(c4.z, c5.z, c6.z, c7.z);
      bv[6] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
      bv[7] = vec4<f32>(c4.w, c5.w, c6.w, c7.w);
    }
    // bv[kk·2 + v] = B[k+kk, n0 + 4v .. +3] (rows past K multiply a zero A value).
    for (var r = 0u; r < R; r++) {
      acc[r * 2u] += av[r].x * bv[0] + av[r].y * bv[2] + av[r].z * bv[4] + av[r].w * bv[6];
      acc[r * 2u + 1u] += av[r].x * bv[1] + av[r].y * bv[3] + av[r].z * bv[5] + av[r].w * bv[7];
    }
  }

  let base_c = batch * params.stride_c;
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    for (var cc = 0u; cc < CN; cc++) {
      let n = n0 + cc;
      if (n >= N) { break; }
      store(base_c + m * N + n, epilogue(acc[r * 2u + cc / 4u][cc % 4u], n));
    }
  }
}
