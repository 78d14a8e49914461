// Times conv2d's three kernels (forward, input gradient, filter gradient) one by one on a few shapes, to see
// which one a layer's time goes to. Run: node --import tsx bench/conv_parts.ts   (last line: JSON)
import * as F from '../src/index.ts';
import { conv2dKernel, conv2dGradInputKernel, conv2dGradFilterKernel, type ConvGeometry } from '../src/kernels/conv.ts';
import { timeGpu } from './common.ts';

const shapes: [string, ConvGeometry][] = [
  ['face 7x7/2 3x150x150->32', { N: 1, C: 3, H: 150, W: 150, K: 32, OH: 72, OW: 72, G: 1, KH: 7, KW: 7, SH: 2, SW: 2, DH: 1, DW: 1, PT: 0, PL: 0, PB: 0, PR: 0 }],
  ['deconv 5x5/2 50x32->64 (its conv)', { N: 1, C: 50, H: 64, W: 64, K: 50, OH: 32, OW: 32, G: 1, KH: 5, KW: 5, SH: 2, SW: 2, DH: 1, DW: 1, PT: 2, PL: 2, PB: 1, PR: 1 }],
  ['face 3x3 32x35x35', { N: 1, C: 32, H: 35, W: 35, K: 32, OH: 35, OW: 35, G: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1, PB: 1, PR: 1 }],
];

await F.init();
const rows = [];
for (const [name, g] of shapes) {
  const X = F.randn([g.N, g.C, g.H, g.W], 1);
  const W = F.randn([g.K, g.C, g.KH, g.KW], 2);
  const DY = F.randn([g.N, g.K, g.OH, g.OW], 3);
  const opts = { reps: 3, inner: 1 };
  const ms = (t: number) => +(t * 1e3).toFixed(2);
  const row = {
    name,
    forward_ms: ms(await timeGpu(() => conv2dKernel(X, W, null, g).dispose(), opts)),
    grad_input_ms: ms(await timeGpu(() => conv2dGradInputKernel(DY, W, null, g).dispose(), opts)),
    grad_filter_ms: ms(await timeGpu(() => conv2dGradFilterKernel(X, DY, g).dispose(), opts)),
  };
  rows.push(row);
  console.log(`${name.padEnd(36)} forward ${row.forward_ms} ms   dX ${row.grad_input_ms} ms   dW ${row.grad_filter_ms} ms`);
  [X, W, DY].forEach((t) => t.dispose());
}
console.log(JSON.stringify({ name: 'conv_parts', unit: 'ms', rows }));
F.shutdown();
process.exit(0);
