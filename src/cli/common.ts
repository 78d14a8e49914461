// What the faceinv commands share: argument parsing, loading the model, reading targets and images.
import { writeFileAtomic } from '../io/atomic.ts';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../io/image.ts';
import { FaceModel } from '../models/face_model.ts';
import { readImage, isImageFile, DEFAULT_PIXEL_LIMIT } from '../io/png.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/tape.ts';
import { DEFAULT_MODEL, DETECTOR_MODEL, LANDMARK_MODEL } from './paths.ts';
import { FaceDetector, type FaceBox } from '../models/face_detect.ts';
import { alignFaces } from '../models/align.ts';
import { convertDetectorModels } from '../models/faceapi-node.ts';
import { UsageError, type OptionSpec } from './options.ts';

export { UsageError, type Parsed } from './options.ts';

/** Exit codes: 0 done, 1 an error, 2 a usage error, 3 a loss became non-finite, 4 stopped by Ctrl-C / SIGTERM (results written). */
export const EXIT_NON_FINITE = 3;
export const EXIT_INTERRUPTED = 4;

/** Input images over DEFAULT_PIXEL_LIMIT pixels (4096×4096) are refused before decoding unless this raises it. */
export const MAX_PIXELS_OPTION: OptionSpec = { name: 'max-pixels', type: 'int', min: 1, help: `largest input image accepted, in pixels (default ${DEFAULT_PIXEL_LIMIT}, 4096×4096)` };

export function loadModel(path: string | true | undefined, inputSize?: number): FaceModel {
  const file = typeof path === 'string' ? path : DEFAULT_MODEL;
  if (!existsSync(file)) {
    throw new Error(path ? `model file ${file} does not exist` : `the default model is missing at ${file}; run 'faceinv convert'`);
  }
  if (statSync(file).isDirectory()) throw new Error(`model file ${file} is a directory, not an ONNX file`);
  return FaceModel.fromBytes(new Uint8Array(readFileSync(file)), file, { inputSize });
}

/**
 * Photos are searched for faces, and each face aligned to the model's chip (face_detect.ts, align.ts), unless
 * --no-align: then every image is taken as a ready chip, centre-cropped and resized as before.
 */
export const ALIGN_OPTION: OptionSpec = {
  name: 'no-align',
  type: 'flag',
  help: "take images as ready face chips (centre crop, resize) instead of finding and\naligning the faces in photos (square images up to the chip's size always are)",
};
let aligning = true;
export function setAlign(on: boolean): void {
  aligning = on;
}
export const isAligning = (): boolean => aligning;

let detector: FaceDetector | null = null;
/** The face detector and landmark net: the converted files in models/, else converted now from face-api's weights. */
export function loadDetector(): FaceDetector {
  if (detector) return detector;
  if (existsSync(DETECTOR_MODEL) && existsSync(LANDMARK_MODEL)) {
    detector = FaceDetector.fromBytes(new Uint8Array(readFileSync(DETECTOR_MODEL)), new Uint8Array(readFileSync(LANDMARK_MODEL)));
  } else {
    let m: ReturnType<typeof convertDetectorModels>;
    try {
      m = convertDetectorModels();
    } catch (e) {
      throw new Error(`the face detector is missing at ${DETECTOR_MODEL} and cannot be converted (${(e as Error).message.split('\n')[0]}); run 'faceinv convert', or give --no-align for ready face chips`);
    }
    detector = FaceDetector.fromBytes(m.detector, m.landmarks);
  }
  return detector;
}

/** The image with `m` pixels of its edge colour's mean (a flat surround) on every side. */
export function padImage(img: RgbImage, m: number): RgbImage {
  const W = img.width + 2 * m;
  const H = img.height + 2 * m;
  const mean = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      if (y > 0 && y < img.height - 1 && x > 0 && x < img.width - 1) continue;
      for (let c = 0; c < 3; c++) mean[c] += img.data[(y * img.width + x) * 3 + c];
      n++;
    }
  const data = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = mean[c] / n;
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + m) * W + m) * 3);
  return { width: W, height: H, data };
}

/** One face of a photo: its chip (the model's image size), where it was found, and a label for output lines. */
export interface Face {
  path: string;
  /** The path, with #k after it when the photo holds several faces. */
  label: string;
  image: RgbImage;
  /** The detector's box in photo pixels (absent with --no-align). */
  box?: FaceBox;
}

