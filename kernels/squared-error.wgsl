// squared-error: the loss of a regression head (one output per sequence), forward and backward
// in one pass, the gradient written IN PLACE over the predictions (as crossentropy.wgsl does
// over the logits).
//
// Op: squared_error (entry squared_error).
// Dims: R rows (sequences).
// Bindings (group 0):
//   0 params       uniform                 Params {R, scale_slot, pad, pad}
//   1 predictions  storage, read_write     array<T>   (R); in: x; out (WRITE_GRAD): dx = 2·g·(x − y), `=`
//   2 targets      storage, read           array<f32> (R): y
//   3 weights      storage, read           array<f32> (R); 0 = padding row
//   4 step_state   storage, read           StepState  (src/plan/step-state.ts)
//   5 losses       storage, read_write     array<f32> (R), `=`: g·(x − y)², 0 where the weight is 0
// g = weight·scale, scale = slot_scale(step_state, params.scale_slot) (prelude: 0 → mlm_scale,
// 1 → nsp_scale, 2 → 1). With scale 1/batch, Σ losses is torch's MSELoss (mean).
// Overrides: WG invocations per workgroup; WRITE_GRAD (bool, default true): false leaves the
//   predictions untouched (evaluation).
// Launch: one invocation = one row; workgroups linear over x and y (grid1d).

struct Params {
  R: u32,
  scale_slot: u32,
  pad0: u32,
  pad1: u32,
}

override WG: u32 = 64u;
override WRITE_GRAD: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> predictions: array<T>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> step_state: StepState;
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;

@compute @workgroup_size(WG)
fn squared_error(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = linear_id(wid, nwg, lid);
  if (r >= params.R) { return; }
  let w = weights[r];
  let g = w * slot_scale(step_state, params.scale_slot);
  let d = f32(predictions[r]) - targets[r];
  losses[r] = select(0.0, g * d * d, w != 0.0);
  if (WRITE_GRAD) { predictions[r] = T(2.0 * g * d); }
}
