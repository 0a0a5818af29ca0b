// attention: the multi-head self-attention core, BERT semantics as Hugging Face computes them.
//
// Ops: attention_forward (attention_scores, then attention_context) and attention_backward
// (attention_grad_v, then attention_grad_scores, then attention_grad_qk), in that order.
// attention_scores_vec4 / attention_grad_scores_vec4 are drop-in replacements (same bindings,
// same results) that load 4 head dims per load; they need D % 4 == 0 and 16-byte-aligned offsets.
// attention_context_vec4 / attention_grad_v_vec4 / attention_grad_qk_vec4 likewise take 4 sequence
// steps at a time, the head dims as vec4s, on tiles 32 columns wide (seq_tile4); they also need
// T % 4 == 0.
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
// one invocation owns R = 4 rows of a tile 16 columns wide and accumulates 4×16 in registers; per
// step of the contracted dim it loads its 4 row values itself and 2 of the 16 column values, and
// the column values reach the rest of the subgroup by subgroupBroadcast from lanes 0..7 (needs a
// subgroup size >= 8 and <= WG). A workgroup covers WG·R rows of one (b, h). Why 4 rows: a
// broadcast column value then feeds 4 FMAs, not 2, and a step loads 6 values per 64 FMAs, not 4
// per 32 (1.3-1.6x per kernel on lavapipe at tiny.yaml's shape, docs/benchmarks.md). Every
// element still sums its products one step at a time in the same order: the results did not change.
// Loops over a tile's columns run to the constant 16 and skip the columns past the edge, so that
// they unroll and the accumulators stay in registers.
//   attention_scores, attention_grad_scores: rows = queries, columns = keys, contracted = D; the
//     workgroup walks all key tiles (online max/sum for the softmax; then a second pass over
//     its own rows normalizes P). Grid: B·NH·⌈T/(WG·R)⌉ workgroups.
//   attention_context (rows = queries), attention_grad_v (rows = keys), attention_grad_qk (rows =
//     queries for dQ, keys for dK): columns = head dims, contracted = T. Grid: B·NH·⌈T/(WG·R)⌉·⌈D/16⌉
//     workgroups (⌈D/32⌉ for the _vec4 entries; twice that for attention_grad_qk: dQ tiles, then
//     dK tiles).
// Overrides: WG invocations per workgroup (multiple of the subgroup size, >= 8; default 64).
// Launch: workgroups enumerate tiles linearly over x and y (grid1d); every entry guards the tail.

// #include attention-common.wgsl

const R: u32 = 4u;

// The 16 column values of a tile: lane l (of 8) loaded x0 = column l and x1 = column l + 8.
fn share(x0: f32, x1: f32) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(
    vec4<f32>(subgroupBroadcast(x0, 0u), subgroupBroadcast(x0, 1u), subgroupBroadcast(x0, 2u), subgroupBroadcast(x0, 3u)),
    vec4<f32>(subgroupBroadcast(x0, 4u), subgroupBroadcast(x0, 5u), subgroupBroadcast(x0, 6u), subgroupBroadcast(x0, 7u)),
    vec4<f32>(subgroupBroadcast(x1, 0u), subgroupBroadcast(x1, 1u), subgroupBroadcast(x1, 2u), subgroupBroadcast(x1, 3u)),
    vec4<f32>(subgroupBroadcast(x1, 4u), subgroupBroadcast(x1, 5u), subgroupBroadcast(x1, 6u), subgroupBroadcast(x1, 7u)),
  );
}

// acc[4r .. 4r+3] = row r's 16 columns; a[r] = row r's value at this step.
fn fma_tile(acc: ptr<function, array<vec4<f32>, 16>>, a: vec4<f32>, bv: array<vec4<f32>, 4>) {
  for (var r = 0u; r < R; r++) {
    for (var c = 0u; c < 4u; c++) {
      (*acc)[r * 4u + c] += a[r] * bv[c];
    }
  }
}

