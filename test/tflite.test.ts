// TensorFlow Lite models → ONNX (src/models/tflite.ts, tflite-graph.ts), against a float64 reference that
// computes TFLite's operators as TFLite defines them (NHWC, filters [O, H, W, I], depthwise [1, H, W, C·M],
// SAME padding with the excess after, fully connected on the NHWC-flattened input) on a small model written
// by the tests' own FlatBuffer writer, with awkward sizes; malformed and unsupported files are refused by name.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as F from '../src/index.ts';
import { readTflite, TfliteError } from '../src/models/tflite.ts';
import { convertTflite } from '../src/models/tflite-graph.ts';
import { OnnxModule } from '../src/models/onnx/module.ts';
import { Rand, relErr } from './helpers/ref.ts';
import { cli } from './helpers/cli.ts';
import { tfliteModel, i32, u8, type TensorSpec, type OpSpec } from './helpers/tflite.ts';

type Nhwc = { d: Float64Array; shape: [number, number, number, number] };
const SAME = 0;
const VALID = 1;
const RELU = 1;

/** TF's SAME padding: the pad before, for one axis. */
const padBefore = (size: number, k: number, s: number, same: boolean) => (same ? Math.floor(Math.max((Math.ceil(size / s) - 1) * s + k - size, 0) / 2) : 0);
const outSize = (size: number, k: number, s: number, same: boolean) => (same ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1);

/** CONV_2D (depthwise = false, w [O, kh, kw, C]) or DEPTHWISE_CONV_2D (w [1, kh, kw, C·M]) in float64. */
function convRef(x: Nhwc, w: Float64Array, wShape: number[], b: Float64Array, s: number, same: boolean, depthwise: boolean): Nhwc {
  const [N, H, W, C] = x.shape;
  const [, kh, kw] = wShape;
  const O = depthwise ? wShape[3] : wShape[0];
  const M = depthwise ? O / C : 0;
  const [oh, ow] = [outSize(H, kh, s, same), outSize(W, kw, s, same)];
  const [pt, pl] = [padBefore(H, kh, s, same), padBefore(W, kw, s, same)];
  const y = new Float64Array(N * oh * ow * O);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < O; o++) {
          let acc = b[o];
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++) {
              const [yy, xx] = [i * s + u - pt, j * s + v - pl];
              if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
              const at = ((n * H + yy) * W + xx) * C;
              if (depthwise) acc += x.d[at + Math.floor(o / M)] * w[(u * kw + v) * O + o];
              else for (let c = 0; c < C; c++) acc += x.d[at + c] * w[((o * kh + u) * kw + v) * C + c];
            }
          y[((n * oh + i) * ow + j) * O + o] = acc;
        }
  return { d: y, shape: [N, oh, ow, O] };
}

const map = (x: Nhwc, f: (v: number, i: number) => number): Nhwc => ({ d: x.d.map(f), shape: x.shape });

/**
 * A small network with every construct MobileFaceNet's TOCO export uses, on [N, H, W, 3]: 3×3/2 SAME conv with
 * a fused relu (12 rows pad 0 before and 1 after) → 3×3 depthwise ×2 → PReLU as TOCO writes it,
 * relu(x) + c·(x − |x|) → 1×1 VALID conv → residual add → flatten → fully connected → L2 normalisation;
 * with its float64 reference.
 */
