// attention: the multi-head self-attention core, BERT semantics as Hugging Face computes them.
//
// Ops: attention_forward (attention_scores, then attention_context) and attention_backward
// (attention_grad_v, then attention_grad_scores, then attention_grad_qk), in that order.
// attention_scores_vec4 / attention_grad_scores_vec4 are drop-in replacements (same bindings,
// same results) that load 4 head dims per load; they need D % 4 == 0 and 16-byte-aligned offsets.
// attention_context_vec4 / attention_grad_v_vec4 likewise take 4 sequence steps at a time, the
// head dims as vec4s (seq_tile4); they also need T % 4 == 0.
// Dims: B batch, T sequence, H hidden, NH heads, D = H / NH; all sizes are uniforms.
//   qkv  (B, T, 3H): each token row is [q (H) | k (H) | v (H)], head h = columns h·D..(h+1)·D of each
//   mask (B, T) i32: 0 = padding key, anything else = real token
//   S    = q·kᵀ·scale + bias, scale = 1/√D, bias = −10000.0 on padding keys, 0 on real ones
//   P    = softmax over keys (B, NH, T, T); Pd = P·keep/(1 − p) with keep = dropout_keep(step_state.seed,
//          params.stream, step_state.micro_step, index, params.p), index = flat index into (B, NH, T, T)
//   out  = Pd·v (B, T, H), heads interleaved like the input
// Saved for backward: `probs` = P (B, NH, T, T) before dropout; backward regenerates the mask.
// Backward: dV = Pdᵀ·dO; dP = (dO·Vᵀ)·keep/(1 − p); dS = P ⊙ (dP − δ) with δ_i = rowsum(dP ⊙ P) = dO_i·out_i
// (FlashAttention-2's identity, so no second pass over the row); dQ = dS·K·scale, dK = dSᵀ·Q·scale.
// attention_grad_scores overwrites `probs` with dS·scale IN PLACE: after it, probs is consumed.
//
// Bindings (group 0), per entry point (each uses exactly these, numbered densely from 1):
//   0 params uniform Params {B, T, H, NH, D, stream, p (f32), scale (f32)} (shared by all entries)
//   attention_scores[_vec4]: 1 qkv (read)  2 mask i32 (read)  3 probs (read_write, `=` P)
//   attention_context[_vec4]: 1 qkv (read)  2 probs (read)  3 step_state (read)  4 out (read_write, `=`)
//   attention_grad_v[_vec4]:  1 d_out (read)  2 probs (read)  3 step_state (read)
//                          4 d_qkv (read_write; `=` its v columns only)
//   attention_grad_scores[_vec4]: 1 d_out (read)  2 probs (read_write: P in, dS·scale out, `=`)
//                          3 step_state (read)  4 qkv (read)  5 out (read; the forward's output)
//   attention_grad_qk:     1 qkv (read)  2 probs (read; holds dS·scale)  3 d_qkv (read_write; `=` its
//                          q and k columns)
// Shapes: qkv, d_qkv (B, T, 3H); out, d_out (B, T, H); probs (B, NH, T, T); mask (B, T);
// step_state: StepState (src/plan/step-state.ts). Element type T; accumulation always f32.
//
// Work split (lavapipe: storage loads are the cost, subgroups share them; DESIGN.md):
// one invocation owns R = 2 rows of a tile 16 columns wide and accumulates 2×16 in registers; per
// step of the contracted dim it loads its 2 row values itself and 2 of the 16 column values, and
// the column values reach the rest of the subgroup by subgroupBroadcast from lanes 0..7 (needs a
// subgroup size >= 8 and <= WG). A workgroup covers WG·R rows of one (b, h).
//   attention_scores, attention_grad_scores: rows = queries, columns = keys, contracted = D; the
//     workgroup walks all key tiles (online max/sum for the softmax; then a second pass over
//     its own rows normalizes P). Grid: B·NH·⌈T/(WG·R)⌉ workgroups.
//   attention_context (rows = queries), attention_grad_v (rows = keys), attention_grad_qk (rows =
//     queries for dQ, keys for dK): columns = head dims, contracted = T. Grid: B·NH·⌈T/(WG·R)⌉·⌈D/16⌉
//     workgroups (twice that for attention_grad_qk: dQ tiles, then dK tiles).
// Overrides: WG invocations per workgroup (multiple of the subgroup size, >= 8; default 64).
// Launch: workgroups enumerate tiles linearly over x and y (grid1d); every entry guards the tail.

