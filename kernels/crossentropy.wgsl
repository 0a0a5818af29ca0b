// crossentropy: fused softmax cross-entropy, forward and backward in one pass over the logits
// (llm.c's fused classifier): per-row loss and accuracy, and the gradient written IN PLACE over
// the logits, so no second (R, V) buffer exists (640 × 30522 f32 = 78 MB at BERT-base).
//
// Ops: softmax_crossentropy_forward + softmax_crossentropy_backward (entry softmax_crossentropy).
// Dims: R rows (masked predictions, or sequences for NSP), V classes (vocab, or 2 for NSP).
// Bindings (group 0):
//   0 params      uniform                 Params {R, V, scale_slot, pad}
//   1 logits      storage, read_write     array<T>   (R, V) row-major; in: logits;
//                                          out (WRITE_GRAD): d_logits = w·scale·(softmax − onehot), `=`
//   2 labels      storage, read           array<i32> (R); a label outside [0, V) counts as weight 0
//   3 weights     storage, read           array<f32> (R); 0 = padding prediction
//   4 step_state  storage, read           StepState  (src/plan/step-state.ts)
//   5 losses      storage, read_write     array<f32> (R), `=`: w·scale·(logsumexp(row) − row[label])
//   6 correct     storage, read_write     array<f32> (R), `=`: 1 if argmax(row) == label and w ≠ 0, else 0
// scale by params.scale_slot: 0 → step_state.mlm_scale, 1 → step_state.nsp_scale, 2 → 1.0 (eval).
// Rows with weight 0 (or an invalid label) get loss 0, correct 0 and, with WRITE_GRAD, a zero
// gradient row. argmax takes the lowest index among equal maxima (the reference does the same).
// One workgroup = one row; one invocation strides over the row's columns (j = lid, lid+WG, ...).
// Pass 1 keeps an online (max, sum of exp) and argmax per invocation in f32 (max-subtraction, so
// no overflow), a workgroup tree reduction combines them; pass 2 rereads the same columns and
// writes the gradient. Each column is read and written by the same invocation, and row[label] is
// read before the reduction's barriers, so the in-place write has no hazard.
// Overrides: WG invocations per workgroup (power of two, default 256); WRITE_GRAD (bool, default
//   true): false skips pass 2 (evaluation), leaving logits untouched.
// Launch: rows enumerated linearly over x and y (grid1d).

struct Params {
  R: u32,
  V: u32,
  scale_slot: u32,
  pad: u32,
}

override WG: u32 = 256u;
override WRITE_GRAD: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<T>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> step_state: StepState;
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;
@group(0) @binding(6) var<storage, read_write> correct: array<f32>;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

const NEG_INF: f32 = -3.4028234e38;

@compute @workgroup_size(WG)
fn softmax_crossentropy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.R) { return; }
  let V = params.V;
  let base = r * V;

  let label = labels[r];
  let valid = label >= 0 && u32(label) < V;
  let col = select(0u, u32(label), valid);
  // Read before any barrier, hence before any invocation overwrites the row.
  let x_label = f32(logits[base + col]);

  // Pass 1: online max / sum of exp(x − max) / argmax over this invocation's columns.
  var m = NEG_INF;
  var s = 0.0;
  var arg = 0u;
  for (var j = lid; j < V; j += WG) {
    let x = f32(logits[base + j]);
    // One exp per column and no divergence: e = exp(−|x − m|) rescales whichever side is smaller.
    let bigger = x > m;
    let e = exp(-abs(x - m));
    s = select(s + e, s * e + 1.0, bigger);
    m = max(m, x);
    arg = select(arg, j, bigger);
  }
  red_m[lid] = m;
  red_s[lid] = s;
  red_i[lid] = arg;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = red_m[lid];
      let m2 = red_m[lid + stride];
      let s1 = red_s[lid];
      let s2 = red_s[lid + stride];
      let i1 = red_i[lid];
      let i2 = red_i[lid + stride];
      let mm = max(m1, m2);
      // An invocation that saw no columns has s = 0: it contributes nothing (and no inf − inf).
      red_s[lid] = select(0.0, s1 * exp(m1 - mm), s1 > 0.0) + select(0.0, s2 * exp(m2 - mm), s2 > 0.0);
      red_m[lid] = mm;
      let take2 = s2 > 0.0 && (s1 == 0.0 || m2 > m1 || (m2 == m1 && i2 < i1));
      red_i[lid] = select(i1, i2, take2);
    }
    workgroupBarrier();
  }
  let row_max = red_m[0];
  let row_sum = red_s[0];

  let w = select(0.0, weights[r], valid);
  let g = w * slot_scale(step_state, params.scale_slot);

  if (lid == 0u) {
    let lse = row_max + log(row_sum);
    losses[r] = select(0.0, g * (lse - x_label), w != 0.0);
    correct[r] = select(0.0, 1.0, valid && w != 0.0 && red_i[0] == col);
  }

  if (WRITE_GRAD) {
    let inv_sum = 1.0 / row_sum;
    for (var j = lid; j < V; j += WG) {
      let x = f32(logits[base + j]);
      let onehot = select(0.0, 1.0, valid && j == col);
      logits[base + j] = T(g * (exp(x - row_max) * inv_sum - onehot));
    }
  }
}
