// The tfjs graph-model converter against TensorFlow.js itself (tfjs-converter on the CPU backend) running the
// same graph: small graphs built here with every op and idiom the converter handles, random weights and
// inputs of awkward sizes; and the bundled judge network.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as F from '../src/index.ts';
import { convertGraphModel, samePads, TfjsConvertError, type GraphModelJson, type TfNode, type TfAttr } from '../src/models/tfjs-graph.ts';
import { OnnxModule } from '../src/models/onnx/module.ts';
import { FaceModel, cosine } from '../src/models/face_model.ts';
import { readPng } from '../src/io/png.ts';
import { mirrorImage } from '../src/io/image.ts';
import { Rand, relErr } from './helpers/ref.ts';

const b64 = (s: string) => btoa(s);
const ints = (...v: number[]): TfAttr => ({ list: { i: v.map(String) } });
const fused = (...ops: string[]): Record<string, TfAttr> => ({ fused_ops: { list: { s: ops.map(b64) } }, num_args: { i: String(ops.includes('BiasAdd') ? 1 : 0) } });

/** Builds a graph model: nodes plus constants that go into the weights manifest. */
class Graph {
  nodes: TfNode[] = [];
  weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: number[] }[] = [];
  private rand: Rand;
  constructor(seed: number) {
    this.rand = new Rand(seed);
  }
  input(name: string, h: number, w: number) {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, h, w, 3].map((size) => ({ size: String(size) })) } } } });
    return name;
  }
  const(name: string, shape: number[], data?: number[], dtype: 'float32' | 'int32' = 'float32') {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = data ?? Array.from(this.rand.uniform(n, -0.5, 0.5));
    this.weights.push({ name, shape, dtype, data: values });
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } } } });
    return name;
  }
  op(name: string, op: string, input: string[], attr: Record<string, TfAttr> = {}) {
    this.nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  }
  build(): { json: GraphModelJson; bin: Uint8Array } {
    const bytes = this.weights.map((w) => new Uint8Array((w.dtype === 'int32' ? Int32Array.from(w.data) : Float32Array.from(w.data)).buffer));
    const bin = new Uint8Array(bytes.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const b of bytes) {
      bin.set(b, at);
      at += b.length;
    }
    return {
      json: { format: 'graph-model', modelTopology: { node: this.nodes, versions: { producer: 1 } } as GraphModelJson['modelTopology'], weightsManifest: [{ paths: ['w.bin'], weights: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }] },
      bin,
    };
  }
}

async function tfjsRun(json: GraphModelJson, bin: Uint8Array, x: Float32Array, shape: number[], output: string): Promise<Float32Array> {
  const m = await loadGraphModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: bin.slice().buffer }),
  } as never);
  const y = m.execute(tf.tensor4d(x, shape as [number, number, number, number]), output) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  tf.dispose([y]);
  return out;
}

async function oursRun(bytes: Uint8Array, x: Float32Array, [N, H, W]: number[]): Promise<Float32Array> {
  const nchw = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) nchw[(n * 3 + c) * H * W + i] = x[(n * H * W + i) * 3 + c];
  const m = OnnxModule.fromBytes(bytes, 'converted');
  const y = F.tidy(() => F.noGrad(() => m.run({ input: F.tensor(nchw, [N, 3, H, W]) }).embedding));
  const out = await y.data();
  y.dispose();
  m.dispose();
  return out;
}

