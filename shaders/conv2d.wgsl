// conv2d forward, NCHW, weight [K, C/G, KH, KW], as an implicit GEMM: rows = output channels of a group,
// columns = output pixels, reduction over (input channel, ky, kx). Each invocation accumulates a block of
// TCO output channels × TP output pixels in registers, so every loaded weight is reused TP times and every
// loaded input value TCO times. No workgroup memory: the CPU-driver variant (see conv2d_shared.wgsl).

#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TCO = ${TCO}u;
const TP = ${TP}u;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${WG}u;
  let P = p.OH * p.OW;
  let pixBlocks = (P + TP - 1u) / TP;
  let coBlocks = (p.KG + TCO - 1u) / TCO;
  if (idx >= pixBlocks * coBlocks * p.G * p.N) { return; }
  let pb = idx % pixBlocks;
  let rest = idx / pixBlocks;
  let cb = rest % (coBlocks * p.G);
  let n = rest / (coBlocks * p.G);
  let g = cb / coBlocks;
  let coLocal0 = (cb % coBlocks) * TCO;

  var iy0: array<i32, ${TP}>;
  var ix0: array<i32, ${TP}>;
  for (var j = 0u; j < TP; j++) {
    let pix = min(pb * TP + j, P - 1u);
    iy0[j] = i32((pix / p.OW) * p.SH) - i32(p.PT);
    ix0[j] = i32((pix % p.OW) * p.SW) - i32(p.PL);
  }
  var wrow: array<u32, ${TCO}>;
  for (var i = 0u; i < TCO; i++) {
    wrow[i] = (g * p.KG + min(coLocal0 + i, p.KG - 1u)) * p.CG * p.KH * p.KW;
  }
  var acc: array<f32, ${TCOTP}>;
  let H = i32(p.H);
  let W = i32(p.W);
  for (var ci = 0u; ci < p.CG; ci++) {
    let xbase = (n * p.C + g * p.CG + ci) * p.H * p.W;
    let wci = ci * p.KH * p.KW;
    for (var ky = 0u; ky < p.KH; ky++) {
      let dy = i32(ky * p.DH);
      for (var kx = 0u; kx < p.KW; kx++) {
        let dx = i32(kx * p.DW);
        var xv: array<f32, ${TP}>;
        for (var j = 0u; j < TP; j++) {
          let iy = iy0[j] + dy;
          let ix = ix0[j] + dx;
          let inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          let at = xbase + u32(clamp(iy, 0, H - 1)) * p.W + u32(clamp(ix, 0, W - 1));
          xv[j] = select(0.0, x[at], inside);
        }
        let wk = wci + ky * p.KW + kx;
        for (var i = 0u; i < TCO; i++) {
          let wv = w[wrow[i] + wk];
          for (var j = 0u; j < TP; j++) {
            acc[i * TP + j] = fma(wv, xv[j], acc[i * TP + j]);
          }
        }
      }
    }
  }
  for (var i = 0u; i < TCO; i++) {
    let co = coLocal0 + i;
    if (co >= p.KG) { break; }
    let k = g * p.KG + co;
    let b = select(0.0, bias[k], p.hasBias != 0u);
    let obase = (n * p.K + k) * P;
    for (var j = 0u; j < TP; j++) {
      let pix = pb * TP + j;
      if (pix < P) { out[obase + pix] = select(acc[i * TP + j] + b, max(acc[i * TP + j] + b, 0.0), p.relu != 0u); }
    }
  }
}
