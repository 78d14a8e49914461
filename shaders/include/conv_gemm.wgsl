// The gathered GEMM's problem and output write, shared by its two kernels (conv_subgroup.wgsl: lanes over
// pixels; conv_subgroup_rows.wgsl: lanes over rows, for layers of few pixels). src/kernels/conv_gemm.ts packs
// the Params.
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
  colStrideX: i32,   // the shader reads CSX and TSX, the same strides as constants
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

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The epilogue (EPILOGUE). Input gradients: out = (GEMM + prev) · (mask > 0), prev the gradient already
// accumulated for the same tensor (ADD_PREV) and mask the ReLU output the gradient flows into (MASK): the
// tape's gradient sum and the ReLU's gradient pass, each an element-wise pass of its own otherwise. Forward:
// out = max(GEMM + bias + prev, 0), prev a residual branch (ADD_PREV with relu): a ResNet block's sum and ReLU.
#if ${EPILOGUE}
@group(0) @binding(4) var<storage, read> prev: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
#else
@group(0) @binding(4) var<uniform> p: Params;
#endif

// Writes the 4 pixels (cx0 … cx0 + 3 of output row cy, image n; those inside colW) of GEMM row (phase
// (py, px), channel ch of the destination) with the bias and the epilogue.
fn writeQuad(ch: u32, py: u32, px: u32, n: u32, cy: u32, cx0: u32, v4: vec4<f32>) {
  let oy = py + cy * p.dstSy;
  let ox0 = px + cx0 * p.dstSx;
  if (oy >= p.dstH) { return; }
  let b = select(0.0, bias[ch], p.hasBias != 0u);
  let base = ((n * p.dstC + ch) * p.dstH + oy) * p.dstW;
  for (var j = 0u; j < 4u; j++) {
    let ox = ox0 + j * p.dstSx;
    if (cx0 + j < p.colW && ox < p.dstW) {
      var v = v4[j] + b;
#if ${ADD_PREV}
      v += prev[base + ox];
#endif
      v = select(v, max(v, 0.0), p.relu != 0u);
#if ${MASK}
      v = select(0.0, v, mask[base + ox] > 0.0);
#endif
      out[base + ox] = v;
    }
  }
}
