// One TK-deep step of a TILE×TILE tile product from workgroup memory. The including shader declares TILE (64 or
// 128), PER = TILE / 16, TK and the tiles As, Bs ([TK][TILE] each); invocation (lx, ly) of a 16×16 workgroup owns
// rows ly + 16i and columns lx + 16j, i, j < PER, so neighbouring invocations read neighbouring tile entries.
fn tileFma(acc: ptr<function, array<f32, PER * PER>>, lx: u32, ly: u32) {
  for (var kk = 0u; kk < TK; kk++) {
    var av: array<f32, PER>;
    var bv: array<f32, PER>;
    for (var i = 0u; i < PER; i++) { av[i] = As[kk * TILE + ly + 16u * i]; }
    for (var j = 0u; j < PER; j++) { bv[j] = Bs[kk * TILE + lx + 16u * j]; }
    for (var i = 0u; i < PER; i++) {
      for (var j = 0u; j < PER; j++) { (*acc)[i * PER + j] = fma(av[i], bv[j], (*acc)[i * PER + j]); }
    }
  }
}
