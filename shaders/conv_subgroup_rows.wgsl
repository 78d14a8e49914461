enable subgroups;
// The gathered GEMM of conv_subgroup.wgsl (read its header first: the problem, A, B and the cost model are the
// same) for layers with few output pixels, such as a face network's last stage at batch 1 (256 channels of
// 4×4, 3×3 or 1×1 pixels: 1–4 quads). There, one quad per lane leaves most lanes of the subgroup idle; here the
// lanes take rows instead:
// - lane l owns the block's rows l, 8 + l, … (RPL of them) and every one of its QB quads;
// - per (channel, tap row) pair a lane loads its rows' TX values of A itself (no shuffles), and the pair's
//   source windows of the QB quads (QB · SPAN values, the same for every lane) are loaded once across the
//   lanes — value v by lane v mod 8 — and passed to all lanes by shuffles;
// - a lane makes RPL · QB · TX vec4 multiply-adds per pair, on RPL · TX + ⌈QB · SPAN / 8⌉ loads.

#include "conv_gemm.wgsl"

const TY = ${TY}u;
const TX = ${TX}u;
const SG = 8u;            // invocations per workgroup = subgroup width (checked by src/kernels/subgroups.ts)
const RPL = ${RPL}u;      // rows per lane
const BM = SG * RPL;      // rows per block
const QB = ${QB}u;        // quads per block, shared by its lanes
const CSX = ${CSX};       // colStrideX
const TSX = ${TSX};       // tapStrideX (negative for backward-data)
// A quad's window of one source row, as in conv_subgroup.wgsl: pixel j's tap tx at j·CSX + tx·TSX − LEAD.
const LEAD = min(0, (i32(TX) - 1) * TSX);
const SPAN = u32(3 * CSX + (i32(TX) - 1) * abs(TSX) + 1);
const WIN = QB * SPAN;            // window values of a pair, over the block's quads
const LOADS = (WIN + SG - 1u) / SG;  // of them loaded by each lane

// Workgroups: blocks of QB quads over x (and y past 65535 of them); z = group · row blocks + row block.
@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let first = (wid.x + wid.y * nwg.x) * QB;
  if (first >= p.quads) { return; }
  let rowBlocks = (p.M + BM - 1u) / BM;
  let g = wid.z / rowBlocks;
  let row0 = (wid.z % rowBlocks) * BM;
  let perImage = p.colH * p.colQuads;

  // The window values this lane loads: value v = k·SG + lane, quad v / SPAN's (v % SPAN)-th. Where a pair's
  // value lies in the source but for its row: offset of (image, group, column), first row, column inside.
  var at: array<i32, LOADS>;
  var sy0: array<i32, LOADS>;
  var xin: array<bool, LOADS>;
  for (var k = 0u; k < LOADS; k++) {
    let v = min(k * SG + lane, WIN - 1u);
    let quad = min(first + v / SPAN, p.quads - 1u);
    let n = quad / perImage;
    let sx = i32((quad % p.colQuads) * 4u) * CSX + p.offX + LEAD + i32(v % SPAN);
    at[k] = i32((n * p.srcC + g * p.srcCG) * p.srcH * p.srcW) + sx;
    sy0[k] = i32((quad % perImage) / p.colQuads) * p.colStrideY + p.offY;
    xin[k] = sx >= 0 && sx < i32(p.srcW);
  }
  var aRow: array<u32, RPL>;
  for (var r = 0u; r < RPL; r++) { aRow[r] = (g * p.M + min(row0 + SG * r + lane, p.M - 1u)) * p.R; }

  var acc: array<vec4<f32>, RPL * QB>;
  let plane = i32(p.srcH * p.srcW);
  for (var j = 0u; j < p.R / TX; j++) {
    let dy = i32(j % TY) * p.tapStrideY;
    let chOff = i32(j / TY) * plane;
    var mine: array<f32, LOADS>;
    for (var k = 0u; k < LOADS; k++) {
      let sy = sy0[k] + dy;
      let v = src[u32(at[k] + chOff + sy * i32(p.srcW))];
      mine[k] = select(0.0, v, xin[k] && sy >= 0 && sy < i32(p.srcH));
    }
    var x: array<f32, WIN>;
    for (var v = 0u; v < WIN; v++) { x[v] = subgroupShuffle(mine[v / SG], v % SG); }
    for (var r = 0u; r < RPL; r++) {
      var fa: array<f32, TX>;
      for (var tx = 0u; tx < TX; tx++) { fa[tx] = a[aRow[r] + j * TX + tx]; }
      for (var h = 0u; h < QB; h++) {
        var c = acc[r * QB + h];
        for (var tx = 0u; tx < TX; tx++) {
          let e = h * SPAN + u32(i32(tx) * TSX - LEAD);
          c = fma(vec4(fa[tx]), vec4(x[e], x[e + u32(CSX)], x[e + 2u * u32(CSX)], x[e + 3u * u32(CSX)]), c);
        }
        acc[r * QB + h] = c;
      }
    }
  }

  for (var r = 0u; r < RPL; r++) {
    let row = row0 + SG * r + lane;
    if (row < p.M) {
      let phase = row / p.phaseRows;
      for (var h = 0u; h < QB; h++) {
        let i = first + h;
        if (i < p.quads) {
          writeQuad(g * p.phaseRows + row % p.phaseRows, phase / p.phasesX, phase % p.phasesX, i / perImage,
                    (i % perImage) / p.colQuads, (i % p.colQuads) * 4u, acc[r * QB + h]);
        }
      }
    }
  }
}
