// rows: gather whole rows by index, and its adjoint, a weighted-guard scatter-add.
// Used for the MLM masked positions before the vocab projection and the [CLS] rows of the
// pooler (idx = b·seq).
//
// Ops (entry point = op; `<op>_vec4` is the same on vec4 views, usable when H % 4 == 0):
//   gather_rows       out[r] = src[idx[r]]                                          `=`
//       bindings: 1 src (N,H), 2 idx i32 (R), 3 out (R,H)
//   scatter_rows_add  d_src[idx[r]] += d_out[r] for rows with weights[r] ≠ 0 ONLY   `+=`
//       bindings: 1 d_out (R,H), 2 idx i32 (R), 3 weights f32 (R), 4 d_src (N,H)
//       Rows with weight ≠ 0 must have distinct idx (then no two invocations touch the same
//       element: deterministic, race-free); weight-0 rows (padding predictions, idx 0) are
//       skipped so they cannot race with a real row 0.
// Binding 0 is params (uniform Params). Tensors array<T> (vec4<T> in _vec4 entries), row-major;
// idx array<i32>, weights array<f32>. Out-of-range idx: gather clamps into [0, N); scatter skips.
// Overrides: WG invocations per workgroup.
// Launch: one workgroup = one row r, its invocations stride over the columns (vec4s): idx and
//   weight load once per row, and nothing divides by H (lavapipe: integer division is per
//   lane). Workgroups enumerate rows linearly over x/y (grid1d).

struct Params {
  R: u32,   // gathered rows
  H: u32,   // columns
  N: u32,   // rows of src / d_src
  pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;

@group(0) @binding(1) var<storage, read> g_src: array<T>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> g_out: array<T>;
@group(0) @binding(1) var<storage, read> g_src4: array<T4>;
@group(0) @binding(3) var<storage, read_write> g_out4: array<T4>;

@group(0) @binding(1) var<storage, read> s_dout: array<T>;
@group(0) @binding(3) var<storage, read> s_weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> s_dsrc: array<T>;
@group(0) @binding(1) var<storage, read> s_dout4: array<T4>;
@group(0) @binding(4) var<storage, read_write> s_dsrc4: array<T4>;

@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.R) { return; }
  let H = params.H;
  let src = u32(clamp(idx[r], 0, i32(params.N) - 1)) * H;
  for (var c = lid; c < H; c += WG) { g_out[r * H + c] = g_src[src + c]; }
}

@compute @workgroup_size(WG)
fn gather_rows_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.R) { return; }
  let h4 = params.H / 4u;
  let src = u32(clamp(idx[r], 0, i32(params.N) - 1)) * h4;
  for (var c = lid; c < h4; c += WG) { g_out4[r * h4 + c] = g_src4[src + c]; }
}

@compute @workgroup_size(WG)
fn scatter_rows_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.R) { return; }
  let dst = idx[r];
  if (s_weights[r] == 0.0 || dst < 0 || u32(dst) >= params.N) { return; }
  let H = params.H;
  let at = u32(dst) * H;
  for (var c = lid; c < H; c += WG) { s_dsrc[at + c] = T(f32(s_dsrc[at + c]) + f32(s_dout[r * H + c])); }
}

@compute @workgroup_size(WG)
fn scatter_rows_add_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.R) { return; }
  let dst = idx[r];
  if (s_weights[r] == 0.0 || dst < 0 || u32(dst) >= params.N) { return; }
  let h4 = params.H / 4u;
  let at = u32(dst) * h4;
  for (var c = lid; c < h4; c += WG) { s_dsrc4[at + c] = bitcast<T4>(vec4<T>(vec4<f32>(bitcast<vec4<T>>(s_dsrc4[at + c])) + vec4<f32>(bitcast<vec4<T>>(s_dout4[r * h4 + c])))); }
}