/** Every op and idiom the converter knows, on a 9×11 input. */
function fullGraph(seed: number, depthwiseRelu = false): Graph {
  const g = new Graph(seed);
  const x = g.input('img', 9, 11);
  const attrs = (padding: string, s: number[]) => ({ padding: { s: b64(padding) }, strides: ints(1, s[0], s[1], 1), data_format: { s: b64('NHWC') }, dilations: ints(1, 1, 1, 1) });
  const c1 = g.op('c1', '_FusedConv2D', [x, g.const('w1', [3, 3, 3, 4]), g.const('b1', [4])], { ...attrs('SAME', [2, 2]), ...fused('BiasAdd') });
  // PReLU as tf.keras exports it: relu(x) + c·(x − |x|).
  const p1 = g.op('p1', 'Add', [g.op('r1', 'Relu', [c1]), g.op('m1', 'Mul', [g.op('s1', 'Sub', [c1, g.op('a1', 'Abs', [c1])]), g.const('alpha1', [4])])]);
  const dw = g.op('dw', 'FusedDepthwiseConv2dNative', [p1, g.const('wd', [3, 3, 4, 2]), g.const('bd', [8])], { ...attrs('SAME', [1, 1]), ...fused('BiasAdd', ...(depthwiseRelu ? ['Relu'] : [])) });
  // What the tfjs converter leaves where it fused the relu of a PReLU into the conv: x + c·(x − |x|).
  const p1b = g.op('p1b', 'Add', [dw, g.op('m1b', 'Mul', [g.op('s1b', 'Sub', [dw, g.op('a1b', 'Abs', [dw])]), g.const('alpha1b', [8])])]);
  const padded = g.op('pad', 'Pad', [p1b, g.const('pads', [4, 2], [0, 0, 1, 1, 0, 1, 0, 0], 'int32')]);
  const c2 = g.op('c2', 'Conv2D', [padded, g.const('w2', [3, 3, 8, 6])], attrs('VALID', [1, 2]));
  // PReLU as MXNet exports it: max(0, x) + g·min(0, x).
  const zero = g.const('zero', [], [0]);
  const p2 = g.op('p2', 'AddV2', [g.op('mx', 'Maximum', [zero, c2]), g.op('mg', 'Mul', [g.const('gamma', [6]), g.op('mn', 'Minimum', [zero, c2])])]);
  const flat = g.op('flat', 'Reshape', [p2, g.const('shape', [2], [-1, 5 * 3 * 6], 'int32')]);
  const mm = g.op('mm', 'MatMul', [flat, g.const('wm', [90, 7])], { transpose_a: { b: false }, transpose_b: { b: false } });
  const bn = g.op('bn', 'AddV2', [g.op('bnm', 'Mul', [mm, g.const('bns', [7])]), g.const('bnt', [7])]);
  const sq = g.op('sq', 'Square', [bn]);
  const sum = g.op('sum', 'Sum', [sq, g.const('axis', [1], [-1], 'int32')], { keep_dims: { b: true } });
  const rs = g.op('rs', 'Rsqrt', [g.op('mxe', 'Maximum', [sum, g.const('eps', [], [1e-10])])]);
  g.op('embeddings', 'Mul', [bn, rs]);
  return g;
}

