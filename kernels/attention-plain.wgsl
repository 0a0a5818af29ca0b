// attention-plain: the multi-head self-attention core without subgroups, a drop-in replacement for
// kernels/attention.wgsl (same ops, entry points, bindings, uniforms and results; see that file's
// header for the semantics). Needs no optional feature beyond `shader-f16` for T = f16.
//
// Ops: attention_forward (attention_scores, then attention_context) and attention_backward
// (attention_grad_v, then attention_grad_scores, then attention_grad_qk), in that order.
// Every entry has a _vec4 twin (same bindings, same results) that loads 4 head dims per load;
// the twins need D % 4 == 0 and 16-byte-aligned binding offsets.
// Dims: B batch, T sequence, H hidden, NH heads, D = H / NH; all sizes are uniforms.
//   qkv  (B, T, 3H): each token row is [q (H) | k (H) | v (H)], head h = columns h·D..(h+1)·D of each
//   mask (B, T) i32: 0 = padding key, anything else = real token
//   S    = q·kᵀ·scale + bias, scale = 1/√D, bias = −10000.0 on padding keys, 0 on real ones
//   P    = softmax over keys (B, NH, T, T); Pd = P·keep/(1 − p) with keep = dropout_keep(step_state.seed,
//          params.stream, step_state.micro_step, index, params.p), index = flat index into (B, NH, T, T)
//   out  = Pd·v (B, T, H), heads interleaved like the input
// Saved for backward: `probs` = P (B, NH, T, T) before dropout; backward regenerates the mask.
// Backward: dV = Pdᵀ·dO; dP = (dO·Vᵀ)·keep/(1 − p); dS = P ⊙ (dP − δ) with δ_i = dO_i·out_i;
// dQ = dS·K·scale, dK = dSᵀ·Q·scale.
// attention_grad_scores overwrites `probs` with dS·scale IN PLACE: after it, probs is consumed.
//
// Bindings (group 0), per entry point (each uses exactly these, numbered densely from 1):
//   0 params uniform Params {B, T, H, NH, D, stream, p (f32), scale (f32)} (shared by all entries)
//   attention_scores[_vec4]:  1 qkv (read)  2 mask i32 (read)  3 probs (read_write, `=` P)
//   attention_context[_vec4]: 1 qkv (read)  2 probs (read)  3 step_state (read)  4 out (read_write, `=`)
//   attention_grad_v[_vec4]:  1 d_out (read)  2 probs (read)  3 step_state (read)
//                             4 d_qkv (read_write; `=` its v columns only)
//   attention_grad_scores[_vec4]: 1 d_out (read)  2 probs (read_write: P in, dS·scale out, `=`)
//                             3 step_state (read)  4 qkv (read)  5 out (read; the forward's output)
//   attention_grad_qk[_vec4]: 1 qkv (read)  2 probs (read; holds dS·scale)  3 d_qkv (read_write;
//                             `=` its q and k columns)
// Shapes: qkv, d_qkv (B, T, 3H); out, d_out (B, T, H); probs (B, NH, T, T); mask (B, T);
// step_state: StepState (src/plan/step-state.ts). Element type T; accumulation always f32.
//
// Work split: one invocation owns R = 4 rows of a tile C = 8 columns wide and accumulates 4×8 in
// registers, loading every operand value itself (4 row values and 8 column values per step of the
// contracted dim; the _vec4 twins load 4 steps' worth, or the 8 columns as two vec4). No workgroup
// memory, no barriers: invocations are independent, so those past the last row return at once.
// A workgroup covers WG·R rows of one (b, h).
//   attention_scores, attention_grad_scores: rows = queries, columns = keys, contracted = D; each
//     invocation walks all key tiles (online max/sum for the softmax; then a second pass over its
//     own rows normalizes P). Grid: B·NH·⌈T/(WG·R)⌉ workgroups.
//   attention_context (rows = queries), attention_grad_v (rows = keys), attention_grad_qk (rows =
//     queries for dQ, keys for dK): columns = head dims, contracted = T. Grid: B·NH·⌈T/(WG·R)⌉·⌈D/8⌉
//     workgroups (twice that for attention_grad_qk: dQ tiles, then dK tiles).
// Overrides: WG invocations per workgroup (any >= 1; default 64).
// Launch: workgroups enumerate tiles linearly over x and y (grid1d); every entry guards the tail.

