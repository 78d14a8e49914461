// The last step of a split-reduction convolution (src/kernels/conv.ts): out[i] = Σ_s part[s·len + i], plus the
// bias of i's channel ((i / P) mod K) and a ReLU when asked.

struct Params {
  len: u32, splits: u32, P: u32, K: u32,
  hasBias: u32, relu: u32,
}

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.len) { return; }
  var s = select(0.0, bias[(i / p.P) % p.K], p.hasBias != 0u);
  for (var t = 0u; t < p.splits; t++) { s += part[t * p.len + i]; }
  out[i] = select(s, max(s, 0.0), p.relu != 0u);
}
