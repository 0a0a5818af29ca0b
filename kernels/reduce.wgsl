// reduce: deterministic sum (or sum of squares) of a flat array, in two passes.
//
// Ops:
//   reduce_partials       partials[g] (=|+= by ACCUMULATE) = Σ x[i] (SQUARE: Σ x[i]²) over the
//                         g-th chunk of CHUNK = WG·ITEMS elements (WG·ITEMS vec4s in _vec4)
//       bindings: 1 x array<T> (n) (array<T4> in reduce_partials_vec4, n % 4 == 0),
//                 2 partials array<f32> (G = ceil(n / chunk))
//   reduce_finish         out[0] (=|+= by ACCUMULATE) = alpha · Σ_{g < count} partials[g]
//       bindings: 1 partials array<f32> (count), 2 out array<f32> (1)
// Binding 0 is params (uniform Params). Accumulation is f32; outputs are f32 whatever T is.
// Order is fixed by the shapes alone: each invocation sums a strided slice sequentially, then
// a workgroup-memory tree (halving strides) combines the WG values; the finish does the same
// over partials in one workgroup. Same bits every run, on any device.
// Several arrays into one result (e.g. a global gradient norm): reduce_partials with
// ACCUMULATE into one zeroed partials buffer sized for the largest array, then one finish.
// Overrides: SQUARE (bool, reduce_partials*), ACCUMULATE (bool), WG (power of two ≤ 256),
//   ITEMS (elements, or vec4s, per invocation in reduce_partials*).
// Launch: reduce_partials*: one workgroup = one chunk, linear over x/y (grid1d);
//   reduce_finish: one workgroup.

struct Params {
  n: u32,      // elements of x (vec4s: n / 4 are read)
  count: u32,  // reduce_finish: partials to sum
  alpha: f32,  // reduce_finish: scale of the result
  pad0: u32,
}

override SQUARE: bool = false;
override ACCUMULATE: bool = false;
override WG: u32 = 64u;
override ITEMS: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> x4: array<T4>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> f_partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> tree: array<f32, WG>;

fn term(v: f32) -> f32 {
  if (SQUARE) { return v * v; }
  return v;
}

// Combines tree[0..WG) into tree[0] with a fixed halving order. Workgroup-uniform control flow.
fn tree_reduce(lid: u32, v: f32) -> f32 {
  tree[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { tree[lid] += tree[lid + stride]; }
    workgroupBarrier();
  }
  return tree[0];
}

@compute @workgroup_size(WG)
fn reduce_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let start = g * WG * ITEMS;
  if (start >= params.n) { return; }  // whole workgroup: barriers stay uniform
  let end = min(start + WG * ITEMS, params.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) { acc += term(f32(x[i])); }
  let total = tree_reduce(lid, acc);
  if (lid == 0u) {
    if (ACCUMULATE) { partials[g] += total; } else { partials[g] = total; }
  }
}

@compute @workgroup_size(WG)
fn reduce_partials_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let n4 = params.n / 4u;
  let start = g * WG * ITEMS;
  if (start >= n4) { return; }
  let end = min(start + WG * ITEMS, n4);
  var acc = vec4<f32>(0.0);
  for (var i = start + lid; i < end; i += WG) {
    let v = vec4<f32>(bitcast<vec4<T>>(x4[i]));
    if (SQUARE) { acc += v * v; } else { acc += v; }
  }
  let total = tree_reduce(lid, (acc.x + acc.y) + (acc.z + acc.w));
  if (lid == 0u) {
    if (ACCUMULATE) { partials[g] += total; } else { partials[g] = total; }
  }
}

@compute @workgroup_size(WG)
fn reduce_finish(@builtin(local_invocation_index) lid: u32) {
  if (params.count == 0u) {
    if (lid == 0u && !ACCUMULATE) { out[0] = 0.0; }
    return;
  }
  var acc = 0.0;
  for (var i = lid; i < params.count; i += WG) { acc += f_partials[i]; }
  let total = tree_reduce(lid, acc) * params.alpha;
  if (lid == 0u) {
    if (ACCUMULATE) { out[0] += total; } else { out[0] = total; }
  }
}
