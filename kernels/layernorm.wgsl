// layernorm: LayerNorm over the last dim of x (N rows, H columns), forward, the fused post-LN
// "residual + dropout → LayerNorm" forward, and the backward in three deterministic launches.
//
// Ops (entry point = op; `<op>_vec4` is the same on vec4 views, usable when H % 4 == 0):
//   layernorm_forward          y = (x − mean)·rstd·gamma + beta; stats = (mean, rstd)
//       bindings: 1 x (N,H), 2 gamma (H), 3 beta (H), 4 y (N,H) `=`, 5 stats (N) `=`
//   layernorm_forward_dropout  the same with y = LN(x) · keep/(1 − p) (a dropout of the output:
//                              src/graph/fusion.ts fuseLayernormDropout)
//       bindings: 1-5 as layernorm_forward, 6 step_state
//   residual_dropout_layernorm_forward
//       s = residual + dropout(a), y = LN(s); with p == 0 the RNG is not evaluated (plain add)
//       bindings: 1 step_state, 2 residual (N,H), 3 a (N,H), 4 gamma, 5 beta,
//                 6 s (N,H) `=`, 7 y (N,H) `=`, 8 stats (N) `=`
//   layernorm_backward         dx (=|+= by ACCUMULATE) = rstd·(g − mean_c(g) − xhat·mean_c(g·xhat)),
//                              g = dy·gamma, xhat = (x − mean)·rstd
//       bindings: 1 dy (N,H), 2 x (N,H) (the LN input), 3 gamma (H), 4 stats (N), 5 dx (N,H)
//   layernorm_backward_dropout  the same, and dropped = dx · keep/(1 − p) (a dropout's backward
//                              over the stored dx: src/graph/fusion.ts fuseDropoutBackward)
//       bindings: 1-5 as layernorm_backward, 6 step_state, 7 dropped (N,H) `=`
//   layernorm_backward_params  per chunk of CHUNK rows (fixed order inside a chunk):
//                              partials[chunk] = (Σ dy·xhat (H), Σ dy (H))  `=`
//       bindings: 1 dy (N,H), 2 x (N,H), 3 stats (N), 4 partials (chunks, 2, H) f32
//   layernorm_backward_params_finish  dgamma += Σ_chunk partials[chunk, 0], dbeta += Σ partials[chunk, 1],
//                              chunks summed in ascending order: the same bits every run
//       bindings: 1 partials (chunks, 2, H) f32, 2 dgamma (H) `+=`, 3 dbeta (H) `+=`
// Binding 0 is params (uniform Params). Tensors are array<T> (array<T4> in _vec4 entries),
// row-major; stats is array<vec2<f32>>: (mean, rstd) per row, f32 whatever T is; partials f32.
// Dropout index = the element's linear index n·H + c in a; kept values are scaled by 1/(1 − p)
// (params.scale); seed and micro_step come from step_state, stream is a per-site uniform.
// Overrides: ACCUMULATE (bool, layernorm_backward[_dropout]); WG invocations per workgroup.
// Launch: forward and backward: one invocation = one row (loops over H, lavapipe-friendly: no
//   barriers, no workgroup memory); params: one invocation = one column (or vec4 of columns)
//   of one chunk; finish: one invocation = one column (vec4). Workgroups linear over x/y (grid1d).
// Variance: one pass of shifted sums (shift = the row's first value), var = E[(x−k)²] − E[x−k]².
// Element types: everything is T except the statistics and partials (f32) and the parameter
// gradients dgamma/dbeta (TG: T, or f32 where mixed precision keeps parameter gradients in f32).

struct Params {
  N: u32,
  H: u32,
  eps: f32,
  p: f32,        // dropout probability (fused forward)
  scale: f32,    // 1 / (1 − p)
  stream: u32,   // dropout stream (fused forward)
  chunk: u32,    // rows per chunk (backward params)
  chunks: u32,   // number of chunks = ceil(N / chunk)
}

override ACCUMULATE: bool = false;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;

