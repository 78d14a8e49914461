// Strided copies that implement permute, expand (broadcast), slice, pad and concat.
//   GATHER:  out[i]                            = src[offset + sum_d c_d * stride_d]   (c = coords of i in shape)
//   SCATTER: out[offset + sum_d c_d * stride_d] = src[i]                              (c = coords of i in shape)

struct Params {
  n: u32,
  rank: u32,
  offset: u32,
  _pad: u32,
  shape: array<vec4<u32>, 2>,
  stride: array<vec4<u32>, 2>,
}

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

#if ${GRID3}
// At most 3 axes once coalesced (src/kernels/copy.ts), one per grid dimension, [d0, d1, d2] over (z, y, x):
// no index divisions, which a CPU driver (lavapipe) runs lane by lane.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.shape[0].z) { return; }
  let i = (gid.z * p.shape[0].y + gid.y) * p.shape[0].z + gid.x;
  let j = p.offset + gid.z * p.stride[0].x + gid.y * p.stride[0].y + gid.x * p.stride[0].z;
#else
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var rem = i;
  var j = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = at(p.shape, u32(d));
    j += (rem % dim) * at(p.stride, u32(d));
    rem = rem / dim;
  }
#endif
#if ${SCATTER}
  out[j] = src[i];
#else
  out[i] = src[j];
#endif
}
