// matmul, subgroup variant: C = epilogue(alpha · op(A) · op(B) + bias) [+ C], batched; with
// STORE_PRE also PRE = alpha · op(A) · op(B) + bias (before the epilogue).
// The same op, bindings, uniforms and overrides as kernels/matmul.wgsl; only the entry points
// and the vector element type of a and b (and of c for matmul_subgroup_c4) differ. It needs
// `enable subgroups;` (the generated header adds it for PipelineSpec.features ['subgroups']),
// which is why it is its own file.
//
// Bindings (group 0), entry points matmul_subgroup and matmul_subgroup_c4 (and
// matmul_subgroup_scalar_a, matmul_subgroup_scalar_a_c4, which read A as scalars, below):
//   0 params  uniform  Params (M, N, K, batch, stride_a, stride_b, stride_c: u32; alpha: f32;
//                      k_begin, k_end: u32, the k range this launch sums: 0 and K, or a chunk)
//   1 a       storage  array<T4>       op(A) (batch, M, K); stored (M, K), or (K, M) when TRANS_A
//   2 b       storage  array<T4>       op(B) (batch, K, N); stored (K, N), or (N, K) when TRANS_B
//   3 bias    storage  array<T>        (N); read only when HAS_BIAS (bind any buffer otherwise)
//   4 c       storage  array<TC>       (batch, M, N) row-major; `=`, or `+=` with ACCUMULATE; TC as
//                                      in kernels/matmul.wgsl
//                                      (matmul_subgroup_c4: array<TC4>, N and stride_c
//                                      multiples of 4, so each row's 32 columns are 8 vec4s)
//   5 pre     storage  array<T>        (batch, M, N) like c (matmul_subgroup_c4: vec4s);
//                                      `=` (never accumulated), only when STORE_PRE; statically
//                                      used, so always bound (a spare writable buffer otherwise)
//   6 partial storage array<vec4<f32>> the accumulators of a K chunk (PARTIAL_IN / PARTIAL_OUT):
//                                      R·CV vec4s per invocation, invocation-major, (batch, tile,
//                                      invocation); statically used, so always bound (a spare
//                                      writable buffer, not pre's, when K is not split)
//   7 row_sum storage array<TC>      (M) Σ_k op(A)[m, k], `=`, or `+=` with ROW_SUM_ACCUMULATE: the
//                                      matmul_subgroup_row_sum[_c4] entry points only (ROW_SUM set,
//                                      batch 1, K not split). A layer's bias gradient db = Σ dY
//                                      from its weight gradient's product dW = dYᵀ·X, whose A is
//                                      dY: in the workgroups of the first column tile each lane
//                                      adds the A values it loads anyway (4 vec4 adds per 512
//                                      FMAs) and stores the sums, instead of a two-pass kernel
//                                      re-reading dY (src/graph/fusion.ts fuseBiasGradients).
// vec4 bindings: the contiguous dim of A (K, or M with TRANS_A) and of B (N, or K with
// TRANS_B) and the batch strides stride_a, stride_b must be multiples of 4, and the bound
// slices 16-byte aligned (the launch only offers this variant then). The scalar_a entry points
// bind a as array<T> and need this of B only: BERT's vocabulary (30,522) is the contiguous
// dim of the decoder's output gradient, the A of its dX and dW products, which would otherwise
// fall to the scalar blocked kernel (10% of the FMA peak at BERT-base against 20% here).
//
// Why this shape (DESIGN.md, runtime facts): on lavapipe every storage load or store is a
// per-lane loop, so the cost is memory operations per FLOP; a subgroup shares a loaded value
// by broadcast. One invocation = R (4) consecutive rows × CN (32) columns of C, 128 f32
// accumulators. Every invocation of a workgroup works on the same CN columns; per 4-deep
// k-slice the CN columns' B values are 32 vec4s, lane j of each subgroup loads 4 of them and
// subgroupBroadcast hands them to the other lanes. A is not shared (each lane's own rows, R
// vec4 loads per k-slice): 8 loads per 512 FMAs. The k-slice is accumulated one 4-column group
// at a time, each group's B values broadcast right before use, so that the live values stay
// near lavapipe's 32 vector registers: with all of a slice's B values broadcast first, 16
// columns (6 loads per 256 FMAs) were the best and 32 spilled to 2.9× slower; one group at a
// time, 32 columns run 1.2× faster than 16 and 64 columns 0.8× (docs/benchmarks.md). The bias
// of the 32 columns is shared the same way (4 loads, not 128), and matmul_subgroup_c4 stores
// (and, accumulating, loads) C as vec4s: 32 memory operations per invocation instead of 128
// (256 with ACCUMULATE), which matters when K is small (BERT-tiny's K = 128 is 32 k-slices).
// Subgroup size: any size ≥ 8 works (lanes ≥ 8 load duplicates that nobody reads), and
// subgroups must be full (WG a multiple of the largest subgroup size); the launch checks
// limits.subgroupMinSize ≥ 8 and WG % subgroupMaxSize == 0. Which invocations form a
// subgroup does not matter: all share the columns.
// The bounds guard is per workgroup (uniform), so that every lane reaches the broadcasts;
// rows/columns past the edge read clamped addresses and skip their stores.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE, STORE_PRE, K_ALIGNED (bools); EPILOGUE: 0 none, 1 gelu (erf),
//   2 gelu (tanh), 3 relu, 4 tanh, 5-7 times gelu′, gelu_tanh′, relu′ of PRE (read; matmul-common.wgsl); WG: invocations per workgroup (64, or a smaller multiple
//   of the largest subgroup size when M is short: matmulSubgroupWorkgroup).
// Launch: workgroups enumerate (row tile, column tile) linearly, column tile fastest, spread
// over x and y (grid1d); batch in z. Accumulation is f32.
// K chunks: a long K runs as several launches over consecutive k ranges (params.k_begin ..
// k_end, multiples of 4 but the last end): the first with PARTIAL_OUT, the middle ones with
// both, the last with PARTIAL_IN. PARTIAL_OUT stores the raw accumulators to `partial` instead
// of C; PARTIAL_IN starts from them instead of zero. Every element is the same sum, added in
// the same order, as one launch over all of K: the results are bit-identical. Why: on a CPU a
// subgroup streams its 32 rows of A and the tile's 32 columns of B over all of K (256 bytes per
// k) before the next subgroup re-reads the same B; chunked, BERT-base's decoder dX (K = 30,522)
// ran 1.37–1.7× faster and its K = 4,096 weight gradients 1.07–1.3× (docs/benchmarks.md).

