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

// EPILOGUE 5, 6, 7 (backward epilogues): C = x · act′(PRE) for act = gelu (erf), gelu (tanh), relu,
// x after alpha and bias, PRE (binding 5) *read*: the activation's pre-activation, stored by its
// forward. A fused activation backward (src/graph/fusion.ts fuseActivationBackward): the product
// that makes the gradient of an activation's output multiplies it by the derivative in its
// store, instead of storing it for kernels/elementwise.wgsl's act_backward to re-read. The same
// formulas as act_backward's act_grad, so in f32 the results are the same bits.
const INV_SQRT_2PI: f32 = 0.3989422804014327;

fn erf_approx4(x: vec4<f32>) -> vec4<f32> {
  let s = sign(x);
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return s * y;
}

fn is_grad_epilogue() -> bool { return EPILOGUE >= 5u; }

fn act_grad4(x: vec4<f32>) -> vec4<f32> {
  switch (EPILOGUE) {
    case 5u: { return 0.5 * (1.0 + erf_approx4(x * 0.7071067811865476)) + x * INV_SQRT_2PI * exp(-0.5 * x * x); }
    case 6u: {
      let t = tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);
    }
    default: { return select(vec4<f32>(0.0), vec4<f32>(1.0), x > vec4<f32>(0.0)); }
  }
}
