// matmul, subgroup variant: C = epilogue(alpha · op(A) · op(B) + bias) [+ C], batched; with
// STORE_PRE also PRE = alpha · op(A) · op(B) + bias (before the epilogue).
// The same op, bindings, uniforms and overrides as kernels/matmul.wgsl; only the entry points
// and the vector element type of a and b (and of c for matmul_subgroup_c4) differ. It needs
// `enable subgroups;` (the generated header adds it for PipelineSpec.features ['subgroups']),
// which is why it is its own file.
//
// Bindings (group 0), entry points matmul_subgroup and matmul_subgroup_c4 (and the packed pair
// below: matmul_subgroup_packed, matmul_subgroup_packed_c4):
//   0 params  uniform  Params (M, N, K, batch, stride_a, stride_b, stride_c: u32; alpha: f32)
//   1 a       storage  array<vec4<T>>  op(A) (batch, M, K); stored (M, K), or (K, M) when TRANS_A
//   2 b       storage  array<vec4<T>>  op(B) (batch, K, N); stored (K, N), or (N, K) when TRANS_B
//   3 bias    storage  array<T>        (N); read only when HAS_BIAS (bind any buffer otherwise)
//   4 c       storage  array<TC>       (batch, M, N) row-major; `=`, or `+=` with ACCUMULATE; TC as
//                                      in kernels/matmul.wgsl
//                                      (matmul_subgroup_c4: array<vec4<TC>>, N and stride_c
//                                      multiples of 4, so each row's 16 columns are 4 vec4s)
//   5 pre     storage  array<T>        (batch, M, N) like c (matmul_subgroup_c4: vec4s);
//                                      `=` (never accumulated), only when STORE_PRE; statically
//                                      used, so always bound (a spare writable buffer otherwise)
// vec4 bindings: the contiguous dim of A (K, or M with TRANS_A) and of B (N, or K with
// TRANS_B) and the batch strides stride_a, stride_b must be multiples of 4, and the bound
// slices 16-byte aligned (the launch only offers this variant then).
//
// Why this shape (DESIGN.md, runtime facts): on lavapipe every storage load or store is a
// per-lane loop, so the cost is memory operations per FLOP; a subgroup shares a loaded value
// by broadcast. One invocation = R (4) consecutive rows × CN (16) columns of C, 64 f32
// accumulators. Every invocation of a workgroup works on the same CN columns; per 4-deep
// k-slice the CN columns' B values are 16 vec4s, lane j of each subgroup loads vec4s j and
// j + 8 and subgroupBroadcast hands them to the other lanes. A is not shared (each lane's own
// rows, R vec4 loads per k-slice): 6 loads per 256 FMAs (4 rows × 8 columns took 5 per 128;
// 16 columns measured 1.5–2× faster on lavapipe at BERT-tiny and BERT-base shapes, despite
// the register pressure; 32 columns or 8 rows lost). The bias of the 16 columns is shared
// the same way (2 loads, not 64), and matmul_subgroup_c4 stores (and, accumulating, loads)
// C as vec4s: 16 memory operations per invocation instead of 64 (128 with ACCUMULATE), which
// matters when K is small (BERT-tiny's K = 128 is 32 k-slices).
// Subgroup size: any size ≥ 8 works (lanes ≥ 8 load a duplicate that nobody reads), and
// subgroups must be full (WG a multiple of the largest subgroup size); the launch checks
// limits.subgroupMinSize ≥ 8 and WG % subgroupMaxSize == 0. Which invocations form a
// subgroup does not matter: all share the columns.
// The bounds guard is per workgroup (uniform), so that every lane reaches the broadcasts;
// rows/columns past the edge read clamped addresses and skip their stores.
// Packed (T = f16 only; no TRANS_A; K, B's contiguous dim and both batch strides multiples of
// 8): a and b are read as array<vec4<u32>>, 8 halves per load (unpack2x16float), half the
// loads per FMA of vec4<f16>: lavapipe turns each storage load into a loop over the lanes, so
// loads, not FMAs, are what a matmul costs there (docs/benchmarks.md). Each 8-deep k-slice is
// two 4-deep halves that unpack to exactly the values and FMA order of matmul_subgroup, so the
// two give bit-identical results.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE, STORE_PRE, K_ALIGNED (bools); EPILOGUE: 0 none, 1 gelu (erf),
//   2 gelu (tanh), 3 relu, 4 tanh; WG: invocations per workgroup (64, or a smaller multiple
//   of the largest subgroup size when M is short: matmulSubgroupWorkgroup).
// Launch: workgroups enumerate (row tile, column tile) linearly, column tile fastest, spread
// over x and y (grid1d); batch in z. Accumulation is f32.

