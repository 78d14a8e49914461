// Transposed convolution = the input gradient of conv2d (backward-data), NCHW.
// For the conv  y[n,k,oy,ox] = Σ w[k,c,ky,kx] · x[n,c, oy·SH − PT + ky·DH, ox·SW − PL + kx·DW]  this computes
//   dx[n,c,iy,ix] = Σ_{k in c's group, ky, kx} dy[n,k,oy,ox] · w[k, c_local, ky, kx]
// where oy = (iy + PT − ky·DH) / SH must be a whole number in [0, OH) (likewise ox). convTranspose2d's
// forward is this kernel with dy := its input and dx := its output (plus bias).
// Each invocation accumulates TCI input channels × TP input pixels; no workgroup memory.

struct Params {
  N: u32, C: u32, H: u32, W: u32,      // dx (this kernel's output) shape
  K: u32, OH: u32, OW: u32, G: u32,    // dy (this kernel's input) channels and size
  KH: u32, KW: u32, SH: u32, SW: u32,
  DH: u32, DW: u32, PT: u32, PL: u32,
  CG: u32, KG: u32, hasBias: u32, _pad: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TCI = ${TCI}u;
const TP = ${TP}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let P = p.H * p.W;
  let pixBlocks = (P + TP - 1u) / TP;
  let ciBlocks = (p.CG + TCI - 1u) / TCI;
  if (idx >= pixBlocks * ciBlocks * p.G * p.N) { return; }
  let pb = idx % pixBlocks;
  let rest = idx / pixBlocks;
  let cb = rest % (ciBlocks * p.G);
  let n = rest / (ciBlocks * p.G);
  let g = cb / ciBlocks;
  let ciLocal0 = (cb % ciBlocks) * TCI;

  var ny0: array<i32, ${TP}>;
  var nx0: array<i32, ${TP}>;
  for (var j = 0u; j < TP; j++) {
    let pix = min(pb * TP + j, P - 1u);
    ny0[j] = i32(pix / p.W) + i32(p.PT);
    nx0[j] = i32(pix % p.W) + i32(p.PL);
  }
  var acc: array<f32, ${TCITP}>;
  let SH = i32(p.SH);
  let SW = i32(p.SW);
  let OH = i32(p.OH);
  let OW = i32(p.OW);
  let khw = p.KH * p.KW;
  for (var kl = 0u; kl < p.KG; kl++) {
    let k = g * p.KG + kl;
    let dybase = (n * p.K + k) * p.OH * p.OW;
    let wbase = k * p.CG * khw;
    for (var ky = 0u; ky < p.KH; ky++) {
      let offy = i32(ky * p.DH);
      for (var kx = 0u; kx < p.KW; kx++) {
        let offx = i32(kx * p.DW);
        var dv: array<f32, ${TP}>;
        for (var j = 0u; j < TP; j++) {
          let ny = ny0[j] - offy;
          let nx = nx0[j] - offx;
          let oy = ny / SH;
          let ox = nx / SW;
          let ok = ny >= 0 && nx >= 0 && oy * SH == ny && ox * SW == nx && oy < OH && ox < OW;
          let at = dybase + u32(clamp(oy, 0, OH - 1)) * p.OW + u32(clamp(ox, 0, OW - 1));
          dv[j] = select(0.0, dy[at], ok);
        }
        let wk = ky * p.KW + kx;
        for (var i = 0u; i < TCI; i++) {
          let wv = w[wbase + min(ciLocal0 + i, p.CG - 1u) * khw + wk];
          for (var j = 0u; j < TP; j++) {
            acc[i * TP + j] = fma(wv, dv[j], acc[i * TP + j]);
          }
        }
      }
    }
  }
  for (var i = 0u; i < TCI; i++) {
    let cl = ciLocal0 + i;
    if (cl >= p.CG) { break; }
    let c = g * p.CG + cl;
    let b = select(0.0, bias[c], p.hasBias != 0u);
    let base = (n * p.C + c) * P;
    for (var j = 0u; j < TP; j++) {
      let pix = pb * TP + j;
      if (pix < P) { dx[base + pix] = acc[i * TP + j] + b; }
    }
  }
}
