enable subgroups;
// conv2d forward and backward-data (= transposed conv) as one gathered GEMM for CPU Vulkan drivers with
// 8-wide subgroups (lavapipe), the conv form of matmul.wgsl's SUBGROUP variant. There every storage load whose
// address differs between invocations costs a bounds-checked load per SIMD lane, a vec4 costing about what
// a scalar does, so the cost of a kernel is the number of loads. One 8-invocation subgroup computes a block of
// BM rows × 32 columns of
//     out[row, col] = Σ_r A[row, r] · B[r, col]
// loading each A and B value of the block once; rows of A reach the other lanes through subgroupShuffle.
//   rows: output channels of one group (forward) or input channels of one group (backward-data);
//   r:    (source channel, tap y, tap x), TY × TX taps per channel;
//   cols: output pixels in quads: each invocation owns 4 neighbouring pixels of one output row.
// A is a dense row-major [G, M, R] matrix (the weights as they are forward; re-laid per stride phase for
// backward-data by src/kernels/conv.ts). B is the source image (x forward, dy backward) gathered with zeros
// outside it:  B[(ch, ty, tx), (n, cy, cx)] = src[n, g·srcCG + ch, cy·colStrideY + ty·tapStrideY + offY,
//                                              cx·colStrideX + tx·tapStrideX + offX]
// With colStrideX = 1 (CONTIG_X: stride-1 convs and backward-data) a quad's four source values are
// consecutive in memory: two aligned vec4 loads and a shift fetch them instead of four scalar loads.
// Backward-data of a strided conv computes all stride phases in one GEMM: the input pixels y ≡ py (mod S)
// see the taps py + P − k·D ≡ 0 (mod S), and read dy at a common offset once taps are aligned, so rows are
// (phase, input channel) and A holds each phase's taps, zero where a phase has fewer (conv.ts builds it).
// Every B value then feeds S² times more rows than a GEMM per phase would give it.

struct Params {
  M: u32,            // rows per group
  R: u32,            // reduction length = srcCG · TY · TX
  quads: u32,        // N · colH · colQuads
  colH: u32,
  colW: u32,
  colQuads: u32,     // ceil(colW / 4)
  srcC: u32,         // channels of the source image (all groups)
  srcCG: u32,        // source channels per group
  srcH: u32,
  srcW: u32,
  colStrideY: i32,
  colStrideX: i32,
  tapStrideY: i32,
  tapStrideX: i32,
  offY: i32,
  offX: i32,
  // Row (phase, c) writes out[n, g·phaseRows + c, py + cy·dstSy, px + cx·dstSx] of a [N, dstC, dstH, dstW]
  // tensor, phase = py·phasesX + px (forward: one phase, phaseRows = M), and only inside it.
  phaseRows: u32,
  phasesX: u32,
  dstC: u32,
  dstH: u32,
  dstW: u32,
  dstSy: u32,
  dstSx: u32,
  hasBias: u32,
  relu: u32,         // ≠ 0: write max(value, 0), a ReLU fused into the output write
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The backward epilogue (EPILOGUE, input gradients only): out = (GEMM + prev) · (mask > 0), prev the gradient
// already accumulated for the same tensor (ADD_PREV) and mask the ReLU output the gradient flows into (MASK):
// the tape's gradient sum and the ReLU's gradient pass, each an element-wise pass of its own otherwise.
#if ${EPILOGUE}
@group(0) @binding(4) var<storage, read> prev: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
#else
@group(0) @binding(4) var<uniform> p: Params;
#endif

// Taps per source channel are constants: lavapipe has no SIMD integer division and would divide by a
// run-time value lane by lane, which costs more than the multiply-adds it feeds.
const TY = ${TY}u;
const TX = ${TX}u;
// 8-row fragments per block: 4 (BM = 32), or 2 or 1 for thin M such as an RGB image's gradient. Each is a
// separate call below, not a loop: a loop left rolled would index acc dynamically, out of registers.
const FRAGS = ${FRAGS}u;
const SG = 8u;            // invocations per workgroup = subgroup width (checked by src/kernels/subgroups.ts)
const BM = 8u * FRAGS;

fn srcAt(i: u32) -> f32 { return src[i >> 2u][i & 3u]; }
fn aAt(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }

// A[row, k0 .. k0 + 3] from the row's first element; past R (kn < 4) the last value repeats (its B is zero).
fn aFrag(rowStart: u32, k0: u32, kn: u32) -> vec4<f32> {
#if ${VEC_A}
  return a[(rowStart + k0) >> 2u];
#else
  let b = rowStart + k0;
  return vec4(aAt(b), aAt(b + min(1u, kn - 1u)), aAt(b + min(2u, kn - 1u)), aAt(b + min(3u, kn - 1u)));
#endif
}

// acc[first + s] += Σ_q f_s[q] · bk[q] for every lane s (f_s: lane s's value of f). Called with constant
// `first`, so the loop unrolls and acc stays in registers.
fn fmaRows(acc: ptr<function, array<vec4<f32>, BM>>, f: vec4<f32>, first: u32, bk: array<vec4<f32>, 4>) {
  for (var s = 0u; s < SG; s++) {
    let v = subgroupShuffle(f, s);
    let r = first + s;
    (*acc)[r] = fma(vec4(v.w), bk[3], fma(vec4(v.z), bk[2], fma(vec4(v.y), bk[1], fma(vec4(v.x), bk[0], (*acc)[r]))));
  }
}

// Workgroups: quad blocks over x (and y past 65535 of them); z = group · row blocks + row block.
@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let block = wid.x + wid.y * nwg.x;
  if (block * SG >= p.quads) { return; }
  let rowBlocks = (p.M + BM - 1u) / BM;
  let g = wid.z / rowBlocks;
  let row0 = (wid.z % rowBlocks) * BM;