// #include attention-common.wgsl

const R: u32 = 4u;
const C: u32 = 8u;
const LANES = vec4<u32>(0u, 1u, 2u, 3u);

fn drop4(site: u32, index: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(drop_factor(site, index.x), drop_factor(site, index.y), drop_factor(site, index.z), drop_factor(site, index.w));
}

// acc[2r], acc[2r + 1] = row r's columns 0..3 and 4..7; a[r] = row r's value, b0/b1 = the 8 columns.
fn fma_tile(acc: ptr<function, array<vec4<f32>, 8>>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
  (*acc)[0] += a.x * b0;
  (*acc)[1] += a.x * b1;
  (*acc)[2] += a.y * b0;
  (*acc)[3] += a.y * b1;
  (*acc)[4] += a.z * b0;
  (*acc)[5] += a.z * b1;
  (*acc)[6] += a.w * b0;
  (*acc)[7] += a.w * b1;
}

// One step of each of 4 contracted indices: rows' values q0..q3 (component k = step k) against
// columns' values lo0..lo3, hi0..hi3 (same).
fn fma_tile4(acc: ptr<function, array<vec4<f32>, 8>>, q: array<vec4<f32>, 4>, lo: array<vec4<f32>, 4>, hi: array<vec4<f32>, 4>) {
  for (var k = 0u; k < 4u; k++) {
    fma_tile(acc, vec4<f32>(q[0][k], q[1][k], q[2][k], q[3][k]),
             vec4<f32>(lo[0][k], lo[1][k], lo[2][k], lo[3][k]), vec4<f32>(hi[0][k], hi[1][k], hi[2][k], hi[3][k]));
  }
}

fn dots4(a: array<vec4<f32>, 4>, b: array<vec4<f32>, 4>) -> vec4<f32> {
  return vec4<f32>(dot(a[0], b[0]), dot(a[1], b[1]), dot(a[2], b[2]), dot(a[3], b[3]));
}

// Gathers: a binding view read at four element offsets (the four rows or columns of a tile), as
// f32; gather4 reads four vec4s of a _v4 view.
fn gather(view: ptr<storage, array<T>, read>, i: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(f32((*view)[i.x]), f32((*view)[i.y]), f32((*view)[i.z]), f32((*view)[i.w]));
}
fn gather4(view: ptr<storage, array<T4>, read>, i: vec4<u32>) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(vec4<f32>(bitcast<vec4<T>>((*view)[i.x])), vec4<f32>(bitcast<vec4<T>>((*view)[i.y])), vec4<f32>(bitcast<vec4<T>>((*view)[i.z])), vec4<f32>(bitcast<vec4<T>>((*view)[i.w])));
}

fn acc_at(acc: ptr<function, array<vec4<f32>, 8>>, row: u32, c: u32) -> f32 {
  return (*acc)[row * 2u + c / 4u][c % 4u];
}

// Tile coordinates shared by the entry points.
struct RowTile {
  b: u32,
  h: u32,
  bh: u32,
  live: bool,       // the tile exists and r0 < T (the entries return otherwise)
  r0: u32,          // first of this invocation's four rows
  rows: vec4<u32>,  // the four rows clamped into [0, T)
  c0: u32,          // first column of the tile (column tiles of C)
}

fn row_tile(t: u32, col_tiles: u32, lid: u32) -> RowTile {
  let blocks = (params.T + WG * R - 1u) / (WG * R);
  let ct = t % col_tiles;
  let rest = t / col_tiles;
  let bh = rest / blocks;
  let r0 = (rest % blocks) * (WG * R) + lid * R;
  return RowTile(bh / params.heads, bh % params.heads, bh, t < tile_count(col_tiles) && r0 < params.T, r0, min(vec4<u32>(r0) + LANES, vec4<u32>(params.T - 1u)), ct * C);
}

