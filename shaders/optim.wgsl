// Fused optimizer updates: one dispatch per parameter per step, reading the gradient and updating the
// parameter and its state in place (read_write bindings). Step-dependent numbers (lr, bias corrections)
// arrive through the uniform block, so the pipeline and bind group are the same every step.
//   SGD:  g = grad + wd·θ;  b = μ·b + g;  θ −= lr · (NESTEROV ? g + μ·b : b)      (PyTorch semantics, no dampening)
//   ADAM: g = grad (+ wd·θ unless DECOUPLED);  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//         θ −= lr·wd·θ (DECOUPLED, AdamW);  θ −= lr · (m / bc1) / (sqrt(v / bc2) + ε)

struct Params {
  n: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
  lr: f32,
  b1: f32,     // SGD: momentum μ
  b2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,    // 1 − β1^t, or 1 without bias correction
  bc2: f32,
  _p3: f32,
}

@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
#if ${ADAM}
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#else
@group(0) @binding(3) var<uniform> p: Params;
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var th = theta[i];
  var g = grad[i];
#if ${ADAM}
#if ${DECOUPLED}
  th -= p.lr * p.wd * th;
#else
  g += p.wd * th;
#endif
  let mi = p.b1 * m[i] + (1.0 - p.b1) * g;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  th -= p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
#else
  g += p.wd * th;
  let b = p.b1 * m[i] + g;
  m[i] = b;
#if ${NESTEROV}
  th -= p.lr * (g + p.b1 * b);
#else
  th -= p.lr * b;
#endif
#endif
  theta[i] = th;
}
