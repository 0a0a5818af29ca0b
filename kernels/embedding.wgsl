// embedding: BERT's input embeddings (word + position + token type) and their deterministic
// backward, which only ADDS into the rows it touches (the word table is tied to the MLM
// decoder, whose matmul also accumulates into d_word).
//
// Ops (entry point = op; `<op>_vec4` is the same on vec4 views, usable when H % 4 == 0):
//   embedding_forward          out[n] = word[ids[n]] + pos[n % seq] + type[types[n]]   `=`
//       bindings: 1 ids i32 (N), 2 types i32 (N), 3 word (V,H), 4 pos (P,H), 5 type (TV,H), 6 out (N,H)
//   embedding_backward_word    d_word[unique[u]] += Σ_{k = offsets[u]}^{offsets[u+1]−1} d_out[rows[k]]
//                              (the CSR grouping from groupRowsById, summed in its order)
//       bindings: 1 d_out (N,H), 2 unique i32 (G), 3 offsets i32 (G+1), 4 rows i32 (N), 5 d_word (V,H) `+=`
//       G = the launch's group capacity; groups past the batch's real count must be empty
//       (offsets[u] == offsets[u+1]; paddedRowGroups pads so) and are skipped, as are ids < 0.
//   embedding_backward_position d_pos[t] += Σ_{b} d_out[b·seq + t], b ascending, t < seq
//       bindings: 1 d_out (N,H), 2 d_pos (P,H) `+=`
//   embedding_backward_type    d_type[k] += Σ_{n: types[n] == k} d_out[n], n ascending
//       bindings: 1 d_out (N,H), 2 types i32 (N), 3 d_type (TV,H) `+=`
// Binding 0 is params (uniform Params). Tables and gradients are array<T> (vec4<T> in _vec4
// entries), row-major; index buffers are array<i32>. Ids and types are clamped into their
// tables in both directions (an out-of-range id reads and writes a valid row, never past it).
// Overrides: WG invocations per workgroup.
// Launch: embedding_forward and embedding_backward_word: a workgroup takes output rows (token
//   n; group u) w, w + workgroups, ... (gridStride: one row each on a GPU, a few looping
//   workgroups per core on a CPU adapter); its invocations stride over the row's columns (vec4s),
//   so ids load once per row and no invocation divides by H (lavapipe: integer division is per
//   lane). Position and type
//   gradients: one invocation = one (row, column or vec4) of d_pos / d_type, looping tokens.
//   Each output element is written by exactly one invocation, whose sum runs in a fixed order:
//   bitwise deterministic. Workgroups enumerate linearly over x/y (grid1d).
// Element types: tables, output and d_out are T; the table gradients are TG (T, or f32 where
// mixed precision keeps parameter gradients in f32).

struct Params {
  N: u32,        // token rows
  H: u32,        // hidden
  seq: u32,      // sequence length: position of row n is n % seq
  V: u32,        // word rows
  P: u32,        // position rows
  TV: u32,       // token type rows
  groups: u32,   // embedding_backward_word: group capacity G
  pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;

// embedding_forward
@group(0) @binding(1) var<storage, read> f_ids: array<i32>;
@group(0) @binding(2) var<storage, read> f_types: array<i32>;
@group(0) @binding(3) var<storage, read> f_word: array<T>;
@group(0) @binding(4) var<storage, read> f_pos: array<T>;
@group(0) @binding(5) var<storage, read> f_type: array<T>;
@group(0) @binding(6) var<storage, read_write> f_out: array<T>;
@group(0) @binding(3) var<storage, read> f_word4: array<T4>;
@group(0) @binding(4) var<storage, read> f_pos4: array<T4>;
@group(0) @binding(5) var<storage, read> f_type4: array<T4>;
@group(0) @binding(6) var<storage, read_write> f_out4: array<T4>;

// backward: d_out is binding 1 in all three
@group(0) @binding(1) var<storage, read> d_out: array<T>;
@group(0) @binding(1) var<storage, read> d_out4: array<T4>;
// embedding_backward_word
@group(0) @binding(2) var<storage, read> w_unique: array<i32>;
@group(0) @binding(3) var<storage, read> w_offsets: array<i32>;
@group(0) @binding(4) var<storage, read> w_rows: array<i32>;
@group(0) @binding(5) var<storage, read_write> w_dword: array<TG>;
@group(0) @binding(5) var<storage, read_write> w_dword4: array<TG4>;
// embedding_backward_position
@group(0) @binding(2) var<storage, read_write> p_dpos: array<TG>;
@group(0) @binding(2) var<storage, read_write> p_dpos4: array<TG4>;
// embedding_backward_type
@group(0) @binding(2) var<storage, read> t_types: array<i32>;
@group(0) @binding(3) var<storage, read_write> t_dtype: array<TG>;
@group(0) @binding(3) var<storage, read_write> t_dtype4: array<TG4>;

fn clamp_row(v: i32, rows: u32) -> u32 {
  return u32(clamp(v, 0, i32(rows) - 1));
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = params.H;
  for (var n = wid.x + wid.y * nwg.x; n < params.N; n += nwg.x * nwg.y) {
    let w = clamp_row(f_ids[n], params.V) * H;
    let t = min(n % params.seq, params.P - 1u) * H;
    let k = clamp_row(f_types[n], params.TV) * H;
    for (var c = lid; c < H; c += WG) {
      f_out[n * H + c] = T(f32(f_word[w + c]) + f32(f_pos[t + c]) + f32(f_type[k + c]));
    }
  }
}

@compute @workgroup_size(WG)
fn embedding_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h4 = params.H / 4u;
  for (var n = wid.x + wid.y * nwg.x; n < params.N; n += nwg.x * nwg.y) {
    let w = clamp_row(f_ids[n], params.V) * h4;
    let t = min(n % params.seq, params.P - 1u) * h4;
    let k = clamp_row(f_types[n], params.TV) * h4;
    for (var c = lid; c < h4; c += WG) {
      f_out4[n * h4 + c] = bitcast<T4>(vec4<T>(vec4<f32>(bitcast<vec4<T>>(f_word4[w + c])) + vec4<f32>(bitcast<vec4<T>>(f_pos4[t + c])) + vec4<f32>(bitcast<vec4<T>>(f_type4[k + c]))));
    }
  }
}