// layernorm_forward
@group(0) @binding(1) var<storage, read> f_x: array<T>;
@group(0) @binding(2) var<storage, read> f_gamma: array<T>;
@group(0) @binding(3) var<storage, read> f_beta: array<T>;
@group(0) @binding(4) var<storage, read_write> f_y: array<T>;
@group(0) @binding(5) var<storage, read_write> f_stats: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> f_x4: array<T4>;
@group(0) @binding(2) var<storage, read> f_gamma4: array<T4>;
@group(0) @binding(3) var<storage, read> f_beta4: array<T4>;
@group(0) @binding(4) var<storage, read_write> f_y4: array<T4>;

// residual_dropout_layernorm_forward
@group(0) @binding(1) var<storage, read> step_state: StepState;
@group(0) @binding(2) var<storage, read> r_res: array<T>;
@group(0) @binding(3) var<storage, read> r_a: array<T>;
@group(0) @binding(4) var<storage, read> r_gamma: array<T>;
@group(0) @binding(5) var<storage, read> r_beta: array<T>;
@group(0) @binding(6) var<storage, read_write> r_s: array<T>;
@group(0) @binding(7) var<storage, read_write> r_y: array<T>;
@group(0) @binding(8) var<storage, read_write> r_stats: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> r_res4: array<T4>;
@group(0) @binding(3) var<storage, read> r_a4: array<T4>;
@group(0) @binding(4) var<storage, read> r_gamma4: array<T4>;
@group(0) @binding(5) var<storage, read> r_beta4: array<T4>;
@group(0) @binding(6) var<storage, read_write> r_s4: array<T4>;
@group(0) @binding(7) var<storage, read_write> r_y4: array<T4>;

// layernorm_backward
@group(0) @binding(1) var<storage, read> b_dy: array<T>;
@group(0) @binding(2) var<storage, read> b_x: array<T>;
@group(0) @binding(3) var<storage, read> b_gamma: array<T>;
@group(0) @binding(4) var<storage, read> b_stats: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> b_dx: array<T>;
@group(0) @binding(1) var<storage, read> b_dy4: array<T4>;
@group(0) @binding(2) var<storage, read> b_x4: array<T4>;
@group(0) @binding(3) var<storage, read> b_gamma4: array<T4>;
@group(0) @binding(5) var<storage, read_write> b_dx4: array<T4>;

// The _dropout entries' step state (binding 6), and layernorm_backward_dropout's output
// (bindings 1-5 as layernorm_backward's)
@group(0) @binding(6) var<storage, read> drop_step: StepState;
@group(0) @binding(7) var<storage, read_write> bd_dropped: array<T>;
@group(0) @binding(7) var<storage, read_write> bd_dropped4: array<T4>;

// layernorm_backward_params (dy, x as above)
@group(0) @binding(3) var<storage, read> p_stats: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> p_partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> p_partials4: array<vec4<f32>>;

// layernorm_backward_params_finish
@group(0) @binding(1) var<storage, read> q_partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> q_dgamma: array<TG>;
@group(0) @binding(3) var<storage, read_write> q_dbeta: array<TG>;
@group(0) @binding(1) var<storage, read> q_partials4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> q_dgamma4: array<TG4>;
@group(0) @binding(3) var<storage, read_write> q_dbeta4: array<TG4>;

fn hsum(v: vec4<f32>) -> f32 {
  return v.x + v.y + v.z + v.w;
}

// (mean, rstd) from shifted sums s1 = Σ(x − k), s2 = Σ(x − k)².
fn row_stats(k: f32, s1: f32, s2: f32) -> vec2<f32> {
  let h = f32(params.H);
  let m1 = s1 / h;
  let v = max(s2 / h - m1 * m1, 0.0);
  return vec2<f32>(k + m1, inverseSqrt(v + params.eps));
}

// The _dropout entries' factor for element i: 1/(1 − p) where kept, else 0 (elementwise.wgsl's
// dropout_mul); drop_scale4 for elements i .. i+3.
fn drop_scale(key: u32, i: u32) -> f32 {
  return select(0.0, params.scale, keep4(key, vec4<u32>(i), params.p).x);
}

fn drop_scale4(key: u32, i: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), vec4<f32>(params.scale), keep4(key, vec4<u32>(i) + vec4<u32>(0u, 1u, 2u, 3u), params.p));
}

// ---- forward ----