/**
 * The faces of image files, aligned to the model's chips (every face of each photo with `all`, else the most
 * confident one), or with --no-align the images as ready chips. Square images no larger than the chip (150×150
 * for the bundled models) are ready chips already, unless `force` (crop). A photo without a face is an error
 * naming it. Faces are looked for at the detector's threshold (0.5), then, where none reaches it, at 0.2.
 */
export async function readFaces(model: { imageSize: number }, paths: string[], opts: { all?: boolean; force?: boolean } = {}): Promise<Face[]> {
  if (!aligning) return readImages(model, paths).map((image, i) => ({ path: paths[i], label: paths[i], image }));
  const out: Face[] = [];
  for (const path of paths) {
    const photo = readImage(path);
    if (!opts.force && photo.width === photo.height && photo.width <= model.imageSize) {
      out.push({ path, label: path, image: readImages(model, [path])[0] });
      continue;
    }
    const det = loadDetector();
    let faces = await alignFaces(det, photo, model.imageSize);
    // A face filling the frame (a ready chip, a close portrait) is found once the photo has room around it.
    if (!faces.length) {
      const m = Math.round(Math.max(photo.width, photo.height) / 2);
      const padded = padImage(photo, m);
      faces = await alignFaces(det, padded, model.imageSize);
      if (!faces.length) faces = (await alignFaces(det, padded, model.imageSize, { scoreThreshold: 0.2 })).slice(0, 1);
      for (const f of faces) f.box = { ...f.box, x: f.box.x - m, y: f.box.y - m };
    }
    if (!faces.length) throw new Error(`${path}: no face found (${photo.width}×${photo.height} pixels; give --no-align if it is a ready face chip)`);
    const kept = opts.all ? faces : faces.slice(0, 1);
    kept.forEach((f, k) => out.push({ path, label: kept.length > 1 ? `${path}#${k}` : path, image: f.chip, box: f.box }));
  }
  return out;
}

/** The PNG and JPEG files under a folder (its subfolders too); other image formats are refused by name. */
export const imageFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return imageFiles(p);
    if (/\.(webp|bmp|gif|heic|tiff?)$/i.test(e.name)) throw new UsageError(`${p}: only PNG and JPEG images are read; convert it to PNG`);
    return /\.(png|jpe?g)$/i.test(e.name) ? [p] : [];
  });

/** A number option, checked. */
export function num(opt: Record<string, string | true>, name: string, def: number, check: (v: number) => boolean = Number.isFinite): number {
  const v = opt[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (v === true || !check(n)) throw new UsageError(`--${name}: '${v === true ? '' : v}' is not a valid value`);
  return n;
}

/**
 * Reads PNG and JPEG files for the model, warning (once per file) about images much smaller than its input: they are
 * enlarged bilinearly, and a face a few pixels wide carries almost nothing to match.
 */
const warned = new Set<string>();
export function readImages(model: { imageSize: number }, paths: string[]): RgbImage[] {
  return paths.map((path) => {
    const img = readImage(path);
    const side = Math.min(img.width, img.height);
    if (side < model.imageSize / 2 && !warned.has(path)) {
      warned.add(path);
      process.stderr.write(`faceinv: warning: ${path} is only ${img.width}×${img.height} pixels; it is enlarged to the model's ${model.imageSize}×${model.imageSize}\n`);
    }
    return img;
  });
}

/** Pixels [N, 3, S, S] of PNG or JPEG files, cropped and resized to the model's input. */
export function pixelsOf(model: FaceModel, paths: string[]): Tensor {
  return model.pixels(readImages(model, paths));
}

/** Each image's embedding under the model, on the host; `batch` images at a time. */
export async function embedAll(model: FaceModel, images: RgbImage[], batch = 16): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) {
    const part = images.slice(i, i + batch);
    const e = tidy(() => noGrad(() => model.embed(model.pixels(part)).embedding));
    const data = await e.data();
    e.dispose();
    const d = data.length / part.length;
    part.forEach((_, k) => out.push(data.slice(k * d, (k + 1) * d)));
  }
  return out;
}

/** Embeddings [N, D] of images (0..255 pixels). */
export function embedPixels(model: FaceModel, pixels: Tensor): Tensor {
  return tidy(() => noGrad(() => model.embed(pixels).embedding));
}

/**
 * Target embeddings from --target values: a PNG or JPEG (embedded with the model), or JSON: an array of numbers,
 * {"embedding": [...]} (what `faceinv embed` prints), or several such lines.
 */
