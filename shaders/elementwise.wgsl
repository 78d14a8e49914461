// Element-wise kernels. One invocation per output element.
//   UNARY:      out = OP(x, alpha, beta)
//   UNARY_GRAD: dx  = OP(x, y, g, alpha, beta)       (y = forward output, g = output gradient)
//   BINARY:     out = OP(a, b) with NumPy broadcasting when BROADCAST (strides 0 on broadcast axes); GRID3 is
//               broadcasting over at most 3 (coalesced) axes, one per grid dimension: no index divisions,
//               which CPU drivers would run lane by lane. TIMES: out = g · OP(a, b), g of the output's shape
//               (a partial derivative and its chain-rule product in one pass).
// OP names a function below; scripts/gen-shaders.mjs turns the u_/g_/b_ names into the TypeScript unions
// UnaryOp, UnaryGradOp and BinaryOp, so adding an op here is what makes it exist on the TS side.

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,
  beta: f32,
  shape: array<vec4<u32>, 2>,
  astr: array<vec4<u32>, 2>,
  bstr: array<vec4<u32>, 2>,
}

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

// ---- unary forward
fn u_neg(x: f32, a: f32, b: f32) -> f32 { return -x; }
fn u_relu(x: f32, a: f32, b: f32) -> f32 { return max(x, 0.0); }
fn u_exp(x: f32, a: f32, b: f32) -> f32 { return exp(x); }
fn u_log(x: f32, a: f32, b: f32) -> f32 { return log(x); }
fn u_sqrt(x: f32, a: f32, b: f32) -> f32 { return sqrt(x); }
fn u_abs(x: f32, a: f32, b: f32) -> f32 { return abs(x); }
fn u_sigmoid(x: f32, a: f32, b: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn u_tanh(x: f32, a: f32, b: f32) -> f32 { return tanh(x); }
fn u_square(x: f32, a: f32, b: f32) -> f32 { return x * x; }
fn u_add_s(x: f32, a: f32, b: f32) -> f32 { return x + a; }
fn u_mul_s(x: f32, a: f32, b: f32) -> f32 { return x * a; }
fn u_rsub_s(x: f32, a: f32, b: f32) -> f32 { return a - x; }
fn u_rdiv_s(x: f32, a: f32, b: f32) -> f32 { return a / x; }
fn u_pow_s(x: f32, a: f32, b: f32) -> f32 { return powf(x, a); }
fn u_clamp(x: f32, a: f32, b: f32) -> f32 { return clamp(x, a, b); }
fn u_leaky_relu(x: f32, a: f32, b: f32) -> f32 { return select(a * x, x, x > 0.0); }
fn u_fill(x: f32, a: f32, b: f32) -> f32 { return a; }

// pow that follows C's powf for negative bases with integral exponents and for zero exponents.
fn powf(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  // 1/x and sqrt(x) below produce inf and NaN at run time (constant ones are rejected by WGSL).
  if (x == 0.0) { return select(0.0, 1.0 / x, e < 0.0); }
  let m = pow(abs(x), e);
  if (x > 0.0) { return m; }
  if (fract(e) != 0.0) { return sqrt(x); }
  return select(m, -m, fract(e * 0.5) != 0.0);
}

// ---- unary backward: d out / d x times g
fn g_neg(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return -g; }
fn g_relu(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return select(0.0, g, x > 0.0); }
fn g_exp(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * y; }
fn g_log(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g / x; }
fn g_sqrt(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * 0.5 / y; }
fn g_abs(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * sign(x); }
fn g_sigmoid(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * y * (1.0 - y); }
fn g_tanh(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * (1.0 - y * y); }
fn g_square(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return 2.0 * x * g; }
fn g_add_s(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g; }
fn g_mul_s(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * a; }
fn g_rsub_s(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return -g; }
fn g_rdiv_s(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return -g * a / (x * x); }
fn g_pow_s(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return g * a * powf(x, a - 1.0); }
fn g_clamp(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return select(0.0, g, x >= a && x <= b); }
fn g_leaky_relu(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return select(a * g, g, x > 0.0); }

// ---- binary forward
fn b_add(x: f32, y: f32) -> f32 { return x + y; }
fn b_sub(x: f32, y: f32) -> f32 { return x - y; }
fn b_mul(x: f32, y: f32) -> f32 { return x * y; }
fn b_div(x: f32, y: f32) -> f32 { return x / y; }
fn b_pow(x: f32, y: f32) -> f32 { return powf(x, y); }
fn b_max(x: f32, y: f32) -> f32 { return max(x, y); }
fn b_min(x: f32, y: f32) -> f32 { return min(x, y); }
fn b_eq(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x == y); }
fn b_gt(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x > y); }
fn b_ge(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x >= y); }
// A residual sum and its ReLU in one pass (its gradient is relu's, masked by the output).
fn b_add_relu(x: f32, y: f32) -> f32 { return max(x + y, 0.0); }
// PReLU (x, slope) and its partial derivatives, so that the op is one kernel each way.
fn b_prelu(x: f32, y: f32) -> f32 { return select(y * x, x, x > 0.0); }
fn b_prelu_dx(x: f32, y: f32) -> f32 { return select(y, 1.0, x > 0.0); }
fn b_prelu_ds(x: f32, y: f32) -> f32 { return select(x, 0.0, x > 0.0); }