// #include matmul-common.wgsl

// K a multiple of 4 (every k-slice whole): the loads skip clamping k and zeroing past K, which
// costs lavapipe 5-20% at the dW shapes (docs/benchmarks.md). Only the subgroup entry points.
override K_ALIGNED: bool = false;
// K chunks (above): start from / store to the partial accumulators instead of zero / C.
// Overrides, not uniforms: an unchunked pipeline then compiles without either path (as
// uniforms they tripled lavapipe's compile time of every matmul pipeline).
override PARTIAL_IN: bool = false;
override PARTIAL_OUT: bool = false;
// Row sums of op(A) (binding 7, above).
override ROW_SUM: bool = false;
override ROW_SUM_ACCUMULATE: bool = false;

const R: u32 = 4u;    // rows of C per invocation
const CN: u32 = 32u;  // columns of C per workgroup (= per invocation)
const CV: u32 = 8u;   // vec4s per row of the tile (CN / 4)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<T4>;
@group(0) @binding(2) var<storage, read> b: array<T4>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> c: array<TC>;
@group(0) @binding(5) var<storage, read_write> pre: array<T>;
// The same bindings 4 and 5 seen as vec4s, for matmul_subgroup_c4 only (an entry point uses
// one view).
@group(0) @binding(4) var<storage, read_write> c4: array<TC4>;
@group(0) @binding(5) var<storage, read_write> pre4: array<T4>;
// Binding 1 seen as scalars, for the scalar_a entry points only.
@group(0) @binding(1) var<storage, read> a1: array<T>;
@group(0) @binding(6) var<storage, read_write> partial: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> row_sum: array<TC>;

// Four elements of A or B from their buffer view (T4: the header's; for f16 two u32 words).
fn load_a(i: u32) -> vec4<f32> { return vec4<f32>(bitcast<vec4<T>>(a[i])); }
fn load_b(i: u32) -> vec4<f32> { return vec4<f32>(bitcast<vec4<T>>(b[i])); }

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// erf_approx4 (Abramowitz–Stegun 7.1.26, 1.5e-7 absolute error: below f32 resolution for GELU)
// and the backward epilogues' act_grad4 are in kernels/matmul-common.wgsl.

