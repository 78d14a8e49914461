// Affine resampling of NCHW images, one 2×3 matrix per batch item, bilinear, edges repeated.
// The matrix maps an output pixel's centre (ox + ½, oy + ½) to input coordinates (pixel centres at k + ½);
// the sample point is clamped to the image, so outside it the nearest edge pixel is read.
//   forward (GRAD = false): out[n,c,oy,ox] = bilinear(x[n,c], clamp(M_n · (ox + ½, oy + ½, 1) − ½))
//   GRAD:                   dx[n,c,iy,ix] = Σ_q g[n,c,q] · w_q(iy, ix)
// The gradient is a gather, not a scatter (WGSL has no float atomics): for an input pixel, the outputs
// whose clamped sample point lies within one pixel of it are those whose unclamped point lies in
// (ix − 1, ix + 1) × (iy − 1, iy + 1) — a half-plane at an edge pixel, which takes every clamped point —
// and the inverse matrix maps that rectangle to a parallelogram whose bounding box is walked; each
// candidate's weight is recomputed exactly as the forward pass computes it.
// mats: 12 floats per item: the forward matrix (a, b, c, d, e, f: u = a·x + b·y + c, v = d·x + e·y + f),
// then its inverse in the same form.

struct Params {
  total: u32,
  C: u32,
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> mats: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Clamped sample point of output pixel (ox, oy) of item n, in input index space.
fn sample_point(n: u32, ox: u32, oy: u32) -> vec2<f32> {
  let m = n * 12u;
  let cx = f32(ox) + 0.5;
  let cy = f32(oy) + 0.5;
  let sx = mats[m] * cx + mats[m + 1u] * cy + mats[m + 2u] - 0.5;
  let sy = mats[m + 3u] * cx + mats[m + 4u] * cy + mats[m + 5u] - 0.5;
  return vec2<f32>(clamp(sx, 0.0, f32(p.W - 1u)), clamp(sy, 0.0, f32(p.H - 1u)));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) {
    return;
  }
#if ${GRAD}
  let ix = i % p.W;
  let iy = (i / p.W) % p.H;
  let plane = i / (p.W * p.H);
  let n = plane / p.C;
  let m = n * 12u + 6u;
  let big = 1.0e6;
  // The rectangle in input centre coordinates (+½), open at the image's edges.
  let lo = vec2<f32>(select(f32(ix) - 0.5, -big, ix == 0u), select(f32(iy) - 0.5, -big, iy == 0u));
  let hi = vec2<f32>(select(f32(ix) + 1.5, big, ix + 1u == p.W), select(f32(iy) + 1.5, big, iy + 1u == p.H));
  var bmin = vec2<f32>(big, big);
  var bmax = vec2<f32>(-big, -big);
  for (var k = 0u; k < 4u; k++) {
    let u = select(lo.x, hi.x, (k & 1u) != 0u);
    let v = select(lo.y, hi.y, (k & 2u) != 0u);
    let q = vec2<f32>(mats[m] * u + mats[m + 1u] * v + mats[m + 2u], mats[m + 3u] * u + mats[m + 4u] * v + mats[m + 5u]);
    bmin = min(bmin, q);
    bmax = max(bmax, q);
  }
  // Output centres ox + ½ within [bmin, bmax].
  let x0 = u32(clamp(ceil(bmin.x - 0.5), 0.0, f32(p.OW)));
  let x1 = u32(clamp(floor(bmax.x - 0.5) + 1.0, 0.0, f32(p.OW)));
  let y0 = u32(clamp(ceil(bmin.y - 0.5), 0.0, f32(p.OH)));
  let y1 = u32(clamp(floor(bmax.y - 0.5) + 1.0, 0.0, f32(p.OH)));
  let gbase = plane * p.OH * p.OW;
  var acc = 0.0;
  for (var oy = y0; oy < y1; oy++) {
    for (var ox = x0; ox < x1; ox++) {
      let s = sample_point(n, ox, oy);
      let f = floor(s);
      let t = s - f;
      let fx = u32(f.x);
      let fy = u32(f.y);
      let wx = select(0.0, 1.0 - t.x, fx == ix) + select(0.0, t.x, min(fx + 1u, p.W - 1u) == ix);
      let wy = select(0.0, 1.0 - t.y, fy == iy) + select(0.0, t.y, min(fy + 1u, p.H - 1u) == iy);
      acc += wx * wy * src[gbase + oy * p.OW + ox];
    }
  }
  dst[i] = acc;
#else
  let ox = i % p.OW;
  let oy = (i / p.OW) % p.OH;
  let plane = i / (p.OW * p.OH);
  let n = plane / p.C;
  let s = sample_point(n, ox, oy);
  let f = floor(s);
  let t = s - f;
  let x0 = u32(f.x);
  let y0 = u32(f.y);
  let x1 = min(x0 + 1u, p.W - 1u);
  let y1 = min(y0 + 1u, p.H - 1u);
  let base = plane * p.H * p.W;
  let top = mix(src[base + y0 * p.W + x0], src[base + y0 * p.W + x1], t.x);
  let bottom = mix(src[base + y1 * p.W + x0], src[base + y1 * p.W + x1], t.x);
  dst[i] = mix(top, bottom, t.y);
#endif
}
