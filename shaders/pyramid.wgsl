// The Laplacian pyramid's two resampling operators with the 5-tap binomial kernel k = [1,4,6,4,1]/16 per
// axis (deepdream's), zero padding, NCHW planes:
//   DOWN: lo[y,x]  = gain · Σ_ij k_i k_j · src[2y + i − 2, 2x + j − 2]          ([H,W] → [ceil(H/2), ceil(W/2)])
//   UP:   out[y,x] = gain · Σ_ij k_i k_j · src[(y + 2 − i)/2, (x + 2 − j)/2]   (terms with whole, in-range indices)
// UP with gain g is g × the transpose of DOWN with gain 1, so each is the other's gradient.
// UP visits only the taps of its output's parity (i ≡ y, j ≡ x mod 2: 3 or 2 per axis, not 5), 4 outputs a lane.
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

// One output element's epilogue (UP's SUB / MERGE, or the plain gain·sum).
fn write(o: u32, plane: u32, v: f32) {
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

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 256u;
  if (o >= p.n) { return; }
#if ${DOWN}
  let plane = o / (p.OH * p.OW);
  let y = (o % (p.OH * p.OW)) / p.OW;
  let x = o % p.OW;
  let base = plane * p.SH * p.SW;
  var acc = 0.0;
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
  out[o] = p.gain * acc;
#else
  // UP: 4 outputs x0 … x0 + 3 of a row per invocation (x0 = 4q), which read the 4 source columns x0/2 − 1 …
  // x0/2 + 2 of each source row: output x0 + u takes the taps j ≡ u (mod 2), tap j reading column
  // (x0 + u + 2 − j) / 2. 12 loads for 4 outputs where one output a lane read 6 on average.
  let quads = (p.OW + 3u) / 4u;
  let plane = o / (p.OH * quads);
  let y = (o % (p.OH * quads)) / quads;
  let x0 = (o % quads) * 4u;
  let base = plane * p.SH * p.SW;
  var acc = vec4<f32>(0.0);
  // Tap i reads source row (y + 2 − i) / 2: whole for i ≡ y (mod 2).
  for (var i = y & 1u; i < 5u; i += 2u) {
    let sy = (i32(y + 2u) - i32(i)) / 2;
    if (sy < 0 || sy >= i32(p.SH)) { continue; }
    var c = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t++) {
      let sx = i32(x0 / 2u + t) - 1;
      if (sx >= 0 && sx < i32(p.SW)) { c[t] = src[base + u32(sy) * p.SW + u32(sx)]; }
    }
    let row = vec4<f32>(
      tap(0u) * c[2] + tap(2u) * c[1] + tap(4u) * c[0],
      tap(1u) * c[2] + tap(3u) * c[1],
      tap(0u) * c[3] + tap(2u) * c[2] + tap(4u) * c[1],
      tap(1u) * c[3] + tap(3u) * c[2],
    );
    acc += tap(i) * row;
  }
  let first = (plane * p.OH + y) * p.OW + x0;
  for (var u = 0u; u < 4u; u++) {
    if (x0 + u < p.OW) { write(first + u, plane, p.gain * acc[u]); }
  }
#endif
}
