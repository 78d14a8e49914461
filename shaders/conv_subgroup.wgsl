enable subgroups;
// conv2d forward and backward-data (= transposed conv) as one gathered GEMM for CPU Vulkan drivers with
// 8-wide subgroups (lavapipe), the conv form of matmul.wgsl's SUBGROUP variant. One 8-invocation subgroup
// computes a block of BM rows × 32·QPL columns of
//     out[row, col] = Σ_r A[row, r] · B[r, col]
//   rows: output channels of one group (forward) or input channels of one group (backward-data);
//   r:    (source channel, tap y, tap x), TY × TX taps per channel;
//   cols: output pixels in quads: each invocation owns 4 neighbouring pixels of one output row, in each of
//         its QPL quads (lane l: the block's quads l, 8 + l).
// A is a dense row-major [G, M, R] matrix (the weights as they are forward; re-laid per stride phase for
// backward-data by src/kernels/conv_phases.ts). B is the source image (x forward, dy backward) gathered with zeros
// outside it:  B[(ch, ty, tx), (n, cy, cx)] = src[n, g·srcCG + ch, cy·colStrideY + ty·tapStrideY + offY,
//                                              cx·CSX + tx·TSX + offX]
// Backward-data of a strided conv computes all stride phases in one GEMM: the input pixels y ≡ py (mod S)
// see the taps py + P − k·D ≡ 0 (mod S), and read dy at a common offset once taps are aligned, so rows are
// (phase, input channel) and A holds each phase's taps, zero where a phase has fewer (conv.ts builds it).
// Every B value then feeds S² times more rows than a GEMM per phase would give it.
//
// What lavapipe (Mesa 25.0, LLVM 15, 8-wide AVX2) makes of it, read from the machine code it caches
// (MESA_SHADER_CACHE_DIR, objdump) and timed by its worker threads' CPU time:
// - Every storage load runs lane by lane, each lane and component a bounds check, a branch, a scalar load and
//   an insert, some 9 instructions. An address the same in every lane is no exception (no broadcast path in
//   this build: loading A with uniform addresses, 8 rows per lane, ran 2.5–3× slower than one row per lane
//   and 8 shuffles). A vec4 costs what its 4 scalars cost; a masked load in a divergent `if` nearly as much.
// - subgroupShuffle is one vpermps; fma is a vmulps and a vaddps.
// - Past the 32 KiB instruction cache a loop runs slower than its instruction count predicts: unrolling 4
//   pairs per step (A in whole vec4s) made 110–330 KiB loops, and with one pair per step a 74 KiB 7×7 loop
//   lost to a 34 KiB one with 20 % more loads per product.
// So the kernel minimises loaded values per product and keeps its loop small:
// - A step is one (channel, tap row) pair: the TX taps of one source row. A lane loads its row of A as TX
//   scalars (no alignment needed) and the rows reach the other lanes through shuffles.
// - B comes from a window of the source row: a lane's 4 pixels × TX taps span SPAN values, of which the lane
//   loads the first 4·CSX itself; the rest begin the next quads' windows in the same output row and are
//   shuffled from the next lanes (past lane 7, from the next quad set). Only lanes at the end of an output
//   row or of the block load them, skipped when no lane of the subgroup does. A 3×3 stride-1 pair costs a
//   quad 4 loaded values (+ 2 at row ends) where gathering each tap's 4 pixels with two aligned vec4s cost 24.
// - The block (BM rows × 32·QPL pixels) is the one with the fewest loads per product made, empty quad slots
//   counted, whose loop fits the instruction cache (gemmBlock in src/kernels/conv_gemm.ts, from the machine
//   code's size); QPL = 2 halves A's loads per product. Under 8 quads, conv_subgroup_rows.wgsl runs instead.
// - ch and ty come from the pair with TY constant; per-lane addresses are computed once per block, and the
//   output write counts rows instead of dividing.
// Measured against the kernel this replaced (one quad per lane, 4 taps per step from two aligned vec4s per
// tap, A's rows shuffled from vec4s), batch 8, the same process, driver CPU ms then wall ms on a machine
// shared with a training job: 3×3 32 ch 35² forward 8.8 → 4.8 (13.4 → 8.1) and backward-data 9.3 → 5.0
// (13.1 → 7.7); 3×3 256 ch 4² 6.2 → 3.9 forward, 6.2 → 3.9 backward-data; 7×7/2 3 → 32 ch 150² forward
// 18.0 → 12.4 (26.4 → 19.6), backward-data 35.6 → 17.4 (54.8 → 26.2).

#include "conv_gemm.wgsl"