// #include attention-common.wgsl

const R: u32 = 2u;

// The 16 column values of a tile: lane l (of 8) loaded x0 = column l and x1 = column l + 8.
fn share(x0: f32, x1: f32) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(
    vec4<f32>(subgroupBroadcast(x0, 0u), subgroupBroadcast(x0, 1u), subgroupBroadcast(x0, 2u), subgroupBroadcast(x0, 3u)),
    vec4<f32>(subgroupBroadcast(x0, 4u), subgroupBroadcast(x0, 5u), subgroupBroadcast(x0, 6u), subgroupBroadcast(x0, 7u)),
    vec4<f32>(subgroupBroadcast(x1, 0u), subgroupBroadcast(x1, 1u), subgroupBroadcast(x1, 2u), subgroupBroadcast(x1, 3u)),
    vec4<f32>(subgroupBroadcast(x1, 4u), subgroupBroadcast(x1, 5u), subgroupBroadcast(x1, 6u), subgroupBroadcast(x1, 7u)),
  );
}

// acc[0..3] = row a's 16 columns, acc[4..7] = row b's.
fn fma_tile(acc: ptr<function, array<vec4<f32>, 8>>, a0: f32, a1: f32, bv: array<vec4<f32>, 4>) {
  (*acc)[0] += a0 * bv[0];
  (*acc)[1] += a0 * bv[1];
  (*acc)[2] += a0 * bv[2];
  (*acc)[3] += a0 * bv[3];
  (*acc)[4] += a1 * bv[0];
  (*acc)[5] += a1 * bv[1];
  (*acc)[6] += a1 * bv[2];
  (*acc)[7] += a1 * bv[3];
}

// acc += Σ_d (rows[ra + d], rows[rb + d]) × (16 columns shared from lanes' cols[xa + d], cols[xb + d]),
// d over the head dims; contract4 reads _v4 views, 4 dims at a time (offsets in vec4s), same order.
fn contract(acc: ptr<function, array<vec4<f32>, 8>>, rows: ptr<storage, array<T>, read>, ra: u32, rb: u32,
            cols: ptr<storage, array<T>, read>, xa: u32, xb: u32) {
  for (var d = 0u; d < params.D; d++) {
    fma_tile(acc, f32((*rows)[ra + d]), f32((*rows)[rb + d]), share(f32((*cols)[xa + d]), f32((*cols)[xb + d])));
  }
}

fn contract4(acc: ptr<function, array<vec4<f32>, 8>>, rows: ptr<storage, array<vec4<T>>, read>, ra: u32, rb: u32,
             cols: ptr<storage, array<vec4<T>>, read>, xa: u32, xb: u32) {
  for (var d4 = 0u; d4 < params.D / 4u; d4++) {
    let x0 = vec4<f32>((*cols)[xa + d4]);
    let x1 = vec4<f32>((*cols)[xb + d4]);
    let a0 = vec4<f32>((*rows)[ra + d4]);
    let a1 = vec4<f32>((*rows)[rb + d4]);
    fma_tile(acc, a0.x, a1.x, share(x0.x, x1.x));
    fma_tile(acc, a0.y, a1.y, share(x0.y, x1.y));
    fma_tile(acc, a0.z, a1.z, share(x0.z, x1.z));
    fma_tile(acc, a0.w, a1.w, share(x0.w, x1.w));
  }
}

// The two columns lane `lane` loads for the tile starting at c0: c0 + lane and c0 + lane + 8,
// clamped into [0, n).
fn lane_cols(c0: u32, n: u32, lane: u32) -> vec2<u32> {
  return min(vec2<u32>(c0 + lane, c0 + lane + 8u), vec2<u32>(n - 1u));
}

// Store of the tile's two rows (those inside [0, T)) at dst[base.x + c] and dst[base.y + c].
fn store_rows(acc: ptr<function, array<vec4<f32>, 8>>, dst: ptr<storage, array<T>, read_write>, rt: RowTile, base: vec2<u32>) {
  let cols = min(16u, params.D - rt.c0);
  for (var c = 0u; c < cols; c++) {
    if (rt.r0 < params.T) { (*dst)[base.x + c] = T(acc_at(acc, 0u, c)); }
    if (rt.r0 + 1u < params.T) { (*dst)[base.y + c] = T(acc_at(acc, 1u, c)); }
  }
}

