// Test inputs: the shared sample face and the converted default model.
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { convertDefaultModel } from '../../src/models/faceapi-node.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_MODEL = join(root, 'models', 'dlib_face_recognition_resnet.onnx');
export const SAMPLE_FACE = join(root, '..', 'shared', 'faces', 'astronaut.png');

/** The default model as npm install produced it (converted here if this checkout has not built it yet). */
export function defaultModelPath(): string {
  if (!existsSync(DEFAULT_MODEL)) convertDefaultModel(DEFAULT_MODEL);
  return DEFAULT_MODEL;
}

/** RGB pixels of the sample face, HWC, 0..255. */
export function sampleFaceRgb(): { data: Float32Array; width: number; height: number } {
  const png = PNG.sync.read(readFileSync(SAMPLE_FACE));
  const data = new Float32Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = png.data[i * 4 + c];
  return { data, width: png.width, height: png.height };
}

/** face-api's preprocessing, NCHW: (pixel − mean) / 255. */
export function normalizedNchw(rgb: Float32Array, h: number, w: number): Float32Array {
  const mean = [122.782, 117.001, 104.298];
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[c * h * w + i] = (rgb[i * 3 + c] - mean[c]) / 255;
  return out;
}