fn tile_count(col_tiles: u32) -> u32 {
  return params.B * params.heads * ((params.T + WG * R - 1u) / (WG * R)) * col_tiles;
}

// Column indices c0..c0+7 clamped into [0, n): the two halves.
fn cols_lo(c0: u32, n: u32) -> vec4<u32> { return min(vec4<u32>(c0) + LANES, vec4<u32>(n - 1u)); }
fn cols_hi(c0: u32, n: u32) -> vec4<u32> { return min(vec4<u32>(c0 + 4u) + LANES, vec4<u32>(n - 1u)); }

// Whether row r of the tile lies inside [0, T) (only those are stored).
fn row_valid(rt: RowTile, r: u32) -> bool { return rt.r0 + r < params.T; }

// Products contracted over the head dims (scores, grad_scores): the 4 rows' vectors start at `a` in
// `av`, the 8 keys' (keys j0..j0+7, clamped) at bcol + j·3H in `bv`. _v4: the same through vec4 views.
fn key_tile(av: ptr<storage, array<T>, read>, a: vec4<u32>, bv: ptr<storage, array<T>, read>, bcol: u32, j0: u32) -> array<vec4<f32>, 8> {
  let row3 = 3u * params.H;
  let b0 = vec4<u32>(bcol) + cols_lo(j0, params.T) * row3;
  let b1 = vec4<u32>(bcol) + cols_hi(j0, params.T) * row3;
  // Explicitly zeroed (a bare `var` in a loop kept old values on lavapipe; see attention.wgsl).
  var acc = array<vec4<f32>, 8>();
  for (var d = 0u; d < params.D; d++) {
    fma_tile(&acc, gather(av, a + vec4<u32>(d)), gather(bv, b0 + vec4<u32>(d)), gather(bv, b1 + vec4<u32>(d)));
  }
  return acc;
}

fn key_tile_v4(av: ptr<storage, array<T4>, read>, a: vec4<u32>, bv: ptr<storage, array<T4>, read>, bcol: u32, j0: u32) -> array<vec4<f32>, 8> {
  let row3 = 3u * params.H;
  let b0 = (vec4<u32>(bcol) + cols_lo(j0, params.T) * row3) / 4u;
  let b1 = (vec4<u32>(bcol) + cols_hi(j0, params.T) * row3) / 4u;
  let a4 = a / 4u;
  var acc = array<vec4<f32>, 8>();
  for (var d4 = 0u; d4 < params.D / 4u; d4++) {
    let d = vec4<u32>(d4);
    fma_tile4(&acc, gather4(av, a4 + d), gather4(bv, b0 + d), gather4(bv, b1 + d));
  }
  return acc;
}

// Products contracted over the sequence (context, grad_v, grad_qk): step u reads the 4 rows' values
// of `probs` at a + u·a_stride (times the dropout factor when `dropped`) and the 8 columns at
// b + u·b_stride + lo / hi of `bv`. _v4: the columns as two vec4s at b + u·b_stride + lo4 / hi4.
// `site` is drop_site(...) when dropped (step_state is not bound where nothing is dropped).
struct SeqOperands {
  a: vec4<u32>,
  a_stride: u32,
  dropped: bool,
  site: u32,
  b: u32,
  b_stride: u32,
}

fn prob_values(o: SeqOperands, u: u32) -> vec4<f32> {
  let au = o.a + vec4<u32>(u * o.a_stride);
  if (o.dropped) { return gather(&probs, au) * drop4(o.site, au); }
  return gather(&probs, au);
}

fn dropout_site() -> u32 { return drop_site(step_state.seed, step_state.micro_step); }

fn seq_tile(o: SeqOperands, bv: ptr<storage, array<T>, read>, lo: vec4<u32>, hi: vec4<u32>) -> array<vec4<f32>, 8> {
  var acc = array<vec4<f32>, 8>();
  for (var u = 0u; u < params.T; u++) {
    let bu = vec4<u32>(o.b + u * o.b_stride);
    fma_tile(&acc, prob_values(o, u), gather(bv, bu + lo), gather(bv, bu + hi));
  }
  return acc;
}

