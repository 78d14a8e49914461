// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = optional transpose (TRANS_A, TRANS_B).
// A is [M,K] ([K,M] when TRANS_A), B is [K,N] ([N,K] when TRANS_B), C is [M,N]; batch strides of 0 broadcast.
// Two variants, chosen per adapter by src/kernels/matmul.ts:
//   SHARED:  16×16 invocations share 64×64 tiles of A and B through workgroup memory (real GPUs).
//   else:    no workgroup memory and no barriers; each invocation accumulates a TM×TN block in registers,
//            reading straight from storage (CPU Vulkan drivers, where barriers are expensive).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  aBatch: u32,
  bBatch: u32,
  cBatch: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn loadA(base: u32, m: u32, k: u32) -> f32 {
#if ${TRANS_A}
  return a[base + k * p.M + m];
#else
  return a[base + m * p.K + k];
#endif
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
#if ${TRANS_B}
  return b[base + n * p.K + k];
#else
  return b[base + k * p.N + n];
#endif
}

#if ${SHARED}
const TILE = 64u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>;  // [TK][TILE]
var<workgroup> Bs: array<f32, 1024>;  // [TK][TILE]

#include "tile_fma.wgsl"

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let bi = wid.z;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let aBase = bi * p.aBatch;
  let bBase = bi * p.bBatch;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var t = 0u; t < 4u; t++) {
      let idx = li + 256u * t;
#if ${TRANS_A}
      let am = idx % TILE;
      let ak = idx / TILE;
#else
      let ak = idx % TK;
      let am = idx / TK;
#endif
      let gm = row0 + am;
      let gk = k0 + ak;
      As[ak * TILE + am] = select(0.0, loadA(aBase, min(gm, p.M - 1u), min(gk, p.K - 1u)), gm < p.M && gk < p.K);
#if ${TRANS_B}
      let bk = idx % TK;
      let bn = idx / TK;
#else
      let bn = idx % TILE;
      let bk = idx / TILE;
#endif
      let gn = col0 + bn;
      let gk2 = k0 + bk;
      Bs[bk * TILE + bn] = select(0.0, loadB(bBase, min(gk2, p.K - 1u), min(gn, p.N - 1u)), gn < p.N && gk2 < p.K);
    }
    workgroupBarrier();
    tileFma(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  let cBase = bi * p.cBatch;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (r < p.M && col < p.N) { c[cBase + r * p.N + col] = acc[i * 4u + j]; }
    }
  }
}
#else
const TM = ${TM}u;
const TN = ${TN}u;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let bi = gid.z;
  let row0 = gid.y * TM;
  let col0 = gid.x * TN;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let aBase = bi * p.aBatch;
  let bBase = bi * p.bBatch;
  var acc: array<f32, ${TMN}>;
  var rows: array<u32, ${TM}>;
  var cols: array<u32, ${TN}>;
  for (var i = 0u; i < TM; i++) { rows[i] = min(row0 + i, p.M - 1u); }
  for (var j = 0u; j < TN; j++) { cols[j] = min(col0 + j, p.N - 1u); }
  for (var k = 0u; k < p.K; k++) {
    var av: array<f32, ${TM}>;
    var bv: array<f32, ${TN}>;
    for (var i = 0u; i < TM; i++) { av[i] = loadA(aBase, rows[i], k); }
    for (var j = 0u; j < TN; j++) { bv[j] = loadB(bBase, k, cols[j]); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]); }
    }
  }
  let cBase = bi * p.cBatch;
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    for (var j = 0u; j < TN; j++) {
      let col = col0 + j;
      if (r < p.M && col < p.N) { c[cBase + r * p.N + col] = acc[i * TN + j]; }
    }
  }
}
#endif