// acc += Σ_d (rows[ra[r] + d])_r × (16 columns shared from lanes' cols[xa + d], cols[xb + d]), d over
// the head dims; contract4 reads _v4 views, 4 dims at a time (offsets in vec4s), same order.
fn contract(acc: ptr<function, array<vec4<f32>, 16>>, rows: ptr<storage, array<T>, read>, ra: vec4<u32>,
            cols: ptr<storage, array<T>, read>, xa: u32, xb: u32) {
  for (var d = 0u; d < params.D; d++) {
    let a = vec4<f32>(f32((*rows)[ra.x + d]), f32((*rows)[ra.y + d]), f32((*rows)[ra.z + d]), f32((*rows)[ra.w + d]));
    fma_tile(acc, a, share(f32((*cols)[xa + d]), f32((*cols)[xb + d])));
  }
}

fn contract4(acc: ptr<function, array<vec4<f32>, 16>>, rows: ptr<storage, array<T4>, read>, ra: vec4<u32>,
             cols: ptr<storage, array<T4>, read>, xa: u32, xb: u32) {
  for (var d4 = 0u; d4 < params.D / 4u; d4++) {
    let x0 = vec4<f32>(bitcast<vec4<T>>((*cols)[xa + d4]));
    let x1 = vec4<f32>(bitcast<vec4<T>>((*cols)[xb + d4]));
    let av = array<vec4<f32>, 4>(vec4<f32>(bitcast<vec4<T>>((*rows)[ra.x + d4])), vec4<f32>(bitcast<vec4<T>>((*rows)[ra.y + d4])),
                                 vec4<f32>(bitcast<vec4<T>>((*rows)[ra.z + d4])), vec4<f32>(bitcast<vec4<T>>((*rows)[ra.w + d4])));
    // Lane l's x0 (x1) holds column l (l + 8) at these 4 dims: groups 0 and 1 come from x0, 2 and 3 from x1.
    group_cols(acc, av, 0u, subgroupBroadcast(x0, 0u), subgroupBroadcast(x0, 1u), subgroupBroadcast(x0, 2u), subgroupBroadcast(x0, 3u));
    group_cols(acc, av, 1u, subgroupBroadcast(x0, 4u), subgroupBroadcast(x0, 5u), subgroupBroadcast(x0, 6u), subgroupBroadcast(x0, 7u));
    group_cols(acc, av, 2u, subgroupBroadcast(x1, 0u), subgroupBroadcast(x1, 1u), subgroupBroadcast(x1, 2u), subgroupBroadcast(x1, 3u));
    group_cols(acc, av, 3u, subgroupBroadcast(x1, 4u), subgroupBroadcast(x1, 5u), subgroupBroadcast(x1, 6u), subgroupBroadcast(x1, 7u));
  }
}

// 4 steps at once into column group g (columns 4g .. 4g+3): acc[4r + g] += Σ_kk av[r][kk]·b_kk, b_kk
// holding the 4 columns at step kk. Like the matmul's k-slice: one update of an accumulator per 4
// products, not per product (lavapipe keeps the accumulators in memory; 1.x faster, docs/benchmarks.md).
fn group_rows(acc: ptr<function, array<vec4<f32>, 16>>, av: array<vec4<f32>, 4>, g: u32, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) {
  for (var r = 0u; r < R; r++) {
    (*acc)[r * 4u + g] += av[r].x * b0 + av[r].y * b1 + av[r].z * b2 + av[r].w * b3;
  }
}

// The same from the 4 columns' values at the 4 steps: ci = column 4g + i at steps kk = 0..3.
fn group_cols(acc: ptr<function, array<vec4<f32>, 16>>, av: array<vec4<f32>, 4>, g: u32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>) {
  group_rows(acc, av, g, vec4<f32>(c0.x, c1.x, c2.x, c3.x), vec4<f32>(c0.y, c1.y, c2.y, c3.y), vec4<f32>(c0.z, c1.z, c2.z, c3.z), vec4<f32>(c0.w, c1.w, c2.w, c3.w));
}

// The two columns lane `lane` loads for the tile starting at c0: c0 + lane and c0 + lane + 8,
// clamped into [0, n).
fn lane_cols(c0: u32, n: u32, lane: u32) -> vec2<u32> {
  return min(vec2<u32>(c0 + lane, c0 + lane + 8u), vec2<u32>(n - 1u));
}

fn acc_at(acc: ptr<function, array<vec4<f32>, 16>>, row: u32, c: u32) -> f32 {
  return (*acc)[row * 4u + c / 4u][c % 4u];
}