fn seq_tile_v4(o: SeqOperands, bv: ptr<storage, array<T4>, read>, lo4: u32, hi4: u32) -> array<vec4<f32>, 8> {
  var acc = array<vec4<f32>, 8>();
  for (var u = 0u; u < params.T; u++) {
    let bu = o.b + u * o.b_stride;
    fma_tile(&acc, prob_values(o, u), vec4<f32>(bitcast<vec4<T>>((*bv)[bu + lo4])), vec4<f32>(bitcast<vec4<T>>((*bv)[bu + hi4])));
  }
  return acc;
}

// ---------------------------------------------------------------------------------------------
// attention_scores[_vec4]: probs = softmax(q·kᵀ·scale + bias). Pass 1 stores the biased scores and
// keeps an online max m and sum l = Σ exp(s − m) per row; pass 2 rereads the rows and writes
// exp(s − m)/l.

struct SoftmaxRows {
  m: vec4<f32>,
  l: vec4<f32>,
}

struct ScoresTile {
  rt: RowTile,
  q: vec4<u32>,  // q of the four rows (element offsets)
  kcol: u32,     // k of key j is at kcol + j·3H
  p: vec4<u32>,  // probs rows
}

fn scores_tile(rt: RowTile) -> ScoresTile {
  let L = params.T;
  let row3 = 3u * params.H;
  let hd = rt.h * params.D;
  return ScoresTile(rt, (vec4<u32>(rt.b * L) + rt.rows) * row3 + vec4<u32>(hd), rt.b * L * row3 + params.H + hd,
                    (vec4<u32>(rt.bh * L) + rt.rows) * L);
}

// Scale, bias, online-softmax update and store of one 4 × 8 tile of scores (keys j0..j0+7).
fn scores_finish(acc: ptr<function, array<vec4<f32>, 8>>, st: ptr<function, SoftmaxRows>, t: ScoresTile, j0: u32) {
  let L = params.T;
  let mrow = t.rt.b * L;
  let ja = cols_lo(j0, L);
  let jb = cols_hi(j0, L);
  let bias0 = select(vec4<f32>(MASK_BIAS), vec4<f32>(0.0),
                     vec4<i32>(mask[mrow + ja.x], mask[mrow + ja.y], mask[mrow + ja.z], mask[mrow + ja.w]) != vec4<i32>(0));
  let bias1 = select(vec4<f32>(MASK_BIAS), vec4<f32>(0.0),
                     vec4<i32>(mask[mrow + jb.x], mask[mrow + jb.y], mask[mrow + jb.z], mask[mrow + jb.w]) != vec4<i32>(0));
  let valid0 = vec4<u32>(j0) + LANES < vec4<u32>(L);
  let valid1 = vec4<u32>(j0 + 4u) + LANES < vec4<u32>(L);
  let cols = min(C, L - j0);
  for (var r = 0u; r < R; r++) {
    let s0 = select(vec4<f32>(NEG_INF), (*acc)[2u * r] * params.scale + bias0, valid0);
    let s1 = select(vec4<f32>(NEG_INF), (*acc)[2u * r + 1u] * params.scale + bias1, valid1);
    (*acc)[2u * r] = s0;
    (*acc)[2u * r + 1u] = s1;
    let m = (*st).m[r];
    let n = max(m, max(vmax(s0), vmax(s1)));
    (*st).l[r] = (*st).l[r] * exp(m - n) + vsum(exp(s0 - n)) + vsum(exp(s1 - n));
    (*st).m[r] = n;
    if (row_valid(t.rt, r)) {
      for (var c = 0u; c < cols; c++) { probs_rw3[t.p[r] + j0 + c] = T(acc_at(acc, r, c)); }
    }
  }
}

