// Converts dlib's ResNet face-recognition network as shipped by @vladmandic/face-api (a tfjs weights manifest
// + .bin; most tensors uint8-quantised with scale/min) into a standard ONNX model, NCHW, opset 17.
// The graph reproduces face-api's FaceRecognitionNet.forwardInput after its preprocessing, which travels in
// metadata_props: input = (RGB pixel − mean) / 255 at 150×150.
import { floatTensor, int64Tensor, node, valueInfo, model, encodeModel } from './onnx/builder.ts';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export const FACE_MODEL_META = {
  'faceinv.input_size': '150',
  'faceinv.color_order': 'RGB',
  'faceinv.mean': '[122.782,117.001,104.298]',
  'faceinv.scale': '0.00392156862745098',
  'faceinv.embedding_size': '128',
  'faceinv.same_person_threshold': '0.6',
  'faceinv.distance': 'euclidean',
  'faceinv.guide_layers': '["conv32_3","conv64_3","conv128_2","conv256_2"]',
  'faceinv.source': "dlib_face_recognition_resnet_model_v1 via @vladmandic/face-api 1.7.15 (model/face_recognition_model)",
};

/** IEEE half precision → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Reads the tensors of a tfjs weights manifest (float32, int32, uint8- and float16-quantised) out of its concatenated .bin shards. */
export function readWeights(specs: WeightSpec[], bin: Uint8Array): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let at = 0;
  for (const w of specs) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const q = w.quantization;
    let data: Float32Array;
    if (q?.dtype === 'float16') {
      if (at + 2 * n > bin.length) throw new Error(`tfjs weights: the .bin ends inside ${w.name}`);
      const view = new DataView(bin.buffer, bin.byteOffset + at, 2 * n);
      data = Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
      at += 2 * n;
    } else if (q) {
      if (q.dtype !== 'uint8') throw new Error(`tfjs weights: ${w.name} uses ${q.dtype} quantisation; only uint8 and float16 are supported`);
      if (at + n > bin.length) throw new Error(`tfjs weights: the .bin ends inside ${w.name}`);
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = q.min! + q.scale! * bin[at + i];
      at += n;
    } else {
      const dtype = w.dtype ?? 'float32';
      if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`tfjs weights: ${w.name} has dtype ${w.dtype}`);
      if (at + 4 * n > bin.length) throw new Error(`tfjs weights: the .bin ends inside ${w.name}`);
      const bytes = bin.slice(at, at + 4 * n).buffer;
      // Integer tensors (paddings, shapes) are small: kept as floats, exact below 2^24.
      data = dtype === 'int32' ? Float32Array.from(new Int32Array(bytes)) : new Float32Array(bytes);
      at += 4 * n;
    }
    out.set(w.name, { shape: w.shape, data });
  }
  if (at !== bin.length) throw new Error(`tfjs weights: ${bin.length - at} bytes of the .bin were not described by the manifest`);
  return out;
}

/**
 * Builds the ONNX model bytes from face-api's recognition weights. Long on purpose: it writes the network out
 * layer by layer in the order of face-api's forwardInput, so it can be checked against that file line by line.
 */
