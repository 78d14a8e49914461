// Forward + backward (dX and dW) of the conv and deconv shapes faceinv runs, ours against tfjs-webgpu on the
// same adapter and device in one process; then TV and the Laplacian pyramid at 3×256×256 (no peer). Run: node --import tsx bench/kernels.ts [--quick]      (last line: JSON result)
import * as F from '../src/index.ts';
import { init, shutdown } from '../src/index.ts';
import { conv2dKernel, conv2dGradInputKernel, conv2dGradFilterKernel, type ConvGeometry } from '../src/kernels/conv.ts';
import { tf, useTfjsOnEngineDevice, timeGpu, geomean, printResult } from './common.ts';
import { totalVariation, lapSplit, lapMerge, lapNormalize } from '../src/autograd/regularizers.ts';

interface Shape {
  name: string;
  kind: 'conv' | 'deconv';
  N: number; C: number; H: number; W: number; K: number; k: number; s: number; pad: [number, number, number, number]; op?: number;
}

const quick = process.argv.includes('--quick');
const shapes: Shape[] = [];
for (const N of [1, 16]) {
  shapes.push({ name: `face 7x7/2 3x150x150->32 b${N}`, kind: 'conv', N, C: 3, H: 150, W: 150, K: 32, k: 7, s: 2, pad: [0, 0, 0, 0] });
  for (const [C, H] of [[32, 35], [64, 17], [128, 8], [256, 4]]) {
    shapes.push({ name: `face 3x3 ${C}x${H}x${H} b${N}`, kind: 'conv', N, C, H, W: H, K: C, k: 3, s: 1, pad: [1, 1, 1, 1] });
  }
}
for (const L of [50, 250]) {
  for (const H of [32, 64]) {
    shapes.push({ name: `decoder deconv 5x5/2 ${L}x${H}->${2 * H} b1`, kind: 'deconv', N: 1, C: L, H, W: H, K: L, k: 5, s: 2, pad: [2, 2, 2, 2], op: 1 });
  }
}
const selected = quick ? shapes.filter((s) => s.N === 1 && (s.kind === 'conv' || s.C === 50)) : shapes;

/** The conv whose forward / dX / dW we time. For a deconv it is the conv it transposes (roles swapped). */
function geometry(s: Shape): ConvGeometry {
  if (s.kind === 'conv') {
    const OH = Math.floor((s.H + s.pad[0] + s.pad[2] - s.k) / s.s) + 1;
    const OW = Math.floor((s.W + s.pad[1] + s.pad[3] - s.k) / s.s) + 1;
    return { N: s.N, C: s.C, H: s.H, W: s.W, K: s.K, OH, OW, G: 1, KH: s.k, KW: s.k, SH: s.s, SW: s.s, DH: 1, DW: 1, PT: s.pad[0], PL: s.pad[1], PB: s.pad[2], PR: s.pad[3] };
  }
  const op = s.op ?? 0;
  const OH = (s.H - 1) * s.s - s.pad[0] - s.pad[2] + s.k + op;
  const OW = (s.W - 1) * s.s - s.pad[1] - s.pad[3] + s.k + op;
  return { N: s.N, C: s.K, H: OH, W: OW, K: s.C, OH: s.H, OW: s.W, G: 1, KH: s.k, KW: s.k, SH: s.s, SW: s.s, DH: 1, DW: 1, PT: s.pad[0], PL: s.pad[1], PB: s.pad[2] - op, PR: s.pad[3] - op };
}

