// The face model's fused per-channel affine + ReLU, NCHW, one pass:
//   y = act((x + bias[c]) · scale[c] + shift[c]),   c = channel; each of bias/scale/shift optional (HAS_*).

struct Params {
  n: u32,
  C: u32,
  HW: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let c = (i / p.HW) % p.C;
  var v = x[i];
#if ${HAS_BIAS}
  v += bias[c];
#endif
#if ${HAS_SCALE}
  v *= scale[c];
#endif
#if ${HAS_SHIFT}
  v += shift[c];
#endif
#if ${RELU}
  v = max(v, 0.0);
#endif
  y[i] = v;
}
