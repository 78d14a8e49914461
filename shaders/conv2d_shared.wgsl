// conv2d forward as a tiled implicit GEMM through workgroup memory — the variant for real GPUs.
//   C[k, col] = Σ_r A[k, r] · B[r, col],  A = weights [K/G, C/G·KH·KW] of one group,
//   B = the im2col matrix, never materialised: column col = (n, oy, ox) over the whole batch, row r = (c, ky, kx).
// 16×16 invocations share 64×64 tiles of A and B, 16 rows of r at a time, each invocation accumulating a
// 4×4 block of outputs. Out-of-range rows, columns and padding read as zero. With p.splits > 1, workgroup z
// slice s sums rows r of [s·chunk, (s+1)·chunk) only (chunk a multiple of TK) into copy s of the output.

#include "conv_params.wgsl"

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TILE = 64u;
const PER = 4u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>;  // [TK][TILE]: weights
var<workgroup> Bs: array<f32, 1024>;  // [TK][TILE]: input patches

#include "tile_fma.wgsl"

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let g = wid.z / p.splits;
  let split = wid.z % p.splits;
  let col0 = wid.x * TILE;
  let row0 = wid.y * TILE;
  let P = p.OH * p.OW;
  let cols = p.N * P;
  let khw = p.KH * p.KW;
  let R = p.CG * khw;
  var acc: array<f32, 16>;
  let rEnd = min(R, (split + 1u) * p.chunk);
  for (var r0 = split * p.chunk; r0 < rEnd; r0 += TK) {
    for (var t = 0u; t < 4u; t++) {
      let idx = li + 256u * t;
      // A: consecutive invocations read consecutive r of one filter.
      let ak = idx % TK;
      let am = idx / TK;
      let m = row0 + am;
      let ra = r0 + ak;
      As[ak * TILE + am] = select(0.0, w[(g * p.KG + min(m, p.KG - 1u)) * R + min(ra, R - 1u)], m < p.KG && ra < R);
      // B: consecutive invocations read consecutive output pixels of one (c, ky, kx).
      let bk = idx / TILE;
      let bj = idx % TILE;
      let col = col0 + bj;
      let rb = r0 + bk;
      let n = col / P;
      let pix = col % P;
      let c = rb / khw;
      let kk = rb % khw;
      let iy = i32((pix / p.OW) * p.SH + (kk / p.KW) * p.DH) - i32(p.PT);
      let ix = i32((pix % p.OW) * p.SW + (kk % p.KW) * p.DW) - i32(p.PL);
      let inside = col < cols && rb < R && iy >= 0 && iy < i32(p.H) && ix >= 0 && ix < i32(p.W);
      let at = ((min(n, p.N - 1u) * p.C + g * p.CG + min(c, p.CG - 1u)) * p.H + u32(clamp(iy, 0, i32(p.H) - 1))) * p.W
             + u32(clamp(ix, 0, i32(p.W) - 1));
      Bs[bk * TILE + bj] = select(0.0, x[at], inside);
    }
    workgroupBarrier();
    tileFma(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  let part = split * cols * p.K;
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y + 16u * i;
    if (m >= p.KG) { continue; }
    let k = g * p.KG + m;
    let b = select(0.0, bias[k], p.hasBias != 0u && p.splits == 1u);
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (col < cols) {
        out[part + ((col / P) * p.K + k) * P + col % P] = select(acc[i * 4u + j] + b, max(acc[i * 4u + j] + b, 0.0), p.relu != 0u && p.splits == 1u);
      }
    }
  }
}