fn acc_at(acc: ptr<function, array<vec4<f32>, 8>>, row: u32, c: u32) -> f32 {
  return (*acc)[row * 4u + c / 4u][c % 4u];
}

// Tile coordinates shared by the entry points.
struct RowTile {
  b: u32,
  h: u32,
  bh: u32,
  r0: u32,  // first of this invocation's two rows (may be >= T: compute clamped, store nothing)
  ra: u32,  // rows clamped into [0, T)
  rb: u32,
  c0: u32,  // first column of the tile (column tiles of 16)
}

fn row_tile(t: u32, col_tiles: u32, lid: u32) -> RowTile {
  let blocks = (params.T + WG * R - 1u) / (WG * R);
  let ct = t % col_tiles;
  let rest = t / col_tiles;
  let bh = rest / blocks;
  let r0 = (rest % blocks) * (WG * R) + lid * R;
  return RowTile(bh / params.heads, bh % params.heads, bh, r0, min(r0, params.T - 1u), min(r0 + 1u, params.T - 1u), ct * 16u);
}

fn tile_count(col_tiles: u32) -> u32 {
  return params.B * params.heads * ((params.T + WG * R - 1u) / (WG * R)) * col_tiles;
}

// ---------------------------------------------------------------------------------------------
// attention_scores[_vec4]: probs = softmax(q·kᵀ·scale + bias). Pass 1 stores the biased scores and
// keeps an online max m and sum l = Σ exp(s − m) per row; pass 2 rereads the row and writes
// exp(s − m)/l. The _vec4 entry loads q and k 4 head dims at a time (needs D % 4 == 0).

struct SoftmaxRows {
  ma: f32,
  mb: f32,
  la: f32,
  lb: f32,
}

struct ScoresTile {
  rt: RowTile,
  qa: u32,    // q of this invocation's rows (element offsets)
  qb: u32,
  kcol: u32,  // k of key j is at kcol + j·3H
  pa: u32,    // probs rows
  pb: u32,
}

fn scores_tile(tile: u32, lid: u32) -> ScoresTile {
  let rt = row_tile(tile, 1u, lid);
  let L = params.T;
  let D = params.D;
  let row3 = 3u * params.H;
  return ScoresTile(rt, (rt.b * L + rt.ra) * row3 + rt.h * D, (rt.b * L + rt.rb) * row3 + rt.h * D,
                    rt.b * L * row3 + params.H + rt.h * D, (rt.bh * L + rt.ra) * L, (rt.bh * L + rt.rb) * L);
}

