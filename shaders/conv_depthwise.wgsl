// Depthwise convolution (groups = input channels = output channels: one KH×KW filter per channel), NCHW,
// weight [C, 1, KH, KW]. GRAD = 0: the forward, y[n,c,oy,ox] = Σ w[c,ky,kx] · x[n,c,oy·SH − PT + ky·DH, …]
// (+ bias, ReLU). GRAD = 1: the input gradient, dx[n,c,iy,ix] = Σ over the taps that reach (iy, ix) of
// w[c,ky,kx] · dy[n,c,oy,ox] (also the depthwise transposed convolution's forward, + bias). The GEMM kernels
// spend a whole row block on the one output channel of a group; here one invocation writes a TR × TP block
// of outputs of one channel, the filter taps and strides are pipeline constants (no divisions by run-time
// values), and each source row segment is loaded once for all the taps and output rows that read it (a CPU
// driver runs every load lane by lane: loads per output are what it costs).

#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TP = ${TP}u;
const TR = ${TR}u;
#include "window.wgsl"

#if ${GRAD}
// dx [N, C, H, W] from dy [N, C, OH, OW]; with unit stride across, a row of TP reads TP + (KW − 1)·DW of dy.
const SEG = TP + (KW - 1u) * DW;
fn outH() -> u32 { return p.H; }
fn outW() -> u32 { return p.W; }
fn srcH() -> u32 { return p.OH; }
fn srcW() -> u32 { return p.OW; }
// Unit strides: output (y, x) takes tap (ky, kx) from dy (y + PT − ky·DH, x + PL − kx·DW).
fn segmentStart(x0: u32) -> i32 { return i32(x0 + p.PL) - i32((KW - 1u) * DW); }
fn firstRow(y0: u32) -> i32 { return i32(y0 + p.PT) - i32((KH - 1u) * DH); }
fn tapRow(i: u32) -> u32 { return KH - 1u - i; }
#else
// A row of TP forward outputs reads (TP − 1)·SW + (KW − 1)·DW + 1 input values.
const SEG = (TP - 1u) * SW + (KW - 1u) * DW + 1u;
fn outH() -> u32 { return p.OH; }
fn outW() -> u32 { return p.OW; }
fn srcH() -> u32 { return p.H; }
fn srcW() -> u32 { return p.W; }
// Unit row stride: output (y, x) takes tap (ky, kx) from x (y − PT + ky·DH, x·SW − PL + kx·DW).
fn segmentStart(x0: u32) -> i32 { return i32(x0 * SW) - i32(p.PL); }
fn firstRow(y0: u32) -> i32 { return i32(y0) - i32(p.PT); }
fn tapRow(i: u32) -> u32 { return i; }
#endif

var<private> acc: array<f32, ${TRTP}>;
var<private> seg: array<f32, SEG>;
#if ${GRAD}
// The strided input gradient's dy segment: the columns a row of TP outputs reads.
const STRIDED_SEG = (TP - 1u + (KW - 1u) * DW) / SW + 2u;
var<private> strided: array<f32, STRIDED_SEG>;
#endif

// Loads the source row sy from column sx0 on into seg (zeros outside the row).
fn loadSegment(sbase: u32, sy: u32, sx0: i32) {
  let row = sbase + sy * srcW();
  for (var s = 0u; s < SEG; s++) {
    let sx = sx0 + i32(s);
    seg[s] = select(0.0, src[row + u32(clamp(sx, 0, i32(srcW()) - 1))], sx >= 0 && sx < i32(srcW()));
  }
}