// #include matmul-common.wgsl

// K a multiple of 4 (every k-slice whole): the loads skip clamping k and zeroing past K, which
// costs lavapipe 5-20% at the dW shapes (docs/benchmarks.md). Only the subgroup entry points.
override K_ALIGNED: bool = false;

const R: u32 = 4u;    // rows of C per invocation
const CN: u32 = 16u;  // columns of C per workgroup (= per invocation)
const CV: u32 = 4u;   // vec4s per row of the tile (CN / 4)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> c: array<TC>;
@group(0) @binding(5) var<storage, read_write> pre: array<T>;
// The same bindings 4 and 5 seen as vec4s, for matmul_subgroup_c4 only (an entry point uses
// one view).
@group(0) @binding(4) var<storage, read_write> c4: array<vec4<TC>>;
@group(0) @binding(5) var<storage, read_write> pre4: array<vec4<T>>;
// Bindings 1 and 2 seen as packed halves, for the packed entry points only.
@group(0) @binding(1) var<storage, read> a8: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> b8: array<vec4<u32>>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// erf by Abramowitz–Stegun 7.1.26 has 1.5e-7 absolute error: below f32 resolution for GELU.
fn erf_approx(x: vec4<f32>) -> vec4<f32> {
  let s = sign(x);
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return s * y;
}