// Pass 2 touches only this invocation's own rows: no barrier needed.
fn scores_normalize(st: SoftmaxRows, t: ScoresTile) {
  let L = params.T;
  for (var r = 0u; r < R; r++) {
    if (!row_valid(t.rt, r)) { break; }
    let inv = 1.0 / st.l[r];
    let m = st.m[r];
    let base = t.p[r];
    for (var j = 0u; j < L; j++) { probs_rw3[base + j] = T(exp(f32(probs_rw3[base + j]) - m) * inv); }
  }
}

@compute @workgroup_size(WG)
fn attention_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let rt = row_tile(grid_tile(wid, nwg), 1u, lid);
  if (!rt.live) { return; }
  let t = scores_tile(rt);
  var st = SoftmaxRows(vec4<f32>(NEG_INF), vec4<f32>(0.0));
  for (var j0 = 0u; j0 < params.T; j0 += C) {
    var acc = key_tile(&qkv, t.q, &qkv, t.kcol, j0);
    scores_finish(&acc, &st, t, j0);
  }
  scores_normalize(st, t);
}

@compute @workgroup_size(WG)
fn attention_scores_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let rt = row_tile(grid_tile(wid, nwg), 1u, lid);
  if (!rt.live) { return; }
  let t = scores_tile(rt);
  var st = SoftmaxRows(vec4<f32>(NEG_INF), vec4<f32>(0.0));
  for (var j0 = 0u; j0 < params.T; j0 += C) {
    var acc = key_tile_v4(&qkv_v4, t.q, &qkv_v4, t.kcol, j0);
    scores_finish(&acc, &st, t, j0);
  }
  scores_normalize(st, t);
}

// ---------------------------------------------------------------------------------------------
// attention_context[_vec4]: out[b, i, h·D + d] = Σ_j Pd[b, h, i, j]·v[b, j, h·D + d].

struct ColumnTile {
  rt: RowTile,
  lo: vec4<u32>,  // the tile's 8 head dims clamped into [0, D)
  hi: vec4<u32>,
  cols: u32,      // head dims of the tile inside [0, D)
}

fn column_tile(tile: u32, lid: u32) -> ColumnTile {
  let rt = row_tile(tile, (params.D + C - 1u) / C, lid);
  return ColumnTile(rt, cols_lo(rt.c0, params.D), cols_hi(rt.c0, params.D), min(C, params.D - rt.c0));
}

// Store of a 4 × 8 tile of head dims into `out` rows at base[r] + c.
fn store_out(acc: ptr<function, array<vec4<f32>, 8>>, ct: ColumnTile, base: vec4<u32>) {
  for (var r = 0u; r < R; r++) {
    if (!row_valid(ct.rt, r)) { break; }
    for (var c = 0u; c < ct.cols; c++) { out_rw[base[r] + c] = T(acc_at(acc, r, c)); }
  }
}

// Pd rows of the tile's queries against v of every key; `per` = elements per load of v (1 or 4).
fn context_operands(ct: ColumnTile, per: u32) -> SeqOperands {
  let row3 = 3u * params.H;
  let vcol = ct.rt.b * params.T * row3 + 2u * params.H + ct.rt.h * params.D;
  return SeqOperands((vec4<u32>(ct.rt.bh * params.T) + ct.rt.rows) * params.T, 1u, true, dropout_site(), vcol / per, row3 / per);
}

fn context_out(ct: ColumnTile) -> vec4<u32> {
  return (vec4<u32>(ct.rt.b * params.T) + ct.rt.rows) * params.H + vec4<u32>(ct.rt.h * params.D + ct.rt.c0);
}

@compute @workgroup_size(WG)
fn attention_context(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let ct = column_tile(grid_tile(wid, nwg), lid);
  if (!ct.rt.live) { return; }
  var acc = seq_tile(context_operands(ct, 1u), &qkv, ct.lo, ct.hi);
  store_out(&acc, ct, context_out(ct));
}

@compute @workgroup_size(WG)
fn attention_context_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let ct = column_tile(grid_tile(wid, nwg), lid);
  if (!ct.rt.live) { return; }
  // D % 4 == 0: the tile's two vec4s (the second clamped onto the first when D − c0 = 4).
  var acc = seq_tile_v4(context_operands(ct, 4u), &qkv_v4, ct.lo.x / 4u, ct.hi.x / 4u);
  store_out(&acc, ct, context_out(ct));
}

