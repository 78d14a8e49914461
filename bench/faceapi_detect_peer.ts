// face-api's tiny face detector and 68-point landmark net (1.7.15: tinyYolov2/TinyYolov2Base.runMobilenet,
// tinyYolov2/depthwiseSeparableConv, leaky; faceFeatureExtractor/denseBlock4, FaceFeatureExtractor,
// faceProcessor/FaceProcessor.runNet; dom/NetInput.toBatchTensor, ops/padToSquare, dom/extractFaceTensors,
// faceLandmarkNet/FaceLandmark68NetBase.postProcess) written with tfjs-core ops: the oracle of the detector test
// and the tfjs peer of the detection bench. Weights are decoded by tfjs itself.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faceApiModelDir } from '../src/models/faceapi-node.ts';
import { decodeBoxes } from '../src/models/face_detect.ts';

export type P = Record<string, tf.Tensor>;

export function loadWeights(name: string): P {
  const dir = faceApiModelDir();
  const manifest = JSON.parse(readFileSync(join(dir, `${name}-weights_manifest.json`), 'utf8'));
  const bin = readFileSync(join(dir, manifest[0].paths[0]));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights) as P;
}

/** ops/padToSquare. */
function padToSquare(img: tf.Tensor4D, centred: boolean): tf.Tensor4D {
  const [, height, width] = img.shape;
  if (height === width) return img;
  const amount = Math.abs(height - width);
  const floor = Math.round(amount * (centred ? 0.5 : 1));
  const axis = height > width ? 2 : 1;
  const pad = (n: number) => {
    const s = img.shape.slice() as [number, number, number, number];
    s[axis] = n;
    return tf.fill(s, 0, 'float32');
  };
  const remaining = amount - floor;
  const parts = [centred && remaining ? pad(remaining) : null, img, pad(floor)].filter((t): t is tf.Tensor4D => !!t);
  return tf.concat(parts, axis);
}

/** NetInput.toBatchTensor for one HWC image. */
export function toBatchTensor(hwc: tf.Tensor3D, size: number, centred: boolean): tf.Tensor4D {
  let t = padToSquare(tf.expandDims(hwc, 0) as tf.Tensor4D, centred);
  if (t.shape[1] !== size || t.shape[2] !== size) t = tf.image.resizeBilinear(t, [size, size], false, false);
  return t;
}

const leaky = (x: tf.Tensor4D) => {
  const min = tf.mul(x, tf.scalar(0.10000000149011612));
  return tf.add(tf.relu(tf.sub(x, min)), min) as tf.Tensor4D;
};

/** TinyYolov2Base.forwardInput with the tiny face detector's config: [1, S, S, 3] pixels → [1, G, G, 25]. */
export function detectorForward(w: P, batch: tf.Tensor4D): tf.Tensor4D {
  const x = tf.div(tf.sub(batch, tf.tensor1d([117.001, 114.697, 97.404])), 255) as tf.Tensor4D;
  const sep = (x: tf.Tensor4D, p: string) => {
    let out = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D;
    out = tf.separableConv2d(out, w[`${p}/depthwise_filter`] as tf.Tensor4D, w[`${p}/pointwise_filter`] as tf.Tensor4D, [1, 1], 'valid');
    return leaky(tf.add(out, w[`${p}/bias`]));
  };
  let out = leaky(tf.add(tf.conv2d(x, w['conv0/filters'] as tf.Tensor4D, [1, 1], 'valid'), w['conv0/bias']));
  out = tf.maxPool(out, [2, 2], [2, 2], 'same');
  for (let k = 1; k <= 5; k++) {
    out = sep(out, `conv${k}`);
    out = tf.maxPool(out, [2, 2], k < 5 ? [2, 2] : [1, 1], 'same');
  }
  return tf.add(tf.conv2d(out, w['conv8/filters'] as tf.Tensor4D, [1, 1], 'valid'), w['conv8/bias']);
}