@compute @workgroup_size(WG)
fn embedding_backward_word(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = params.H;
  for (var u = wid.x + wid.y * nwg.x; u < params.groups; u += nwg.x * nwg.y) {
    let k0 = w_offsets[u];
    let k1 = w_offsets[u + 1u];
    let id = w_unique[u];
    if (k1 <= k0 || id < 0) { continue; }
    let dst = clamp_row(id, params.V) * H;
    for (var c = lid; c < H; c += WG) {
      var acc = 0.0;
      for (var k = k0; k < k1; k++) { acc += f32(d_out[u32(w_rows[k]) * H + c]); }
      w_dword[dst + c] = TG(f32(w_dword[dst + c]) + acc);
    }
  }
}

@compute @workgroup_size(WG)
fn embedding_backward_word_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h4 = params.H / 4u;
  for (var u = wid.x + wid.y * nwg.x; u < params.groups; u += nwg.x * nwg.y) {
    let k0 = w_offsets[u];
    let k1 = w_offsets[u + 1u];
    let id = w_unique[u];
    if (k1 <= k0 || id < 0) { continue; }
    let dst = clamp_row(id, params.V) * h4;
    for (var c = lid; c < h4; c += WG) {
      var acc = vec4<f32>(0.0);
      for (var k = k0; k < k1; k++) { acc += vec4<f32>(bitcast<vec4<T>>(d_out4[u32(w_rows[k]) * h4 + c])); }
      w_dword4[dst + c] = bitcast<TG4>(vec4<TG>(vec4<f32>(bitcast<vec4<TG>>(w_dword4[dst + c])) + acc));
    }
  }
}

@compute @workgroup_size(WG)
fn embedding_backward_position(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let H = params.H;
  let rows = min(params.seq, params.P);
  if (i >= rows * H) { return; }
  let t = i / H;
  let c = i % H;
  var acc = 0.0;
  for (var n = t; n < params.N; n += params.seq) { acc += f32(d_out[n * H + c]); }
  p_dpos[i] = TG(f32(p_dpos[i]) + acc);
}

@compute @workgroup_size(WG)
fn embedding_backward_position_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let h4 = params.H / 4u;
  let rows = min(params.seq, params.P);
  if (i >= rows * h4) { return; }
  let t = i / h4;
  let c = i % h4;
  var acc = vec4<f32>(0.0);
  for (var n = t; n < params.N; n += params.seq) { acc += vec4<f32>(bitcast<vec4<T>>(d_out4[n * h4 + c])); }
  p_dpos4[i] = bitcast<TG4>(vec4<TG>(vec4<f32>(bitcast<vec4<TG>>(p_dpos4[i])) + acc));
}

@compute @workgroup_size(WG)
fn embedding_backward_type(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let H = params.H;
  if (i >= params.TV * H) { return; }
  let k = i / H;
  let c = i % H;
  var acc = 0.0;
  for (var n = 0u; n < params.N; n++) {
    if (clamp_row(t_types[n], params.TV) == k) { acc += f32(d_out[n * H + c]); }
  }
  t_dtype[i] = TG(f32(t_dtype[i]) + acc);
}

@compute @workgroup_size(WG)
fn embedding_backward_type_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let h4 = params.H / 4u;
  if (i >= params.TV * h4) { return; }
  let k = i / h4;
  let c = i % h4;
  var acc = vec4<f32>(0.0);
  for (var n = 0u; n < params.N; n++) {
    if (clamp_row(t_types[n], params.TV) == k) { acc += vec4<f32>(bitcast<vec4<T>>(d_out4[n * h4 + c])); }
  }
  t_dtype4[i] = bitcast<TG4>(vec4<TG>(vec4<f32>(bitcast<vec4<TG>>(t_dtype4[i])) + acc));
}