// Tile coordinates shared by the entry points.
struct RowTile {
  b: u32,
  h: u32,
  bh: u32,
  r0: u32,          // first of this invocation's rows (r0 + r may be >= T: computed clamped, not stored)
  rows: vec4<u32>,  // the rows r0 .. r0 + 3 clamped into [0, T)
  c0: u32,          // first column of the tile (column tiles of 16)
}

fn row_live(rt: RowTile, r: u32) -> bool { return rt.r0 + r < params.T; }

// Store of the tile's rows (those inside [0, T)) at dst[base[r] + c], columns inside [0, D).
fn store_rows(acc: ptr<function, array<vec4<f32>, 16>>, dst: ptr<storage, array<T>, read_write>, rt: RowTile, base: vec4<u32>) {
  for (var c = 0u; c < 16u; c++) {
    if (rt.c0 + c >= params.D) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(rt, r)) { (*dst)[base[r] + c] = T(acc_at(acc, r, c)); }
    }
  }
}

fn row_tile(t: u32, col_tiles: u32, lid: u32) -> RowTile {
  return row_tile_w(t, col_tiles, lid, 16u);
}

// The same for tiles `width` columns wide (the 32-column _vec4 entries of the sequence stages).
fn row_tile_w(t: u32, col_tiles: u32, lid: u32, width: u32) -> RowTile {
  let blocks = (params.T + WG * R - 1u) / (WG * R);
  let ct = t % col_tiles;
  let rest = t / col_tiles;
  let bh = rest / blocks;
  let r0 = (rest % blocks) * (WG * R) + lid * R;
  let rows = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.T - 1u));
  return RowTile(bh / params.heads, bh % params.heads, bh, r0, rows, ct * width);
}

fn tile_count(col_tiles: u32) -> u32 {
  return params.B * params.heads * ((params.T + WG * R - 1u) / (WG * R)) * col_tiles;
}

// ---------------------------------------------------------------------------------------------
// attention_scores[_vec4]: probs = softmax(q·kᵀ·scale + bias). Pass 1 stores the biased scores and
// keeps an online max m and sum l = Σ exp(s − m) per row; pass 2 rereads the row and writes
// exp(s − m)/l. The _vec4 entry loads q and k 4 head dims at a time (needs D % 4 == 0).

struct SoftmaxRows {
  m: vec4<f32>,  // per row r
  l: vec4<f32>,
}

struct ScoresTile {
  rt: RowTile,
  q: vec4<u32>,  // q of this invocation's rows (element offsets)
  kcol: u32,     // k of key j is at kcol + j·3H
  p: vec4<u32>,  // probs rows
}

fn scores_tile(tile: u32, lid: u32) -> ScoresTile {
  let rt = row_tile(tile, 1u, lid);
  let L = params.T;
  let D = params.D;
  let row3 = 3u * params.H;
  return ScoresTile(rt, (vec4<u32>(rt.b * L) + rt.rows) * row3 + vec4<u32>(rt.h * D), rt.b * L * row3 + params.H + rt.h * D,
                    (vec4<u32>(rt.bh * L) + rt.rows) * L);
}

// Scale, bias and online-softmax update of one 4 × 16 tile of scores (keys j0..j0+15).
fn scores_update(acc: ptr<function, array<vec4<f32>, 16>>, st: ptr<function, SoftmaxRows>, t: ScoresTile, j0: u32, lane: u32) {
  let L = params.T;
  let ja = min(j0 + lane, L - 1u);
  let jb = min(j0 + lane + 8u, L - 1u);
  let bias = share(select(MASK_BIAS, 0.0, mask[t.rt.b * L + ja] != 0), select(MASK_BIAS, 0.0, mask[t.rt.b * L + jb] != 0));
  var top = vec4<f32>(NEG_INF);
  for (var c = 0u; c < 4u; c++) {
    let valid = vec4<u32>(j0 + c * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(L);
    for (var r = 0u; r < R; r++) {
      (*acc)[r * 4u + c] = select(vec4<f32>(NEG_INF), (*acc)[r * 4u + c] * params.scale + bias[c], valid);
      top[r] = max(top[r], vmax((*acc)[r * 4u + c]));
    }
  }
  let n = max((*st).m, top);
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    for (var r = 0u; r < R; r++) { s[r] += vsum(exp((*acc)[r * 4u + c] - n[r])); }
  }
  (*st).l = (*st).l * exp((*st).m - n) + s;
  (*st).m = n;
}

