// matmul-common: declarations shared by kernels/matmul.wgsl and kernels/matmul-subgroup.wgsl
// (two modules because one calls subgroup builtins, which need `enable subgroups;`): the uniform
// block and the overrides every matmul variant takes (see kernels/matmul.wgsl's header for their
// meaning). Included by both (`// #include`), after the prelude.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  alpha: f32,
  // The k range this launch sums, [k_begin, k_end): a chunk of K (kernels/matmul-subgroup.wgsl,
  // PARTIAL_IN / PARTIAL_OUT). Only the subgroup entry points read it; every other one sums
  // all of K, and its launches pass 0 and K.
  k_begin: u32,
  k_end: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override EPILOGUE: u32 = 0u;
override STORE_PRE: bool = false;
override WG: u32 = 64u;