// Four columns at once; bv is their bias (zero without HAS_BIAS): the pre-activation.
fn scale_bias(v: vec4<f32>, bv: vec4<f32>) -> vec4<f32> {
  var x = v * params.alpha;
  if (HAS_BIAS) { x = x + bv; }
  return x;
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  var x = v;
  switch (EPILOGUE) {
    case 1u: { x = 0.5 * x * (1.0 + erf_approx4(x * 0.7071067811865476)); }
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
  slot: u32,                        // first vec4 of this invocation's accumulators in `partial`
  acc: array<vec4<f32>, 32>,        // acc[r·CV + v] = row m0+r, columns n0 + 4v .. +3
  bias: array<vec4<f32>, 8>,        // bias[v] = bias of columns n0 + 4v .. +3 (clamped)
  row_sum: vec4<f32>,               // with ROW_SUM: Σ_k op(A)[m0 + r, k] for r = 0..3
}

// Whether the workgroup has a tile (uniform: built from uniform values only, so the analysis
// lets every lane go on to the broadcasts after an early return on it).
fn tile_live(wid: vec3<u32>, nwg: vec3<u32>) -> bool {
  let tiles_n = (params.N + CN - 1u) / CN;
  let tiles_m = (params.M + WG * R - 1u) / (WG * R);
  return wid.x + wid.y * nwg.x < tiles_m * tiles_n && wid.z < params.batch;
}

// Lanes 0..3 (4..7) of a scalar as a vec4.
fn broadcast_low(x: f32) -> vec4<f32> {
  return vec4<f32>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u));
}

