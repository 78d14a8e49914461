// A sliding window's shape as pipeline constants (pooling, depthwise convolution): divisions and modulos by
// them compile to multiplies and shifts, which a CPU driver would otherwise run lane by lane.
const KH = ${KH}u;
const KW = ${KW}u;
const SH = ${SH}u;
const SW = ${SW}u;
const DH = ${DH}u;
const DW = ${DW}u;
