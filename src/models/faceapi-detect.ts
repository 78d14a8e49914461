// Converts face-api's tiny face detector (a Tiny-YOLOv2 with depthwise-separable convolutions, 5 anchors) and
// its 68-point landmark nets (dense blocks of separable convolutions + a fully connected layer; full and tiny)
// from their tfjs weights into ONNX files the importer runs on the engine. Each graph takes 0..255 RGB pixels
// (NCHW) and holds its own normalisation; box decoding (anchors, NMS) and landmark scaling happen on the host
// (face_detect.ts). The layer code reproduced here is face-api's TinyYolov2Base.runMobilenet and
// FaceFeatureExtractor / TinyFaceFeatureExtractor + FaceProcessor.runNet.
import { floatTensor, node, valueInfo, model, encodeModel } from './onnx/builder.ts';

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** face-api's tiny face detector constants (tinyFaceDetector/const.ts). */
export const TINY_FACE_DETECTOR = {
  inputSize: 416,
  mean: [117.001, 114.697, 97.404] as [number, number, number],
  anchors: [
    [1.603231, 2.094468],
    [6.041143, 7.080126],
    [2.882459, 3.518061],
    [4.266906, 5.178857],
    [9.041765, 10.66308],
  ] as [number, number][],
  iouThreshold: 0.4,
};

/** The landmark nets' input side and pixel mean (faceFeatureExtractor). */
export const LANDMARK_NET = { inputSize: 112, mean: [122.782, 117.001, 104.298] as [number, number, number] };

class GraphBuilder {
  nodes: ReturnType<typeof node>[] = [];
  inits: ReturnType<typeof floatTensor>[] = [];
  constructor(private readonly w: Weights, private readonly what: string) {}

  get(name: string) {
    const t = this.w.get(name);
    if (!t) throw new Error(`${this.what} weights: missing tensor ${name}`);
    return t;
  }

  /** (x − mean) / 255 on 0..255 pixels. */
  normalise(x: string, mean: number[]): string {
    this.inits.push(floatTensor('pixel_mean', [1, 3, 1, 1], mean), floatTensor('pixel_scale', [1], [1 / 255]));
    this.nodes.push(node('Sub', [x, 'pixel_mean'], ['centred']), node('Mul', ['centred', 'pixel_scale'], ['normalised']));
    return 'normalised';
  }

  /** A tfjs [kh, kw, cin, cout] conv filter (+ bias) as an ONNX Conv. */
  conv(prefix: string, x: string, stride: number, pads: number[], out: string): string {
    const f = this.get(`${prefix}/filters`);
    const [kh, kw, cin, cout] = f.shape;
    const W = new Float32Array(cout * cin * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) W[((o * cin + i) * kh + y) * kw + xx] = f.data[((y * kw + xx) * cin + i) * cout + o];
    this.inits.push(floatTensor(`${prefix}/W`, [cout, cin, kh, kw], W), floatTensor(`${prefix}/B`, [cout], this.get(`${prefix}/bias`).data));
    this.nodes.push(node('Conv', [x, `${prefix}/W`, `${prefix}/B`], [out], { kernel_shape: [kh, kw], strides: [stride, stride], pads }));
    return out;
  }

  /** tf.separableConv2d + bias: a depthwise conv (group = channels) then a 1×1 conv. */
  separable(prefix: string, x: string, stride: number, pads: number[], out: string): string {
    const d = this.get(`${prefix}/depthwise_filter`);
    const p = this.get(`${prefix}/pointwise_filter`);
    const [kh, kw, cin] = d.shape;
    const cout = p.shape[3];
    const D = new Float32Array(cin * kh * kw);
    for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) for (let i = 0; i < cin; i++) D[(i * kh + y) * kw + xx] = d.data[(y * kw + xx) * cin + i];
    const P = new Float32Array(cout * cin);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) P[o * cin + i] = p.data[i * cout + o];
    this.inits.push(floatTensor(`${prefix}/Wd`, [cin, 1, kh, kw], D), floatTensor(`${prefix}/Wp`, [cout, cin, 1, 1], P), floatTensor(`${prefix}/B`, [cout], this.get(`${prefix}/bias`).data));
    this.nodes.push(
      node('Conv', [x, `${prefix}/Wd`], [`${prefix}/depthwise`], { kernel_shape: [kh, kw], strides: [stride, stride], pads, group: cin }),
      node('Conv', [`${prefix}/depthwise`, `${prefix}/Wp`, `${prefix}/B`], [out], { kernel_shape: [1, 1] }),
    );
    return out;
  }

  op(type: string, inputs: string[], out: string, attrs: Record<string, number | number[]> = {}): string {
    this.nodes.push(node(type, inputs, [out], attrs));
    return out;
  }
}

