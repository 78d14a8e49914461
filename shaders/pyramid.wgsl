// The Laplacian pyramid's two resampling operators with the 5-tap binomial kernel k = [1,4,6,4,1]/16 per
// axis (deepdream's), zero padding, NCHW planes:
//   DOWN: lo[y,x]  = gain · Σ_ij k_i k_j · src[2y + i − 2, 2x + j − 2]          ([H,W] → [ceil(H/2), ceil(W/2)])
//   UP:   out[y,x] = gain · Σ_ij k_i k_j · src[(y + 2 − i)/2, (x + 2 − j)/2]   (terms with whole, in-range indices)
// UP with gain g is g × the transpose of DOWN with gain 1, so each is the other's gradient.
// UP visits only the taps of its output's parity (i ≡ y, j ≡ x mod 2: 3 or 2 per axis, not 5).
//
// UP's epilogues (OTHER: either), the Laplacian normalisation's element-wise passes taken into its resampling:
//   SUB:   out = other − UP                              (a band: a level minus its enlarged coarser level)
//   MERGE: out = other · sb + UP · sc                    (a normalised band plus the enlarged coarser merge)
//          sb = wB / max(√(ssB[item] · invCountB), eps), the band's scale from its sum of squares per item,
//          sc the same of the coarser level (ssC, wC, invCountC) with FIRST (the low-pass rest), else 1.

struct Params {
  n: u32,
  SH: u32,   // source plane
  SW: u32,
  OH: u32,   // output plane
  OW: u32,
  planesPerItem: u32,  // MERGE: planes that share one scale (C per item, or all of them)
  _p1: u32,
  gain: f32,
  eps: f32,
  wB: f32,
  invCountB: f32,
  wC: f32,
  invCountC: f32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#if ${OTHER}
@group(0) @binding(2) var<storage, read> other: array<f32>;
#endif
#if ${MERGE}
@group(0) @binding(3) var<storage, read> ssB: array<f32>;
@group(0) @binding(4) var<storage, read> ssC: array<f32>;
#endif
@group(0) @binding(${UNIFORM}) var<uniform> p: Params;

fn tap(i: u32) -> f32 {
  return array<f32, 5>(0.0625, 0.25, 0.375, 0.25, 0.0625)[i];
}

fn scaleOf(ss: f32, w: f32, invCount: f32) -> f32 {
  return w / max(sqrt(ss * invCount), p.eps);
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
#if ${DOWN}
  for (var i = 0u; i < 5u; i++) {
    let sy = i32(2u * y + i) - 2;
    if (sy < 0 || sy >= i32(p.SH)) { continue; }
    var row = 0.0;
    for (var j = 0u; j < 5u; j++) {
      let sx = i32(2u * x + j) - 2;
      if (sx < 0 || sx >= i32(p.SW)) { continue; }
      row += tap(j) * src[base + u32(sy) * p.SW + u32(sx)];
    }
    acc += tap(i) * row;
  }
#else
  // Tap i reads source row (y + 2 − i) / 2: whole for i ≡ y (mod 2).
  for (var i = y & 1u; i < 5u; i += 2u) {
    let sy = (i32(y + 2u) - i32(i)) / 2;
    if (sy < 0 || sy >= i32(p.SH)) { continue; }
    var row = 0.0;
    for (var j = x & 1u; j < 5u; j += 2u) {
      let sx = (i32(x + 2u) - i32(j)) / 2;
      if (sx < 0 || sx >= i32(p.SW)) { continue; }
      row += tap(j) * src[base + u32(sy) * p.SW + u32(sx)];
    }
    acc += tap(i) * row;
  }
#endif
  let v = p.gain * acc;
#if ${SUB}
  out[o] = other[o] - v;
#elif ${MERGE}
  let item = plane / p.planesPerItem;
  let sb = scaleOf(ssB[item], p.wB, p.invCountB);
#if ${FIRST}
  let sc = scaleOf(ssC[item], p.wC, p.invCountC);
#else
  let sc = 1.0;
#endif
  out[o] = other[o] * sb + v * sc;
#else
  out[o] = v;
#endif
}