// Scale, bias, online-softmax update and store of one 2 × 16 tile of scores (keys j0..j0+15).
fn scores_finish(acc: ptr<function, array<vec4<f32>, 8>>, st: ptr<function, SoftmaxRows>, t: ScoresTile, j0: u32, lane: u32) {
  let L = params.T;
  let ja = min(j0 + lane, L - 1u);
  let jb = min(j0 + lane + 8u, L - 1u);
  let bias = share(select(MASK_BIAS, 0.0, mask[t.rt.b * L + ja] != 0), select(MASK_BIAS, 0.0, mask[t.rt.b * L + jb] != 0));
  var ta = NEG_INF;
  var tb = NEG_INF;
  for (var c = 0u; c < 4u; c++) {
    let valid = vec4<u32>(j0 + c * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(L);
    (*acc)[c] = select(vec4<f32>(NEG_INF), (*acc)[c] * params.scale + bias[c], valid);
    (*acc)[4u + c] = select(vec4<f32>(NEG_INF), (*acc)[4u + c] * params.scale + bias[c], valid);
    ta = max(ta, vmax((*acc)[c]));
    tb = max(tb, vmax((*acc)[4u + c]));
  }
  let na = max((*st).ma, ta);
  let nb = max((*st).mb, tb);
  var sa = 0.0;
  var sb = 0.0;
  for (var c = 0u; c < 4u; c++) {
    sa += vsum(exp((*acc)[c] - na));
    sb += vsum(exp((*acc)[4u + c] - nb));
  }
  (*st).la = (*st).la * exp((*st).ma - na) + sa;
  (*st).lb = (*st).lb * exp((*st).mb - nb) + sb;
  (*st).ma = na;
  (*st).mb = nb;
  let cols = min(16u, L - j0);
  for (var c = 0u; c < cols; c++) {
    if (t.rt.r0 < L) { probs_rw3[t.pa + j0 + c] = T(acc_at(acc, 0u, c)); }
    if (t.rt.r0 + 1u < L) { probs_rw3[t.pb + j0 + c] = T(acc_at(acc, 1u, c)); }
  }
}

// Pass 2 touches only this invocation's own rows: no barrier needed.
fn scores_normalize(st: SoftmaxRows, t: ScoresTile) {
  let L = params.T;
  let inv_a = 1.0 / st.la;
  let inv_b = 1.0 / st.lb;
  for (var j = 0u; j < L; j++) {
    if (t.rt.r0 < L) { probs_rw3[t.pa + j] = T(exp(f32(probs_rw3[t.pa + j]) - st.ma) * inv_a); }
    if (t.rt.r0 + 1u < L) { probs_rw3[t.pb + j] = T(exp(f32(probs_rw3[t.pb + j]) - st.mb) * inv_b); }
  }
}

@compute @workgroup_size(WG)
fn attention_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(1u)) { return; }
  let t = scores_tile(tile, lid);
  let L = params.T;
  let row3 = 3u * params.H;
  let lane = sid % 8u;
  var st = SoftmaxRows(NEG_INF, NEG_INF, 0.0, 0.0);
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let k = vec2<u32>(t.kcol) + lane_cols(j0, L, lane) * row3;
    // Explicitly zeroed: a bare `var acc: array<...>;` inside this loop kept the previous
    // iteration's values on lavapipe (Dawn/Mesa), against WGSL's zero-init rule.
    var acc = array<vec4<f32>, 8>();
    contract(&acc, &qkv, t.qa, t.qb, &qkv, k.x, k.y);
    scores_finish(&acc, &st, t, j0, lane);
  }
  scores_normalize(st, t);
}

@compute @workgroup_size(WG)
fn attention_scores_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(1u)) { return; }
  let t = scores_tile(tile, lid);
  let L = params.T;
  let row3 = 3u * params.H;
  let lane = sid % 8u;
  var st = SoftmaxRows(NEG_INF, NEG_INF, 0.0, 0.0);
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let k = (vec2<u32>(t.kcol) + lane_cols(j0, L, lane) * row3) / 4u;
    var acc = array<vec4<f32>, 8>();
    contract4(&acc, &qkv_v4, t.qa / 4u, t.qb / 4u, &qkv_v4, k.x, k.y);
    scores_finish(&acc, &st, t, j0, lane);
  }
  scores_normalize(st, t);
}

// ---------------------------------------------------------------------------------------------
// Products contracted over the sequence (context, grad_v, grad_qk): step u reads the two rows'
// values of `probs` at a + u·a_stride (times the dropout factor when `dropped`; `site` is then
// drop_site(...), since step_state is not bound where nothing is dropped) and this lane's two
// columns at b + u·b_stride + dc of `bv`, shared across the 8 lanes of the tile.
struct SeqOperands {
  a: vec2<u32>,
  a_stride: u32,
  dropped: bool,
  site: u32,
  b: u32,
  b_stride: u32,
}

fn seq_tile(o: SeqOperands, bv: ptr<storage, array<T>, read>, dc: vec2<u32>) -> array<vec4<f32>, 8> {
  var acc = array<vec4<f32>, 8>();
  for (var u = 0u; u < params.T; u++) {
    let bu = o.b + u * o.b_stride;
    let x = share(f32((*bv)[bu + dc.x]), f32((*bv)[bu + dc.y]));
    let ia = o.a.x + u * o.a_stride;
    let ib = o.a.y + u * o.a_stride;
    var a0 = f32(probs[ia]);
    var a1 = f32(probs[ib]);
    if (o.dropped) {
      a0 *= drop_factor(o.site, ia);
      a1 *= drop_factor(o.site, ib);
    }
    fma_tile(&acc, a0, a1, x);
  }
  return acc;
}