// Taps per source channel are constants: lavapipe has no SIMD integer division and would divide by a
// run-time value lane by lane, which costs more than the multiply-adds it feeds.
const TY = ${TY}u;
const TX = ${TX}u;
// 8-row fragments per block: 4 (BM = 32), or 2 or 1 for thin M such as an RGB image's gradient or for wide
// kernels (gemmBlock). Each is a call of its own below, so that acc is indexed by constants only.
const FRAGS = ${FRAGS}u;
const SG = 8u;            // invocations per workgroup = subgroup width (checked by src/kernels/subgroups.ts)
const BM = 8u * FRAGS;
const QPL = ${QPL}u;      // quads per lane: lane l of a block owns its quads l and SG + l
// A lane's window of one source row: its 4 pixels × TX taps lie at j·CSX + tx·TSX − LEAD (j < 4, tx < TX)
// past the window's start, SPAN values. The windows of the next quads of the same output row start OWNV,
// 2·OWNV … further.
const CSX = ${CSX};       // colStrideX
const TSX = ${TSX};       // tapStrideX (negative for backward-data)
const LEAD = min(0, (i32(TX) - 1) * TSX);
const SPAN = u32(3 * CSX + (i32(TX) - 1) * abs(TSX) + 1);
const OWNV = u32(4 * CSX);
const OWN = min(OWNV, SPAN);   // values a lane loads itself; the next SPAN − OWN are shared (bits of Quad.own)

// Where one of a lane's quads reads its source; bit k of own: window value OWN + k is loaded by this lane
// itself (no later quad of the same output row holds it in this block); any: that bit of any lane.
struct Quad { sBase: i32, sy0: i32, winX: i32, own: u32, any: u32 }

fn quadAt(h: u32, first: u32, g: u32, lane: u32) -> Quad {
  let i = first + h * SG + lane;
  let quad = min(i, p.quads - 1u);
  let perImage = p.colH * p.colQuads;
  let n = quad / perImage;
  let cy = (quad % perImage) / p.colQuads;
  let pos = quad % p.colQuads;
  var own = 0u;
  for (var k = OWN; k < min(SPAN, OWN + 32u); k++) {
    let m = k / OWNV;
    let held = pos + m < p.colQuads && i + m < p.quads && lane + m < SG * (QPL - h);
    own |= select(1u << (k - OWN), 0u, held);
  }
  return Quad(i32((n * p.srcC + g * p.srcCG) * p.srcH * p.srcW), i32(cy) * p.colStrideY + p.offY,
              i32(pos * 4u) * CSX + p.offX + LEAD, own, subgroupOr(own));
}

alias Quads = array<Quad, QPL>;
alias Win = array<array<f32, SPAN>, QPL>;

// Pair (ch, ty)'s window of each of the lane's quads, zero outside the source.
fn windows(q: Quads, lane: u32, pair: u32) -> Win {
  var x: Win;
  var start: array<i32, QPL>;
  for (var h = 0u; h < QPL; h++) {
    let sy = q[h].sy0 + i32(pair % TY) * p.tapStrideY;
    start[h] = q[h].sBase + i32((pair / TY) * p.srcH * p.srcW) + sy * i32(p.srcW) + q[h].winX;
    for (var k = 0u; k < OWN; k++) { x[h][k] = src[u32(start[h] + i32(k))]; }
  }
  for (var h = 0u; h < QPL; h++) {
    for (var k = OWN; k < SPAN; k++) {
      // Lane l + m's value k − m·OWNV, past lane 7 the next quad set's.
      let m = k / OWNV;
      let giver = (lane + m) % SG;
      var v = subgroupShuffle(x[h][k % OWNV], giver);
      if (h + 1u < QPL) { v = select(v, subgroupShuffle(x[min(h + 1u, QPL - 1u)][k % OWNV], giver), lane + m >= SG); }
      x[h][k] = v;
      let bit = 1u << min(k - OWN, 31u);
      if (k - OWN >= 32u || (q[h].any & bit) != 0u) {
        if (k - OWN >= 32u || (q[h].own & bit) != 0u) { x[h][k] = src[u32(start[h] + i32(k))]; }
      }
    }
  }
  for (var h = 0u; h < QPL; h++) {
    let sy = q[h].sy0 + i32(pair % TY) * p.tapStrideY;
    let rowInside = sy >= 0 && sy < i32(p.srcH);
    for (var k = 0u; k < SPAN; k++) {
      let sx = q[h].winX + i32(k);
      x[h][k] = select(0.0, x[h][k], rowInside && sx >= 0 && sx < i32(p.srcW));
    }
  }
  return x;
}

