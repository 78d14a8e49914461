// The converter is faithful: face-api's own forward pass (its layer code re-run with tfjs-core on the CPU
// backend, weights decoded by tfjs itself) and onnxruntime-node on the converted ONNX file agree.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import { faceApiModelDir } from '../src/models/faceapi-node.ts';
import { defaultModelPath, sampleFaceRgb, normalizedNchw } from './helpers/faces.ts';

type P = Record<string, tf.Tensor>;

/** face-api 1.7.15 src/faceRecognitionNet (FaceRecognitionNet.forwardInput, convLayer.ts, residualLayer.ts). */
function faceApiForward(w: P, x: tf.Tensor4D): tf.Tensor2D {
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
  for (const b of ['conv32_1', 'conv32_2', 'conv32_3']) out = residual(out, b);
  out = residualDown(out, 'conv64_down');
  for (const b of ['conv64_1', 'conv64_2', 'conv64_3']) out = residual(out, b);
  out = residualDown(out, 'conv128_down');
  for (const b of ['conv128_1', 'conv128_2']) out = residual(out, b);
  out = residualDown(out, 'conv256_down');
  for (const b of ['conv256_1', 'conv256_2']) out = residual(out, b);
  out = residualDown(out, 'conv256_down_out');
  return tf.matMul(tf.mean(out, [1, 2]) as tf.Tensor2D, w.fc as tf.Tensor2D);
}

describe('default model: converter fidelity', () => {
  it('onnxruntime-node on the converted model matches face-api’s forward pass within 1e-4 on the sample face', async () => {
    await tf.setBackend('cpu');
    const dir = faceApiModelDir();
    const manifest = JSON.parse(readFileSync(join(dir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
    const bin = readFileSync(join(dir, manifest[0].paths[0]));
    const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights) as P;

    const face = sampleFaceRgb();
    expect([face.width, face.height]).toEqual([150, 150]);
    const mean = [122.782, 117.001, 104.298];
    const want = tf.tidy(() => {
      const img = tf.tensor4d(face.data, [1, 150, 150, 3]);
      return faceApiForward(weights, tf.div(tf.sub(img, tf.tensor1d(mean)), 255) as tf.Tensor4D).dataSync();
    });

    const session = await ort.InferenceSession.create(defaultModelPath());
    const result = await session.run({ input: new ort.Tensor('float32', normalizedNchw(face.data, 150, 150), [1, 3, 150, 150]) });
    const got = result.embedding.data as Float32Array;
    expect(got.length).toBe(128);
    let maxDiff = 0;
    for (let i = 0; i < 128; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    const norm = Math.hypot(...want);
    // The sample face embeds at a norm of about 1.48 (shared/faces/README.md).
    expect(norm).toBeGreaterThan(1.3);
    expect(norm).toBeLessThan(1.7);
    expect(maxDiff).toBeLessThan(1e-4);
    await session.release();
    Object.values(weights).forEach((t) => t.dispose());
  });
});
