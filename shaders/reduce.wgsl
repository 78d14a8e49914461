// Reduction of the middle axis of a tensor viewed as [outer, R, inner]:
//   out[o, i] = scale * OP_{r < R} in[o, r, i]        (SQUARE: of in[o, r, i]², a sum of squares)
// WG_PER_OUTPUT: one 64-wide workgroup per output (few outputs, long reductions); otherwise one
// invocation per output (many outputs, short reductions).

struct Params {
  outer: u32,
  r: u32,
  inner: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn combine(a: f32, b: f32) -> f32 {
#if ${MAX}
  return max(a, b);
#else
  return a + b;
#endif
}

fn load(i: u32) -> f32 {
  let v = src[i];
#if ${SQUARE}
  return v * v;
#else
  return v;
#endif
}

fn identity() -> f32 {
#if ${MAX}
  return -3.4028234e38;  // lowest finite f32 (a constant -inf is rejected by WGSL)
#else
  return 0.0;
#endif
}

#if ${WG_PER_OUTPUT}
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let total = p.outer * p.inner;
  var acc = identity();
  if (o < total) {
    let base = (o / p.inner) * p.r * p.inner + o % p.inner;
    for (var r = lid; r < p.r; r += 64u) {
      acc = combine(acc, load(base + r * p.inner));
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && o < total) { out[o] = partial[0] * p.scale; }
}
#else
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 256u;
  if (o >= p.outer * p.inner) { return; }
  let base = (o / p.inner) * p.r * p.inner + o % p.inner;
  var acc = identity();
  for (var r = 0u; r < p.r; r++) {
    acc = combine(acc, load(base + r * p.inner));
  }
  out[o] = acc * p.scale;
}
#endif