// B of one pair: bt[h][tx] for the lane's quad h.
alias Taps = array<array<vec4<f32>, TX>, QPL>;
fn taps(x: Win) -> Taps {
  var bt: Taps;
  for (var h = 0u; h < QPL; h++) {
    for (var tx = 0u; tx < TX; tx++) {
      let e = u32(i32(tx) * TSX - LEAD);
      bt[h][tx] = vec4(x[h][e], x[h][e + u32(CSX)], x[h][e + 2u * u32(CSX)], x[h][e + 3u * u32(CSX)]);
    }
  }
  return bt;
}

// This lane's row of A from rowStart: the pair's TX values from k0.
fn aFrag(rowStart: u32, k0: u32) -> array<f32, TX> {
  var f: array<f32, TX>;
  for (var tx = 0u; tx < TX; tx++) { f[tx] = a[rowStart + k0 + tx]; }
  return f;
}

alias Acc = array<vec4<f32>, BM * QPL>;

// acc[h·BM + row] += Σ_tx A[row, k0 + tx] · bt[h][tx], row = first + s, its A values lane s's fa. Called with
// constants, so the loops unroll and the row's accumulators stay in registers through the pair.
fn fmaRow(acc: ptr<function, Acc>, fa: array<f32, TX>, row: u32, s: u32, bt: Taps) {
  var c: array<vec4<f32>, QPL>;
  for (var h = 0u; h < QPL; h++) { c[h] = (*acc)[h * BM + row]; }
  for (var tx = 0u; tx < TX; tx++) {
    let v = vec4(subgroupShuffle(fa[tx], s));
    for (var h = 0u; h < QPL; h++) { c[h] = fma(v, bt[h][tx], c[h]); }
  }
  for (var h = 0u; h < QPL; h++) { (*acc)[h * BM + row] = c[h]; }
}

fn fmaFrag(acc: ptr<function, Acc>, fa: array<f32, TX>, first: u32, bt: Taps) {
  fmaRow(acc, fa, first, 0u, bt);
  fmaRow(acc, fa, first + 1u, 1u, bt);
  fmaRow(acc, fa, first + 2u, 2u, bt);
  fmaRow(acc, fa, first + 3u, 3u, bt);
  fmaRow(acc, fa, first + 4u, 4u, bt);
  fmaRow(acc, fa, first + 5u, 5u, bt);
  fmaRow(acc, fa, first + 6u, 6u, bt);
  fmaRow(acc, fa, first + 7u, 7u, bt);
}

// Workgroups: blocks of SG·QPL quads over x (and y past 65535 of them); z = group · row blocks + row block.
@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let block = wid.x + wid.y * nwg.x;
  if (block * SG * QPL >= p.quads) { return; }
  let rowBlocks = (p.M + BM - 1u) / BM;
  let g = wid.z / rowBlocks;
  let row0 = (wid.z % rowBlocks) * BM;
  var q: Quads;
  for (var h = 0u; h < QPL; h++) { q[h] = quadAt(h, block * SG * QPL, g, lane); }

  // Rows of A this lane loads: 8t + lane (clamped; rows past M are never written).
  var aRow: array<u32, FRAGS>;
  for (var t = 0u; t < FRAGS; t++) { aRow[t] = (g * p.M + min(row0 + 8u * t + lane, p.M - 1u)) * p.R; }

  var acc: Acc;
  for (var j = 0u; j < p.R / TX; j++) {
    let bt = taps(windows(q, lane, j));
    fmaFrag(&acc, aFrag(aRow[0], j * TX), 0u, bt);
#if ${MORE_THAN_8_ROWS}
    fmaFrag(&acc, aFrag(aRow[1], j * TX), 8u, bt);
#endif
#if ${MORE_THAN_16_ROWS}
    fmaFrag(&acc, aFrag(aRow[2], j * TX), 16u, bt);
    fmaFrag(&acc, aFrag(aRow[3], j * TX), 24u, bt);
#endif
  }

  // Row (phase, c) of the block: counted along the rows, lavapipe dividing lane by lane.
  let phase0 = row0 / p.phaseRows;
  for (var h = 0u; h < QPL; h++) {
    let i = block * SG * QPL + h * SG + lane;
    if (i >= p.quads) { break; }
    let perImage = p.colH * p.colQuads;
    let n = i / perImage;
    let cy = (i % perImage) / p.colQuads;
    let cx0 = (i % p.colQuads) * 4u;
    var c = row0 - phase0 * p.phaseRows;
    var px = phase0 % p.phasesX;
    var py = phase0 / p.phasesX;
    for (var r = 0u; r < BM && row0 + r < p.M; r++) {
      writeQuad(g * p.phaseRows + c, py, px, n, cy, cx0, acc[h * BM + r]);
      c++;
      if (c == p.phaseRows) {
        c = 0u;
        px++;
        if (px == p.phasesX) { px = 0u; py++; }
      }
    }
  }
}
