#if ${SUBGROUP}
enable subgroups;
#endif
// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = optional transpose (TRANS_A, TRANS_B).
// A is [M,K] ([K,M] when TRANS_A), B is [K,N] ([N,K] when TRANS_B), C is [M,N]; batch strides of 0 broadcast.
// Three variants, chosen per adapter by src/kernels/matmul.ts:
//   SHARED:   16×16 invocations share 64×64 tiles of A and B through workgroup memory (real GPUs); WIDE: 128×128
//             tiles, 8×8 outputs per invocation, for products large enough to fill the GPU with them.
//   SUBGROUP: CPU Vulkan drivers with 8-wide subgroups (lavapipe). There every storage load whose address
//             differs between invocations becomes a bounds-checked scalar load per SIMD lane, so the cost of
//             a kernel is the number of values it loads. One 8-invocation subgroup computes a 32×32 block:
//             each invocation loads a distinct eighth of the A and B slices (no value is loaded twice) and A
//             reaches the other lanes through subgroupShuffle, a register broadcast there.
//   else:     no workgroup memory, no barriers, no subgroups; each invocation accumulates a TM×TN block in
//             registers, reading straight from storage (CPU drivers without subgroups).
// VEC_A / VEC_B / VEC_C (SUBGROUP only) bind an operand as vec4s when its contiguous dimension is a multiple
// of 4; otherwise the same code loads four scalars.

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

#if ${SUBGROUP}
#if ${VEC_A}
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> a: array<f32>;
#endif
#if ${VEC_B}
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> b: array<f32>;
#endif
#if ${VEC_C}
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
#else
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
#endif
#else
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;

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
#endif
@group(0) @binding(3) var<uniform> p: Params;

#if ${SHARED}
// One entry of a tile load: invocation slot idx (of 256·t + local index) reads A's row m, column k of the tile at
// (row0, k0) — for B its row k, column m of the tile at (k0, col0) —, zero outside the matrix. Neighbouring
// slots read neighbouring addresses of the operand's own layout (TRANS_A / TRANS_B).
struct TileEntry { k: u32, m: u32, v: f32 }

fn entryA(idx: u32, row0: u32, k0: u32, aBase: u32) -> TileEntry {
#if ${TRANS_A}
  let m = idx % TILE;
  let k = idx / TILE;
#else
  let k = idx % TK;
  let m = idx / TK;
#endif
  let gm = row0 + m;
  let gk = k0 + k;
  return TileEntry(k, m, select(0.0, loadA(aBase, min(gm, p.M - 1u), min(gk, p.K - 1u)), gm < p.M && gk < p.K));
}

fn entryB(idx: u32, col0: u32, k0: u32, bBase: u32) -> TileEntry {
#if ${TRANS_B}
  let k = idx % TK;
  let n = idx / TK;
#else
  let n = idx % TILE;
  let k = idx / TILE;
#endif
  let gn = col0 + n;
  let gk = k0 + k;
  return TileEntry(k, n, select(0.0, loadB(bBase, min(gk, p.K - 1u), min(gn, p.N - 1u)), gn < p.N && gk < p.K));
}

