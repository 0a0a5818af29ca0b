// bias_grad: the bias gradient of a dense layer, column sums db[n] (+)= Σ_m dY[m, n], for
// dY (M, N) row-major. Deterministic (fixed summation order), f32 accumulation, two stages:
//   1. bias_grad_partial / bias_grad_partial_vec4: partial[chunk, n] = Σ dY[m, n] over the rows
//      m of one chunk (rows chunk·ROWS .. +ROWS-1, the last chunk shorter). `=`.
//   2. bias_grad_final: db[n] = Σ_chunk partial[chunk, n] in chunk order; `=`, or `+=` with
//      ACCUMULATE (gradients accumulate over micro-batches).
// Params (uniform, binding 0, all entry points): M, N, rows (ROWS, rows per chunk), chunks
//   (= ceil(M / rows)), u32.
// Bindings (group 0):
//   bias_grad_partial       1 dy      storage read        array<T>          (M, N)
//                           2 partial storage read_write  array<f32>        (chunks, N)
//   bias_grad_partial_vec4  1 dy4     storage read        array<T4>    (M, N/4); N % 4 == 0
//                           2 part4   storage read_write  array<vec4<f32>>  (chunks, N/4)
//   bias_grad_final         1 part_in storage read        array<f32>        (chunks, N)
//                           2 db      storage read_write  array<T>          (N)
// One invocation: stage 1, one column (vec4: 4 columns) of one chunk, ROWS loads; stage 2,
// one column, `chunks` loads. One workgroup: WG invocations along columns; stage 1 enumerates
// (chunk, column block) linearly, column block fastest, spread over x/y (grid1d).
// Why vec4: on lavapipe each storage load costs about the same whether scalar or vec4, so
// 4 columns per load is 4× fewer loads (DESIGN.md, runtime facts).
// Overrides: WG (invocations per workgroup, 64), ACCUMULATE (bool, stage 2 only).
// Element types: dy is T; db is TG (T, or f32 where mixed precision keeps parameter gradients in f32).

struct Params {
  M: u32,
  N: u32,
  rows: u32,
  chunks: u32,
}

override WG: u32 = 64u;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read> dy4: array<T4>;
@group(0) @binding(2) var<storage, read_write> part4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> part_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<TG>;

@compute @workgroup_size(WG)
fn bias_grad_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let blocks = (params.N + WG - 1u) / WG;
  let tile = wid.x + wid.y * nwg.x;
  let chunk = tile / blocks;
  let n = (tile % blocks) * WG + lid;
  if (chunk >= params.chunks || n >= params.N) { return; }
  let m0 = chunk * params.rows;
  let m1 = min(m0 + params.rows, params.M);
  var s = 0.0;
  for (var m = m0; m < m1; m++) { s += f32(dy[m * params.N + n]); }
  partial[chunk * params.N + n] = s;
}

@compute @workgroup_size(WG)
fn bias_grad_partial_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let n4 = params.N / 4u;
  let blocks = (n4 + WG - 1u) / WG;
  let tile = wid.x + wid.y * nwg.x;
  let chunk = tile / blocks;
  let j = (tile % blocks) * WG + lid;
  if (chunk >= params.chunks || j >= n4) { return; }
  let m0 = chunk * params.rows;
  let m1 = min(m0 + params.rows, params.M);
  var s = vec4<f32>(0.0);
  for (var m = m0; m < m1; m++) { s += vec4<f32>(bitcast<vec4<T>>(dy4[m * n4 + j])); }
  part4[chunk * n4 + j] = s;
}

@compute @workgroup_size(WG)
fn bias_grad_final(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= params.N) { return; }
  var s = 0.0;
  for (var i = 0u; i < params.chunks; i++) { s += part_in[i * params.N + n]; }
  if (ACCUMULATE) { db[n] = TG(f32(db[n]) + s); } else { db[n] = TG(s); }
}