/** FaceLandmark68Net.runNet: [N, 112, 112, 3] pixels → [N, 136] relative positions. */
export function landmarkForward(w: P, batch: tf.Tensor4D): tf.Tensor2D {
  const x = tf.div(tf.sub(batch, tf.tensor1d([122.782, 117.001, 104.298])), 255) as tf.Tensor4D;
  const sep = (x: tf.Tensor4D, p: string, s: number) => tf.add(tf.separableConv2d(x, w[`${p}/depthwise_filter`] as tf.Tensor4D, w[`${p}/pointwise_filter`] as tf.Tensor4D, [s, s], 'same'), w[`${p}/bias`]) as tf.Tensor4D;
  const dense4 = (x: tf.Tensor4D, p: string, first: boolean) => {
    const out1 = tf.relu(first ? tf.add(tf.conv2d(x, w[`${p}/conv0/filters`] as tf.Tensor4D, [2, 2], 'same'), w[`${p}/conv0/bias`]) : sep(x, `${p}/conv0`, 2)) as tf.Tensor4D;
    const out2 = sep(out1, `${p}/conv1`, 1);
    const in3 = tf.relu(tf.add(out1, out2)) as tf.Tensor4D;
    const out3 = sep(in3, `${p}/conv2`, 1);
    const in4 = tf.relu(tf.add(out1, tf.add(out2, out3))) as tf.Tensor4D;
    const out4 = sep(in4, `${p}/conv3`, 1);
    return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as tf.Tensor4D;
  };
  let out = dense4(x, 'dense0', true);
  for (const p of ['dense1', 'dense2', 'dense3']) out = dense4(out, p, false);
  out = tf.avgPool(out, [7, 7], [2, 2], 'valid');
  return tf.add(tf.matMul(tf.reshape(out, [out.shape[0], -1]) as tf.Tensor2D, w['fc/weights'] as tf.Tensor2D), w['fc/bias']) as tf.Tensor2D;
}

/** detectAllFaces(img, TinyFaceDetectorOptions).withFaceLandmarks() on an HWC tensor, as face-api computes it. */
export async function faceApiDetect(det: P, lm: P, img: { width: number; height: number; data: Float32Array }, scoreThreshold = 0.5) {
  const hwc = tf.tensor3d(img.data, [img.height, img.width, 3]);
  const raw = tf.tidy(() => tf.transpose(detectorForward(det, toBatchTensor(hwc, 416, false)), [0, 3, 1, 2]));
  const grid = raw.shape[2];
  const rel = decodeBoxes((await raw.data()) as Float32Array, grid, img.width, img.height, scoreThreshold, 416);
  raw.dispose();
  const faces = [];
  for (const b of rel) {
    const box = { x: b.x * img.width, y: b.y * img.height, width: b.w * img.width, height: b.h * img.height, score: b.score };
    // extractFaceTensors: Box.clipAtImageBorders(...).floor(), then slice.
    const cx = Math.max(box.x, 0);
    const cy = Math.max(box.y, 0);
    const cw = Math.floor(Math.min(box.x + box.width - cx, img.width - cx));
    const ch = Math.floor(Math.min(box.y + box.height - cy, img.height - cy));
    const [x0, y0] = [Math.floor(cx), Math.floor(cy)];
    const out = tf.tidy(() => landmarkForward(lm, toBatchTensor(tf.slice3d(hwc, [y0, x0, 0], [ch, cw, 3]), 112, true)));
    const rel = await out.data();
    out.dispose();
    // postProcess then FaceLandmarks(imageDims = crop) shifted by the detection box's corner.
    const scale = 112 / Math.max(cw, ch);
    const iw = cw * scale;
    const ih = ch * scale;
    const padX = iw < ih ? Math.abs(iw - ih) / 2 : 0;
    const padY = ih < iw ? Math.abs(iw - ih) / 2 : 0;
    const landmarks = Array.from({ length: 68 }, (_, i): [number, number] => [((rel[2 * i] * 112 - padX) / iw) * cw + box.x, ((rel[2 * i + 1] * 112 - padY) / ih) * ch + box.y]);
    faces.push({ box, landmarks });
  }
  hwc.dispose();
  return faces;
}