// The tile's scores, stored one element at a time (any T) or one vec4 at a time (T % 4 == 0,
// the _vec4 entry: 4x fewer stores, each a per-lane loop on lavapipe).
fn scores_store(acc: ptr<function, array<vec4<f32>, 16>>, t: ScoresTile, j0: u32) {
  for (var c = 0u; c < 16u; c++) {
    if (j0 + c >= params.T) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) { probs_rw3[t.p[r] + j0 + c] = T(acc_at(acc, r, c)); }
    }
  }
}

fn scores_store4(acc: ptr<function, array<vec4<f32>, 16>>, t: ScoresTile, j0: u32) {
  for (var c = 0u; c < 4u; c++) {
    if (j0 + 4u * c >= params.T) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) { probs_rw3_v4[(t.p[r] + j0) / 4u + c] = bitcast<T4>(vec4<T>((*acc)[r * 4u + c])); }
    }
  }
}

// Pass 2 touches only this invocation's own rows: no barrier needed.
fn scores_normalize(st: SoftmaxRows, t: ScoresTile) {
  let L = params.T;
  let inv = 1.0 / st.l;
  for (var j = 0u; j < L; j++) {
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) { probs_rw3[t.p[r] + j] = T(exp(f32(probs_rw3[t.p[r] + j]) - st.m[r]) * inv[r]); }
    }
  }
}

fn scores_normalize4(st: SoftmaxRows, t: ScoresTile) {
  let inv = 1.0 / st.l;
  for (var j4 = 0u; j4 < params.T / 4u; j4++) {
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) {
        let i = t.p[r] / 4u + j4;
        probs_rw3_v4[i] = bitcast<T4>(vec4<T>(exp(vec4<f32>(bitcast<vec4<T>>(probs_rw3_v4[i])) - st.m[r]) * inv[r]));
      }
    }
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
  var st = SoftmaxRows(vec4<f32>(NEG_INF), vec4<f32>(0.0));
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let k = vec2<u32>(t.kcol) + lane_cols(j0, L, lane) * row3;
    // Explicitly zeroed: a bare `var acc: array<...>;` inside this loop kept the previous
    // iteration's values on lavapipe (Dawn/Mesa), against WGSL's zero-init rule.
    var acc = array<vec4<f32>, 16>();
    contract(&acc, &qkv, t.q, &qkv, k.x, k.y);
    scores_update(&acc, &st, t, j0, lane);
    scores_store(&acc, t, j0);
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
  var st = SoftmaxRows(vec4<f32>(NEG_INF), vec4<f32>(0.0));
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let k = (vec2<u32>(t.kcol) + lane_cols(j0, L, lane) * row3) / 4u;
    var acc = array<vec4<f32>, 16>();
    contract4(&acc, &qkv_v4, t.q / 4u, &qkv_v4, k.x, k.y);
    scores_update(&acc, &st, t, j0, lane);
    scores_store4(&acc, t, j0);
  }
  scores_normalize4(st, t);
}

// ---------------------------------------------------------------------------------------------
// Products contracted over the sequence (context, grad_v, grad_qk): step u reads the rows' values
// of `probs` at a[r] + u·a_stride (times the dropout factor when `dropped`; `site` is then
// drop_site(...), since step_state is not bound where nothing is dropped) and this lane's two
// columns at b + u·b_stride + dc of `bv`, shared across the 8 lanes of the tile.
struct SeqOperands {
  a: vec4<u32>,
  a_stride: u32,
  dropped: bool,
  site: u32,
  b: u32,
  b_stride: u32,
}