#if ${WIDE}
// 128×128 tiles, 8 rows of k at a time, held as vec4s: invocation (lx, ly) computes rows 8·ly.. and columns
// 8·lx.. of the tile, reading two vec4s of A (transposed into the tile) and two of B per k.
const TILE = 128u;
const TK = 8u;
var<workgroup> As4: array<vec4<f32>, 256>;  // [TK][TILE / 4]: A's tile transposed, four rows per vec4
var<workgroup> Bs4: array<vec4<f32>, 256>;  // [TK][TILE / 4]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let bi = wid.z;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let aBase = bi * p.aBatch;
  let bBase = bi * p.bBatch;
  var acc: array<vec4<f32>, 16>;  // [8 rows][2 vec4s of columns]
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var t = 0u; t < 4u; t++) {
      let ea = entryA(li + 256u * t, row0, k0, aBase);
      As4[ea.k * 32u + ea.m / 4u][ea.m % 4u] = ea.v;
      let eb = entryB(li + 256u * t, col0, k0, bBase);
      Bs4[eb.k * 32u + eb.m / 4u][eb.m % 4u] = eb.v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a0 = As4[kk * 32u + 2u * lid.y];
      let a1 = As4[kk * 32u + 2u * lid.y + 1u];
      let b0 = Bs4[kk * 32u + 2u * lid.x];
      let b1 = Bs4[kk * 32u + 2u * lid.x + 1u];
      let av = array<f32, 8>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      for (var i = 0u; i < 8u; i++) {
        acc[2u * i] = fma(vec4(av[i]), b0, acc[2u * i]);
        acc[2u * i + 1u] = fma(vec4(av[i]), b1, acc[2u * i + 1u]);
      }
    }
    workgroupBarrier();
  }
  let cBase = bi * p.cBatch;
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + 8u * lid.y + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let col = col0 + 8u * lid.x + j;
      if (col < p.N) { c[cBase + r * p.N + col] = acc[2u * i + j / 4u][j % 4u]; }
    }
  }
}
#else
const TILE = 64u;
const TK = 16u;
const PER = TILE / 16u;
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
  var acc: array<f32, PER * PER>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var t = 0u; t < 4u; t++) {
      let ea = entryA(li + 256u * t, row0, k0, aBase);
      As[ea.k * TILE + ea.m] = ea.v;
      let eb = entryB(li + 256u * t, col0, k0, bBase);
      Bs[eb.k * TILE + eb.m] = eb.v;
    }
    workgroupBarrier();
    tileFma(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  let cBase = bi * p.cBatch;
  for (var i = 0u; i < PER; i++) {
    let r = row0 + lid.y + 16u * i;
    for (var j = 0u; j < PER; j++) {
      let col = col0 + lid.x + 16u * j;
      if (r < p.M && col < p.N) { c[cBase + r * p.N + col] = acc[i * PER + j]; }
    }
  }
}
#endif
#elif ${SUBGROUP}
const SG = 8u;    // invocations per workgroup = subgroup width (checked by src/kernels/matmul.ts)
const BM = 32u;   // rows of C per workgroup; columns: 4 per invocation, 4·SG in all

// Four consecutive values from element index i (a multiple of 4 on the vec4 paths), of which the first n are in
// the matrix. Scalar paths clamp the others' indices to the last valid one, so no load leaves the matrix.
fn a4(i: u32, n: u32) -> vec4<f32> {
#if ${VEC_A}
  return a[i / 4u];
#else
  return vec4(a[i], a[i + min(1u, n - 1u)], a[i + min(2u, n - 1u)], a[i + min(3u, n - 1u)]);
#endif
}

fn b4(i: u32, n: u32) -> vec4<f32> {
#if ${VEC_B}
  return b[i / 4u];
#else
  return vec4(b[i], b[i + min(1u, n - 1u)], b[i + min(2u, n - 1u)], b[i + min(3u, n - 1u)]);
#endif
}

// acc[first + stride·s] += Σ_q f_s[q] · bk[q] for every lane s, where f_s is lane s's value of f: a row of the
// A block against this invocation's four B rows. Called with constant first and stride, so its loop unrolls
// and acc stays in registers.
fn fmaRows(acc: ptr<function, array<vec4<f32>, BM>>, f: vec4<f32>, first: u32, stride: u32, bk: array<vec4<f32>, 4>) {
  for (var s = 0u; s < SG; s++) {
    let v = subgroupShuffle(f, s);
    let r = first + stride * s;
    (*acc)[r] = fma(vec4(v.w), bk[3], fma(vec4(v.z), bk[2], fma(vec4(v.y), bk[1], fma(vec4(v.x), bk[0], (*acc)[r]))));
  }
}

