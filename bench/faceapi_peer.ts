// face-api's FaceRecognitionNet forward pass (1.7.15, src/faceRecognitionNet: FaceRecognitionNet.forwardInput,
// convLayer.ts, residualLayer.ts) written with tfjs-core ops: the oracle of the converter test and the
// tfjs-webgpu peer of bench/embed. Input: NHWC, already normalised ((pixel − mean) / 255).
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faceApiModelDir } from '../src/models/faceapi-node.ts';

export type P = Record<string, tf.Tensor>;

export function faceApiForward(w: P, x: tf.Tensor4D): tf.Tensor2D {
  return faceApiForwardTaps(w, x, []).embedding;
}

/** The forward pass, also returning the outputs of the named blocks (e.g. 'conv64_3', as in the ONNX model). */
export function faceApiForwardTaps(w: P, x: tf.Tensor4D, tapNames: string[]): { embedding: tf.Tensor2D; taps: Record<string, tf.Tensor4D> } {
  const taps: Record<string, tf.Tensor4D> = {};
  const tap = (name: string, t: tf.Tensor4D) => {
    if (tapNames.includes(name)) taps[name] = t;
    return t;
  };
  const convLayer = (x: tf.Tensor4D, p: string, strides: [number, number], relu: boolean, padding: 'valid' | 'same' = 'same') => {
    let out = tf.conv2d(x, w[`${p}/conv/filters`] as tf.Tensor4D, strides, padding);
    out = tf.add(out, w[`${p}/conv/bias`]);
    out = tf.add(tf.mul(out, w[`${p}/scale/weights`]), w[`${p}/scale/biases`]);
    return relu ? tf.relu(out) : out;
  };
  const residual = (x: tf.Tensor4D, p: string) => {
    let out = convLayer(x, `${p}/conv1`, [1, 1], true);
    out = convLayer(out, `${p}/conv2`, [1, 1], false);
    return tf.relu(tf.add(out, x)) as tf.Tensor4D;
  };
  const residualDown = (x: tf.Tensor4D, p: string) => {
    let out = convLayer(x, `${p}/conv1`, [2, 2], true, 'valid');
    out = convLayer(out, `${p}/conv2`, [1, 1], false);
    let pooled = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
    const zeros = tf.zeros<tf.Rank.R4>(pooled.shape);
    const isPad = pooled.shape[3] !== out.shape[3];
    if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
      const padX = [...out.shape] as [number, number, number, number];
      padX[1] = 1;
      out = tf.concat([out, tf.zeros<tf.Rank.R4>(padX)], 1);
      const padY = [...out.shape] as [number, number, number, number];
      padY[2] = 1;
      out = tf.concat([out, tf.zeros<tf.Rank.R4>(padY)], 2);
    }
    pooled = isPad ? tf.concat([pooled, zeros], 3) : pooled;
    return tf.relu(tf.add(pooled, out)) as tf.Tensor4D;
  };
  let out = convLayer(x, 'conv32_down', [2, 2], true, 'valid');
  out = tf.maxPool(out, 3, 2, 'valid');
  for (const b of ['conv32_1', 'conv32_2', 'conv32_3']) out = tap(b, residual(out, b));
  out = residualDown(out, 'conv64_down');
  for (const b of ['conv64_1', 'conv64_2', 'conv64_3']) out = tap(b, residual(out, b));
  out = residualDown(out, 'conv128_down');
  for (const b of ['conv128_1', 'conv128_2']) out = tap(b, residual(out, b));
  out = residualDown(out, 'conv256_down');
  for (const b of ['conv256_1', 'conv256_2']) out = tap(b, residual(out, b));
  out = residualDown(out, 'conv256_down_out');
  return { embedding: tf.matMul(tf.mean(out, [1, 2]) as tf.Tensor2D, w.fc as tf.Tensor2D), taps };
}

/** face-api's recognition-net weights, decoded by tfjs (its own layout: NHWC filters). */
export function loadFaceApiWeights(): P {
  const dir = faceApiModelDir();
  const manifest = JSON.parse(readFileSync(join(dir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
  const bin = readFileSync(join(dir, manifest[0].paths[0]));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights) as P;
}

/**
 * Registers tfjs-core's gradients (its Node build registers none, and its ES-module files import directories,
 * which Node refuses): bundles the registration once into out/ and imports it. Registries and the engine live
 * on a tfjs global, so the gradients land in the instance the benches use. A machine without esbuild (the GPU
 * machine's bundle, bench/gpu/pack.mjs) brings the bundled file along instead.
 */
export async function registerTfjsGradients(): Promise<void> {
  const file = join(process.cwd(), 'out', 'tfjs-gradients.mjs');
  if (!existsSync(file) || !process.env.FACEINV_BENCH_PACKED) {
    const { buildSync } = await import('esbuild');
    buildSync({ entryPoints: ['node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js'], bundle: true, format: 'esm', platform: 'node', outfile: file, logLevel: 'error' });
  }
  await import(file);
}
