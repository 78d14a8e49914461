// One TK-deep step of a 64×64 tile product from workgroup memory. The including shader declares TILE = 64,
// TK and the tiles As, Bs ([TK][TILE] each); invocation (lx, ly) of a 16×16 workgroup owns rows ly + 16i and
// columns lx + 16j, i, j < 4, so neighbouring invocations read neighbouring tile entries.
fn tileFma(acc: ptr<function, array<f32, 16>>, lx: u32, ly: u32) {
  for (var kk = 0u; kk < TK; kk++) {
    var av: array<f32, 4>;
    var bv: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) { av[i] = As[kk * TILE + ly + 16u * i]; }
    for (var j = 0u; j < 4u; j++) { bv[j] = Bs[kk * TILE + lx + 16u * j]; }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { (*acc)[i * 4u + j] = fma(av[i], bv[j], (*acc)[i * 4u + j]); }
    }
  }
}