// seq_tile 4 steps at a time (T % 4 == 0, D % 4 == 0, `b` and `b_stride` multiples of 4): the
// 16 columns of rows u..u+3 are 16 vec4s, lane l loading row u + l/4 and u + 2 + l/4, vec4 column
// l % 4, shared by broadcast. The same products in the same order as seq_tile, so the same
// results. seq_tile4_rows reads the rows' values as one vec4 each (a_stride 1: context); the
// others read them one by one (an entry point may use only one view of `probs`).
struct SeqCols4 {
  b0: u32,  // vec4 index of this lane's first load at u = 0; the second is b0 + b_stride / 2
  step: u32,  // vec4s per 4 rows
}

fn seq_cols4(o: SeqOperands, c0: u32, lane: u32) -> SeqCols4 {
  let col = min(c0 / 4u + lane % 4u, params.D / 4u - 1u);
  return SeqCols4((o.b + (lane / 4u) * o.b_stride) / 4u + col, o.b_stride);
}

// Rows u..u+3 (a0, a1: the two rows' values) times the 16 columns lanes loaded (mine0: rows u,
// u+1; mine1: rows u+2, u+3), dropout applied first when the operands say so.
fn seq_step4(acc: ptr<function, array<vec4<f32>, 8>>, o: SeqOperands, u: u32, a0in: vec4<f32>, a1in: vec4<f32>, mine0: vec4<f32>, mine1: vec4<f32>) {
  var a0 = a0in;
  var a1 = a1in;
  if (o.dropped) {
    let ia = o.a.x + u * o.a_stride;
    let ib = o.a.y + u * o.a_stride;
    for (var kk = 0u; kk < 4u; kk++) {
      a0[kk] *= drop_factor(o.site, ia + kk * o.a_stride);
      a1[kk] *= drop_factor(o.site, ib + kk * o.a_stride);
    }
  }
  fma_tile(acc, a0.x, a1.x, array<vec4<f32>, 4>(subgroupBroadcast(mine0, 0u), subgroupBroadcast(mine0, 1u), subgroupBroadcast(mine0, 2u), subgroupBroadcast(mine0, 3u)));
  fma_tile(acc, a0.y, a1.y, array<vec4<f32>, 4>(subgroupBroadcast(mine0, 4u), subgroupBroadcast(mine0, 5u), subgroupBroadcast(mine0, 6u), subgroupBroadcast(mine0, 7u)));
  fma_tile(acc, a0.z, a1.z, array<vec4<f32>, 4>(subgroupBroadcast(mine1, 0u), subgroupBroadcast(mine1, 1u), subgroupBroadcast(mine1, 2u), subgroupBroadcast(mine1, 3u)));
  fma_tile(acc, a0.w, a1.w, array<vec4<f32>, 4>(subgroupBroadcast(mine1, 4u), subgroupBroadcast(mine1, 5u), subgroupBroadcast(mine1, 6u), subgroupBroadcast(mine1, 7u)));
}

fn seq_tile4(o: SeqOperands, bv4: ptr<storage, array<vec4<T>>, read>, c0: u32, lane: u32) -> array<vec4<f32>, 8> {
  var acc = array<vec4<f32>, 8>();
  let bc = seq_cols4(o, c0, lane);
  let s = o.a_stride;
  for (var u = 0u; u < params.T; u += 4u) {
    let at = bc.b0 + u / 4u * bc.step;
    let ia = o.a.x + u * s;
    let ib = o.a.y + u * s;
    let a0 = vec4<f32>(f32(probs[ia]), f32(probs[ia + s]), f32(probs[ia + 2u * s]), f32(probs[ia + 3u * s]));
    let a1 = vec4<f32>(f32(probs[ib]), f32(probs[ib + s]), f32(probs[ib + 2u * s]), f32(probs[ib + 3u * s]));
    seq_step4(&acc, o, u, a0, a1, vec4<f32>((*bv4)[at]), vec4<f32>((*bv4)[at + bc.step / 2u]));
  }
  return acc;
}

fn seq_tile4_rows(o: SeqOperands, bv4: ptr<storage, array<vec4<T>>, read>, c0: u32, lane: u32) -> array<vec4<f32>, 8> {
  var acc = array<vec4<f32>, 8>();
  let bc = seq_cols4(o, c0, lane);
  for (var u = 0u; u < params.T; u += 4u) {
    let at = bc.b0 + u / 4u * bc.step;
    let a0 = vec4<f32>(probs_v4[(o.a.x + u) / 4u]);
    let a1 = vec4<f32>(probs_v4[(o.a.y + u) / 4u]);
    seq_step4(&acc, o, u, a0, a1, vec4<f32>((*bv4)[at]), vec4<f32>((*bv4)[at + bc.step / 2u]));
  }
  return acc;
}