// Four columns at once; bv is their bias (zero without HAS_BIAS): the pre-activation.
fn scale_bias(v: vec4<f32>, bv: vec4<f32>) -> vec4<f32> {
  var x = v * params.alpha;
  if (HAS_BIAS) { x = x + bv; }
  return x;
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  var x = v;
  switch (EPILOGUE) {
    case 1u: { x = 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 2u: { x = 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
    case 3u: { x = max(x, vec4<f32>(0.0)); }
    case 4u: { x = tanh(x); }
    default: {}
  }
  return x;
}

// One invocation's share of C before the epilogue, and where it goes.
struct Tile {
  live: bool,                       // false: the workgroup is past the grid (uniform)
  m0: u32,                          // first row
  n0: u32,                          // first column
  base_c: u32,                      // batch offset of C, elements
  acc: array<vec4<f32>, 16>,        // acc[r·CV + v] = row m0+r, columns n0 + 4v .. +3
  bias: array<vec4<f32>, 4>,        // bias[v] = bias of columns n0 + 4v .. +3 (clamped)
}

// Whether the workgroup has a tile (uniform: built from uniform values only, so the analysis
// lets every lane go on to the broadcasts after an early return on it).
fn tile_live(wid: vec3<u32>, nwg: vec3<u32>) -> bool {
  let tiles_n = (params.N + CN - 1u) / CN;
  let tiles_m = (params.M + WG * R - 1u) / (WG * R);
  return wid.x + wid.y * nwg.x < tiles_m * tiles_n && wid.z < params.batch;
}

// Where this invocation's tile lies, and the bias of its columns (shared by broadcast).
fn start_tile(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, lane: u32) -> Tile {
  var out: Tile;
  let M = params.M;
  let N = params.N;
  let tiles_n = (N + CN - 1u) / CN;
  let tile = wid.x + wid.y * nwg.x;
  let batch = wid.z;
  // Uniform over the workgroup: no lane may leave before the broadcasts.
  out.live = tile_live(wid, nwg);
  if (!out.live) { return out; }
  let m0 = (tile / tiles_n) * (WG * R) + lid * R;
  let n0 = (tile % tiles_n) * CN;
  out.m0 = m0;
  out.n0 = n0;
  out.base_c = batch * params.stride_c;
  let j = lane & 7u;
  if (HAS_BIAS) {
    // Lane j loads the bias of columns n0 + j and n0 + 8 + j; broadcasts share all 16.
    let b0 = f32(bias[min(n0 + j, N - 1u)]);
    let b1 = f32(bias[min(n0 + 8u + j, N - 1u)]);
    out.bias[0] = vec4<f32>(subgroupBroadcast(b0, 0u), subgroupBroadcast(b0, 1u), subgroupBroadcast(b0, 2u), subgroupBroadcast(b0, 3u));
    out.bias[1] = vec4<f32>(subgroupBroadcast(b0, 4u), subgroupBroadcast(b0, 5u), subgroupBroadcast(b0, 6u), subgroupBroadcast(b0, 7u));
    out.bias[2] = vec4<f32>(subgroupBroadcast(b1, 0u), subgroupBroadcast(b1, 1u), subgroupBroadcast(b1, 2u), subgroupBroadcast(b1, 3u));
    out.bias[3] = vec4<f32>(subgroupBroadcast(b1, 4u), subgroupBroadcast(b1, 5u), subgroupBroadcast(b1, 6u), subgroupBroadcast(b1, 7u));
  }
  return out;
}

// One 4-deep k-slice for the 4 columns n0 + 4v .. +3: av[r] = A[m0+r, k .. k+3], bj = B[k+j,
// those columns]. A k-slice is four calls, one per column group, each with its B values fresh
// from the broadcasts: all 16 vec4s at once (64 registers, with 64 accumulators and 16 A
// values) spilled more, 5-15% slower on lavapipe (docs/benchmarks.md). Same sums, same order.
fn accumulate_rows(t: ptr<function, Tile>, av: array<vec4<f32>, 4>, v: u32, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) {
  for (var r = 0u; r < R; r++) {
    (*t).acc[r * CV + v] += av[r].x * b0 + av[r].y * b1 + av[r].z * b2 + av[r].w * b3;
  }
}

// The same from the 4 columns' k-slices: ci = B[k .. k+3, n0 + 4v + i].
fn accumulate_cols(t: ptr<function, Tile>, av: array<vec4<f32>, 4>, v: u32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>) {
  accumulate_rows(t, av, v, vec4<f32>(c0.x, c1.x, c2.x, c3.x), vec4<f32>(c0.y, c1.y, c2.y, c3.y), vec4<f32>(c0.z, c1.z, c2.z, c3.z), vec4<f32>(c0.w, c1.w, c2.w, c3.w));
}

fn product(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, lane: u32) -> Tile {
  var out = start_tile(wid, nwg, lid, lane);
  if (!tile_live(wid, nwg)) { return out; }
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let m0 = out.m0;
  let n0 = out.n0;
  let batch = wid.z;
  let base_a = batch * params.stride_a / 4u;
  let base_b = batch * params.stride_b / 4u;
  let j = lane & 7u;  // this lane loads shared B vec4s j and j + 8

  // A addressing (in vec4s): without TRANS_A, row r's k-slice at arow[r] + k/4; with TRANS_A
  // the 4 rows (m0 is a multiple of 4, M too) of k at abase + k·M/4.
  var arow: array<u32, 4>;
  for (var r = 0u; r < R; r++) { arow[r] = base_a + min(m0 + r, M - 1u) * (K / 4u); }
  let abase = base_a + min(m0, M - 4u) / 4u;
  // B addressing: lane j loads q = j and q = j + 8. With TRANS_B, q is column n0+q's k-slice;
  // without, q = kk·4 + v is row k+kk, columns n0 + 4v .. +3.
  let bcol0 = base_b + min(n0 + j, N - 1u) * (K / 4u);
  let bcol1 = base_b + min(n0 + 8u + j, N - 1u) * (K / 4u);
  let brow_kk = j / 4u;  // q = j: rows k, k+1; q = j + 8: rows k+2, k+3
  let brow_col = base_b + min(n0 / 4u + (j % 4u), N / 4u - 1u);

  for (var k = 0u; k < K; k += 4u) {
    // This lane's A: av[r] = A[m0+r, k .. k+3].
    var av: array<vec4<f32>, 4>;
    if (TRANS_A) {
      // K need not be a multiple of 4 here: clamp the address, zero the values past K.
      var t: array<vec4<f32>, 4>;
      for (var kk = 0u; kk < 4u; kk++) {
        let kc = k + kk;
        if (K_ALIGNED) {
          t[kk] = vec4<f32>(a[abase + kc * (M / 4u)]);
        } else {
          t[kk] = select(vec4<f32>(0.0), vec4<f32>(a[abase + min(kc, K - 1u) * (M / 4u)]), kc < K);
        }
      }
      for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(t[0][r], t[1][r], t[2][r], t[3][r]); }
    } else {
      for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(a[arow[r] + k / 4u]); }
    }
    var mine0: vec4<f32>;
    var mine1: vec4<f32>;
    if (TRANS_B) {
      mine0 = vec4<f32>(b[bcol0 + k / 4u]);
      mine1 = vec4<f32>(b[bcol1 + k / 4u]);
    } else {
      if (K_ALIGNED) {
        mine0 = vec4<f32>(b[brow_col + (k + brow_kk) * (N / 4u)]);
        mine1 = vec4<f32>(b[brow_col + (k + 2u + brow_kk) * (N / 4u)]);
      } else {
        mine0 = vec4<f32>(b[brow_col + min(k + brow_kk, K - 1u) * (N / 4u)]);
        mine1 = vec4<f32>(b[brow_col + min(k + 2u + brow_kk, K - 1u) * (N / 4u)]);
      }
    }
    if (TRANS_B) {
      // Lane l of mine0 (mine1) holds B[k .. k+3, n0 + l (8 + l)] (rows past K meet a zero A).
      accumulate_cols(&out, av, 0u, subgroupBroadcast(mine0, 0u), subgroupBroadcast(mine0, 1u), subgroupBroadcast(mine0, 2u), subgroupBroadcast(mine0, 3u));
      accumulate_cols(&out, av, 1u, subgroupBroadcast(mine0, 4u), subgroupBroadcast(mine0, 5u), subgroupBroadcast(mine0, 6u), subgroupBroadcast(mine0, 7u));
      accumulate_cols(&out, av, 2u, subgroupBroadcast(mine1, 0u), subgroupBroadcast(mine1, 1u), subgroupBroadcast(mine1, 2u), subgroupBroadcast(mine1, 3u));
      accumulate_cols(&out, av, 3u, subgroupBroadcast(mine1, 4u), subgroupBroadcast(mine1, 5u), subgroupBroadcast(mine1, 6u), subgroupBroadcast(mine1, 7u));
    } else {
      // Lane kk·4 + v of mine0 holds B[k+kk, n0 + 4v .. +3], of mine1 B[k+2+kk, ...].
      accumulate_rows(&out, av, 0u, subgroupBroadcast(mine0, 0u), subgroupBroadcast(mine0, 4u), subgroupBroadcast(mine1, 0u), subgroupBroadcast(mine1, 4u));
      accumulate_rows(&out, av, 1u, subgroupBroadcast(mine0, 1u), subgroupBroadcast(mine0, 5u), subgroupBroadcast(mine1, 1u), subgroupBroadcast(mine1, 5u));
      accumulate_rows(&out, av, 2u, subgroupBroadcast(mine0, 2u), subgroupBroadcast(mine0, 6u), subgroupBroadcast(mine1, 2u), subgroupBroadcast(mine1, 6u));
      accumulate_rows(&out, av, 3u, subgroupBroadcast(mine0, 3u), subgroupBroadcast(mine0, 7u), subgroupBroadcast(mine1, 3u), subgroupBroadcast(mine1, 7u));
    }
  }
  return out;
}

