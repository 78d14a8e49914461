// Real exporter output: torchvision ResNet-18 and MobileNetV2 (128-d head + F.normalize) at opsets 11/13/17,
// a residual block whose shortcut pads channels with F.pad, and MobileFaceNet's pieces (PReLU, depthwise, a
// non-square kernel), exported by torch.onnx.export into a temp dir (scripts/export-torch-models.py). Each:
// our embedding against onnxruntime at batch 1 and 3, and our input gradient against onnxruntime's finite
// differences. Skipped, saying so, where Debian's python3-torch is not installed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as F from '../src/index.ts';
import { OnnxModule } from '../src/models/onnx/module.ts';
import { Rand, relErr } from './helpers/ref.ts';

const PYTHON = process.env.FACEINV_TORCH_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`onnx_torch: skipped, ${PYTHON} has no torch/torchvision/onnx (apt-get install python3-torch python3-torchvision python3-onnx)`);

const SIZE = 64;
const MODELS = [
  ...[11, 13, 17].flatMap((op) => [`resnet18_op${op}`, `mobilenetv2_op${op}`]),
  'pad_shortcut_op13',
  'mobileface_block_op13',
  'mobileface_block_op9',
];

describe.skipIf(!hasTorch)('torch.onnx.export graphs against onnxruntime-node', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'faceinv-torch-'));
    const r = spawnSync(PYTHON, ['scripts/export-torch-models.py', dir, String(SIZE)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`export failed: ${r.stderr.split('\n').slice(-5).join(' ')}`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of MODELS) {
    it(`${name}: embedding within 1e-4 at batch 1 and 3, input gradient against finite differences`, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, `${name}.onnx`)));
      const session = await ort.InferenceSession.create(bytes);
      const ortEmbed = async (x: Float32Array, n: number) =>
        (await session.run({ input: new ort.Tensor('float32', x, [n, 3, SIZE, SIZE]) })).embedding.data as Float32Array;
      const m = OnnxModule.fromBytes(bytes, name);
      const per = 3 * SIZE * SIZE;
      const x3 = Float32Array.from(new Rand(11).uniform(3 * per));
      for (const n of [1, 3]) {
        const x = x3.subarray(0, n * per);
        const y = F.tidy(() => m.run({ input: F.tensor(x, [n, 3, SIZE, SIZE]) }).embedding);
        expect(y.shape).toEqual([n, 128]);
        expect(relErr(await y.data(), await ortEmbed(x, n)), `batch ${n}`).toBeLessThan(1e-4);
        y.dispose();
      }
      // d(e·r)/dx along a direction v, against central differences of onnxruntime's forward. v follows our
      // gradient (a random direction's derivative cancels down to float32 noise in a random-weight network;
      // along g, a wrong g shows as gᵀg ≠ g_trueᵀg) plus a random part. ReLU kinks crossed within ±h add an
      // O(h) error, so the best of three steps (down to where float32 rounding takes over) is held to 1%.
      const x = x3.slice(0, per);
      const rv = Float32Array.from(new Rand(12).uniform(128));
      const xt = F.tensor(x, [1, 3, SIZE, SIZE]);
      xt.requiresGrad = true;
      F.tidy(() => F.backward(F.sum(F.mul(m.run({ input: xt }).embedding, F.tensor(rv, [1, 128])))));
      const g = await xt.grad!.data();
      xt.dispose();
      m.dispose();
      const gmax = g.reduce((acc, gi) => Math.max(acc, Math.abs(gi)), 0);
      const v = new Rand(13).uniform(per).map((ri, i) => g[i] / gmax + 0.3 * ri);
      const gv = g.reduce((acc, gi, i) => acc + gi * v[i], 0);
      const at = async (t: number) => (await ortEmbed(x.map((xi, i) => xi + t * v[i]), 1)).reduce((acc, e, k) => acc + e * rv[k], 0);
      const errs: number[] = [];
      for (const h of [1e-3, 1e-4, 1e-5]) errs.push(Math.abs(((await at(h)) - (await at(-h))) / (2 * h) - gv) / Math.abs(gv));
      await session.release();
      expect(Math.min(...errs), `relative errors ${errs}`).toBeLessThan(1e-2);
    });
  }
});
