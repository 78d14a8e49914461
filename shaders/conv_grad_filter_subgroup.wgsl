enable subgroups;
// conv2d filter gradient as a subgroup GEMM for CPU Vulkan drivers with 8-wide subgroups (lavapipe), the
// sibling of conv_subgroup.wgsl (read its header: there a kernel costs what its storage loads whose address
// differs between invocations cost, each a bounds-checked load per SIMD lane):
//     dw[g·KG + row, (c, ky, kx)] = Σ_{n, oy, ox} dy[n, g·KG + row, oy, ox] · x[n, g·CG + c, oy·SH + ky·DH − PT, ox·SW + kx·DW − PL]
//   rows:      output channels of one group, BM = 8·FRAGS per 8-invocation subgroup;
//   columns:   per invocation NG column groups, each one (c, ky) and a run of CW ≤ 4 taps of a filter row,
//              so an invocation accumulates BM × NG·CW values;
//   reduction: images × output rows × output columns, 4 output columns per step.
// A is dy, contiguous along output columns: per step one aligned vec4 load per 8-row fragment, each
// invocation loading one row, which reaches the other invocations through subgroupShuffle (cheap: a
// broadcast). B is x: a column group's 4 output columns × CW taps lie in one row of x, at j·SW + q·DW past
// the window's start, so WL = ceil((3·SW + (CW−1)·DW + 1) / 4) aligned vec4 loads fetch all of them (2 for a
// 3×3 or 7×7 stride-1 row) and selects fixed at compile time hand them out.
// Strided layers may read x in T = stride column phases instead (conv.ts's gradFilterLayout chooses): phase r
// holds x's columns r + T·t, where taps r, r + T, r + 2T … of every output column are neighbours, a stride-1
// conv (here SW = DW = 1); a 7×7 or 5×5 row at stride 2 then takes 2 runs of 2 loads instead of 2 runs of 3.
// A run is kx = phase + T·(kxq·CW + q), q < CW, with XQ runs per phase (T = 1: kx = kxq·CW + q).
// Measured on lavapipe (2 threads): 4 output columns per step ran twice as fast as 8 on the 7×7 layer; two
// column groups beat one where BM·2·CW ≤ 192 accumulators (runs of 3 taps) and lost beyond; four lost 3–5×
// everywhere. The loads are still about half of the time; the shuffles cost next to nothing.
// The operands' layout, made by this file's PAD entry (src/kernels/conv.ts), spares every bounds test:
//   dy padded to rows of OWp = ceil(OW/4)·4 with zeros, so a step never leaves a row and columns past OW add
//      nothing (kept as it is where OW is a multiple of 4);
//   x with the conv's zero border, in its T phases, cropped to what the steps read, in rows of Wp (a multiple
//      of 4), so every window starts on a vec4; where CW·DW is not a multiple of 4 and XQ > 1 (5×5 at stride
//      1: runs of 3 and 2), XQ copies of that, copy s shifted left by s·CW·DW.
// Splits (grid z) each sum a band of `band` (image, output row) pairs into their own copy of dw, which
// split_sum adds up: few workgroups (the 7×7 first layer has 6) would leave CPU threads idle.
// With PAD the entry instead writes out[s, r, plane, y, t] = src[plane, y − offY, r + phases·(t + s·shiftX) − offX],
// zero outside src, one output row (outW a multiple of 4) per invocation.

struct Params {
  N: u32,
  C: u32,
  K: u32,
  CG: u32,
  KG: u32,
  OH: u32,
  OWp: u32,          // dy's row length, padded
  Hp: u32,           // x's plane, padded
  Wp: u32,
  cols: u32,         // column groups per conv group: CG · KH · T · XQ
  KW: u32,
  R: u32,            // dw's row length: CG · KH · KW
  SH: u32,
  DH: u32,
  band: u32,         // (image, output row) pairs per split
  // The PAD entry's copy.
  phases: u32,
  planes: u32,
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
  outRows: u32,      // copies · phases · planes · outH
  offY: i32,
  offX: i32,
  shiftX: i32,
}

const SG = 8u;           // invocations per workgroup = subgroup width (checked by src/kernels/subgroups.ts)

#if ${PAD}
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