fn broadcast_high(x: f32) -> vec4<f32> {
  return vec4<f32>(subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
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
  let tiles = ((M + WG * R - 1u) / (WG * R)) * tiles_n;
  out.slot = ((batch * tiles + tile) * WG + lid) * (R * CV);
  if (PARTIAL_IN) {
    for (var i = 0u; i < R * CV; i++) { out.acc[i] = partial[out.slot + i]; }
  }
  let j = lane & 7u;
  if (HAS_BIAS) {
    // Lane j loads the bias of columns n0 + 8i + j (i = 0..3); broadcasts share all 32.
    let b0 = f32(bias[min(n0 + j, N - 1u)]);
    let b1 = f32(bias[min(n0 + 8u + j, N - 1u)]);
    let b2 = f32(bias[min(n0 + 16u + j, N - 1u)]);
    let b3 = f32(bias[min(n0 + 24u + j, N - 1u)]);
    out.bias[0] = broadcast_low(b0);
    out.bias[1] = broadcast_high(b0);
    out.bias[2] = broadcast_low(b1);
    out.bias[3] = broadcast_high(b1);
    out.bias[4] = broadcast_low(b2);
    out.bias[5] = broadcast_high(b2);
    out.bias[6] = broadcast_low(b3);
    out.bias[7] = broadcast_high(b3);
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

// accumulate_cols with the k-slices lanes 0..3 (4..7) of m hold.
fn columns_0123(t: ptr<function, Tile>, av: array<vec4<f32>, 4>, v: u32, m: vec4<f32>) {
  accumulate_cols(t, av, v, subgroupBroadcast(m, 0u), subgroupBroadcast(m, 1u), subgroupBroadcast(m, 2u), subgroupBroadcast(m, 3u));
}

fn columns_4567(t: ptr<function, Tile>, av: array<vec4<f32>, 4>, v: u32, m: vec4<f32>) {
  accumulate_cols(t, av, v, subgroupBroadcast(m, 4u), subgroupBroadcast(m, 5u), subgroupBroadcast(m, 6u), subgroupBroadcast(m, 7u));
}

// Where this lane's share of B lies (in vec4s): with TRANS_B the k-slices of columns
// n0 + 8i + j (i = 0..3) start at bcol[i]; without, the j-th vec4 of B's row k (the columns
// n0 + 4j .. +3) is at the returned index + k·N/4. j = lane % 8.
fn b_addresses(bcol: ptr<function, array<u32, 4>>, n0: u32, batch: u32, lane: u32) -> u32 {
  let N = params.N;
  let K = params.K;
  let base_b = batch * params.stride_b / 4u;
  let j = lane & 7u;
  for (var i = 0u; i < 4u; i++) { (*bcol)[i] = base_b + min(n0 + 8u * i + j, N - 1u) * (K / 4u); }
  return base_b + min(n0 / 4u + j, N / 4u - 1u);
}

// The 4-deep k-slice at k for this lane's rows av[r] = A[m0+r, k .. k+3]: its share of B is
// loaded, broadcast one 4-column group at a time and accumulated.
fn b_slice(t: ptr<function, Tile>, av: array<vec4<f32>, 4>, k: u32, bcol: array<u32, 4>, brow: u32) {
  let N = params.N;
  let K = params.K;
  var mine: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    if (TRANS_B) {
      mine[i] = load_b(bcol[i] + k / 4u);
    } else if (K_ALIGNED) {
      mine[i] = load_b(brow + (k + i) * (N / 4u));
    } else {
      mine[i] = load_b(brow + min(k + i, K - 1u) * (N / 4u));
    }
  }
  // (Rows past K multiply a zero A value.) Whole vectors: an indexed one would make lavapipe
  // keep the accumulators in memory.
  let m0v = mine[0];
  let m1v = mine[1];
  let m2v = mine[2];
  let m3v = mine[3];
  if (TRANS_B) {
    // Lane l of miv holds B[k .. k+3, n0 + 8i + l].
    columns_0123(t, av, 0u, m0v);
    columns_4567(t, av, 1u, m0v);
    columns_0123(t, av, 2u, m1v);
    columns_4567(t, av, 3u, m1v);
    columns_0123(t, av, 4u, m2v);
    columns_4567(t, av, 5u, m2v);
    columns_0123(t, av, 6u, m3v);
    columns_4567(t, av, 7u, m3v);
  } else {
    // Lane v of mkk holds B[k+kk, n0 + 4v .. +3].
    accumulate_rows(t, av, 0u, subgroupBroadcast(m0v, 0u), subgroupBroadcast(m1v, 0u), subgroupBroadcast(m2v, 0u), subgroupBroadcast(m3v, 0u));
    accumulate_rows(t, av, 1u, subgroupBroadcast(m0v, 1u), subgroupBroadcast(m1v, 1u), subgroupBroadcast(m2v, 1u), subgroupBroadcast(m3v, 1u));
    accumulate_rows(t, av, 2u, subgroupBroadcast(m0v, 2u), subgroupBroadcast(m1v, 2u), subgroupBroadcast(m2v, 2u), subgroupBroadcast(m3v, 2u));
    accumulate_rows(t, av, 3u, subgroupBroadcast(m0v, 3u), subgroupBroadcast(m1v, 3u), subgroupBroadcast(m2v, 3u), subgroupBroadcast(m3v, 3u));
    accumulate_rows(t, av, 4u, subgroupBroadcast(m0v, 4u), subgroupBroadcast(m1v, 4u), subgroupBroadcast(m2v, 4u), subgroupBroadcast(m3v, 4u));
    accumulate_rows(t, av, 5u, subgroupBroadcast(m0v, 5u), subgroupBroadcast(m1v, 5u), subgroupBroadcast(m2v, 5u), subgroupBroadcast(m3v, 5u));
    accumulate_rows(t, av, 6u, subgroupBroadcast(m0v, 6u), subgroupBroadcast(m1v, 6u), subgroupBroadcast(m2v, 6u), subgroupBroadcast(m3v, 6u));
    accumulate_rows(t, av, 7u, subgroupBroadcast(m0v, 7u), subgroupBroadcast(m1v, 7u), subgroupBroadcast(m2v, 7u), subgroupBroadcast(m3v, 7u));
  }
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

  // A addressing (in vec4s): without TRANS_A, row r's k-slice at arow[r] + k/4; with TRANS_A
  // the 4 rows (m0 is a multiple of 4, M too) of k at abase + k·M/4.
  var arow: array<u32, 4>;
  for (var r = 0u; r < R; r++) { arow[r] = base_a + min(m0 + r, M - 1u) * (K / 4u); }
  let abase = base_a + min(m0, M - 4u) / 4u;
  var bcol: array<u32, 4>;
  let brow = b_addresses(&bcol, n0, batch, lane);

  for (var k = params.k_begin; k < params.k_end; k += 4u) {
    // This lane's A: av[r] = A[m0+r, k .. k+3].
    var av: array<vec4<f32>, 4>;
    if (TRANS_A) {
      // K need not be a multiple of 4 here: clamp the address, zero the values past K.
      var t: array<vec4<f32>, 4>;
      for (var kk = 0u; kk < 4u; kk++) {
        let kc = k + kk;
        if (K_ALIGNED) {
          t[kk] = load_a(abase + kc * (M / 4u));
        } else {
          t[kk] = select(vec4<f32>(0.0), load_a(abase + min(kc, K - 1u) * (M / 4u)), kc < K);
        }
      }
      for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(t[0][r], t[1][r], t[2][r], t[3][r]); }
    } else {
      for (var r = 0u; r < R; r++) { av[r] = load_a(arow[r] + k / 4u); }
    }
    if (ROW_SUM && n0 == 0u) {
      // In k order, one k at a time (values past K are zero); only the first column tile stores
      // them, so only it sums (uniform per workgroup; summing everywhere cost 5-10% at tiny.yaml's dW shapes).
      for (var kk = 0u; kk < 4u; kk++) { out.row_sum += vec4<f32>(av[0][kk], av[1][kk], av[2][kk], av[3][kk]); }
    }
    b_slice(&out, av, k, bcol, brow);
  }
  return out;
}

// product() with A read one element at a time (any layout, K, M and stride_a): the same
// values in the same order, so the two agree bit for bit where both apply.
fn product_scalar_a(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, lane: u32) -> Tile {
  var out = start_tile(wid, nwg, lid, lane);
  if (!tile_live(wid, nwg)) { return out; }
  let M = params.M;
  let K = params.K;
  let base_a = wid.z * params.stride_a;
  var bcol: array<u32, 4>;
  let brow = b_addresses(&bcol, out.n0, wid.z, lane);
  for (var k = params.k_begin; k < params.k_end; k += 4u) {
    var av: array<vec4<f32>, 4>;
    for (var r = 0u; r < R; r++) {
      // Rows past M repeat the last one (never stored); k past K reads zero.
      let m = min(out.m0 + r, M - 1u);
      var v = vec4<f32>(0.0);
      for (var kk = 0u; kk < 4u; kk++) {
        let kc = min(k + kk, K - 1u);
        let at = select(base_a + m * K + kc, base_a + kc * M + m, TRANS_A);
        v[kk] = select(0.0, f32(a1[at]), k + kk < K);
      }
      av[r] = v;
    }
    b_slice(&out, av, k, bcol, brow);
  }
  return out;
}

// A K chunk's accumulators, raw (no alpha, bias or epilogue: the last chunk applies them).
fn store_partial(t: Tile) {
  for (var i = 0u; i < R * CV; i++) { partial[t.slot + i] = t.acc[i]; }
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
        var ei = e[i];
        if (is_grad_epilogue()) { ei = x[i] * act_grad4(vec4<f32>(f32(pre[index]))).x; }
        if (ACCUMULATE) { c[index] = TC(f32(c[index]) + ei); } else { c[index] = TC(ei); }
      }
    }
  }
}