export async function readTargets(model: FaceModel, sources: string[]): Promise<{ embeddings: Float32Array[]; labels: string[] }> {
  const dim = Number(model.module.outputs[0].dims.at(-1));
  const embeddings: (Float32Array | null)[] = [];
  const labels: string[] = [];
  const images: string[] = [];
  const FLOAT32_MAX = 3.4028234663852886e38;
  const expected = `a PNG or JPEG, or JSON: an array of ${dim} numbers, {"embedding": [...]}, or one such per line`;
  for (const src of sources) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(src);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`target ${src} does not exist`);
      throw new Error(code === 'EISDIR' ? `target ${src} is a directory; expected ${expected}` : `target ${src}: cannot read (${code ?? (e as Error).message})`);
    }
    if (isImageFile(bytes)) {
      images.push(src);
      embeddings.push(null);
      labels.push(src);
      continue;
    }
    const text = bytes.toString('utf8');
    if (!text.trim()) throw new Error(`target ${src} is empty; expected ${expected}`);
    // The whole file as one JSON value, or one value per non-empty line (each with its line number).
    let values: { value: unknown; line: number | null }[];
    try {
      values = [{ value: JSON.parse(text), line: null }];
    } catch {
      values = [];
      text.split('\n').forEach((l, k) => {
        if (!l.trim()) return;
        try {
          values.push({ value: JSON.parse(l), line: k + 1 });
        } catch {
          throw new Error(`target ${src} (line ${k + 1}): not JSON; expected ${expected}`);
        }
      });
    }
    const many = values.length > 1;
    values.forEach(({ value, line }, k) => {
      const at = line !== null && (many || text.trim().includes('\n')) ? ` (line ${line}` : '';
      const where = (index?: number) => (at ? `${at}${index !== undefined ? `, index ${index}` : ''})` : index !== undefined ? ` (index ${index})` : '');
      const arr = Array.isArray(value) ? value : (value as { embedding?: unknown } | null)?.embedding;
      if (!Array.isArray(arr)) throw new Error(`target ${src}${where()}: no embedding; expected ${expected}`);
      if (Number.isInteger(dim) && arr.length !== dim) throw new Error(`target ${src}${where()}: expected ${dim} finite numbers, got ${arr.length} values`);
      arr.forEach((x, i) => {
        if (typeof x !== 'number') throw new Error(`target ${src}${where(i)}: ${JSON.stringify(x)} is not a number`);
        if (!(Math.abs(x) <= FLOAT32_MAX)) throw new Error(`target ${src}${where(i)}: ${x} is beyond float32 (|x| ≤ 3.4e38)`);
      });
      embeddings.push(Float32Array.from(arr as number[]));
      labels.push(many ? `${src}#${k}` : src);
    });
  }
  if (images.length) {
    const faces = await readFaces(model, images);
    const e = tidy(() => embedPixels(model, model.pixels(faces.map((f) => f.image))));
    const data = await e.data();
    e.dispose();
    const d = data.length / images.length;
    let k = 0;
    embeddings.forEach((v, i) => {
      if (v === null) embeddings[i] = data.slice(k * d, (k + 1) * d), k++;
    });
  }
  return { embeddings: embeddings as Float32Array[], labels };
}

/** Writes a text file atomically (temp file + rename). */
export function writeText(path: string, text: string): void {
  writeFileAtomic(path, text);
}


/** The signal that stopped the command's work early, if one did: the command then exits EXIT_INTERRUPTED. */
let interruptedBy: NodeJS.Signals | null = null;
export const interrupted = (): NodeJS.Signals | null => interruptedBy;

/**
 * Stops long work at its next step on the first Ctrl-C or SIGTERM (the work checks `signal.aborted` and still
 * writes its results; the command then exits EXIT_INTERRUPTED); a second one exits at once (128 + signal).
 */
export function abortOnSigint(what = 'stopping after this iteration'): { signal: { aborted: boolean }; release(): void } {
  const signal = { aborted: false };
  const handler = (name: NodeJS.Signals) => {
    if (signal.aborted) process.exit(name === 'SIGTERM' ? 143 : 130);
    signal.aborted = true;
    interruptedBy = name;
    process.stderr.write(`\nfaceinv: ${name === 'SIGINT' ? 'Ctrl-C' : name}: ${what} (${name === 'SIGINT' ? 'Ctrl-C' : 'a second signal'} again to quit at once)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