fn seq_tile(o: SeqOperands, bv: ptr<storage, array<T>, read>, dc: vec2<u32>) -> array<vec4<f32>, 16> {
  var acc = array<vec4<f32>, 16>();
  for (var u = 0u; u < params.T; u++) {
    let bu = o.b + u * o.b_stride;
    let x = share(f32((*bv)[bu + dc.x]), f32((*bv)[bu + dc.y]));
    let ia = o.a + vec4<u32>(u * o.a_stride);
    var a = vec4<f32>(f32(probs[ia.x]), f32(probs[ia.y]), f32(probs[ia.z]), f32(probs[ia.w]));
    if (o.dropped) {
      for (var r = 0u; r < R; r++) { a[r] *= drop_factor(o.site, ia[r]); }
    }
    fma_tile(&acc, a, x);
  }
  return acc;
}

// seq_tile 4 steps at a time on tiles 32 columns wide (the _vec4 entries of context, grad_v and
// grad_qk; T % 4 == 0, D % 4 == 0, `b` and `b_stride` multiples of 4). The matmul's tile
// (kernels/matmul-subgroup.wgsl): an invocation owns 4 rows × 32 columns, 128
// accumulators, and per 4 sequence steps lane l loads vec4 column l of the tile at each of the 4
// steps; the 8 column groups are then broadcast and accumulated one group at a time (so the live
// values stay near lavapipe's 32 vector registers). Against 16 columns, a step's row values (and
// their dropout hashes) feed twice the products. Each element sums the same products in the same
// order as seq_tile: the same results. seq_tile4_rows reads the rows' values as one vec4 each
// (a_stride 1: context); seq_tile4 reads them one by one (an entry point may use only one view of
// `probs`).
const SEQ4_COLUMNS: u32 = 32u;

fn seq4_col_tiles() -> u32 { return (params.D + SEQ4_COLUMNS - 1u) / SEQ4_COLUMNS; }

// acc[8r + g] += Σ_kk av[r][kk]·b_kk, b_kk holding columns 4g .. 4g+3 at step kk.
fn group_rows_wide(acc: ptr<function, array<vec4<f32>, 32>>, av: array<vec4<f32>, 4>, g: u32, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) {
  for (var r = 0u; r < R; r++) {
    (*acc)[r * 8u + g] += av[r].x * b0 + av[r].y * b1 + av[r].z * b2 + av[r].w * b3;
  }
}

// Steps u..u+3: av[r] holds row r's values at them (dropout applied here when the operands say
// so); this lane's vec4 column sits at `at` + kk·(b_stride / 4) for step u + kk.
fn seq_step4(acc: ptr<function, array<vec4<f32>, 32>>, o: SeqOperands, u: u32, avin: array<vec4<f32>, 4>, bv4: ptr<storage, array<T4>, read>, at: u32) {
  var av = avin;
  if (o.dropped) {
    let ia = o.a + vec4<u32>(u * o.a_stride);
    for (var r = 0u; r < R; r++) {
      for (var kk = 0u; kk < 4u; kk++) {
        av[r][kk] *= drop_factor(o.site, ia[r] + kk * o.a_stride);
      }
    }
  }
  let s4 = o.b_stride / 4u;
  let m0 = vec4<f32>(bitcast<vec4<T>>((*bv4)[at]));
  let m1 = vec4<f32>(bitcast<vec4<T>>((*bv4)[at + s4]));
  let m2 = vec4<f32>(bitcast<vec4<T>>((*bv4)[at + 2u * s4]));
  let m3 = vec4<f32>(bitcast<vec4<T>>((*bv4)[at + 3u * s4]));
  group_rows_wide(acc, av, 0u, subgroupBroadcast(m0, 0u), subgroupBroadcast(m1, 0u), subgroupBroadcast(m2, 0u), subgroupBroadcast(m3, 0u));
  group_rows_wide(acc, av, 1u, subgroupBroadcast(m0, 1u), subgroupBroadcast(m1, 1u), subgroupBroadcast(m2, 1u), subgroupBroadcast(m3, 1u));
  group_rows_wide(acc, av, 2u, subgroupBroadcast(m0, 2u), subgroupBroadcast(m1, 2u), subgroupBroadcast(m2, 2u), subgroupBroadcast(m3, 2u));
  group_rows_wide(acc, av, 3u, subgroupBroadcast(m0, 3u), subgroupBroadcast(m1, 3u), subgroupBroadcast(m2, 3u), subgroupBroadcast(m3, 3u));
  group_rows_wide(acc, av, 4u, subgroupBroadcast(m0, 4u), subgroupBroadcast(m1, 4u), subgroupBroadcast(m2, 4u), subgroupBroadcast(m3, 4u));
  group_rows_wide(acc, av, 5u, subgroupBroadcast(m0, 5u), subgroupBroadcast(m1, 5u), subgroupBroadcast(m2, 5u), subgroupBroadcast(m3, 5u));
  group_rows_wide(acc, av, 6u, subgroupBroadcast(m0, 6u), subgroupBroadcast(m1, 6u), subgroupBroadcast(m2, 6u), subgroupBroadcast(m3, 6u));
  group_rows_wide(acc, av, 7u, subgroupBroadcast(m0, 7u), subgroupBroadcast(m1, 7u), subgroupBroadcast(m2, 7u), subgroupBroadcast(m3, 7u));
}

