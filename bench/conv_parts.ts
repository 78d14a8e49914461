// Times conv2d's three kernels (forward, input gradient, filter gradient) one by one, for every kernel variant
// the device runs (register; subgroup where it has 8-wide subgroups), to see which one a layer's time goes to.
// The filter gradient's times of both variants are printed side by side at the end of each line.
// Run: node --import tsx bench/conv_parts.ts   (last line: JSON)
import * as F from '../src/index.ts';
import { conv2dKernel, conv2dGradInputKernel, conv2dGradFilterKernel, setConvVariant, type ConvGeometry, type ConvVariant } from '../src/kernels/conv.ts';
import { subgroupKernelsSupported } from '../src/kernels/subgroups.ts';
import { timeGpu } from './common.ts';

const geo = (N: number, C: number, H: number, K: number, k: number, s: number, p: number): ConvGeometry => {
  const OH = Math.floor((H + 2 * p - k) / s) + 1;
  return { N, C, H, W: H, K, OH, OW: OH, G: 1, KH: k, KW: k, SH: s, SW: s, DH: 1, DW: 1, PT: p, PL: p, PB: p, PR: p };
};
const depthwise = (N: number, C: number, H: number, k: number, s: number, p: number): ConvGeometry => ({ ...geo(N, C, H, C, k, s, p), G: C });
const shapes: [string, ConvGeometry][] = [
  ['face 7x7/2 3x150x150->32 b1', geo(1, 3, 150, 32, 7, 2, 0)],
  ['face 3x3 32x35x35 b1', geo(1, 32, 35, 32, 3, 1, 1)],
  ['face 7x7/2 3x150x150->32 b8', geo(8, 3, 150, 32, 7, 2, 0)],
  ['face 3x3 32x35x35 b8', geo(8, 32, 35, 32, 3, 1, 1)],
  ['face 3x3 64x17x17 b8', geo(8, 64, 17, 64, 3, 1, 1)],
  ['face 3x3 256x4x4 b8', geo(8, 256, 4, 256, 3, 1, 1)],
  // Depthwise (faceres's MobileNet at 150 px, the identity ensemble's batch of 13).
  ['faceres dw 3x3 32x75x75 b13', depthwise(13, 32, 75, 3, 1, 1)],
  ['faceres dw 3x3/2 64x75x75 b13', { ...depthwise(13, 64, 75, 3, 2, 0), OH: 37, OW: 37, PB: 1, PR: 1 }],
  ['faceres dw 3x3 128x37x37 b13', depthwise(13, 128, 37, 3, 1, 1)],
  ['faceres dw 3x3 512x9x9 b13', depthwise(13, 512, 9, 3, 1, 1)],
  ['deconv 5x5/2 50x32->64 (its conv)', { N: 1, C: 50, H: 64, W: 64, K: 50, OH: 32, OW: 32, G: 1, KH: 5, KW: 5, SH: 2, SW: 2, DH: 1, DW: 1, PT: 2, PL: 2, PB: 1, PR: 1 }],
];

await F.init();
const variants: ConvVariant[] = ['register', ...(subgroupKernelsSupported() ? (['subgroup'] as const) : [])];
const rows = [];
for (const [name, g] of shapes) {
  const X = F.randn([g.N, g.C, g.H, g.W], 1);
  const W = F.randn([g.K, g.C / g.G, g.KH, g.KW], 2);
  const DY = F.randn([g.N, g.K, g.OH, g.OW], 3);
  const opts = { reps: 3, inner: 2 };
  const ms = (t: number) => +(t * 1e3).toFixed(2);
  const row: Record<string, string | number> = { name };
  for (const v of variants) {
    setConvVariant(v);
    row[`${v}_forward_ms`] = ms(await timeGpu(() => conv2dKernel(X, W, null, g).dispose(), opts));
    row[`${v}_grad_input_ms`] = ms(await timeGpu(() => conv2dGradInputKernel(DY, W, null, g).dispose(), opts));
    row[`${v}_grad_filter_ms`] = ms(await timeGpu(() => conv2dGradFilterKernel(X, DY, g).dispose(), opts));
  }
  setConvVariant(null);
  rows.push(row);
  console.log(
    `${name.padEnd(36)} ${variants.map((v) => `${v}: forward ${row[`${v}_forward_ms`]} ms, dX ${row[`${v}_grad_input_ms`]} ms`).join('   ')}` +
      `   dW ${variants.map((v) => `${v} ${row[`${v}_grad_filter_ms`]} ms`).join(', ')}`,
  );
  [X, W, DY].forEach((t) => t.dispose());
}
console.log(JSON.stringify({ name: 'conv_parts', unit: 'ms', variants, rows }));
F.shutdown();
process.exit(0);