describe('tfjs graph models → ONNX, checked against TensorFlow.js running the same graph', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('TF SAME padding splits the excess with the larger half after', () => {
    expect(samePads(9, 3, 2)).toEqual([1, 1]);
    expect(samePads(10, 3, 2)).toEqual([0, 1]);
    expect(samePads(11, 4, 1)).toEqual([1, 2]);
    expect(samePads(7, 1, 1)).toEqual([0, 0]);
  });

  it('every supported op and both PReLU idioms and the L2 norm: same embeddings as tfjs', async () => {
    const { json, bin } = fullGraph(1).build();
    const bytes = convertGraphModel(json, bin, { output: 'embeddings' });
    const kinds = OnnxModule.fromBytes(bytes).layers().map((l) => l.op);
    // The idioms became one op each.
    expect(kinds.filter((k) => k === 'PRelu')).toHaveLength(3);
    expect(kinds).toContain('LpNormalization');
    expect(kinds).not.toContain('Abs');
    const x = new Rand(2).uniform(2 * 9 * 11 * 3, -1, 1);
    const want = await tfjsRun(json, bin, Float32Array.from(x), [2, 9, 11, 3], 'embeddings');
    const got = await oursRun(bytes, Float32Array.from(x), [2, 9, 11]);
    expect(got.length).toBe(14);
    expect(relErr(got, want)).toBeLessThan(1e-5);
  });

  it('a relu fused into a conv that feeds a PReLU: converted as shipped, or repaired into the PReLU it was', async () => {
    const shipped = fullGraph(3, true).build();
    const x = Float32Array.from(new Rand(4).uniform(9 * 11 * 3, -1, 1));
    const asShipped = await oursRun(convertGraphModel(shipped.json, shipped.bin, { output: 'embeddings' }), x, [1, 9, 11]);
    expect(relErr(asShipped, await tfjsRun(shipped.json, shipped.bin, x, [1, 9, 11, 3], 'embeddings'))).toBeLessThan(1e-5);
    // The repaired conversion computes relu(z) + c·(z − |z|) of the conv's pre-activation z, which is what the
    // graph without the fused relu and with an explicit Relu computes.
    const meant = fullGraph(3, false);
    const dwRelu = meant.op('dw_relu', 'Relu', ['dw']);
    const p1b = meant.nodes.find((n) => n.name === 'p1b')!;
    p1b.input = [dwRelu, 'm1b'];
    const m = meant.build();
    const repaired = await oursRun(convertGraphModel(shipped.json, shipped.bin, { output: 'embeddings', repairFusedPrelu: true }), x, [1, 9, 11]);
    expect(relErr(repaired, await tfjsRun(m.json, m.bin, x, [1, 9, 11, 3], 'embeddings'))).toBeLessThan(1e-5);
    expect(relErr(repaired, asShipped)).toBeGreaterThan(1e-3);
  });

  it('Keras-style MobileNet ops (relu6 as min/max, spatial mean, fused matmul), float16 weights, BGR input', async () => {
    const g = new Graph(11);
    const x = g.input('img', 10, 7);
    const attrs = (padding: string, s: number) => ({ padding: { s: b64(padding) }, strides: ints(1, s, s, 1), data_format: { s: b64('NHWC') }, dilations: ints(1, 1, 1, 1) });
    const c = g.op('c', 'Conv2D', [x, g.const('w', [3, 3, 3, 5])], attrs('SAME', 2));
    const bn = g.op('bn', 'Add', [c, g.const('shift', [5])]);
    const r6 = g.op('r6', 'Maximum', [g.op('r6min', 'Minimum', [g.op('relu', 'Relu', [bn]), g.const('six', [], [0.3])]), g.const('z', [], [0])]);
    const dw = g.op('dw', 'DepthwiseConv2dNative', [r6, g.const('wd', [3, 3, 5, 1])], attrs('SAME', 1));
    const floor = g.op('floor', 'Maximum', [g.op('scale', 'Mul', [dw, g.const('s', [5])]), g.const('lo', [], [-0.05])]);
    const mean = g.op('mean', 'Mean', [floor, g.const('axes', [2], [1, 2], 'int32')], { keep_dims: { b: false } });
    g.op('out', '_FusedMatMul', [mean, g.const('wm', [5, 4]), g.const('bm', [4])], { ...fused('BiasAdd', 'Relu'), transpose_a: { b: false }, transpose_b: { b: false } });
    // Store the float weights as float16, as the face-res model does.
    const { json, bin: bin32 } = g.build();
    const halves: number[] = [];
    const toHalf = (v: number) => {
      const f = new Float32Array([v]);
      const u = new Uint32Array(f.buffer)[0];
      const sign = (u >>> 16) & 0x8000;
      const exp = ((u >>> 23) & 0xff) - 127 + 15;
      if (exp <= 0) return sign;
      return sign | (exp << 10) | ((u >>> 13) & 0x3ff);
    };
    let at = 0;
    for (const w of json.weightsManifest[0].weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const view = new DataView(bin32.buffer, at, 4 * n);
      at += 4 * n;
      if (w.dtype === 'int32') {
        for (let i = 0; i < n; i++) halves.push(view.getUint16(4 * i, true), view.getUint16(4 * i + 2, true));
        continue;
      }
      (w as { quantization?: object }).quantization = { dtype: 'float16' };
      for (let i = 0; i < n; i++) halves.push(toHalf(view.getFloat32(4 * i, true)));
    }
    const bin = new Uint8Array(Uint16Array.from(halves).buffer);
    const bytes = convertGraphModel(json, bin, { output: 'out', bgr: true });
    const kinds = OnnxModule.fromBytes(bytes).layers().map((l) => l.op);
    expect(kinds.filter((k) => k === 'Clip')).toHaveLength(2);
    const rgb = Float32Array.from(new Rand(12).uniform(2 * 10 * 7 * 3, -1, 1));
    const bgr = rgb.slice();
    for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [bgr[i + 2], bgr[i]];
    const want = await tfjsRun(json, bin, bgr, [2, 10, 7, 3], 'out');
    const got = await oursRun(bytes, rgb, [2, 10, 7]);
    expect(want.some((v) => v > 0)).toBe(true);
    expect(relErr(got, want)).toBeLessThan(1e-5);
  });

  it('refuses what it does not know, by name', () => {
    const g = new Graph(5);
    g.op('t', 'Tanh', [g.input('img', 4, 4)]);
    const { json, bin } = g.build();
    expect(() => convertGraphModel(json, bin, { output: 't' })).toThrow(TfjsConvertError);
    expect(() => convertGraphModel(json, bin, { output: 't' })).toThrow(/op 'Tanh'/);
    expect(() => convertGraphModel(json, bin, { output: 'nope' })).toThrow(/no node 'nope'/);
    expect(() => convertGraphModel({ modelTopology: {} } as never, bin, { output: 't' })).toThrow(/not a TensorFlow.js graph model/);
  });

  for (const [id, size, dim] of [['mobileface', 112, 256], ['faceres', 224, 1024]] as const) it(`the bundled network ${id} loads as a face model and tells the sample face from the average face`, async () => {
    const judge = FaceModel.fromBytes(new Uint8Array(readFileSync(`assets/judges/${id}.onnx`)), id);
    expect(judge.networkSize).toBe(size);
    expect(judge.imageSize).toBe(150);
    expect(judge.distance).toBe('cosine');
    const astro = readPng('assets/faces/astronaut.png');
    const mirror = mirrorImage(astro);
    const guide = readPng('assets/guides/lfw-average.png');
    const e = F.tidy(() => F.noGrad(() => judge.embed(judge.pixels([astro, mirror, guide])).embedding));
    expect(e.shape).toEqual([3, dim]);
    const d = await e.data();
    e.dispose();
    judge.dispose();
    const v = (i: number) => d.subarray(i * dim, (i + 1) * dim);
    expect(cosine(v(0), v(1))).toBeGreaterThan(0.8);
    expect(cosine(v(0), v(2))).toBeLessThan(cosine(v(0), v(1)) - 0.3);
  });
});