// Pass 1 (forward_stats*) gives a row's (mean, rstd); forward_y* makes each element of y from them.
fn forward_stats(base: u32) -> vec2<f32> {
  let k = f32(f_x[base]);
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = 0u; c < params.H; c++) {
    let v = f32(f_x[base + c]) - k;
    s1 += v;
    s2 += v * v;
  }
  return row_stats(k, s1, s2);
}

fn forward_y(st: vec2<f32>, base: u32, c: u32) -> f32 {
  return (f32(f_x[base + c]) - st.x) * st.y * f32(f_gamma[c]) + f32(f_beta[c]);
}

fn forward_stats4(base: u32) -> vec2<f32> {
  let k = f32(bitcast<vec4<T>>(f_x4[base]).x);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var c = 0u; c < params.H / 4u; c++) {
    let v = vec4<f32>(bitcast<vec4<T>>(f_x4[base + c])) - k;
    s1 += v;
    s2 += v * v;
  }
  return row_stats(k, hsum(s1), hsum(s2));
}

fn forward_y4(st: vec2<f32>, base: u32, c: u32) -> vec4<f32> {
  return (vec4<f32>(bitcast<vec4<T>>(f_x4[base + c])) - st.x) * st.y * vec4<f32>(bitcast<vec4<T>>(f_gamma4[c])) + vec4<f32>(bitcast<vec4<T>>(f_beta4[c]));
}

@compute @workgroup_size(WG)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let base = row * params.H;
  let st = forward_stats(base);
  for (var c = 0u; c < params.H; c++) { f_y[base + c] = T(forward_y(st, base, c)); }
  f_stats[row] = st;
}

@compute @workgroup_size(WG)
fn layernorm_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let h4 = params.H / 4u;
  let base = row * h4;
  let st = forward_stats4(base);
  for (var c = 0u; c < h4; c++) { f_y4[base + c] = bitcast<T4>(vec4<T>(forward_y4(st, base, c))); }
  f_stats[row] = st;
}

// y = LN(x) · keep(i)/(1 − p), i = the element's linear index n·H + c: in f32 the same bits as
// layernorm_forward then elementwise.wgsl's dropout_forward; in f16 up to an ulp apart (one
// rounding instead of two).
@compute @workgroup_size(WG)
fn layernorm_forward_dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let base = row * params.H;
  let st = forward_stats(base);
  let key = dropout_key(drop_step.seed, params.stream, drop_step.micro_step);
  for (var c = 0u; c < params.H; c++) {
    f_y[base + c] = T(forward_y(st, base, c) * drop_scale(key, base + c));
  }
  f_stats[row] = st;
}

@compute @workgroup_size(WG)
fn layernorm_forward_dropout_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let h4 = params.H / 4u;
  let base = row * h4;
  let st = forward_stats4(base);
  let key = dropout_key(drop_step.seed, params.stream, drop_step.micro_step);
  for (var c = 0u; c < h4; c++) {
    f_y4[base + c] = bitcast<T4>(vec4<T>(forward_y4(st, base, c) * drop_scale4(key, (base + c) * 4u)));
  }
  f_stats[row] = st;
}

@compute @workgroup_size(WG)
fn residual_dropout_layernorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let H = params.H;
  let base = row * H;
  let key = dropout_key(step_state.seed, params.stream, step_state.micro_step);
  var k = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = 0u; c < H; c++) {
    var a = f32(r_a[base + c]);
    if (params.p > 0.0) { a = select(0.0, a * params.scale, keep4(key, vec4<u32>(base + c), params.p).x); }
    let s = T(f32(r_res[base + c]) + a);
    r_s[base + c] = s;
    if (c == 0u) { k = f32(s); }
    let v = f32(s) - k;
    s1 += v;
    s2 += v * v;
  }
  let st = row_stats(k, s1, s2);
  for (var c = 0u; c < H; c++) {
    r_y[base + c] = T((f32(r_s[base + c]) - st.x) * st.y * f32(r_gamma[c]) + f32(r_beta[c]));
  }
  r_stats[row] = st;
}