export function convertFaceRecognitionNet(weights: Map<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const get = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`face-api weights: missing tensor ${name}`);
    return w;
  };
  const nodes: ReturnType<typeof node>[] = [];
  const inits: ReturnType<typeof floatTensor>[] = [];

  // conv (+bias) then ×scale + shift, folded into the conv: W'[o] = W[o]·s[o], B'[o] = b[o]·s[o] + t[o].
  const conv = (prefix: string, x: string, stride: number, pad: number, relu: boolean, out: string): string => {
    const f = get(`${prefix}/conv/filters`);
    const b = get(`${prefix}/conv/bias`).data;
    const s = get(`${prefix}/scale/weights`).data;
    const t = get(`${prefix}/scale/biases`).data;
    const [kh, kw, cin, cout] = f.shape;
    const W = new Float32Array(cout * cin * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) W[((o * cin + i) * kh + y) * kw + xx] = f.data[((y * kw + xx) * cin + i) * cout + o] * s[o];
    const B = Float32Array.from(b, (v, o) => v * s[o] + t[o]);
    inits.push(floatTensor(`${prefix}/W`, [cout, cin, kh, kw], W), floatTensor(`${prefix}/B`, [cout], B));
    const convOut = relu ? `${prefix}/conv` : out;
    nodes.push(node('Conv', [x, `${prefix}/W`, `${prefix}/B`], [convOut], { kernel_shape: [kh, kw], strides: [stride, stride], pads: [pad, pad, pad, pad] }));
    if (relu) nodes.push(node('Relu', [convOut], [out]));
    return out;
  };
  const residual = (p: string, x: string): string => {
    const a = conv(`${p}/conv1`, x, 1, 1, true, `${p}/conv1/out`);
    const b = conv(`${p}/conv2`, a, 1, 1, false, `${p}/conv2/out`);
    nodes.push(node('Add', [b, x], [`${p}/sum`]));
    nodes.push(node('Relu', [`${p}/sum`], [p]));
    return p;
  };
  // Down-sampling block: the shortcut is a 2×2/2 average pool, zero-padded in channels; the conv path is
  // zero-padded at the bottom/right when its size is one short of the pool's (as face-api does).
  const residualDown = (p: string, x: string, cin: number, h: number): [string, number] => {
    const cout = get(`${p}/conv1/conv/filters`).shape[3];
    const convH = Math.floor((h - 3) / 2) + 1;
    const poolH = Math.floor(h / 2);
    const a = conv(`${p}/conv1`, x, 2, 0, true, `${p}/conv1/out`);
    let b = conv(`${p}/conv2`, a, 1, 1, false, `${p}/conv2/out`);
    if (convH !== poolH) {
      const d = poolH - convH;
      inits.push(int64Tensor(`${p}/pad_conv`, [8], [0, 0, 0, 0, 0, 0, d, d]));
      nodes.push(node('Pad', [b, `${p}/pad_conv`], [`${p}/conv2/padded`]));
      b = `${p}/conv2/padded`;
    }
    nodes.push(node('AveragePool', [x], [`${p}/pool`], { kernel_shape: [2, 2], strides: [2, 2] }));
    let shortcut = `${p}/pool`;
    if (cout !== cin) {
      inits.push(int64Tensor(`${p}/pad_channels`, [8], [0, 0, 0, 0, 0, cout - cin, 0, 0]));
      nodes.push(node('Pad', [shortcut, `${p}/pad_channels`], [`${p}/pool/padded`]));
      shortcut = `${p}/pool/padded`;
    }
    nodes.push(node('Add', [b, shortcut], [`${p}/sum`]));
    nodes.push(node('Relu', [`${p}/sum`], [p]));
    return [p, poolH];
  };

  let x = conv('conv32_down', 'input', 2, 0, true, 'conv32_down');
  let h = Math.floor((150 - 7) / 2) + 1;
  nodes.push(node('MaxPool', [x], ['pool'], { kernel_shape: [3, 3], strides: [2, 2] }));
  x = 'pool';
  h = Math.floor((h - 3) / 2) + 1;
  for (const b of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(b, x);
  [x, h] = residualDown('conv64_down', x, 32, h);
  for (const b of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(b, x);
  [x, h] = residualDown('conv128_down', x, 64, h);
  for (const b of ['conv128_1', 'conv128_2']) x = residual(b, x);
  [x, h] = residualDown('conv256_down', x, 128, h);
  for (const b of ['conv256_1', 'conv256_2']) x = residual(b, x);
  [x, h] = residualDown('conv256_down_out', x, 256, h);
  nodes.push(node('GlobalAveragePool', [x], ['global_avg']));
  nodes.push(node('Flatten', ['global_avg'], ['features'], { axis: 1 }));
  const fc = get('fc');
  inits.push(floatTensor('fc', fc.shape, fc.data));
  nodes.push(node('MatMul', ['features', 'fc'], ['embedding']));

  return encodeModel(
    model({
      name: 'dlib_face_recognition_resnet',
      nodes,
      initializers: inits,
      inputs: [valueInfo('input', ['N', 3, 150, 150])],
      outputs: [valueInfo('embedding', ['N', 128])],
      metadata: FACE_MODEL_META,
    }),
  );
}
