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
#if ${SCATTER}
  out[j] = src[i];
#else
  out[i] = src[j];
#endif
}