#if ${VEC4}
// Four elements per invocation, read and written as vec4s: a CPU driver (lavapipe) runs a storage access
// lane by lane, so a vec4 costs about what one float does. The output and each operand that walks it
// contiguously are vec4 arrays (A_VEC, B_VEC); an operand broadcast along the last axis is read once and
// splatted. The flat forms need n % 4 = 0; GRID3 a last axis of a multiple of 4, strides 0 or 1 along it.
#if ${A_VEC}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
fn loadA(i: u32) -> vec4<f32> { return x[i / 4u]; }
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
fn loadA(i: u32) -> vec4<f32> { return vec4<f32>(x[i]); }
#endif
#if ${UNARY}
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
fn value(i: u32, ia: u32, ib: u32) -> vec4<f32> {
  let v = loadA(ia);
  return vec4<f32>(${OP}(v.x, p.alpha, p.beta), ${OP}(v.y, p.alpha, p.beta), ${OP}(v.z, p.alpha, p.beta), ${OP}(v.w, p.alpha, p.beta));
}
#else
#if ${B_VEC}
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
fn loadB(i: u32) -> vec4<f32> { return y[i / 4u]; }
#else
@group(0) @binding(1) var<storage, read> y: array<f32>;
fn loadB(i: u32) -> vec4<f32> { return vec4<f32>(y[i]); }
#endif
#if ${G_OPERAND}
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;
#else
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;
#endif
#if ${UNARY_GRAD}
fn value(i: u32, ia: u32, ib: u32) -> vec4<f32> {
  let u = loadA(ia);
  let v = loadB(ib);
  let w = g[i / 4u];
  return vec4<f32>(${OP}(u.x, v.x, w.x, p.alpha, p.beta), ${OP}(u.y, v.y, w.y, p.alpha, p.beta), ${OP}(u.z, v.z, w.z, p.alpha, p.beta), ${OP}(u.w, v.w, w.w, p.alpha, p.beta));
}
#else
fn value(i: u32, ia: u32, ib: u32) -> vec4<f32> {
  let u = loadA(ia);
  let v = loadB(ib);
  let r = vec4<f32>(${OP}(u.x, v.x), ${OP}(u.y, v.y), ${OP}(u.z, v.z), ${OP}(u.w, v.w));
#if ${TIMES}
  return g[i / 4u] * r;
#else
  return r;
#endif
}
#endif
#endif

#if ${GRID3}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // shape = [d0, d1, d2] over (z, y, x), d2 a multiple of 4: invocation x covers elements 4x … 4x + 3.
  let q = gid.x * 4u;
  if (q >= p.shape[0].z) { return; }
  let i = (gid.z * p.shape[0].y + gid.y) * p.shape[0].z + q;
  let ia = gid.z * p.astr[0].x + gid.y * p.astr[0].y + q * p.astr[0].z;
  let ib = gid.z * p.bstr[0].x + gid.y * p.bstr[0].y + q * p.bstr[0].z;
  out[i / 4u] = value(i, ia, ib);
}
#else
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = gid.x + gid.y * nwg.x * 256u;
  if (q * 4u >= p.n) { return; }
  out[q] = value(q * 4u, q * 4u, q * 4u);
}
#endif
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${UNARY}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
#elif ${UNARY_GRAD}
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#elif ${TIMES}
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#else
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#endif

// A binary op's value at output element i, times g there with TIMES.
fn finish(i: u32, v: f32) -> f32 {
#if ${TIMES}
  return g[i] * v;
#else
  return v;
#endif
}

#if ${GRID3}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // shape = [d0, d1, d2] over (z, y, x); strides likewise.
  if (gid.x >= p.shape[0].z) { return; }
  let i = (gid.z * p.shape[0].y + gid.y) * p.shape[0].z + gid.x;
  let ia = gid.z * p.astr[0].x + gid.y * p.astr[0].y + gid.x * p.astr[0].z;
  let ib = gid.z * p.bstr[0].x + gid.y * p.bstr[0].y + gid.x * p.bstr[0].z;
  out[i] = finish(i, ${OP}(x[ia], y[ib]));
}
#else
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
#if ${UNARY}
  out[i] = ${OP}(x[i], p.alpha, p.beta);
#elif ${UNARY_GRAD}
  out[i] = ${OP}(x[i], y[i], g[i], p.alpha, p.beta);
#else
#if ${BROADCAST}
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = at(p.shape, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    ia += c * at(p.astr, u32(d));
    ib += c * at(p.bstr, u32(d));
  }
  out[i] = finish(i, ${OP}(x[ia], y[ib]));
#else
  out[i] = finish(i, ${OP}(x[i], y[i]));
#endif
#endif
}
#endif
#endif