fn unpack4(p: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));
}

// A 4-deep half of a packed 8-deep k-slice. a4[r]: this lane's A (row m0+r, 4 halves); bq: this
// lane's share of B (TRANS_B: .xy column n0+j, .zw column n0+8+j, 4 halves each; otherwise one
// row, 8 columns: lane l holds row l/2, columns n0 + 8(l%2) .. +7). Broadcast per column group
// as in product().
fn packed_half(t: ptr<function, Tile>, a4: array<vec2<u32>, 4>, bq: vec4<u32>) {
  var av: array<vec4<f32>, 4>;
  for (var r = 0u; r < R; r++) { av[r] = unpack4(a4[r]); }
  if (TRANS_B) {
    // Lanes 0..3: columns n0 + 0..3 (.xy) and n0 + 8..11 (.zw); lanes 4..7 the next four.
    let s0 = subgroupBroadcast(bq, 0u);
    let s1 = subgroupBroadcast(bq, 1u);
    let s2 = subgroupBroadcast(bq, 2u);
    let s3 = subgroupBroadcast(bq, 3u);
    accumulate_cols(t, av, 0u, unpack4(s0.xy), unpack4(s1.xy), unpack4(s2.xy), unpack4(s3.xy));
    accumulate_cols(t, av, 2u, unpack4(s0.zw), unpack4(s1.zw), unpack4(s2.zw), unpack4(s3.zw));
    let s4 = subgroupBroadcast(bq, 4u);
    let s5 = subgroupBroadcast(bq, 5u);
    let s6 = subgroupBroadcast(bq, 6u);
    let s7 = subgroupBroadcast(bq, 7u);
    accumulate_cols(t, av, 1u, unpack4(s4.xy), unpack4(s5.xy), unpack4(s6.xy), unpack4(s7.xy));
    accumulate_cols(t, av, 3u, unpack4(s4.zw), unpack4(s5.zw), unpack4(s6.zw), unpack4(s7.zw));
  } else {
    // Even lanes: rows k .. k+3, columns n0 .. +7 (.xy n0 .. +3, .zw n0+4 .. +7); odd lanes
    // the columns n0 + 8 .. +15.
    let e0 = subgroupBroadcast(bq, 0u);
    let e1 = subgroupBroadcast(bq, 2u);
    let e2 = subgroupBroadcast(bq, 4u);
    let e3 = subgroupBroadcast(bq, 6u);
    accumulate_rows(t, av, 0u, unpack4(e0.xy), unpack4(e1.xy), unpack4(e2.xy), unpack4(e3.xy));
    accumulate_rows(t, av, 1u, unpack4(e0.zw), unpack4(e1.zw), unpack4(e2.zw), unpack4(e3.zw));
    let o0 = subgroupBroadcast(bq, 1u);
    let o1 = subgroupBroadcast(bq, 3u);
    let o2 = subgroupBroadcast(bq, 5u);
    let o3 = subgroupBroadcast(bq, 7u);
    accumulate_rows(t, av, 2u, unpack4(o0.xy), unpack4(o1.xy), unpack4(o2.xy), unpack4(o3.xy));
    accumulate_rows(t, av, 3u, unpack4(o0.zw), unpack4(o1.zw), unpack4(o2.zw), unpack4(o3.zw));
  }
}

