// 2-D pooling, NCHW, one invocation per output (forward) or per stride block of input pixels (backward, gather
// form: each input pixel sums the gradients of the windows that used it, so no atomics and no races).
//   MAX forward writes the max and its in-plane index (iy·W + ix, as f32; −1 when the window is all padding).
//   AVG divides by the window's size, counting padding or not (COUNT_PAD), never counting the ceil-mode
//   overhang beyond the padding.

struct Params {
  NC: u32, H: u32, W: u32, OH: u32,
  OW: u32, BH: u32, BW: u32, _sh: u32,
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
// The backward works in blocks of SH × SW input pixels: with padding, block (by, bx) holds the pixels
// (by·SH + jy − PT, bx·SW + jx − PL), and only the windows NBY × NBX up and left of it, (by − wy, bx − wx), can
// cover them: window row by − wy covers pixel row jy of the block iff jy + wy·SH is a tap (ky·DH, ky < KH), a
// constant. So an invocation loads each of those windows' gradient (and argmax) once for its SH·SW pixels, with
// no branch on which windows apply: the gather form read every window of every pixel's range with a load each.
const NBY = ((KH - 1u) * DH) / SH + 1u;
const NBX = ((KW - 1u) * DW) / SW + 1u;
fn isTap(d: u32, K: u32, D: u32) -> bool { return d % D == 0u && d / D < K; }
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
#if ${BACKWARD}
  // i indexes a block; src = dy [NC, OH, OW]; dst = dx [NC, H, W]; BH × BW blocks hold pixels of a plane.
  if (i >= p.NC * p.BH * p.BW) { return; }
  let plane = i / (p.BH * p.BW);
  let by = (i / p.BW) % p.BH + p.PT / SH;
  let bx = i % p.BW + p.PL / SW;
  // The gradient each candidate window sends to a pixel it covers: to its maximum (MAX: at its argmax) or,
  // divided by its count, to every pixel.
  var wg: array<f32, NBY * NBX>;
#if ${MAX}
  var wa: array<f32, NBY * NBX>;
#endif
  for (var wy = 0u; wy < NBY; wy++) {
    for (var wx = 0u; wx < NBX; wx++) {
      let oy = i32(by) - i32(wy);
      let ox = i32(bx) - i32(wx);
      let inside = oy >= 0 && oy < i32(p.OH) && ox >= 0 && ox < i32(p.OW);
      let o = (plane * p.OH + u32(clamp(oy, 0, i32(p.OH) - 1))) * p.OW + u32(clamp(ox, 0, i32(p.OW) - 1));
#if ${MAX}
      wg[wy * NBX + wx] = select(0.0, src[o], inside);
      wa[wy * NBX + wx] = arg[o];
#else
      wg[wy * NBX + wx] = select(0.0, src[o] / avgCount(u32(max(oy, 0)), u32(max(ox, 0))), inside);
#endif
    }
  }
  for (var jy = 0u; jy < SH; jy++) {
    let iy = i32(by * SH + jy) - i32(p.PT);
    for (var jx = 0u; jx < SW; jx++) {
      let ix = i32(bx * SW + jx) - i32(p.PL);
      if (iy >= 0 && iy < i32(p.H) && ix >= 0 && ix < i32(p.W)) {
        let q = u32(iy) * p.W + u32(ix);
        var acc = 0.0;
        for (var wy = 0u; wy < NBY; wy++) {
          for (var wx = 0u; wx < NBX; wx++) {
            if (isTap(jy + wy * SH, KH, DH) && isTap(jx + wx * SW, KW, DW)) {
#if ${MAX}
              acc += select(0.0, wg[wy * NBX + wx], wa[wy * NBX + wx] == f32(q));
#else
              acc += wg[wy * NBX + wx];
#endif
            }
          }
        }
        let d = plane * p.H * p.W + q;
#if ${MASK}
        acc = select(0.0, acc, mask[d] > 0.0);
#endif
        dst[d] = acc;
      }
    }
  }
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
