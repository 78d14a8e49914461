// conv2d filter gradient, NCHW:
//   dw[k, c, ky, kx] = Σ_{n, oy, ox} dy[n,k,oy,ox] · x[n, g·CG + c, oy·SH − PT + ky·DH, ox·SW − PL + kx·DW]
// A GEMM whose reduction runs over batch × output pixels. Each invocation owns TCO output channels ×
// TR filter taps (c, ky, kx), decoded once; no workgroup memory. Small workgroups keep both CPU cores busy
// when the filter is small (the 7×7 first layer has only 32 × 147 taps). With p.splits > 1 the invocations of
// split s sum output rows oy of [s·chunk, (s+1)·chunk) only, into copy s of dw.

#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TCO = ${TCO}u;
const TR = ${TR}u;

@compute @workgroup_size(16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let flat = gid.x + gid.y * nwg.x * 16u;
  let R = p.CG * p.KH * p.KW;
  let rBlocks = (R + TR - 1u) / TR;
  let coBlocks = (p.KG + TCO - 1u) / TCO;
  let blocks = rBlocks * coBlocks * p.G;
  if (flat >= blocks * p.splits) { return; }
  let split = flat / blocks;
  let idx = flat % blocks;
  let rb = idx % rBlocks;
  let cb = idx / rBlocks;
  let g = cb / coBlocks;
  let coLocal0 = (cb % coBlocks) * TCO;

  var cOff: array<u32, ${TR}>;
  var offy: array<i32, ${TR}>;
  var offx: array<i32, ${TR}>;
  for (var t = 0u; t < TR; t++) {
    let r = min(rb * TR + t, R - 1u);
    let c = r / (p.KH * p.KW);
    let kk = r % (p.KH * p.KW);
    cOff[t] = (g * p.CG + c) * p.H * p.W;
    offy[t] = i32((kk / p.KW) * p.DH) - i32(p.PT);
    offx[t] = i32((kk % p.KW) * p.DW) - i32(p.PL);
  }
  var kRow: array<u32, ${TCO}>;
  for (var i = 0u; i < TCO; i++) { kRow[i] = (g * p.KG + min(coLocal0 + i, p.KG - 1u)) * p.OH * p.OW; }
  var acc: array<f32, ${TCOTR}>;
  let H = i32(p.H);
  let W = i32(p.W);
  for (var n = 0u; n < p.N; n++) {
    let xn = n * p.C * p.H * p.W;
    let dyn = n * p.K * p.OH * p.OW;
    for (var oy = split * p.chunk; oy < min(p.OH, (split + 1u) * p.chunk); oy++) {
      let by = i32(oy * p.SH);
      for (var ox = 0u; ox < p.OW; ox++) {
        let bx = i32(ox * p.SW);
        let pix = oy * p.OW + ox;
        var xv: array<f32, ${TR}>;
        for (var t = 0u; t < TR; t++) {
          let iy = by + offy[t];
          let ix = bx + offx[t];
          let inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          xv[t] = select(0.0, x[xn + cOff[t] + u32(clamp(iy, 0, H - 1)) * p.W + u32(clamp(ix, 0, W - 1))], inside);
        }
        for (var i = 0u; i < TCO; i++) {
          let d = dy[dyn + kRow[i] + pix];
          for (var t = 0u; t < TR; t++) { acc[i * TR + t] = fma(d, xv[t], acc[i * TR + t]); }
        }
      }
    }
  }
  for (var i = 0u; i < TCO; i++) {
    let co = coLocal0 + i;
    if (co >= p.KG) { break; }
    let k = g * p.KG + co;
    for (var t = 0u; t < TR; t++) {
      let r = rb * TR + t;
      if (r < R) { dw[split * p.K * R + k * R + r] = acc[i * TR + t]; }
    }
  }
}
