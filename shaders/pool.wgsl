// 2-D pooling, NCHW, one invocation per output (forward) or per input pixel (backward, gather form: each
// input pixel sums the gradients of the windows that used it, so no atomics and no races).
//   MAX forward writes the max and its in-plane index (iy·W + ix, as f32; −1 when the window is all padding).
//   AVG divides by the window's size, counting padding or not (COUNT_PAD), never counting the ceil-mode
//   overhang beyond the padding.

struct Params {
  NC: u32, H: u32, W: u32, OH: u32,
  OW: u32, _kh: u32, _kw: u32, _sh: u32,
  _sw: u32, _dh: u32, _dw: u32, PT: u32,
  PL: u32, PB: u32, PR: u32, _pad: u32,
}

// Window and stride are pipeline constants: divisions by them then compile to multiplies, where run-time
// divisors would be divided lane by lane on CPU drivers (lavapipe), and the window loops unroll.
#include "window.wgsl"

@group(0) @binding(0) var<storage, read> src: array<f32>;
#if ${BACKWARD}
@group(0) @binding(1) var<storage, read> arg: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// MASK: dx zeroed where the pool's input (a ReLU's output) is not positive, that ReLU's gradient pass.
#if ${MASK}
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#else
@group(0) @binding(3) var<uniform> p: Params;
#endif
#else
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#endif

// Number of window positions counted by an average: padded extent (COUNT_PAD) or real pixels only.
fn avgCount(oy: u32, ox: u32) -> f32 {
  let y0 = i32(oy * SH) - i32(p.PT);
  let x0 = i32(ox * SW) - i32(p.PL);
#if ${COUNT_PAD}
  let lo = vec2<i32>(-i32(p.PT), -i32(p.PL));
  let hi = vec2<i32>(i32(p.H + p.PB), i32(p.W + p.PR));
#else
  let lo = vec2<i32>(0, 0);
  let hi = vec2<i32>(i32(p.H), i32(p.W));
#endif
  let ys = max(y0, lo.x);
  let ye = min(y0 + i32((KH - 1u) * DH + 1u), hi.x);
  let xs = max(x0, lo.y);
  let xe = min(x0 + i32((KW - 1u) * DW + 1u), hi.y);
  // With dilation 1 (the only case average pooling uses) the count is the clipped extent.
  return f32(max(ye - ys, 0) * max(xe - xs, 0));
}

#if ${BACKWARD}
// What window (oy, ox) of the plane sends to in-plane input pixel q: its gradient if q was its maximum (MAX),
// else its gradient over its count.
fn windowGrad(plane: u32, oy: u32, ox: u32, q: u32) -> f32 {
  let o = (plane * p.OH + oy) * p.OW + ox;
#if ${MAX}
  if (arg[o] == f32(q)) { return src[o]; }
  return 0.0;
#else
  return src[o] / avgCount(oy, ox);
#endif
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
#if ${BACKWARD}
  // i indexes an input pixel; src = dy [NC, OH, OW]; dst = dx [NC, H, W].
  if (i >= p.NC * p.H * p.W) { return; }
  let plane = i / (p.H * p.W);
  let q = i % (p.H * p.W);
  let iy = q / p.W;
  let ix = q % p.W;
  var acc = 0.0;
  for (var ky = 0u; ky < KH; ky++) {
    let ny = i32(iy + p.PT) - i32(ky * DH);
    let oy = ny / i32(SH);
    if (ny < 0 || oy * i32(SH) != ny || oy >= i32(p.OH)) { continue; }
    for (var kx = 0u; kx < KW; kx++) {
      let nx = i32(ix + p.PL) - i32(kx * DW);
      let ox = nx / i32(SW);
      if (nx < 0 || ox * i32(SW) != nx || ox >= i32(p.OW)) { continue; }
      acc += windowGrad(plane, u32(oy), u32(ox), q);
    }
  }
#if ${MASK}
  acc = select(0.0, acc, mask[i] > 0.0);
#endif
  dst[i] = acc;
#else
  if (i >= p.NC * p.OH * p.OW) { return; }
  let plane = i / (p.OH * p.OW);
  let q = i % (p.OH * p.OW);
  let oy = q / p.OW;
  let ox = q % p.OW;
  let y0 = i32(oy * SH) - i32(p.PT);
  let x0 = i32(ox * SW) - i32(p.PL);
  let base = plane * p.H * p.W;
#if ${MAX}
  var best = -3.4028234e38;
  var at = -1.0;
#else
  var acc = 0.0;
#endif
  for (var ky = 0u; ky < KH; ky++) {
    let iy = y0 + i32(ky * DH);
    if (iy < 0 || iy >= i32(p.H)) { continue; }
    for (var kx = 0u; kx < KW; kx++) {
      let ix = x0 + i32(kx * DW);
      if (ix < 0 || ix >= i32(p.W)) { continue; }
      let v = src[base + u32(iy) * p.W + u32(ix)];
#if ${MAX}
      if (v > best || at < 0.0) { best = v; at = f32(u32(iy) * p.W + u32(ix)); }
#else
      acc += v;
#endif
    }
  }
#if ${MAX}
  dst[i] = best;
  arg[i] = at;
#else
  dst[i] = acc / avgCount(oy, ox);
#endif
#endif
}