fn srcAt(i: u32) -> f32 { return src[i >> 2u][i & 3u]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.outRows) { return; }
  let y = row % p.outH;
  let plane = (row / p.outH) % p.planes;
  let phase = (row / (p.outH * p.planes)) % p.phases;
  let s = row / (p.outH * p.planes * p.phases);
  let sy = i32(y) - p.offY;
  let rowInside = sy >= 0 && sy < i32(p.inH);
  let inW = i32(p.inW);
  let start = i32(plane * p.inH) * inW + sy * inW;
  let dst = row * (p.outW / 4u);
  let T = i32(p.phases);
  for (var q = 0u; q < p.outW / 4u; q++) {
    let sx = (vec4(i32(4u * q) + i32(s) * p.shiftX) + vec4(0, 1, 2, 3)) * T + vec4(i32(phase) - p.offX);
    let inside = (sx >= vec4(0)) & (sx < vec4(inW)) & vec4(rowInside);
    var v: vec4<f32>;
    if (p.phases == 1u) {
      // Four consecutive values from an index that is not a multiple of 4: two aligned loads, then a shift
      // (outside src, the loads may miss it: those values are zeroed).
      let i0 = start + sx.x;
      let lo = src[u32(i0 >> 2u)];
      let hi = src[u32((i0 >> 2u) + 1)];
      let o = i0 & 3;
      v = lo;
      v = select(v, vec4(lo.yzw, hi.x), o == 1);
      v = select(v, vec4(lo.zw, hi.xy), o == 2);
      v = select(v, vec4(lo.w, hi.xyz), o == 3);
    } else {
      let i = vec4<u32>(vec4(start) + clamp(sx, vec4(0), vec4(inW - 1)));
      v = vec4(srcAt(i.x), srcAt(i.y), srcAt(i.z), srcAt(i.w));
    }
    out[dst + q] = select(vec4(0.0), v, inside);
  }
}
#else
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// The filter's shape as constants: lavapipe divides by run-time values lane by lane, and the window's
// selects must be fixed for its values to stay in registers.
const KH = ${KH}u;
const T = ${T}u;         // column phases of x: SW where they are read apart, else 1
const XQ = ${XQ}u;       // runs of CW taps per phase of a filter row
const CW = ${CW}u;       // taps per run
const XS = ${XS}u;       // shifted copies of x: 1 or XQ
const SW = ${SW}u;       // strides of output columns and of a run's taps in x as read: 1 in phases
const DW = ${DW}u;
const FRAGS = ${FRAGS}u; // 8-row fragments per block: 4, 2 or 1 (thin groups)
const BM = 8u * FRAGS;
const NG = ${NG}u;       // column groups per invocation: 1 or 2
const WL = (3u * SW + (CW - 1u) * DW + 4u) / 4u;
alias V = ${V};          // one row's CW columns of a column group: f32 or vec2/3/4<f32>

fn pick(win: array<vec4<f32>, WL>, i: u32) -> f32 { return win[i / 4u][i % 4u]; }

// The CW taps of the step's output column j: window values j·SW + q·DW.
fn taps(win: array<vec4<f32>, WL>, j: u32) -> V {
  let o = j * SW;
#if ${CW1}
  return pick(win, o);
#elif ${CW2}
  return V(pick(win, o), pick(win, o + DW));
#elif ${CW3}
  return V(pick(win, o), pick(win, o + DW), pick(win, o + 2u * DW));
#else
  return V(pick(win, o), pick(win, o + DW), pick(win, o + 2u * DW), pick(win, o + 3u * DW));
#endif
}

fn tap(v: V, q: u32) -> f32 {
#if ${CW1}
  return v;
#else
  return v[q];
#endif
}

// acc[j·BM + first + s] += Σ_i f_s[i] · b[j][i] for every lane s (f_s: lane s's value of f, its row's dy at the
// step's 4 output columns) and column group j. Called with constant `first`, so the loop unrolls and acc is
// indexed by constants only.
fn fmaRows(acc: ptr<function, array<V, BM * NG>>, f: vec4<f32>, first: u32, b: array<array<V, 4>, NG>) {
  for (var s = 0u; s < SG; s++) {
    let v = subgroupShuffle(f, s);
    let r = first + s;
    (*acc)[r] = fma(V(v.w), b[0][3], fma(V(v.z), b[0][2], fma(V(v.y), b[0][1], fma(V(v.x), b[0][0], (*acc)[r]))));
#if ${NG2}
    (*acc)[BM + r] = fma(V(v.w), b[1][3], fma(V(v.z), b[1][2], fma(V(v.y), b[1][1], fma(V(v.x), b[1][0], (*acc)[BM + r]))));
#endif
  }
}