// Adds tap row ky of the filter, applied to seg, to output row r of the block.
fn accumulate(r: u32, wrow: u32) {
  for (var kx = 0u; kx < KW; kx++) {
    let wv = w[wrow + kx];
    for (var j = 0u; j < TP; j++) {
#if ${GRAD}
      acc[r * TP + j] = fma(wv, seg[j + (KW - 1u - kx) * DW], acc[r * TP + j]);
#else
      acc[r * TP + j] = fma(wv, seg[j * SW + kx * DW], acc[r * TP + j]);
#endif
    }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let blocks = (outW() + TP - 1u) / TP;
  let bands = (outH() + TR - 1u) / TR;
  if (idx >= p.N * p.C * bands * blocks) { return; }
  let x0 = (idx % blocks) * TP;
  let y0 = ((idx / blocks) % bands) * TR;
  let plane = idx / blocks / bands;
  let wbase = (plane % p.C) * KH * KW;
  let sbase = plane * srcH() * srcW();
#if ${SEGMENTS}
  // Unit row strides: source row first + t serves output row y0 + r with the tap row tapRow((t − r) / DH).
  let sx0 = segmentStart(x0);
  let first = firstRow(y0);
  for (var t = 0u; t < TR + (KH - 1u) * DH; t++) {
    let sy = first + i32(t);
    if (sy < 0 || sy >= i32(srcH())) { continue; }
    loadSegment(sbase, u32(sy), sx0);
    for (var r = 0u; r < TR; r++) {
      let d = i32(t) - i32(r);
      if (d < 0 || u32(d) % DH != 0u || u32(d) / DH >= KH) { continue; }
      accumulate(r, wbase + tapRow(u32(d) / DH) * KW);
    }
  }
#else
  for (var r = 0u; r < TR; r++) {
    let y = y0 + r;
    for (var ky = 0u; ky < KH; ky++) {
#if ${GRAD}
      // Taps (ky, kx) reach input (y, x) from dy (oy, ox) when y + PT − ky·DH = oy·SH (and likewise in x).
      let ny = i32(y + p.PT) - i32(ky * DH);
      if (ny < 0 || u32(ny) % SH != 0u || u32(ny) / SH >= p.OH) { continue; }
      // The dy columns this row's TP outputs read, (x + PL − kx·DW) / SW where that divides, loaded once:
      // from ox0 = ⌊(x0 + PL − (KW − 1)·DW) / SW⌋ on.
      let low = i32(x0 + p.PL) - i32((KW - 1u) * DW);
      let ox0 = (low - select(0, i32(SW) - 1, low < 0)) / i32(SW);
      for (var s = 0u; s < STRIDED_SEG; s++) {
        let ox = ox0 + i32(s);
        strided[s] = select(0.0, src[sbase + (u32(ny) / SH) * p.OW + u32(clamp(ox, 0, i32(p.OW) - 1))], ox >= 0 && ox < i32(p.OW));
      }
      // Output j, tap kx reads column offset t = j + (KW − 1 − kx)·DW + q when t divides by SW. Branching on
      // the phase q (the same for the whole row) keeps every index a constant once the loops unroll: a
      // run-time index would put the private arrays in memory.
      let q = u32(low - ox0 * i32(SW));
      for (var phase = 0u; phase < SW; phase++) {
        if (phase != q) { continue; }
        for (var kx = 0u; kx < KW; kx++) {
          let wv = w[wbase + ky * KW + kx];
          for (var j = 0u; j < TP; j++) {
            let t = j + (KW - 1u - kx) * DW + phase;
            if (t % SW == 0u) { acc[r * TP + j] = fma(wv, strided[t / SW], acc[r * TP + j]); }
          }
        }
      }
#else
      let iy = i32(y * SH) - i32(p.PT) + i32(ky * DH);
      if (iy < 0 || iy >= i32(p.H)) { continue; }
      loadSegment(sbase, u32(iy), segmentStart(x0));
      accumulate(r, wbase + ky * KW);
#endif
    }
  }
#endif
  let b = select(0.0, bias[plane % p.C], p.hasBias != 0u);
  for (var r = 0u; r < TR; r++) {
    if (y0 + r >= outH()) { break; }
    let obase = (plane * outH() + y0 + r) * outW();
    for (var j = 0u; j < TP; j++) {
      if (x0 + j < outW()) {
        let v = acc[r * TP + j] + b;
        out[obase + x0 + j] = select(v, max(v, 0.0), p.relu != 0u);
      }
    }
  }
}