function testNetwork(N: number, H: number, W: number, seed = 5) {
  const rand = new Rand(seed);
  const [oh, ow] = [Math.ceil(H / 2), Math.ceil(W / 2)];
  const K = oh * ow * 10;
  const w1 = rand.uniform(5 * 3 * 3 * 3, -0.5, 0.5);
  const b1 = rand.uniform(5, -0.2, 0.2);
  const wd = rand.uniform(3 * 3 * 10, -0.5, 0.5);
  const bd = rand.uniform(10, -0.2, 0.2);
  const alpha = rand.uniform(10, 0.05, 0.4);
  const w2 = rand.uniform(10 * 10, -0.4, 0.4);
  const b2 = rand.uniform(10, -0.2, 0.2);
  const wf = rand.uniform(7 * K, -0.1, 0.1);
  const bf = rand.uniform(7, -0.1, 0.1);

  function bytes(opts: { tanh?: boolean; quantised?: boolean } = {}): Uint8Array {
    const a = [N, oh, ow, 10];
    const t: TensorSpec[] = [
      { name: 'input', shape: [N, H, W, 3] }, // 0
      { name: 'w1', shape: [5, 3, 3, 3], data: w1, scale: opts.quantised ? [0.1] : undefined }, // 1
      { name: 'b1', shape: [5], data: b1 }, // 2
      { name: 'c1', shape: [N, oh, ow, 5] }, // 3
      { name: 'wd', shape: [1, 3, 3, 10], data: wd }, // 4
      { name: 'bd', shape: [10], data: bd }, // 5
      { name: 'dw', shape: a }, // 6
      { name: 'relu', shape: a }, // 7
      { name: 'abs', shape: a }, // 8
      { name: 'sub', shape: a }, // 9
      { name: 'alpha', shape: [10], data: alpha.map((v) => v / 2) }, // 10
      { name: 'mul', shape: a }, // 11
      { name: 'prelu', shape: a }, // 12
      { name: 'w2', shape: [10, 1, 1, 10], data: w2 }, // 13
      { name: 'b2', shape: [10], data: b2 }, // 14
      { name: 'c2', shape: a }, // 15
      { name: 'res', shape: a }, // 16
      { name: 'flat_shape', shape: [2], data: [N, K], int: true }, // 17
      { name: 'flat', shape: [N, K] }, // 18
      { name: 'wf', shape: [7, K], data: wf }, // 19
      { name: 'bf', shape: [7], data: bf }, // 20
      { name: 'fc', shape: [N, 7] }, // 21
      { name: 'embeddings', shape: [N, 7] }, // 22
    ];
    const ops: OpSpec[] = [
      { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: [u8(SAME), i32(2), i32(2), u8(RELU)] },
      { op: 'DEPTHWISE_CONV_2D', inputs: [3, 4, 5], outputs: [6], options: [u8(SAME), i32(1), i32(1), i32(2)] },
      { op: 'RELU', inputs: [6], outputs: [7] },
      { op: opts.tanh ? 'TANH' : 'ABS', inputs: [6], outputs: [8] },
      { op: 'SUB', inputs: [6, 8], outputs: [9], options: [u8(0)] },
      { op: 'MUL', inputs: [10, 9], outputs: [11], options: [u8(0)] },
      { op: 'ADD', inputs: [7, 11], outputs: [12], options: [u8(0)] },
      { op: 'CONV_2D', inputs: [12, 13, 14], outputs: [15], options: [u8(VALID), i32(1), i32(1), u8(0)] },
      { op: 'ADD', inputs: [15, 12], outputs: [16], options: [u8(0)] },
      { op: 'RESHAPE', inputs: [16, 17], outputs: [18], options: [] },
      { op: 'FULLY_CONNECTED', inputs: [18, 19, 20], outputs: [21], options: [u8(0)] },
      { op: 'L2_NORMALIZATION', inputs: [21], outputs: [22], options: [u8(0)] },
    ];
    return tfliteModel(t, ops, [0], [22]);
  }

  /** The network in float64 on NHWC input of n items. */
  function reference(x: Float64Array, n: number): Float64Array {
    const c1 = map(convRef({ d: x, shape: [n, H, W, 3] }, w1, [5, 3, 3, 3], b1, 2, true, false), (v) => Math.max(v, 0));
    const dw = convRef(c1, wd, [1, 3, 3, 10], bd, 1, true, true);
    const prelu = map(dw, (v, i) => (v >= 0 ? v : alpha[i % 10] * v));
    const c2 = convRef(prelu, w2, [10, 1, 1, 10], b2, 1, false, false);
    const res = map(c2, (v, i) => v + prelu.d[i]);
    const out = new Float64Array(n * 7);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < 7; o++) {
        let acc = bf[o];
        for (let k = 0; k < K; k++) acc += wf[o * K + k] * res.d[b * K + k];
        out[b * 7 + o] = acc;
      }
      const norm = Math.hypot(...out.subarray(b * 7, b * 7 + 7));
      for (let o = 0; o < 7; o++) out[b * 7 + o] /= norm;
    }
    return out;
  }
  return { bytes, reference };
}

