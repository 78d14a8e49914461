// The geometry of one convolution y = conv(x, w), shared by every conv kernel (src/kernels/conv.ts packs it).
// x [N,C,H,W], w [K,C/G,KH,KW], y [N,K,OH,OW]; PT/PL = top/left padding; CG = C/G, KG = K/G; relu ≠ 0:
// the forward kernels write max(y, 0) (a ReLU fused into the output write). splits > 1: the reduction is cut
// into `splits` runs of `chunk` (src/kernels/conv.ts splitFor), each workgroup slice writing its partial sums to
// its own copy of the output, which split_sum.wgsl adds up (with bias and ReLU): small layers then fill a GPU.
struct Params {
  N: u32, C: u32, H: u32, W: u32,
  K: u32, OH: u32, OW: u32, G: u32,
  KH: u32, KW: u32, SH: u32, SW: u32,
  DH: u32, DW: u32, PT: u32, PL: u32,
  CG: u32, KG: u32, hasBias: u32, relu: u32,
  splits: u32, chunk: u32,
}