// Accumulates the k-slice [k0, k0 + kn), kn ≤ 4, into acc[r] (row row0 + r, this invocation's 4 columns).
// The A block is spread over the lanes as fragments af[t]; lane s holds
//   plain A:       af[t] = A[row0 + 8t + s][k0 .. k0+3]       (row 8t + s, k along the components)
//   transposed A:  af[t] = A[k0 + t][row0 + 4s .. row0+4s+3]  (row 4s + component, k = t)
fn kSlice(acc: ptr<function, array<vec4<f32>, BM>>, aBase: u32, bBase: u32, row0: u32, col: u32, lane: u32,
          k0: u32, kn: u32) {
  var af: array<vec4<f32>, 4>;
  // bk[q] = B[k0 + q][col .. col+3], zero past the end of K: that alone keeps the (clamped) A values there
  // out of the sums.
  var bk: array<vec4<f32>, 4>;
#if ${TRANS_A}
  let r = min(row0 + 4u * lane, p.M - 1u);
#endif
  for (var t = 0u; t < 4u; t++) {
#if ${TRANS_A}
    af[t] = a4(aBase + (k0 + min(t, kn - 1u)) * p.M + r, min(4u, p.M - r));
#else
    af[t] = a4(aBase + min(row0 + 8u * t + lane, p.M - 1u) * p.K + k0, kn);
#endif
  }
#if ${TRANS_B}
  var bt: array<vec4<f32>, 4>;
  for (var j = 0u; j < 4u; j++) { bt[j] = b4(bBase + min(col + j, p.N - 1u) * p.K + k0, kn); }
  for (var q = 0u; q < 4u; q++) { bk[q] = select(vec4(0.0), vec4(bt[0][q], bt[1][q], bt[2][q], bt[3][q]), q < kn); }
#else
  let cc = min(col, p.N - 1u);
  for (var q = 0u; q < 4u; q++) {
    let k = k0 + min(q, kn - 1u);
    bk[q] = select(vec4(0.0), b4(bBase + k * p.N + cc, min(4u, p.N - cc)), q < kn);
  }
#endif
#if ${TRANS_A}
  fmaRows(acc, vec4(af[0].x, af[1].x, af[2].x, af[3].x), 0u, 4u, bk);
  fmaRows(acc, vec4(af[0].y, af[1].y, af[2].y, af[3].y), 1u, 4u, bk);
  fmaRows(acc, vec4(af[0].z, af[1].z, af[2].z, af[3].z), 2u, 4u, bk);
  fmaRows(acc, vec4(af[0].w, af[1].w, af[2].w, af[3].w), 3u, 4u, bk);
#else
  fmaRows(acc, af[0], 0u, 1u, bk);
  fmaRows(acc, af[1], 8u, 1u, bk);
  fmaRows(acc, af[2], 16u, 1u, bk);
  fmaRows(acc, af[3], 24u, 1u, bk);
#endif
}

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let bi = wid.z;
  let row0 = wid.y * BM;
  let col = wid.x * 4u * SG + 4u * lane;
  let aBase = bi * p.aBatch;
  let bBase = bi * p.bBatch;
  var acc: array<vec4<f32>, BM>;
  for (var k0 = 0u; k0 < p.K; k0 += 4u) { kSlice(&acc, aBase, bBase, row0, col, lane, k0, min(4u, p.K - k0)); }
  let cBase = bi * p.cBatch;
  for (var r = 0u; r < BM; r++) {
    let row = row0 + r;
    if (row < p.M) {
#if ${VEC_C}
      if (col < p.N) { c[(cBase + row * p.N + col) / 4u] = acc[r]; }
#else
      for (var j = 0u; j < 4u; j++) {
        if (col + j < p.N) { c[cBase + row * p.N + col + j] = acc[r][j]; }
      }
#endif
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
