// Node side of the converter: finds face-api's files in node_modules and writes the ONNX file.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { readWeights, convertFaceRecognitionNet, type WeightSpec } from './faceapi.ts';
import { convertTinyFaceDetector, convertLandmarkNet } from './faceapi-detect.ts';

export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@vladmandic/face-api/package.json');
  } catch {
    throw new Error(
      "converting the default model needs the npm package '@vladmandic/face-api' (npm install @vladmandic/face-api); " +
        'an installed faceinv already ships the converted model in models/',
    );
  }
  return join(dirname(pkg), 'model');
}

/** The tensors of one of face-api's models (`face_recognition_model`, `tiny_face_detector_model`, …). */
export function faceApiWeights(name: string, modelDir = faceApiModelDir()): Map<string, { shape: number[]; data: Float32Array }> {
  const manifestPath = join(modelDir, `${name}-weights_manifest.json`);
  if (!existsSync(manifestPath)) throw new Error(`face-api weights manifest not found at ${manifestPath}`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { paths: string[]; weights: WeightSpec[] }[];
  const specs = manifest.flatMap((g) => g.weights);
  const shards = manifest.flatMap((g) => g.paths).map((p) => readFileSync(join(modelDir, p)));
  return readWeights(specs, new Uint8Array(Buffer.concat(shards)));
}

/** The face detector and the 68-point landmark net as ONNX bytes, converted from face-api's weights. */
export function convertDetectorModels(modelDir = faceApiModelDir()): { detector: Uint8Array; landmarks: Uint8Array } {
  return {
    detector: convertTinyFaceDetector(faceApiWeights('tiny_face_detector_model', modelDir)),
    landmarks: convertLandmarkNet(faceApiWeights('face_landmark_68_model', modelDir)),
  };
}

/** Writes bytes to `out` atomically (temp file, then rename), making its directory. */
export const writeAtomic = (out: string, bytes: Uint8Array): void => writeFileAtomic(out, bytes, { mkdir: true });

/** Converts face-api's recognition net to ONNX at `out` (written to a temp file, then renamed). */
export function convertDefaultModel(out: string, modelDir = faceApiModelDir()): { bytes: number; tensors: number } {
  const weights = faceApiWeights('face_recognition_model', modelDir);
  const bytes = convertFaceRecognitionNet(weights);
  writeAtomic(out, bytes);
  return { bytes: bytes.length, tensors: weights.size };
}
