// Transposed convolution = the input gradient of conv2d (backward-data), NCHW.
// For the conv  y[n,k,oy,ox] = Σ w[k,c,ky,kx] · x[n,c, oy·SH − PT + ky·DH, ox·SW − PL + kx·DW]  this computes
//   dx[n,c,iy,ix] = Σ_{k in c's group, ky, kx} dy[n,k,oy,ox] · w[k, c_local, ky, kx]
// where oy = (iy + PT − ky·DH) / SH must be a whole number in [0, OH) (likewise ox). convTranspose2d's
// forward is this kernel with dy := its input and dx := its output (plus bias).
// Each invocation accumulates TCI input channels × TP pixels; no workgroup memory. With p.splits > 1 the
// invocations of split s sum output channels k of [s·chunk, (s+1)·chunk) of each group into copy s of dx.

// Params describe the conv being differentiated: N,C,H,W is dx (this kernel's output), K,OH,OW is dy.
#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TCI = ${TCI}u;
const TP = ${TP}u;

// Work split by phase: an invocation owns TP pixels of one row whose columns share a residue modulo the
// stride (ix = px + SW·j). Which taps (ky, kx) reach them is then the same for all of them, so invalid taps
// are skipped per invocation instead of being tested per pixel, and their dy reads are contiguous.
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let flat = gid.x + gid.y * nwg.x * ${WG}u;
  let perPhase = (p.W + p.SW - 1u) / p.SW;
  let xBlocks = (perPhase + TP - 1u) / TP;
  let ciBlocks = (p.CG + TCI - 1u) / TCI;
  let blocks = xBlocks * p.SW * p.H * ciBlocks * p.G * p.N;
  if (flat >= blocks * p.splits) { return; }
  let split = flat / blocks;
  let idx = flat % blocks;
  let xb = idx % xBlocks;
  var rest = idx / xBlocks;
  let px = rest % p.SW;
  rest = rest / p.SW;
  let iy = rest % p.H;
  rest = rest / p.H;
  let cb = rest % (ciBlocks * p.G);
  let n = rest / (ciBlocks * p.G);
  let g = cb / ciBlocks;
  let ciLocal0 = (cb % ciBlocks) * TCI;
  let ix0 = px + p.SW * xb * TP;           // first pixel's column
  if (ix0 >= p.W) { return; }

  var acc: array<f32, ${TCITP}>;
  let SH = i32(p.SH);
  let SW = i32(p.SW);
  let OW = i32(p.OW);
  let khw = p.KH * p.KW;
  for (var ky = 0u; ky < p.KH; ky++) {
    let ny = i32(iy + p.PT) - i32(ky * p.DH);
    let oy = ny / SH;
    if (ny < 0 || oy * SH != ny || oy >= i32(p.OH)) { continue; }
    for (var kx = 0u; kx < p.KW; kx++) {
      let nx = i32(ix0 + p.PL) - i32(kx * p.DW);
      // ox of pixel j is ox0 + j (columns step by SW, so nx steps by SW); floor division for nx < 0.
      let ox0 = select(-((-nx + SW - 1) / SW), nx / SW, nx >= 0);
      if (ox0 * SW != nx || ox0 >= OW) { continue; }
      let wk = ky * p.KW + kx;
      for (var kl = split * p.chunk; kl < min(p.KG, (split + 1u) * p.chunk); kl++) {
        let k = g * p.KG + kl;
        let row = ((n * p.K + k) * p.OH + u32(oy)) * p.OW;
        var dv: array<f32, ${TP}>;
        for (var j = 0u; j < TP; j++) {
          let ox = ox0 + i32(j);
          dv[j] = select(0.0, dy[row + u32(clamp(ox, 0, OW - 1))], ox >= 0 && ox < OW);
        }
        let wbase = k * p.CG * khw + wk;
        for (var i = 0u; i < TCI; i++) {
          let wv = w[wbase + min(ciLocal0 + i, p.CG - 1u) * khw];
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
    let b = select(0.0, bias[c], p.hasBias != 0u && p.splits == 1u);
    let base = split * p.N * p.C * p.H * p.W + ((n * p.C + c) * p.H + iy) * p.W;
    for (var j = 0u; j < TP; j++) {
      let ix = ix0 + p.SW * j;
      if (ix < p.W) { dx[base + ix] = acc[i * TP + j] + b; }
    }
  }
}
