// Depthwise convolution (groups = input channels = output channels: one KH×KW filter per channel), NCHW,
// weight [C, 1, KH, KW]. GRAD = 0: the forward, y[n,c,oy,ox] = Σ w[c,ky,kx] · x[n,c,oy·SH − PT + ky·DH, …]
// (+ bias, ReLU). GRAD = 1: the input gradient, dx[n,c,iy,ix] = Σ over the taps that reach (iy, ix) of
// w[c,ky,kx] · dy[n,c,oy,ox] (also the depthwise transposed convolution's forward, + bias). The GEMM kernels
// spend a whole row block on the one output channel of a group; here one invocation writes TP neighbouring
// outputs of one row of one channel, the filter taps and strides are pipeline constants (no divisions by
// run-time values), and in the forward each input row segment is loaded once for all KW taps.

#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TP = ${TP}u;
const KH = ${KH}u;
const KW = ${KW}u;
const SH = ${SH}u;
const SW = ${SW}u;
const DH = ${DH}u;
const DW = ${DW}u;

#if ${GRAD}
// dx [N, C, H, W] from dy [N, C, OH, OW]; with unit stride across, a row of TP reads TP + (KW − 1)·DW of dy.
const SEG = TP + (KW - 1u) * DW;
fn outH() -> u32 { return p.H; }
fn outW() -> u32 { return p.W; }
#else
// Input values a row of TP forward outputs reads: (TP − 1)·SW + (KW − 1)·DW + 1.
const SEG = (TP - 1u) * SW + (KW - 1u) * DW + 1u;
fn outH() -> u32 { return p.OH; }
fn outW() -> u32 { return p.OW; }
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let blocks = (outW() + TP - 1u) / TP;
  if (idx >= p.N * p.C * outH() * blocks) { return; }
  let x0 = (idx % blocks) * TP;
  let row = idx / blocks;
  let y = row % outH();
  let plane = row / outH();
  let c = plane % p.C;
  let wbase = c * KH * KW;
  var acc: array<f32, ${TP}>;
#if ${GRAD}
  // Taps (ky, kx) reach input (y, x) from dy (oy, ox) when y + PT − ky·DH = oy·SH (and likewise in x).
  let sbase = plane * p.OH * p.OW;
  for (var ky = 0u; ky < KH; ky++) {
    let ny = i32(y + p.PT) - i32(ky * DH);
    if (ny < 0 || u32(ny) % SH != 0u || u32(ny) / SH >= p.OH) { continue; }
    let srow = sbase + (u32(ny) / SH) * p.OW;
#if ${UNIT_SW}
    // Stride 1 across: the row's TP outputs read one segment of dy, x0 + PL − (KW − 1)·DW onwards.
    let nx0 = i32(x0 + p.PL) - i32((KW - 1u) * DW);
    var seg: array<f32, SEG>;
    for (var s = 0u; s < SEG; s++) {
      let nx = nx0 + i32(s);
      seg[s] = select(0.0, src[srow + u32(clamp(nx, 0, i32(p.OW) - 1))], nx >= 0 && nx < i32(p.OW));
    }
    for (var kx = 0u; kx < KW; kx++) {
      let wv = w[wbase + ky * KW + kx];
      for (var j = 0u; j < TP; j++) {
        acc[j] = fma(wv, seg[j + (KW - 1u - kx) * DW], acc[j]);
      }
    }
#else
    for (var kx = 0u; kx < KW; kx++) {
      let wv = w[wbase + ky * KW + kx];
      for (var j = 0u; j < TP; j++) {
        let nx = i32(x0 + j + p.PL) - i32(kx * DW);
        let inside = nx >= 0 && u32(nx) % SW == 0u && u32(nx) / SW < p.OW;
        let v = src[srow + min(u32(max(nx, 0)) / SW, p.OW - 1u)];
        acc[j] = fma(wv, select(0.0, v, inside), acc[j]);
      }
    }
#endif
  }
#else
  let sbase = plane * p.H * p.W;
  let ix0 = i32(x0 * SW) - i32(p.PL);
  for (var ky = 0u; ky < KH; ky++) {
    let iy = i32(y * SH) - i32(p.PT) + i32(ky * DH);
    if (iy < 0 || iy >= i32(p.H)) { continue; }
    let srow = sbase + u32(iy) * p.W;
    var seg: array<f32, SEG>;
    for (var s = 0u; s < SEG; s++) {
      let ix = ix0 + i32(s);
      seg[s] = select(0.0, src[srow + u32(clamp(ix, 0, i32(p.W) - 1))], ix >= 0 && ix < i32(p.W));
    }
    for (var kx = 0u; kx < KW; kx++) {
      let wv = w[wbase + ky * KW + kx];
      for (var j = 0u; j < TP; j++) {
        acc[j] = fma(wv, seg[j * SW + kx * DW], acc[j]);
      }
    }
  }
#endif
  let b = select(0.0, bias[c], p.hasBias != 0u);
  let obase = row * outW();
  for (var j = 0u; j < TP; j++) {
    if (x0 + j < outW()) {
      let v = acc[j] + b;
      out[obase + x0 + j] = select(v, max(v, 0.0), p.relu != 0u);
    }
  }
}
