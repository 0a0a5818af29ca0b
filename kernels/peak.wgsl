// peak: a device yardstick for bert-bench, not a model op. The FMA-bound entry measures how
// many FLOP/s the adapter sustains when nothing but arithmetic limits it; every compute-bound
// kernel row is reported as a % of it. (Bandwidth is measured with elementwise `copy`.)
//
// Ops:
//   peak_fma   out[i] = sum of CHAINS independent vec4 FMA chains, each ITERS·UNROLL long,
//              seeded from i and params.seed so nothing folds away    bindings: 1 out
//   peak_copy  out = x over n/4 vec4s, grid-stride: a fixed, small grid of invocations each
//              copies every (grid size)-th vec4                         bindings: 1 x, 2 out
// Why a second copy beside elementwise `copy` (one vec4 per invocation): on a CPU rasterizer
//   each workgroup has a fixed launch cost, so a one-element-per-invocation copy over 10⁶
//   workgroups measures dispatch overhead, not memory; the grid-stride form keeps a few
//   workgroups per core streaming. bert-bench takes the faster of the two as the bandwidth peak.
// Bindings (group 0): 0 params uniform Params. peak_fma: 1 out array<T>, n elements (one per
//   invocation), written with `=` (4 bytes per invocation). peak_copy: 1 x array<vec4<T>>
//   read-only, 2 out array<vec4<T>>, n/4 vec4s each (n % 4 == 0), out written with `=`.
// One invocation: peak_fma: params.iters loop trips × UNROLL × CHAINS vec4 FMAs =
//   iters·UNROLL·CHAINS·8 FLOP, all in registers (8 independent accumulators hide FMA latency;
//   vec4 lets SIMD-per-lane compilers such as lavapipe's use their vector units). peak_copy:
//   ⌈(n/4) / grid⌉ vec4s. One workgroup: WG invocations.
// Overrides: WG: invocations per workgroup. CHAINS (8) and UNROLL (4) are fixed in the code
//   below; src/compiler/kernels/peak.ts counts FLOPs with the same constants.
// Launch: workgroups enumerate WG-invocation tiles linearly, spread over x/y (grid1d).

struct Params {
  n: u32,       // invocations that write (bounds guard)
  iters: u32,   // loop trips
  seed: f32,    // keeps the chains data-dependent on a runtime value
  pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out1: array<T>;
@group(0) @binding(1) var<storage, read> in1v: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> out2v: array<vec4<T>>;

@compute @workgroup_size(WG)
fn peak_fma(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.n) { return; }
  // Multiplier just below 1 and a small addend: the chains stay finite for any trip count.
  let a = vec4<f32>(0.999999, 0.9999995, 0.9999998, 0.9999991);
  let b = vec4<f32>(params.seed * 1e-7);
  let x = f32(i & 1023u) * 1e-3 + params.seed;
  var c0 = vec4<f32>(x, x + 0.1, x + 0.2, x + 0.3);
  var c1 = c0 + 1.0;
  var c2 = c0 + 2.0;
  var c3 = c0 + 3.0;
  var c4 = c0 + 4.0;
  var c5 = c0 + 5.0;
  var c6 = c0 + 6.0;
  var c7 = c0 + 7.0;
  for (var k = 0u; k < params.iters; k++) {
    // UNROLL = 4 rounds of the 8 chains.
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
  }
  let s = (c0 + c1) + (c2 + c3) + (c4 + c5) + (c6 + c7);
  out1[i] = T(s.x + s.y + s.z + s.w);
}

@compute @workgroup_size(WG)
fn peak_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let count = params.n / 4u;
  let grid = nwg.x * nwg.y * WG;
  var i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= count) { return; }
  for (; i < count; i += grid) {
    out2v[i] = in1v[i];
  }
}