@compute @workgroup_size(WG)
fn residual_dropout_layernorm_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let h4 = params.H / 4u;
  let base = row * h4;
  let key = dropout_key(step_state.seed, params.stream, step_state.micro_step);
  var k = 0.0;
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var c = 0u; c < h4; c++) {
    var a = vec4<f32>(bitcast<vec4<T>>(r_a4[base + c]));
    if (params.p > 0.0) {
      a = select(vec4<f32>(0.0), a * params.scale, keep4(key, vec4<u32>((base + c) * 4u) + vec4<u32>(0u, 1u, 2u, 3u), params.p));
    }
    let s = vec4<T>(vec4<f32>(bitcast<vec4<T>>(r_res4[base + c])) + a);
    r_s4[base + c] = bitcast<T4>(s);
    if (c == 0u) { k = f32(s.x); }
    let v = vec4<f32>(s) - k;
    s1 += v;
    s2 += v * v;
  }
  let st = row_stats(k, hsum(s1), hsum(s2));
  for (var c = 0u; c < h4; c++) {
    r_y4[base + c] = bitcast<T4>(vec4<T>((vec4<f32>(bitcast<vec4<T>>(r_s4[base + c])) - st.x) * st.y * vec4<f32>(bitcast<vec4<T>>(r_gamma4[c])) + vec4<f32>(bitcast<vec4<T>>(r_beta4[c]))));
  }
  r_stats[row] = st;
}

// ---- backward: dx ----
// Pass 1 (backward_means*) sums a row; pass 2 (backward_dx*) makes each element of dx from them.
// The entries store it, and layernorm_backward_dropout[_vec4] its dropped copy as well.

struct RowMeans {
  st: vec2<f32>,  // (mean, rstd)
  mg: f32,        // mean_c(g)
  mgx: f32,       // mean_c(g·xhat)
}

fn backward_means(base: u32, row: u32) -> RowMeans {
  let H = params.H;
  let st = b_stats[row];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < H; c++) {
    let g = f32(b_dy[base + c]) * f32(b_gamma[c]);
    sg += g;
    sgx += g * (f32(b_x[base + c]) - st.x) * st.y;
  }
  return RowMeans(st, sg / f32(H), sgx / f32(H));
}

// dx at element base + c, after the `+=` with ACCUMULATE (f32; the entries store T of it).
fn backward_dx(rm: RowMeans, base: u32, c: u32) -> f32 {
  let g = f32(b_dy[base + c]) * f32(b_gamma[c]);
  let xhat = (f32(b_x[base + c]) - rm.st.x) * rm.st.y;
  var d = rm.st.y * (g - rm.mg - xhat * rm.mgx);
  if (ACCUMULATE) { d += f32(b_dx[base + c]); }
  return d;
}

fn backward_means4(base: u32, row: u32) -> RowMeans {
  let h4 = params.H / 4u;
  let st = b_stats[row];
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var c = 0u; c < h4; c++) {
    let g = vec4<f32>(bitcast<vec4<T>>(b_dy4[base + c])) * vec4<f32>(bitcast<vec4<T>>(b_gamma4[c]));
    sg += g;
    sgx += g * (vec4<f32>(bitcast<vec4<T>>(b_x4[base + c])) - st.x) * st.y;
  }
  return RowMeans(st, hsum(sg) / f32(params.H), hsum(sgx) / f32(params.H));
}

fn backward_dx4(rm: RowMeans, base: u32, c: u32) -> vec4<f32> {
  let g = vec4<f32>(bitcast<vec4<T>>(b_dy4[base + c])) * vec4<f32>(bitcast<vec4<T>>(b_gamma4[c]));
  let xhat = (vec4<f32>(bitcast<vec4<T>>(b_x4[base + c])) - rm.st.x) * rm.st.y;
  var d = rm.st.y * (g - rm.mg - xhat * rm.mgx);
  if (ACCUMULATE) { d += vec4<f32>(bitcast<vec4<T>>(b_dx4[base + c])); }
  return d;
}

@compute @workgroup_size(WG)
fn layernorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let base = row * params.H;
  let rm = backward_means(base, row);
  for (var c = 0u; c < params.H; c++) { b_dx[base + c] = T(backward_dx(rm, base, c)); }
}

@compute @workgroup_size(WG)
fn layernorm_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let h4 = params.H / 4u;
  let base = row * h4;
  let rm = backward_means4(base, row);
  for (var c = 0u; c < h4; c++) { b_dx4[base + c] = bitcast<T4>(vec4<T>(backward_dx4(rm, base, c))); }
}