  // This lane's quad: image n, output row cy, first output column cx0.
  let quad = min(block * SG + lane, p.quads - 1u);
  let perImage = p.colH * p.colQuads;
  let n = quad / perImage;
  let cy = (quad % perImage) / p.colQuads;
  let cx0 = (quad % p.colQuads) * 4u;
  let plane = p.srcH * p.srcW;
  let srcW = i32(p.srcW);
  let sBase = i32((n * p.srcC + g * p.srcCG) * plane);
  let sy0 = i32(cy) * p.colStrideY + p.offY;
  let sx0 = vec4<i32>(vec4(cx0) + vec4(0u, 1u, 2u, 3u)) * p.colStrideX + p.offX;

  // Rows of A this lane loads: 8t + lane (clamped; rows past M are never written).
  var aRow: array<u32, FRAGS>;
  for (var t = 0u; t < FRAGS; t++) { aRow[t] = (g * p.M + min(row0 + 8u * t + lane, p.M - 1u)) * p.R; }

  var acc: array<vec4<f32>, BM>;
  let taps = TY * TX;
  for (var k0 = 0u; k0 < p.R; k0 += 4u) {
    let kn = min(4u, p.R - k0);
    // bk[q] = B[k0 + q][this lane's quad], zero past R: that alone keeps the (clamped) A values there out.
    var bk: array<vec4<f32>, 4>;
    for (var q = 0u; q < 4u; q++) {
      let r = k0 + min(q, kn - 1u);
      let ch = r / taps;
      let rem = r % taps;
      let ty = i32(rem / TX);
      let tx = i32(rem % TX);
      let sy = sy0 + ty * p.tapStrideY;
      let sx = sx0 + vec4(tx * p.tapStrideX);
      let inside = (sx >= vec4(0)) & (sx < vec4(srcW)) & vec4(sy >= 0 && sy < i32(p.srcH) && q < kn);
      let row = sBase + i32(ch * plane) + sy * srcW;
#if ${CONTIG_X}
      // Four consecutive values from an index that is not a multiple of 4: two aligned loads, then a shift.
      let i0 = row + sx.x;
      let lo = src[u32(i0 >> 2u)];
      let hi = src[u32((i0 >> 2u) + 1)];
      let o = i0 & 3;
      var v = lo;
      v = select(v, vec4(lo.yzw, hi.x), o == 1);
      v = select(v, vec4(lo.zw, hi.xy), o == 2);
      v = select(v, vec4(lo.w, hi.xyz), o == 3);
#else
      let i = vec4<u32>(vec4(row) + clamp(sx, vec4(0), vec4(srcW - 1)));
      let v = vec4(srcAt(i.x), srcAt(i.y), srcAt(i.z), srcAt(i.w));
#endif
      bk[q] = select(vec4(0.0), v, inside);
    }
    fmaRows(&acc, aFrag(aRow[0], k0, kn), 0u, bk);
#if ${MORE_THAN_8_ROWS}
    fmaRows(&acc, aFrag(aRow[1], k0, kn), 8u, bk);
#endif
#if ${MORE_THAN_16_ROWS}
    fmaRows(&acc, aFrag(aRow[2], k0, kn), 16u, bk);
    fmaRows(&acc, aFrag(aRow[3], k0, kn), 24u, bk);
#endif
  }

  if (block * SG + lane >= p.quads) { return; }
  for (var r = 0u; r < BM; r++) {
    let row = row0 + r;
    if (row >= p.M) { break; }
    let phase = row / p.phaseRows;
    let c = g * p.phaseRows + row % p.phaseRows;
    let oy = phase / p.phasesX + cy * p.dstSy;
    let ox0 = phase % p.phasesX + cx0 * p.dstSx;
    if (oy >= p.dstH) { continue; }
    let b = select(0.0, bias[c], p.hasBias != 0u);
    let base = ((n * p.dstC + c) * p.dstH + oy) * p.dstW;
    for (var j = 0u; j < 4u; j++) {
      let ox = ox0 + j * p.dstSx;
      if (cx0 + j >= p.colW || ox >= p.dstW) { continue; }
      var v = select(acc[r][j] + b, max(acc[r][j] + b, 0.0), p.relu != 0u);
#if ${ADD_PREV}
      v += prev[base + ox];
#endif
#if ${MASK}
      v = select(0.0, v, mask[base + ox] > 0.0);
#endif
      out[base + ox] = v;
    }
  }
}