// This lane's vec4 column of the tile at step 0 (clamped into the head: lanes past D load
// duplicates that no store reads).
fn seq4_col(o: SeqOperands, c0: u32, lane: u32) -> u32 {
  return o.b / 4u + min(c0 / 4u + lane, params.D / 4u - 1u);
}

// The rows' values one by one (grad_v, grad_qk).
fn seq_tile4(o: SeqOperands, bv4: ptr<storage, array<T4>, read>, c0: u32, lane: u32) -> array<vec4<f32>, 32> {
  var acc = array<vec4<f32>, 32>();
  let b0 = seq4_col(o, c0, lane);
  let s = o.a_stride;
  for (var u = 0u; u < params.T; u += 4u) {
    var av: array<vec4<f32>, 4>;
    for (var r = 0u; r < R; r++) {
      let i = o.a[r] + u * s;
      av[r] = vec4<f32>(f32(probs[i]), f32(probs[i + s]), f32(probs[i + 2u * s]), f32(probs[i + 3u * s]));
    }
    seq_step4(&acc, o, u, av, bv4, b0 + u * (o.b_stride / 4u));
  }
  return acc;
}

// The same with each row's 4 values as one vec4 (a_stride 1: context).
fn seq_tile4_rows(o: SeqOperands, bv4: ptr<storage, array<T4>, read>, c0: u32, lane: u32) -> array<vec4<f32>, 32> {
  var acc = array<vec4<f32>, 32>();
  let b0 = seq4_col(o, c0, lane);
  for (var u = 0u; u < params.T; u += 4u) {
    var av: array<vec4<f32>, 4>;
    for (var r = 0u; r < R; r++) { av[r] = vec4<f32>(bitcast<vec4<T>>(probs_v4[(o.a[r] + u) / 4u])); }
    seq_step4(&acc, o, u, av, bv4, b0 + u * (o.b_stride / 4u));
  }
  return acc;
}

// The tile's rows (those inside [0, T)) at dst[base[r] / 4 + c] one vec4 at a time, columns inside [0, D).
fn store_rows4_wide(acc: ptr<function, array<vec4<f32>, 32>>, dst: ptr<storage, array<T4>, read_write>, rt: RowTile, base: vec4<u32>) {
  for (var c = 0u; c < 8u; c++) {
    if (rt.c0 + 4u * c >= params.D) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(rt, r)) { (*dst)[base[r] / 4u + c] = bitcast<T4>(vec4<T>((*acc)[r * 8u + c])); }
    }
  }
}

fn dropout_site() -> u32 { return drop_site(step_state.seed, step_state.micro_step); }

// The tile's rows at `row0 + r·stride` for its rows r (out, dV, dQ, dK stores).
fn tile_rows(rt: RowTile, stride: u32, col: u32) -> vec4<u32> {
  return (vec4<u32>(rt.b * params.T) + rt.rows) * stride + vec4<u32>(col + rt.c0);
}

// ---------------------------------------------------------------------------------------------
// attention_context[_vec4]: out[b, i, h·D + d] = Σ_j Pd[b, h, i, j]·v[b, j, h·D + d].
fn context_operands(rt: RowTile) -> SeqOperands {
  let L = params.T;
  let row3 = 3u * params.H;
  let p = (vec4<u32>(rt.bh * L) + rt.rows) * L;
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
  let col_tiles = seq4_col_tiles();
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile_w(tile, col_tiles, lid, SEQ4_COLUMNS);
  var acc = seq_tile4_rows(context_operands(rt), &qkv_v4, rt.c0, sid % 8u);
  store_rows4_wide(&acc, &out_rw_v4, rt, tile_rows(rt, params.H, rt.h * params.D));
}