fn product_packed(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, lane: u32) -> Tile {
  var out = start_tile(wid, nwg, lid, lane);
  if (!tile_live(wid, nwg)) { return out; }
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let batch = wid.z;
  let base_a = batch * params.stride_a / 8u;
  let base_b = batch * params.stride_b / 8u;
  let j = lane & 7u;
  var arow: array<u32, 4>;
  for (var r = 0u; r < R; r++) { arow[r] = base_a + min(out.m0 + r, M - 1u) * (K / 8u); }
  // TRANS_B: lane j loads columns n0+j and n0+8+j (8 k each). Otherwise rows k + j/2 and
  // k + 4 + j/2, 8 columns n0 + 8(j%2) .. +7 each (K is a multiple of 8: no row past it).
  let bcol0 = base_b + min(out.n0 + j, N - 1u) * (K / 8u);
  let bcol1 = base_b + min(out.n0 + 8u + j, N - 1u) * (K / 8u);
  let brow = base_b + (j / 2u) * (N / 8u) + min(out.n0 / 8u + (j % 2u), N / 8u - 1u);
  for (var k = 0u; k < K; k += 8u) {
    var ap: array<vec4<u32>, 4>;
    for (var r = 0u; r < R; r++) { ap[r] = a8[arow[r] + k / 8u]; }
    var lo: array<vec2<u32>, 4>;
    var hi: array<vec2<u32>, 4>;
    for (var r = 0u; r < R; r++) {
      lo[r] = ap[r].xy;
      hi[r] = ap[r].zw;
    }
    if (TRANS_B) {
      let c0 = b8[bcol0 + k / 8u];
      let c1 = b8[bcol1 + k / 8u];
      packed_half(&out, lo, vec4<u32>(c0.xy, c1.xy));
      packed_half(&out, hi, vec4<u32>(c0.zw, c1.zw));
    } else {
      packed_half(&out, lo, b8[brow + k * (N / 8u)]);
      packed_half(&out, hi, b8[brow + (k + 4u) * (N / 8u)]);
    }
  }
  return out;
}