// N and stride_c multiples of 4: vec4 stores (a row's 32 columns are 8 whole vec4s or fewer).
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
      var e = activate(x);
      let index = (t.base_c + m * N + n) / 4u;
      if (STORE_PRE) { pre4[index] = bitcast<T4>(vec4<T>(x)); }
      if (is_grad_epilogue()) { e = x * act_grad4(vec4<f32>(bitcast<vec4<T>>(pre4[index]))); }
      if (ACCUMULATE) { c4[index] = bitcast<TC4>(vec4<TC>(vec4<f32>(bitcast<vec4<TC>>(c4[index])) + e)); } else { c4[index] = bitcast<TC4>(vec4<TC>(e)); }
    }
  }
}

@compute @workgroup_size(WG)
fn matmul_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32,
                   @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { if (PARTIAL_OUT) { store_partial(t); } else { store(t); } }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_c4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32,
                      @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { if (PARTIAL_OUT) { store_partial(t); } else { store_c4(t); } }
}

// Row sums: the workgroups of the first column tile (the ones that summed) store their rows'.
fn store_row_sum(t: Tile) {
  if (t.n0 != 0u) { return; }
  for (var r = 0u; r < R; r++) {
    let m = t.m0 + r;
    if (m >= params.M) { break; }
    if (ROW_SUM_ACCUMULATE) { row_sum[m] = TC(f32(row_sum[m]) + t.row_sum[r]); } else { row_sum[m] = TC(t.row_sum[r]); }
  }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_row_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32,
                           @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { store(t); store_row_sum(t); }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_row_sum_c4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32,
                              @builtin(subgroup_invocation_id) lane: u32) {
  let t = product(wid, nwg, lid, lane);
  if (t.live) { store_c4(t); store_row_sum(t); }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_scalar_a(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32,
                            @builtin(subgroup_invocation_id) lane: u32) {
  let t = product_scalar_a(wid, nwg, lid, lane);
  if (t.live) { if (PARTIAL_OUT) { store_partial(t); } else { store(t); } }
}

@compute @workgroup_size(WG)
fn matmul_subgroup_scalar_a_c4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_index) lid: u32,
                               @builtin(subgroup_invocation_id) lane: u32) {
  let t = product_scalar_a(wid, nwg, lid, lane);
  if (t.live) { if (PARTIAL_OUT) { store_partial(t); } else { store_c4(t); } }
}