// ---------------------------------------------------------------------------------------------
// attention_grad_v: dV[b, j, h·D + d] = Σ_i Pd[b, h, i, j]·dO[b, i, h·D + d]; rows are keys j.
fn grad_v_operands(rt: RowTile) -> SeqOperands {
  let L = params.T;
  let p = vec4<u32>(rt.bh * L * L) + rt.rows;
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
  let col_tiles = seq4_col_tiles();
  let tile = grid_tile(wid, nwg);
  if (tile >= tile_count(col_tiles)) { return; }
  let rt = row_tile_w(tile, col_tiles, lid, SEQ4_COLUMNS);
  var acc = seq_tile4(grad_v_operands(rt), &d_out_v4, rt.c0, sid % 8u);
  store_rows4_wide(&acc, &d_qkv4_v4, rt, tile_rows(rt, 3u * params.H, 2u * params.H + rt.h * params.D));
}

// ---------------------------------------------------------------------------------------------
// attention_grad_scores[_vec4]: probs ← dS·scale = P ⊙ (dO·Vᵀ·keep/(1 − p) − δ)·scale,
// δ_i = dO_i·out_i. The _vec4 entry loads dO, out and v 4 head dims at a time (needs D % 4 == 0).

struct GradScoresTile {
  rt: RowTile,
  o: vec4<u32>,  // dO and out of this invocation's rows
  vcol: u32,     // v of key j is at vcol + j·3H
  p: vec4<u32>,
}

fn grad_scores_tile(tile: u32, lid: u32) -> GradScoresTile {
  let rt = row_tile(tile, 1u, lid);
  let L = params.T;
  let D = params.D;
  let H = params.H;
  return GradScoresTile(rt, (vec4<u32>(rt.b * L) + rt.rows) * H + vec4<u32>(rt.h * D),
                        rt.b * L * 3u * H + 2u * H + rt.h * D, (vec4<u32>(rt.bh * L) + rt.rows) * L);
}

fn grad_scores_finish(acc: ptr<function, array<vec4<f32>, 16>>, t: GradScoresTile, j0: u32, delta: vec4<f32>, site: u32) {
  let L = params.T;
  for (var c = 0u; c < 16u; c++) {
    if (j0 + c >= L) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) {
        let i = t.p[r] + j0 + c;
        let p = f32(probs_rw2[i]);
        probs_rw2[i] = T(p * (acc_at(acc, r, c) * drop_factor(site, i) - delta[r]) * params.scale);
      }
    }
  }
}