fn dropout_site() -> u32 { return drop_site(step_state.seed, step_state.micro_step); }

// The tile's rows at `row0 + r·stride` for its two rows r (out, dV, dQ, dK stores).
fn tile_rows(rt: RowTile, stride: u32, col: u32) -> vec2<u32> {
  return (vec2<u32>(rt.b * params.T) + vec2<u32>(rt.ra, rt.rb)) * stride + vec2<u32>(col + rt.c0);
}

// ---------------------------------------------------------------------------------------------
// attention_context[_vec4]: out[b, i, h·D + d] = Σ_j Pd[b, h, i, j]·v[b, j, h·D + d].
fn context_operands(rt: RowTile) -> SeqOperands {
  let L = params.T;
  let row3 = 3u * params.H;
  let p = (vec2<u32>(rt.bh * L) + vec2<u32>(rt.ra, rt.rb)) * L;
  return SeqOperands(p, 1u, true, dropout_site(), rt.b * L * row3 + 2u * params.H + rt.h * params.D, row3);
}

@compute @workgroup_size(WG)
fn attention_context(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let col_tiles = (params.D + 15u) / 16u;
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile(tile, col_tiles, lid);
  var acc = seq_tile(context_operands(rt), &qkv, lane_cols(rt.c0, params.D, sid % 8u));
  store_rows(&acc, &out_rw, rt, tile_rows(rt, params.H, rt.h * params.D));
}

@compute @workgroup_size(WG)
fn attention_context_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let col_tiles = (params.D + 15u) / 16u;
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile(tile, col_tiles, lid);
  var acc = seq_tile4_rows(context_operands(rt), &qkv_v4, rt.c0, sid % 8u);
  store_rows(&acc, &out_rw, rt, tile_rows(rt, params.H, rt.h * params.D));
}

// ---------------------------------------------------------------------------------------------
// attention_grad_v: dV[b, j, h·D + d] = Σ_i Pd[b, h, i, j]·dO[b, i, h·D + d]; rows are keys j.
fn grad_v_operands(rt: RowTile) -> SeqOperands {
  let L = params.T;
  let p = vec2<u32>(rt.bh * L * L) + vec2<u32>(rt.ra, rt.rb);
  return SeqOperands(p, L, true, dropout_site(), rt.b * L * params.H + rt.h * params.D, params.H);
}

@compute @workgroup_size(WG)
fn attention_grad_v(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let col_tiles = (params.D + 15u) / 16u;
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile(tile, col_tiles, lid);
  var acc = seq_tile(grad_v_operands(rt), &d_out, lane_cols(rt.c0, params.D, sid % 8u));
  store_rows(&acc, &d_qkv4, rt, tile_rows(rt, 3u * params.H, 2u * params.H + rt.h * params.D));
}

@compute @workgroup_size(WG)
fn attention_grad_v_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let col_tiles = (params.D + 15u) / 16u;
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile(tile, col_tiles, lid);
  var acc = seq_tile4(grad_v_operands(rt), &d_out_v4, rt.c0, sid % 8u);
  store_rows(&acc, &d_qkv4, rt, tile_rows(rt, 3u * params.H, 2u * params.H + rt.h * params.D));
}

// ---------------------------------------------------------------------------------------------
// attention_grad_scores[_vec4]: probs ← dS·scale = P ⊙ (dO·Vᵀ·keep/(1 − p) − δ)·scale,
// δ_i = dO_i·out_i. The _vec4 entry loads dO, out and v 4 head dims at a time (needs D % 4 == 0).

struct GradScoresTile {
  rt: RowTile,
  oa: u32,    // dO and out of this invocation's rows
  ob: u32,
  vcol: u32,  // v of key j is at vcol + j·3H
  pa: u32,
  pb: u32,
}

fn grad_scores_tile(tile: u32, lid: u32) -> GradScoresTile {
  let rt = row_tile(tile, 1u, lid);
  let L = params.T;
  let D = params.D;
  let H = params.H;
  return GradScoresTile(rt, (rt.b * L + rt.ra) * H + rt.h * D, (rt.b * L + rt.rb) * H + rt.h * D,
                        rt.b * L * 3u * H + 2u * H + rt.h * D, (rt.bh * L + rt.ra) * L, (rt.bh * L + rt.rb) * L);
}

