// The converter is faithful: face-api's own forward pass (its layer code re-run with tfjs-core on the CPU
// backend, weights decoded by tfjs itself) and onnxruntime-node on the converted ONNX file agree.
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import { defaultModelPath, sampleFaceRgb, normalizedNchw } from './helpers/faces.ts';
import { faceApiForward, loadFaceApiWeights } from '../bench/faceapi_peer.ts';

describe('default model: converter fidelity', () => {
  it('onnxruntime-node on the converted model matches face-api’s forward pass within 1e-4 on the sample face', async () => {
    await tf.setBackend('cpu');
    const weights = loadFaceApiWeights();

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