// Any N: scalar stores.
fn store(t: Tile) {
  let M = params.M;
  let N = params.N;
  for (var r = 0u; r < R; r++) {
    let m = t.m0 + r;
    if (m >= M) { break; }
    for (var v = 0u; v < CV; v++) {
      let x = scale_bias(t.acc[r * CV + v], t.bias[v]);
      let e = activate(x);
      for (var i = 0u; i < 4u; i++) {
        let n = t.n0 + 4u * v + i;
        if (n >= N) { break; }
        let index = t.base_c + m * N + n;
        if (STORE_PRE) { pre[index] = T(x[i]); }
        if (ACCUMULATE) { c[index] = TC(f32(c[index]) + e[i]); } else { c[index] = TC(e[i]); }
      }
    }
  }
}

// N and stride_c multiples of 4: vec4 stores (a row's 16 columns are 4 whole vec4s or fewer).
fn store_c4(t: Tile) {
  let M = params.M;
  let N = params.N;
  for (var r = 0u; r < R; r++) {
    let m = t.m0 + r;
    if (m >= M) { break; }
    for (var v = 0u; v < CV; v++) {
      let n = t.n0 + 4u * v;
      if (n >= N) { break; }
      let x = scale_bias(t.acc[r * CV + v], t.bias[v]);
      let e = activate(x);
      let index = (t.base_c + m * N + n) / 4u;
      if (STORE_PRE) { pre4[index] = vec4<T>(x); }
      if (ACCUMULATE) { c4[index] = vec4<TC>(vec4<f32>(c4[index]) + e); } else { c4[index] = vec4<TC>(e); }
    }
  }
}

@compute @workgroup_size(WG)
fn matmul_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32,
                   @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { store(t); }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_c4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32,
                      @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { store_c4(t); }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_packed(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32,
                          @builtin(subgroup_invocation_id) lane: u32) {
  let t = product_packed(wid, nwg, lid, lane);
  if (t.live) { store(t); }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_packed_c4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32,
                             @builtin(subgroup_invocation_id) lane: u32) {
  let t = product_packed(wid, nwg, lid, lane);
  if (t.live) { store_c4(t); }
}
