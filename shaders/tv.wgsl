// Total variation, value and gradient in one pass over an NCHW image. Differences exist only where both
// pixels do: Δx(y,x) = p(y,x+1) − p(y,x) for x < W−1, Δy(y,x) = p(y+1,x) − p(y,x) for y < H−1.
//   GLOBAL (paper eq. 2):  S = Σ Δx² + Δy²; this pass writes contrib = Δx² + Δy² and dS/dp; the caller
//                          forms R = S^(α/2) and dR/dp = α/2 · S^(α/2 − 1) · dS/dp.
//   else (per pixel):      R = Σ (Δx² + Δy² + ε)^(β/2); this pass writes each pixel's term and dR/dp.
// A pixel's gradient involves its own differences and those of its left and upper neighbours, which each
// invocation recomputes rather than reading another invocation's result.

struct Params {
  n: u32,
  H: u32,
  W: u32,
  _pad: u32,
  beta: f32,
  eps: f32,
  _p1: f32,
  _p2: f32,
}

@group(0) @binding(0) var<storage, read> img: array<f32>;
@group(0) @binding(1) var<storage, read_write> contrib: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Δx and Δy at (y, x) of the plane starting at `base`; 0 where the neighbour does not exist.
fn diffs(base: u32, y: u32, x: u32) -> vec2<f32> {
  let v = img[base + y * p.W + x];
  let dx = select(0.0, img[base + y * p.W + min(x + 1u, p.W - 1u)] - v, x + 1u < p.W);
  let dy = select(0.0, img[base + min(y + 1u, p.H - 1u) * p.W + x] - v, y + 1u < p.H);
  return vec2<f32>(dx, dy);
}

// d(term)/d(q) where q = Δx² + Δy²: 1 for the global sum, β/2 · (q + ε)^(β/2 − 1) per pixel.
fn weight(d: vec2<f32>) -> f32 {
#if ${GLOBAL}
  return 1.0;
#else
  return 0.5 * p.beta * pow(dot(d, d) + p.eps, 0.5 * p.beta - 1.0);
#endif
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let plane = p.H * p.W;
  let base = (i / plane) * plane;
  let y = (i % plane) / p.W;
  let x = i % p.W;
  let d = diffs(base, y, x);
  let q = dot(d, d);
#if ${GLOBAL}
  contrib[i] = q;
#else
  // The bottom-right pixel has no difference at all and contributes no term (not even ε^(β/2)).
  contrib[i] = select(0.0, pow(q + p.eps, 0.5 * p.beta), x + 1u < p.W || y + 1u < p.H);
#endif
  // Own term pulls against both differences; the left neighbour's Δx and the upper one's Δy push.
  var g = -2.0 * weight(d) * (d.x + d.y);
  if (x > 0u) {
    let dl = diffs(base, y, x - 1u);
    g += 2.0 * weight(dl) * dl.x;
  }
  if (y > 0u) {
    let du = diffs(base, y - 1u, x);
    g += 2.0 * weight(du) * du.y;
  }
  grad[i] = g;
}