// dropped = dx · keep(i)/(1 − p), i = the element's linear index n·H + c, from dx's f32 value:
// in f32 the same bits as elementwise.wgsl's dropout_backward over the stored dx; in f16 up to an
// ulp apart, one rounding instead of two. (Rounding dx to f16 and back in between is what a
// compiler may fold away: lavapipe does.)
@compute @workgroup_size(WG)
fn layernorm_backward_dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let base = row * params.H;
  let rm = backward_means(base, row);
  let key = dropout_key(drop_step.seed, params.stream, drop_step.micro_step);
  for (var c = 0u; c < params.H; c++) {
    let d = backward_dx(rm, base, c);
    b_dx[base + c] = T(d);
    bd_dropped[base + c] = T(d * drop_scale(key, base + c));
  }
}

@compute @workgroup_size(WG)
fn layernorm_backward_dropout_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_id(wid, nwg, lid);
  if (row >= params.N) { return; }
  let h4 = params.H / 4u;
  let base = row * h4;
  let rm = backward_means4(base, row);
  let key = dropout_key(drop_step.seed, params.stream, drop_step.micro_step);
  for (var c = 0u; c < h4; c++) {
    let d = backward_dx4(rm, base, c);
    b_dx4[base + c] = bitcast<T4>(vec4<T>(d));
    bd_dropped4[base + c] = bitcast<T4>(vec4<T>(d * drop_scale4(key, (base + c) * 4u)));
  }
}

// ---- backward: dgamma, dbeta (two fixed-order stages) ----

@compute @workgroup_size(WG)
fn layernorm_backward_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let H = params.H;
  if (i >= params.chunks * H) { return; }
  let chunk = i / H;
  let c = i % H;
  let r0 = chunk * params.chunk;
  let r1 = min(r0 + params.chunk, params.N);
  var dg = 0.0;
  var db = 0.0;
  for (var r = r0; r < r1; r++) {
    let st = p_stats[r];
    let dy = f32(b_dy[r * H + c]);
    dg += dy * (f32(b_x[r * H + c]) - st.x) * st.y;
    db += dy;
  }
  p_partials[chunk * 2u * H + c] = dg;
  p_partials[chunk * 2u * H + H + c] = db;
}

@compute @workgroup_size(WG)
fn layernorm_backward_params_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let h4 = params.H / 4u;
  if (i >= params.chunks * h4) { return; }
  let chunk = i / h4;
  let c = i % h4;
  let r0 = chunk * params.chunk;
  let r1 = min(r0 + params.chunk, params.N);
  var dg = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    let st = p_stats[r];
    let dy = vec4<f32>(bitcast<vec4<T>>(b_dy4[r * h4 + c]));
    dg += dy * (vec4<f32>(bitcast<vec4<T>>(b_x4[r * h4 + c])) - st.x) * st.y;
    db += dy;
  }
  p_partials4[chunk * 2u * h4 + c] = dg;
  p_partials4[chunk * 2u * h4 + h4 + c] = db;
}

@compute @workgroup_size(WG)
fn layernorm_backward_params_finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = linear_id(wid, nwg, lid);
  let H = params.H;
  if (c >= H) { return; }
  var dg = 0.0;
  var db = 0.0;
  for (var k = 0u; k < params.chunks; k++) {
    dg += q_partials[k * 2u * H + c];
    db += q_partials[k * 2u * H + H + c];
  }
  q_dgamma[c] = TG(f32(q_dgamma[c]) + dg);
  q_dbeta[c] = TG(f32(q_dbeta[c]) + db);
}

@compute @workgroup_size(WG)
fn layernorm_backward_params_finish_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = linear_id(wid, nwg, lid);
  let h4 = params.H / 4u;
  if (c >= h4) { return; }
  var dg = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var k = 0u; k < params.chunks; k++) {
    dg += q_partials4[k * 2u * h4 + c];
    db += q_partials4[k * 2u * h4 + h4 + c];
  }
  q_dgamma4[c] = bitcast<TG4>(vec4<TG>(vec4<f32>(bitcast<vec4<TG>>(q_dgamma4[c])) + dg));
  q_dbeta4[c] = bitcast<TG4>(vec4<TG>(vec4<f32>(bitcast<vec4<TG>>(q_dbeta4[c])) + db));
}