fn grad_scores_finish(acc: ptr<function, array<vec4<f32>, 8>>, t: GradScoresTile, j0: u32, delta: vec2<f32>, site: u32) {
  let L = params.T;
  let cols = min(16u, L - j0);
  for (var c = 0u; c < cols; c++) {
    let ia = t.pa + j0 + c;
    let ib = t.pb + j0 + c;
    if (t.rt.r0 < L) {
      let p = f32(probs_rw2[ia]);
      probs_rw2[ia] = T(p * (acc_at(acc, 0u, c) * drop_factor(site, ia) - delta.x) * params.scale);
    }
    if (t.rt.r0 + 1u < L) {
      let p = f32(probs_rw2[ib]);
      probs_rw2[ib] = T(p * (acc_at(acc, 1u, c) * drop_factor(site, ib) - delta.y) * params.scale);
    }
  }
}

@compute @workgroup_size(WG)
fn attention_grad_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(1u)) { return; }
  let t = grad_scores_tile(tile, lid);
  let L = params.T;
  let D = params.D;
  let row3 = 3u * params.H;
  var delta = vec2<f32>(0.0);
  for (var d = 0u; d < D; d++) {
    delta += vec2<f32>(f32(d_out[t.oa + d]) * f32(out_ro[t.oa + d]), f32(d_out[t.ob + d]) * f32(out_ro[t.ob + d]));
  }
  let lane = sid % 8u;
  let site = dropout_site();
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let v = vec2<u32>(t.vcol) + lane_cols(j0, L, lane) * row3;
    var acc = array<vec4<f32>, 8>();
    contract(&acc, &d_out, t.oa, t.ob, &qkv4, v.x, v.y);
    grad_scores_finish(&acc, t, j0, delta, site);
  }
}

@compute @workgroup_size(WG)
fn attention_grad_scores_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(1u)) { return; }
  let t = grad_scores_tile(tile, lid);
  let L = params.T;
  let D4 = params.D / 4u;
  let row3 = 3u * params.H;
  let oa = t.oa / 4u;
  let ob = t.ob / 4u;
  var delta = vec2<f32>(0.0);
  for (var d4 = 0u; d4 < D4; d4++) {
    delta += vec2<f32>(dot(vec4<f32>(d_out_v4[oa + d4]), vec4<f32>(out_ro_v4[oa + d4])),
                       dot(vec4<f32>(d_out_v4[ob + d4]), vec4<f32>(out_ro_v4[ob + d4])));
  }
  let lane = sid % 8u;
  let site = dropout_site();
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let v = (vec2<u32>(t.vcol) + lane_cols(j0, L, lane) * row3) / 4u;
    var acc = array<vec4<f32>, 8>();
    contract4(&acc, &d_out_v4, oa, ob, &qkv4_v4, v.x, v.y);
    grad_scores_finish(&acc, t, j0, delta, site);
  }
}

// ---------------------------------------------------------------------------------------------
// attention_grad_qk: the first half of the tiles writes dQ = dS·K (rows = queries i), the second
// dK = dSᵀ·Q (rows = keys j); `probs` already holds dS·scale.
@compute @workgroup_size(WG)
fn attention_grad_qk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let col_tiles = (params.D + 15u) / 16u;
  let per_part = tile_count(col_tiles);
  let tile = grid_tile(wid, nwg);
  if (tile >= 2u * per_part) { return; }
  let is_k = tile >= per_part;
  let rt = row_tile(tile % per_part, col_tiles, lid);
  let L = params.T;
  let H = params.H;
  let row3 = 3u * H;
  // dQ: A(i, u) = dS[i, u], B(u, d) = k[u, d].  dK: A(j, u) = dS[u, j], B(u, d) = q[u, d].
  let a = vec2<u32>(rt.bh * L * L) + vec2<u32>(rt.ra, rt.rb) * select(L, 1u, is_k);
  let bcol = rt.b * L * row3 + select(H, 0u, is_k) + rt.h * params.D;
  var acc = seq_tile(SeqOperands(a, select(1u, L, is_k), false, 0u, bcol, row3), &qkv, lane_cols(rt.c0, params.D, sid % 8u));
  store_rows(&acc, &d_qkv3, rt, tile_rows(rt, row3, select(0u, H, is_k) + rt.h * params.D));
}