// The same one vec4 at a time (T % 4 == 0, the _vec4 entry).
fn grad_scores_finish4(acc: ptr<function, array<vec4<f32>, 16>>, t: GradScoresTile, j0: u32, delta: vec4<f32>, site: u32) {
  for (var c = 0u; c < 4u; c++) {
    if (j0 + 4u * c >= params.T) { break; }
    for (var r = 0u; r < R; r++) {
      if (row_live(t.rt, r)) {
        let i = t.p[r] + j0 + 4u * c;
        let p = vec4<f32>(bitcast<vec4<T>>(probs_rw2_v4[i / 4u]));
        probs_rw2_v4[i / 4u] = bitcast<T4>(vec4<T>(p * ((*acc)[r * 4u + c] * drop_factor4(site, i) - delta[r]) * params.scale));
      }
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
  var delta = vec4<f32>(0.0);
  for (var d = 0u; d < D; d++) {
    let o = t.o + vec4<u32>(d);
    delta += vec4<f32>(f32(d_out[o.x]) * f32(out_ro[o.x]), f32(d_out[o.y]) * f32(out_ro[o.y]),
                       f32(d_out[o.z]) * f32(out_ro[o.z]), f32(d_out[o.w]) * f32(out_ro[o.w]));
  }
  let lane = sid % 8u;
  let site = dropout_site();
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let v = vec2<u32>(t.vcol) + lane_cols(j0, L, lane) * row3;
    var acc = array<vec4<f32>, 16>();
    contract(&acc, &d_out, t.o, &qkv4, v.x, v.y);
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
  let o = t.o / 4u;
  var delta = vec4<f32>(0.0);
  for (var d4 = 0u; d4 < D4; d4++) {
    delta += vec4<f32>(dot(vec4<f32>(bitcast<vec4<T>>(d_out_v4[o.x + d4])), vec4<f32>(bitcast<vec4<T>>(out_ro_v4[o.x + d4]))),
                       dot(vec4<f32>(bitcast<vec4<T>>(d_out_v4[o.y + d4])), vec4<f32>(bitcast<vec4<T>>(out_ro_v4[o.y + d4]))),
                       dot(vec4<f32>(bitcast<vec4<T>>(d_out_v4[o.z + d4])), vec4<f32>(bitcast<vec4<T>>(out_ro_v4[o.z + d4]))),
                       dot(vec4<f32>(bitcast<vec4<T>>(d_out_v4[o.w + d4])), vec4<f32>(bitcast<vec4<T>>(out_ro_v4[o.w + d4]))));
  }
  let lane = sid % 8u;
  let site = dropout_site();
  for (var j0 = 0u; j0 < L; j0 += 16u) {
    let v = (vec2<u32>(t.vcol) + lane_cols(j0, L, lane) * row3) / 4u;
    var acc = array<vec4<f32>, 16>();
    contract4(&acc, &d_out_v4, o, &qkv4_v4, v.x, v.y);
    grad_scores_finish4(&acc, t, j0, delta, site);
  }
}

// ---------------------------------------------------------------------------------------------
// attention_grad_qk: the first half of the tiles writes dQ = dS·K (rows = queries i), the second
// dK = dSᵀ·Q (rows = keys j); `probs` already holds dS·scale.
struct GradQkTile {
  rt: RowTile,
  o: SeqOperands,
  dst: vec4<u32>,   // where the tile's rows go in d_qkv
}

// Whether the workgroup has a tile: from uniform values only, so that the uniformity analysis
// lets the lanes that stay go on to the broadcasts.
fn grad_qk_live(wid: vec3<u32>, nwg: vec3<u32>, width: u32) -> bool {
  return grid_tile(wid, nwg) < 2u * tile_count((params.D + width - 1u) / width);
}

fn grad_qk_tile(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, width: u32) -> GradQkTile {
  var out: GradQkTile;
  let col_tiles = (params.D + width - 1u) / width;
  let per_part = tile_count(col_tiles);
  let tile = grid_tile(wid, nwg);
  let is_k = tile >= per_part;
  let rt = row_tile_w(tile % per_part, col_tiles, lid, width);
  let L = params.T;
  let H = params.H;
  let row3 = 3u * H;
  // dQ: A(i, u) = dS[i, u], B(u, d) = k[u, d].  dK: A(j, u) = dS[u, j], B(u, d) = q[u, d].
  let a = vec4<u32>(rt.bh * L * L) + rt.rows * select(L, 1u, is_k);
  let bcol = rt.b * L * row3 + select(H, 0u, is_k) + rt.h * params.D;
  out.rt = rt;
  out.o = SeqOperands(a, select(1u, L, is_k), false, 0u, bcol, row3);
  out.dst = tile_rows(rt, row3, select(0u, H, is_k) + rt.h * params.D);
  return out;
}

@compute @workgroup_size(WG)
fn attention_grad_qk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  if (!grad_qk_live(wid, nwg, 16u)) { return; }
  let t = grad_qk_tile(wid, nwg, lid, 16u);
  var acc = seq_tile(t.o, &qkv, lane_cols(t.rt.c0, params.D, sid % 8u));
  store_rows(&acc, &d_qkv3, t.rt, t.dst);
}

// The same 4 sequence steps at a time (T % 4 == 0, D % 4 == 0), stored as vec4s.
@compute @workgroup_size(WG)
fn attention_grad_qk_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  if (!grad_qk_live(wid, nwg, SEQ4_COLUMNS)) { return; }
  let t = grad_qk_tile(wid, nwg, lid, SEQ4_COLUMNS);
  var acc = seq_tile4(t.o, &qkv_v4, t.rt.c0, sid % 8u);
  store_rows4_wide(&acc, &d_qkv3_v4, t.rt, t.dst);
}