// ---------------------------------------------------------------------------------------------
// attention_grad_v[_vec4]: dV[b, j, h·D + d] = Σ_i Pd[b, h, i, j]·dO[b, i, h·D + d]; rows are keys j.

// Pd columns of the tile's keys (column j of every query row i) against dO of every query.
fn grad_v_operands(ct: ColumnTile, per: u32) -> SeqOperands {
  let L = params.T;
  let ocol = ct.rt.b * L * params.H + ct.rt.h * params.D;
  return SeqOperands(vec4<u32>(ct.rt.bh * L * L) + ct.rt.rows, L, true, dropout_site(), ocol / per, params.H / per);
}

fn store_dv(acc: ptr<function, array<vec4<f32>, 8>>, ct: ColumnTile) {
  let row3 = 3u * params.H;
  let base = (vec4<u32>(ct.rt.b * params.T) + ct.rt.rows) * row3 + vec4<u32>(2u * params.H + ct.rt.h * params.D + ct.rt.c0);
  for (var r = 0u; r < R; r++) {
    if (!row_valid(ct.rt, r)) { break; }
    for (var c = 0u; c < ct.cols; c++) { d_qkv4[base[r] + c] = T(acc_at(acc, r, c)); }
  }
}

@compute @workgroup_size(WG)
fn attention_grad_v(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let ct = column_tile(grid_tile(wid, nwg), lid);
  if (!ct.rt.live) { return; }
  var acc = seq_tile(grad_v_operands(ct, 1u), &d_out, ct.lo, ct.hi);
  store_dv(&acc, ct);
}

@compute @workgroup_size(WG)
fn attention_grad_v_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let ct = column_tile(grid_tile(wid, nwg), lid);
  if (!ct.rt.live) { return; }
  var acc = seq_tile_v4(grad_v_operands(ct, 4u), &d_out_v4, ct.lo.x / 4u, ct.hi.x / 4u);
  store_dv(&acc, ct);
}

// ---------------------------------------------------------------------------------------------
// attention_grad_scores[_vec4]: probs ← dS·scale = P ⊙ (dO·Vᵀ·keep/(1 − p) − δ)·scale,
// δ_i = dO_i·out_i.

struct GradScoresTile {
  rt: RowTile,
  o: vec4<u32>,  // dO and out of the four rows
  vcol: u32,     // v of key j is at vcol + j·3H
  p: vec4<u32>,
}

fn grad_scores_tile(rt: RowTile) -> GradScoresTile {
  let L = params.T;
  let H = params.H;
  let hd = rt.h * params.D;
  return GradScoresTile(rt, (vec4<u32>(rt.b * L) + rt.rows) * H + vec4<u32>(hd), rt.b * L * 3u * H + 2u * H + hd,
                        (vec4<u32>(rt.bh * L) + rt.rows) * L);
}

fn grad_scores_finish(acc: ptr<function, array<vec4<f32>, 8>>, t: GradScoresTile, j0: u32, delta: vec4<f32>, site: u32) {
  let cols = min(C, params.T - j0);
  for (var r = 0u; r < R; r++) {
    if (!row_valid(t.rt, r)) { break; }
    for (var c = 0u; c < cols; c++) {
      let i = t.p[r] + j0 + c;
      let p = f32(probs_rw2[i]);
      probs_rw2[i] = T(p * (acc_at(acc, r, c) * drop_factor(site, i) - delta[r]) * params.scale);
    }
  }
}

@compute @workgroup_size(WG)
fn attention_grad_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let rt = row_tile(grid_tile(wid, nwg), 1u, lid);
  if (!rt.live) { return; }
  let t = grad_scores_tile(rt);
  var delta = vec4<f32>(0.0);
  for (var d = 0u; d < params.D; d++) {
    let o = t.o + vec4<u32>(d);
    delta += gather(&d_out, o) * gather(&out_ro, o);
  }
  let site = dropout_site();
  for (var j0 = 0u; j0 < params.T; j0 += C) {
    var acc = key_tile(&d_out, t.o, &qkv4, t.vcol, j0);
    grad_scores_finish(&acc, t, j0, delta, site);
  }
}