/** TensorFlow's 'same' padding of a k-wide window with this stride over n pixels: [before, after]. */
function samePads(n: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(n / stride);
  const total = Math.max((out - 1) * stride + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The tiny face detector as ONNX: input [N, 3, S, S] pixels 0..255 → [N, 25, S/32, S/32] raw box encodings (5 anchors × x, y, w, h, score). */
export function convertTinyFaceDetector(weights: Weights, inputSize = TINY_FACE_DETECTOR.inputSize): Uint8Array {
  const g = new GraphBuilder(weights, 'tiny face detector');
  let x = g.normalise('input', TINY_FACE_DETECTOR.mean);
  let n = inputSize;
  const leaky = (v: string, out: string) => g.op('LeakyRelu', [v], out, { alpha: 0.10000000149011612 });
  const pool = (v: string, stride: number, out: string) => {
    const [a, b] = samePads(n, 2, stride);
    n = Math.ceil(n / stride);
    return g.op('MaxPool', [v], out, { kernel_shape: [2, 2], strides: [stride, stride], pads: [a, a, b, b] });
  };
  x = leaky(g.conv('conv0', x, 1, [0, 0, 0, 0], 'conv0/out'), 'conv0');
  n -= 2;
  x = pool(x, 2, 'pool0');
  for (let k = 1; k <= 5; k++) {
    x = leaky(g.separable(`conv${k}`, x, 1, [1, 1, 1, 1], `conv${k}/out`), `conv${k}`);
    x = pool(x, k < 5 ? 2 : 1, `pool${k}`);
  }
  for (const k of [6, 7]) if (weights.has(`conv${k}/depthwise_filter`)) x = leaky(g.separable(`conv${k}`, x, 1, [1, 1, 1, 1], `conv${k}/out`), `conv${k}`);
  g.conv('conv8', x, 1, [0, 0, 0, 0], 'boxes');
  return encodeModel(
    model({
      name: 'tiny_face_detector',
      nodes: g.nodes,
      initializers: g.inits,
      inputs: [valueInfo('input', ['N', 3, inputSize, inputSize])],
      outputs: [valueInfo('boxes', ['N', 25, n, n])],
      metadata: {
        'faceinv.kind': 'face-detector',
        'faceinv.anchors': JSON.stringify(TINY_FACE_DETECTOR.anchors),
        'faceinv.source': 'tiny_face_detector_model via @vladmandic/face-api 1.7.15',
      },
    }),
  );
}

/** A 68-point landmark net (full: 4 dense blocks of 4 convs; tiny: 3 of 3) as ONNX: [N, 3, 112, 112] pixels 0..255 → [N, 136] (x, y pairs in 0..1 of the input). */
export function convertLandmarkNet(weights: Weights): Uint8Array {
  const tiny = !weights.has('dense3/conv0/depthwise_filter');
  const g = new GraphBuilder(weights, 'landmark net');
  let x = g.normalise('input', LANDMARK_NET.mean);
  let n = LANDMARK_NET.inputSize;
  const blocks = tiny ? 3 : 4;
  const convs = tiny ? 3 : 4;
  for (let b = 0; b < blocks; b++) {
    const p = `dense${b}`;
    const [a, c] = samePads(n, 3, 2);
    const down = [a, a, c, c];
    n = Math.ceil(n / 2);
    const out1 = g.op('Relu', [b === 0 ? g.conv(`${p}/conv0`, x, 2, down, `${p}/conv0/out`) : g.separable(`${p}/conv0`, x, 2, down, `${p}/conv0/out`)], `${p}/out1`);
    const outs = [out1];
    let inp = out1;
    for (let k = 1; k < convs; k++) {
      outs.push(g.separable(`${p}/conv${k}`, inp, 1, [1, 1, 1, 1], `${p}/out${k + 1}`));
      let sum = outs[0];
      for (let j = 1; j < outs.length; j++) sum = g.op('Add', [sum, outs[j]], `${p}/sum${k}_${j}`);
      inp = g.op('Relu', [sum], k === convs - 1 ? p : `${p}/in${k + 2}`);
    }
    x = inp;
  }
  x = g.op('AveragePool', [x], 'features_pool', { kernel_shape: [n, n], strides: [2, 2] });
  x = g.op('Flatten', [x], 'features', { axis: 1 });
  const fc = g.get('fc/weights');
  g.inits.push(floatTensor('fc/W', fc.shape, fc.data), floatTensor('fc/B', [fc.shape[1]], g.get('fc/bias').data));
  g.op('Add', [g.op('MatMul', [x, 'fc/W'], 'fc/mm'), 'fc/B'], 'landmarks');
  return encodeModel(
    model({
      name: tiny ? 'face_landmark_68_tiny' : 'face_landmark_68',
      nodes: g.nodes,
      initializers: g.inits,
      inputs: [valueInfo('input', ['N', 3, LANDMARK_NET.inputSize, LANDMARK_NET.inputSize])],
      outputs: [valueInfo('landmarks', ['N', 136])],
      metadata: { 'faceinv.kind': 'face-landmarks-68', 'faceinv.source': `${tiny ? 'face_landmark_68_tiny_model' : 'face_landmark_68_model'} via @vladmandic/face-api 1.7.15` },
    }),
  );
}
