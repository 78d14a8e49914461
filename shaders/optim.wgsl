// Fused optimizer updates: one dispatch per parameter per step, reading the gradient and updating the
// parameter and its state in place (one read_write binding each: a buffer cannot be bound both read-only
// and writable in one dispatch). Everything that depends on the step (lr, bias corrections) arrives through
// the uniform block, already combined on the host in float64, so the pipeline and bind group are the same
// every step and the f32 maths here avoids cancellations such as 1 − 0.999.
// Last, θ is clamped to [lo, hi] (an optimizer's `range`, e.g. the valid pixel range).
//   both:  θ ← decay·θ   (decay = 1 − lr·wd for AdamW, else 1);   g = grad + l2·θ
//   SGD:   b = μ·b + g (MOMENTUM);  θ −= lr · (NESTEROV ? g + μ·b : b)      (PyTorch semantics, no dampening)
//   ADAM:  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  θ −= stepSize · m / (sqrt(v)·rsqrtBc2 + ε)
//          with stepSize = lr / (1 − β1^t) and rsqrtBc2 = 1 / sqrt(1 − β2^t) (both 1-based t; 1 and lr without
//          bias correction), as PyTorch's Adam/AdamW compute it.

struct Params {
  n: u32,
  lr: f32,        // SGD: lr; ADAM: stepSize
  mu: f32,        // SGD: momentum μ; ADAM: β1
  c1: f32,        // ADAM: 1 − β1
  b2: f32,
  c2: f32,        // ADAM: 1 − β2
  eps: f32,
  rsqrtBc2: f32,
  l2: f32,
  decay: f32,
  lo: f32,        // θ is kept in [lo, hi] after the step (projected descent); ±3.4e38 when unbounded
  hi: f32,
}

@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
#if ${ADAM}
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#elif ${MOMENTUM}
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#else
@group(0) @binding(2) var<uniform> p: Params;
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var th = p.decay * theta[i];
  let g = grad[i] + p.l2 * th;
#if ${ADAM}
  let mi = p.mu * m[i] + p.c1 * g;
  let vi = p.b2 * v[i] + p.c2 * g * g;
  m[i] = mi;
  v[i] = vi;
  th -= p.lr * mi / (sqrt(vi) * p.rsqrtBc2 + p.eps);
#elif ${MOMENTUM}
  let b = p.mu * m[i] + g;
  m[i] = b;
#if ${NESTEROV}
  th -= p.lr * (g + p.mu * b);
#else
  th -= p.lr * b;
#endif
#else
  th -= p.lr * g;
#endif
  // A NaN stays NaN (clamp could turn it into a bound and hide it from the caller's finiteness checks);
  // tested on the bits, which no compiler folds away.
  let nan = (bitcast<u32>(th) & 0x7fffffffu) > 0x7f800000u;
  theta[i] = select(clamp(th, p.lo, p.hi), th, nan);
}