const e = await init();
const backend = await useTfjsOnEngineDevice();
console.log(`adapter: ${e.adapter.description || e.adapter.device}`);
const rows: Record<string, unknown>[] = [];
const speedups: number[] = [];
for (const s of selected) {
  const g = geometry(s);
  const rng = new F.Rng(7);
  // Tensors of the underlying conv: X [N,C,H,W], Wt [K,C,k,k], DY [N,K,OH,OW].
  const xData = rng.fill(g.N * g.C * g.H * g.W, () => rng.uniform(-1, 1));
  const wData = rng.fill(g.K * g.C * g.KH * g.KW, () => rng.uniform(-0.1, 0.1));
  const dyData = rng.fill(g.N * g.K * g.OH * g.OW, () => rng.uniform(-1, 1));
  const X = F.tensor(xData, [g.N, g.C, g.H, g.W]);
  const Wt = F.tensor(wData, [g.K, g.C, g.KH, g.KW]);
  const DY = F.tensor(dyData, [g.N, g.K, g.OH, g.OW]);
  // A deconv layer's forward is the conv's dX, its dX the conv's forward, its dW the conv's dW: the same three kernels.
  const ours = () => {
    conv2dKernel(X, Wt, null, g).dispose();
    conv2dGradInputKernel(DY, Wt, null, g).dispose();
    conv2dGradFilterKernel(X, DY, g).dispose();
  };

  const tX = tf.transpose(tf.tensor(xData, [g.N, g.C, g.H, g.W]), [0, 2, 3, 1]) as tf.Tensor4D;
  const tW = tf.transpose(tf.tensor(wData, [g.K, g.C, g.KH, g.KW]), [2, 3, 1, 0]) as tf.Tensor4D;
  const tDY = tf.transpose(tf.tensor(dyData, [g.N, g.K, g.OH, g.OW]), [0, 2, 3, 1]) as tf.Tensor4D;
  const pad = [[0, 0], [g.PT, g.PB], [g.PL, g.PR], [0, 0]] as tf.backend_util.ExplicitPadding;
  const common = { strides: [g.SH, g.SW], pad, dataFormat: 'NHWC' };
  const peerGrads = () => [
    tf.engine().runKernel('Conv2DBackpropInput', { dy: tDY, filter: tW }, { ...common, inputShape: [g.N, g.H, g.W, g.C] }) as tf.Tensor,
    tf.engine().runKernel('Conv2DBackpropFilter', { x: tX, dy: tDY }, { ...common, filterShape: [g.KH, g.KW, g.C, g.K] }) as tf.Tensor,
  ];
  const peer = () => {
    (tf.conv2d(tX, tW, [g.SH, g.SW], pad) as tf.Tensor).dispose();
    peerGrads().forEach((t) => t.dispose());
  };

  // Forward, dX and dW agree with tfjs's (same padding, same data): a fast wrong kernel cannot win.
  const agree = async (what: string, ourT: F.Tensor, theirs: tf.Tensor, perm: number[]) => {
    const a = await ourT.data();
    ourT.dispose();
    const tT = tf.transpose(theirs, perm);
    theirs.dispose();
    const b = (await tT.data()) as Float32Array;
    tT.dispose();
    let maxErr = 0;
    let maxRef = 1e-6;
    for (let i = 0; i < a.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
      maxRef = Math.max(maxRef, Math.abs(b[i]));
    }
    if (!(maxErr / maxRef <= 1e-4)) throw new Error(`${s.name} ${what}: ours and tfjs disagree (relative ${maxErr / maxRef})`);
  };
  await agree('forward', conv2dKernel(X, Wt, null, g), tf.conv2d(tX, tW, [g.SH, g.SW], pad), [0, 3, 1, 2]);
  const [dx, dw] = peerGrads();
  await agree('dX', conv2dGradInputKernel(DY, Wt, null, g), dx, [0, 3, 1, 2]);
  await agree('dW', conv2dGradFilterKernel(X, DY, g), dw, [3, 2, 0, 1]);

  const reps = g.N * g.C * g.K * g.OH * g.OW * g.KH * g.KW > 2e9 ? 2 : 4;
  const tOurs = await timeGpu(ours, { reps, inner: 1, warmup: 1 });
  const tPeer = await timeGpu(peer, { reps, inner: 1, warmup: 1, backend });
  const flops = 3 * 2 * g.N * g.K * g.OH * g.OW * g.C * g.KH * g.KW;
  const row = {
    name: s.name,
    ours_ms: +(tOurs * 1e3).toFixed(2),
    peer_ms: +(tPeer * 1e3).toFixed(2),
    ours_gflops: +(flops / tOurs / 1e9).toFixed(2),
    peer_gflops: +(flops / tPeer / 1e9).toFixed(2),
    speedup: +(tPeer / tOurs).toFixed(3),
  };
  rows.push(row);
  speedups.push(tPeer / tOurs);
  console.log(
    `${s.name.padEnd(36)} ours ${row.ours_ms.toFixed(1).padStart(8)} ms ${row.ours_gflops.toFixed(2).padStart(6)} GFLOP/s   tfjs ${row.peer_ms.toFixed(1).padStart(8)} ms ${row.peer_gflops.toFixed(2).padStart(6)} GFLOP/s   ${row.speedup.toFixed(2)}x`,
  );
  [X, Wt, DY].forEach((t) => t.dispose());
  [tX, tW, tDY].forEach((t) => t.dispose());
}
// Image kernels at the decoder's output size, no peer: TV value + gradient, pyramid split + merge, lapNormalize.
const img = F.randn([1, 3, 256, 256], 5);
img.requiresGrad = true;
const imageRows: Record<string, unknown>[] = [];
const imageCases: [string, () => void][] = [
  ['TV global α=2, value+gradient 3x256x256', () => F.tidy(() => F.backward(totalVariation(img, { form: 'global', alpha: 2 })))],
  ['TV per-pixel β=1, value+gradient 3x256x256', () => F.tidy(() => F.backward(totalVariation(img, { form: 'pixel', beta: 1 })))],
  ['Laplacian split+merge, 4 levels 3x256x256', () => F.tidy(() => void lapMerge(lapSplit(img, 4)))],
  ['lapNormalize, 4 levels 3x256x256', () => F.tidy(() => void lapNormalize(img, 4))],
];
for (const [name, fn] of imageCases) {
  const t = await timeGpu(() => {
    fn();
    img.grad?.dispose();
    img.grad = null;
  }, { reps: 5, inner: 3 });
  imageRows.push({ name, ours_ms: +(t * 1e3).toFixed(3) });
  console.log(`${name.padEnd(44)} ours ${(t * 1e3).toFixed(2).padStart(8)} ms`);
}
img.dispose();

printResult({
  name: 'kernels',
  unit: 'x',
  ours: +geomean(rows.map((r) => r.ours_gflops as number)).toFixed(3),
  peer: +geomean(rows.map((r) => r.peer_gflops as number)).toFixed(3),
  peer_name: 'tfjs-webgpu',
  speedup: +geomean(speedups).toFixed(3),
  rows,
  image_rows: imageRows,
});
shutdown();
process.exit(0);