describe('TensorFlow Lite → ONNX', () => {
  const N = 2;
  const [H, W] = [12, 11];
  const net = testNetwork(N, H, W);
  const model = net.bytes;
  const reference = net.reference;

  it('reads the FlatBuffer: tensors, operators, options and constants', () => {
    const m = readTflite(model());
    expect(m.tensors).toHaveLength(23);
    expect(m.operators.map((o) => o.op)).toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'RELU', 'ABS', 'SUB', 'MUL', 'ADD', 'CONV_2D', 'ADD', 'RESHAPE', 'FULLY_CONNECTED', 'L2_NORMALIZATION']);
    expect(m.operators[0].options).toMatchObject({ padding: 'SAME', strideW: 2, strideH: 2, activation: 'RELU', dilationW: 1 });
    expect(m.operators[1].options).toMatchObject({ depthMultiplier: 2, activation: 'NONE' });
    expect(m.operators[7].options.padding).toBe('VALID');
    expect(m.tensors[1].shape).toEqual([5, 3, 3, 3]);
    expect(m.tensors[3].data).toBeNull();
    expect(m.inputs).toEqual([0]);
    expect(m.outputs).toEqual([22]);
  });

  it('the converted model computes what TFLite defines, at another batch size too', async () => {
    const bytes = convertTflite(model(), { name: 't' });
    const mod = OnnxModule.fromBytes(bytes, 't');
    // The PReLU idiom became one op; the batch is free.
    expect(mod.layers().map((l) => l.op).filter((k) => k === 'PRelu')).toHaveLength(1);
    for (const n of [N, 3]) {
      const x = new Rand(10 + n).uniform(n * H * W * 3, -1, 1);
      const nchw = new Float32Array(x.length);
      for (let b = 0; b < n; b++) for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) nchw[(b * 3 + c) * H * W + i] = x[(b * H * W + i) * 3 + c];
      const y = F.tidy(() => F.noGrad(() => mod.run({ input: F.tensor(nchw, [n, 3, H, W]) }).embedding));
      const got = await y.data();
      y.dispose();
      const want = reference(x, n);
      expect(got.length).toBe(n * 7);
      expect(relErr(got, want)).toBeLessThan(1e-5);
    }
    mod.dispose();
  });

  it('refuses what it cannot convert, by name', () => {
    expect(() => convertTflite(model({ tanh: true }), {})).toThrow(/TANH/);
    expect(() => convertTflite(model({ quantised: true }), {})).toThrow(/quantised/);
    const bytes = model();
    const wrongId = bytes.slice();
    wrongId.set(new TextEncoder().encode('XXXX'), 4);
    expect(() => readTflite(wrongId)).toThrow(/not a TensorFlow Lite model/);
    expect(() => readTflite(bytes.subarray(0, 6))).toThrow(TfliteError);
    // Cut short: some offset now points outside the file.
    expect(() => readTflite(bytes.subarray(0, Math.floor(bytes.length / 3)))).toThrow(TfliteError);
  });
});

describe('faceinv with a TensorFlow Lite model', () => {
  it("refuses it as --model, saying how to convert it; 'faceinv annotate' converts and annotates it in one go", () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-tflite-'));
    const file = join(dir, 'net.tflite');
    writeFileSync(file, testNetwork(1, 24, 24).bytes());
    const refused = cli('info', '--model', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/TensorFlow Lite model, not ONNX; convert it with 'faceinv annotate/);
    const onnxFile = join(dir, 'net.onnx');
    const a = cli('annotate', file, onnxFile, 'faceinv.mean=[127.5,127.5,127.5]', 'faceinv.scale=0.0078125', 'faceinv.distance=cosine');
    expect(a.code, a.err).toBe(0);
    expect(cli('info', '--model', onnxFile).out).toMatch(/usable as a face model: yes: images 24×24, cosine distance/);
  }, 60_000);
});
