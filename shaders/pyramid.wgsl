// The Laplacian pyramid's two resampling operators with the 5-tap binomial kernel k = [1,4,6,4,1]/16 per
// axis (deepdream's), zero padding, NCHW planes:
//   DOWN: lo[y,x]  = gain · Σ_ij k_i k_j · src[2y + i − 2, 2x + j − 2]          ([H,W] → [ceil(H/2), ceil(W/2)])
//   UP:   out[y,x] = gain · Σ_ij k_i k_j · src[(y + 2 − i)/2, (x + 2 − j)/2]   (terms with whole, in-range indices)
// UP with gain g is g × the transpose of DOWN with gain 1, so each is the other's gradient.

struct Params {
  n: u32,
  SH: u32,   // source plane
  SW: u32,
  OH: u32,   // output plane
  OW: u32,
  _p0: u32,
  _p1: u32,
  gain: f32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn tap(i: u32) -> f32 {
  return array<f32, 5>(0.0625, 0.25, 0.375, 0.25, 0.0625)[i];
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 256u;
  if (o >= p.n) { return; }
  let plane = o / (p.OH * p.OW);
  let y = (o % (p.OH * p.OW)) / p.OW;
  let x = o % p.OW;
  let base = plane * p.SH * p.SW;
  var acc = 0.0;
  for (var i = 0u; i < 5u; i++) {
#if ${DOWN}
    let sy = i32(2u * y + i) - 2;
    if (sy < 0 || sy >= i32(p.SH)) { continue; }
#else
    let ny = i32(y + 2u) - i32(i);
    if (ny < 0 || (ny & 1) != 0 || ny / 2 >= i32(p.SH)) { continue; }
    let sy = ny / 2;
#endif
    var row = 0.0;
    for (var j = 0u; j < 5u; j++) {
#if ${DOWN}
      let sx = i32(2u * x + j) - 2;
      if (sx < 0 || sx >= i32(p.SW)) { continue; }
#else
      let nx = i32(x + 2u) - i32(j);
      if (nx < 0 || (nx & 1) != 0 || nx / 2 >= i32(p.SW)) { continue; }
      let sx = nx / 2;
#endif
      row += tap(j) * src[base + u32(sy) * p.SW + u32(sx)];
    }
    acc += tap(i) * row;
  }
  out[o] = p.gain * acc;
}
