// Where `npm install` puts the default model: <package>/models/. Both the bundled CLI (<package>/dist/cli.js)
// and the sources (<package>/src/cli/) sit one or two levels below the package root.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const DEFAULT_MODEL = join(packageRoot(), 'models', 'dlib_face_recognition_resnet.onnx');
/** The face detector and 68-point landmark net (face-api's, converted to ONNX by `faceinv convert`). */
export const DETECTOR_MODEL = join(packageRoot(), 'models', 'tiny_face_detector.onnx');
export const LANDMARK_MODEL = join(packageRoot(), 'models', 'face_landmark_68.onnx');
/** The 100 bundled LFW faces as one sheet of 25×25 tiles (src/train/faces.ts reads it). */
export const LFW_SHEET = join(packageRoot(), 'assets', 'lfw', 'faces-25px.png');
/** The guide `faceinv invert` uses when none is given: the bundled average face. */
export const DEFAULT_GUIDE = join(packageRoot(), 'assets', 'guides', 'lfw-average.png');
const bundled = (id: string) => join(packageRoot(), 'assets', 'judges', `${id}.onnx`);
/**
 * The bundled networks --preset identity optimises with besides the model (--ensemble specs): the three 112-px
 * networks, and faceres at the chip's 150 px instead of its own 224 (about half the work; on the gallery's
 * photos it still identifies 60 of 60). Every held-out judge then has four networks of other families against
 * it (BENCHMARKS.md § Identity).
 */
export const IDENTITY_ENSEMBLE = [bundled('mobileface'), bundled('faceplugin'), `${bundled('faceres')}@150`, bundled('mobilefacenet')];