@compute @workgroup_size(WG)
fn attention_grad_scores_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let rt = row_tile(grid_tile(wid, nwg), 1u, lid);
  if (!rt.live) { return; }
  let t = grad_scores_tile(rt);
  let o = t.o / 4u;
  var delta = vec4<f32>(0.0);
  for (var d4 = 0u; d4 < params.D / 4u; d4++) {
    delta += dots4(gather4(&d_out_v4, o + vec4<u32>(d4)), gather4(&out_ro_v4, o + vec4<u32>(d4)));
  }
  let site = dropout_site();
  for (var j0 = 0u; j0 < params.T; j0 += C) {
    var acc = key_tile_v4(&d_out_v4, t.o, &qkv4_v4, t.vcol, j0);
    grad_scores_finish(&acc, t, j0, delta, site);
  }
}

// ---------------------------------------------------------------------------------------------
// attention_grad_qk[_vec4]: the first half of the tiles writes dQ = dS·K (rows = queries i), the
// second dK = dSᵀ·Q (rows = keys j); `probs` already holds dS·scale.
//   dQ: A(i, u) = dS[i, u], B(u, d) = k[u, d].  dK: A(j, u) = dS[u, j], B(u, d) = q[u, d].

struct QkTile {
  ct: ColumnTile,
  a: vec4<u32>,    // A(row r, u) is at a[r] + u·k_stride
  k_stride: u32,
  bcol: u32,       // B(u, ·) starts at bcol + u·3H
  w: vec4<u32>,    // d_qkv rows to write (tile column 0)
}

fn qk_tile(tile: u32, lid: u32) -> QkTile {
  let col_tiles = (params.D + C - 1u) / C;
  let per_part = tile_count(col_tiles);
  let is_k = tile >= per_part;
  var ct = column_tile(tile % per_part, lid);
  ct.rt.live = ct.rt.live && tile < 2u * per_part;
  let L = params.T;
  let H = params.H;
  let row3 = 3u * H;
  let hd = ct.rt.h * params.D;
  let a = vec4<u32>(ct.rt.bh * L * L) + ct.rt.rows * select(L, 1u, is_k);
  let w = (vec4<u32>(ct.rt.b * L) + ct.rt.rows) * row3 + vec4<u32>(select(0u, H, is_k) + hd + ct.rt.c0);
  return QkTile(ct, a, select(1u, L, is_k), ct.rt.b * L * row3 + select(H, 0u, is_k) + hd, w);
}

// dS (no dropout: probs holds dS·scale) against q or k.
fn qk_operands(t: QkTile, per: u32) -> SeqOperands {
  return SeqOperands(t.a, t.k_stride, false, 0u, t.bcol / per, 3u * params.H / per);
}

fn store_dqk(acc: ptr<function, array<vec4<f32>, 8>>, t: QkTile) {
  for (var r = 0u; r < R; r++) {
    if (!row_valid(t.ct.rt, r)) { break; }
    for (var c = 0u; c < t.ct.cols; c++) { d_qkv3[t.w[r] + c] = T(acc_at(acc, r, c)); }
  }
}

@compute @workgroup_size(WG)
fn attention_grad_qk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let t = qk_tile(grid_tile(wid, nwg), lid);
  if (!t.ct.rt.live) { return; }
  var acc = seq_tile(qk_operands(t, 1u), &qkv, t.ct.lo, t.ct.hi);
  store_dqk(&acc, t);
}

@compute @workgroup_size(WG)
fn attention_grad_qk_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let t = qk_tile(grid_tile(wid, nwg), lid);
  if (!t.ct.rt.live) { return; }
  var acc = seq_tile_v4(qk_operands(t, 4u), &qkv_v4, t.ct.lo.x / 4u, t.ct.hi.x / 4u);
  store_dqk(&acc, t);
}