// Workgroups: x = blocks of 8 · NG column groups, y = conv group · row blocks + row block, z = split.
@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let rowBlocks = (p.KG + BM - 1u) / BM;
  let g = wid.y / rowBlocks;
  let row0 = (wid.y % rowBlocks) * BM;
  let plane = p.Hp * p.Wp;
  // Each column group's window at n = 0, oy = 0, ox = 0, in vec4s (clamped; groups past cols are not written).
  var xAt: array<u32, NG>;
  for (var j = 0u; j < NG; j++) {
    let col = min((wid.x * NG + j) * SG + lane, p.cols - 1u);
    let c = col / (KH * T * XQ);
    let ky = (col / (T * XQ)) % KH;
    let phase = (col / XQ) % T;
    let kxq = col % XQ;
    let copy = select(0u, kxq, XS > 1u);
    var at = (((copy * T + phase) * p.N * p.C) + g * p.CG + c) * plane + ky * p.DH * p.Wp;
    if (XS == 1u) { at += kxq * CW * DW; }
    xAt[j] = at / 4u;
  }
  let xImage = p.C * plane / 4u;
  let xRow = p.SH * p.Wp / 4u;
  let rowQuads = p.OWp / 4u;
  let dyImage = p.K * p.OH * rowQuads;
  // Rows of dy this lane loads: 8t + lane (clamped; rows past KG are not written).
  var dyAt: array<u32, FRAGS>;
  for (var t = 0u; t < FRAGS; t++) { dyAt[t] = (g * p.KG + min(row0 + 8u * t + lane, p.KG - 1u)) * p.OH * rowQuads; }

  var acc: array<V, BM * NG>;
  let first = wid.z * p.band;
  let last = min(first + p.band, p.N * p.OH);
  var n = first / p.OH;
  var oy = first % p.OH;
  for (var u = first; u < last; u++) {
    let xq = n * xImage + oy * xRow;
    let aq = n * dyImage + oy * rowQuads;
    for (var ox4 = 0u; ox4 < rowQuads; ox4++) {
      // Each column group's taps at the output columns 4·ox4 + i.
      var b: array<array<V, 4>, NG>;
      for (var j = 0u; j < NG; j++) {
        var win: array<vec4<f32>, WL>;
        for (var i = 0u; i < WL; i++) { win[i] = x[xAt[j] + xq + ox4 * SW + i]; }
        for (var i = 0u; i < 4u; i++) { b[j][i] = taps(win, i); }
      }
      let at = aq + ox4;
      fmaRows(&acc, dy[dyAt[0] + at], 0u, b);
#if ${MORE_THAN_8_ROWS}
      fmaRows(&acc, dy[dyAt[1] + at], 8u, b);
#endif
#if ${MORE_THAN_16_ROWS}
      fmaRows(&acc, dy[dyAt[2] + at], 16u, b);
      fmaRows(&acc, dy[dyAt[3] + at], 24u, b);
#endif
    }
    oy++;
    if (oy == p.OH) { oy = 0u; n++; }
  }

  for (var j = 0u; j < NG; j++) {
    let col = (wid.x * NG + j) * SG + lane;
    if (col < p.cols) {
      let c = col / (KH * T * XQ);
      let ky = (col / (T * XQ)) % KH;
      let phase = (col / XQ) % T;
      let kxq = col % XQ;
      let base = wid.z * p.K * p.R + (c * KH + ky) * p.KW + phase;
      for (var r = 0u; r < BM; r++) {
        if (row0 + r < p.KG) {
          let at = base + (g * p.KG + row0 + r) * p.R;
          for (var q = 0u; q < CW; q++) {
            let kx = phase + T * (kxq * CW + q);
            if (kx < p.KW) { dw[at + T * (kxq * CW + q)] = tap(acc[j * BM + r], q); }
          }
        }
      }
    }
  }
}
#endif
