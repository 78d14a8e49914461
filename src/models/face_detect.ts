// Face detection and 68-point landmarks on the faceinv engine, from face-api's tiny face detector and landmark
// net converted to ONNX (faceapi-detect.ts). The networks run through the importer; the host does what
// face-api does around them: letterboxing and resizing the photo (tf.image.resizeBilinear, legacy corners),
// decoding the 13×13×5 anchor boxes, non-maximum suppression, cropping each box for the landmark net and
// scaling its points back into the photo.
import { tidy } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { OnnxModule } from './onnx/module.ts';
import type { RgbImage } from '../io/image.ts';
import { TINY_FACE_DETECTOR, LANDMARK_NET } from './faceapi-detect.ts';

/** A face's box in photo pixels (x, y: top-left corner) and the detector's confidence. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface DetectedFace {
  box: FaceBox;
  /** 68 points (dlib / iBUG order) in photo pixels. */
  landmarks: [number, number][];
}

export interface DetectOptions {
  /** Boxes scoring at or below this are dropped (face-api's default 0.5). */
  scoreThreshold?: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * A square NHWC-to-NCHW resample as tf.image.resizeBilinear(alignCorners = false, halfPixelCenters = false)
 * does it, of `img` padded with zeros to a `side`-pixel square (at the bottom/right, or centred). Returns
 * the planes [3, size, size].
 */
export function squareResize(img: RgbImage, side: number, size: number, centred: boolean, out = new Float32Array(3 * size * size), offset = 0): Float32Array {
  const padX = centred ? Math.floor((side - img.width) / 2) : 0;
  const padY = centred ? Math.floor((side - img.height) / 2) : 0;
  const scale = side / size;
  const plane = size * size;
  const at = (x: number, y: number, c: number) => {
    const ix = x - padX;
    const iy = y - padY;
    return ix < 0 || iy < 0 || ix >= img.width || iy >= img.height ? 0 : img.data[(iy * img.width + ix) * 3 + c];
  };
  for (let oy = 0; oy < size; oy++) {
    const fy = oy * scale;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, side - 1);
    const ty = fy - y0;
    for (let ox = 0; ox < size; ox++) {
      const fx = ox * scale;
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, side - 1);
      const tx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * tx;
        const bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * tx;
        out[offset + c * plane + oy * size + ox] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/** Crops x, y, w, h (whole pixels inside the image) out of an image. */
function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let r = 0; r < h; r++) data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, data };
}

interface RelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

function iou(a: RelBox, b: RelBox): number {
  const w = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

/** Boxes (relative to the image) from the detector's raw output [25, G, G], as face-api's extractBoxes decodes them, then NMS. */
export function decodeBoxes(raw: Float32Array, grid: number, width: number, height: number, scoreThreshold: number, inputSize = TINY_FACE_DETECTOR.inputSize): RelBox[] {
  const longest = Math.max(width, height);
  const rw = (width * inputSize) / longest;
  const rh = (height * inputSize) / longest;
  const cx = inputSize / rw;
  const cy = inputSize / rh;
  const anchors = TINY_FACE_DETECTOR.anchors;
  const A = anchors.length;
  const plane = grid * grid;
  const v = (a: number, k: number, row: number, col: number) => raw[(a * 5 + k) * plane + row * grid + col];
  const found: RelBox[] = [];
  for (let row = 0; row < grid; row++)
    for (let col = 0; col < grid; col++)
      for (let a = 0; a < A; a++) {
        const score = sigmoid(v(a, 4, row, col));
        if (scoreThreshold && !(score > scoreThreshold)) continue;
        const ctX = ((col + sigmoid(v(a, 0, row, col))) / grid) * cx;
        const ctY = ((row + sigmoid(v(a, 1, row, col))) / grid) * cy;
        const w = ((Math.exp(v(a, 2, row, col)) * anchors[a][0]) / grid) * cx;
        const h = ((Math.exp(v(a, 3, row, col)) * anchors[a][1]) / grid) * cy;
        found.push({ x: ctX - w / 2, y: ctY - h / 2, w, h, score });
      }
  // face-api's nonMaxSuppression (IoU over boxes scaled by the input size: the same ratios), highest score first.
  const order = found.map((_, i) => i).sort((i, j) => found[i].score - found[j].score);
  const pick: RelBox[] = [];
  let rest = order;
  while (rest.length) {
    const cur = rest.pop()!;
    pick.push(found[cur]);
    rest = rest.filter((i) => iou(found[cur], found[i]) <= TINY_FACE_DETECTOR.iouThreshold);
  }
  return pick;
}

/** The detector and landmark networks (ONNX, converted from face-api's weights) with their host-side decoding. */
export class FaceDetector {
  constructor(readonly detector: OnnxModule, readonly landmarkNet: OnnxModule) {}

  static fromBytes(detector: Uint8Array, landmarks: Uint8Array): FaceDetector {
    return new FaceDetector(OnnxModule.fromBytes(detector, 'face detector'), OnnxModule.fromBytes(landmarks, 'landmark net'));
  }

  /** The detector's input side (416 for face-api's tiny face detector as converted). */
  get inputSize(): number {
    return Number(this.detector.inputs[0].dims[2]);
  }

  /** Raw detector output [25, G, G] for planes [3, S, S] of 0..255 pixels. */
  async rawBoxes(planes: Float32Array): Promise<{ raw: Float32Array; grid: number }> {
    const S = this.inputSize;
    const t = tidy(() => noGrad(() => this.detector.run({ [this.detector.inputs[0].name]: O.tensor(planes, [1, 3, S, S]) })[this.detector.outputs[0].name]));
    const raw = await t.data();
    const grid = t.shape[2];
    t.dispose();
    return { raw, grid };
  }

  /** Relative 68-point positions (0..1 of the 112-px input) of N crops given as planes [N, 3, 112, 112]. */
  async rawLandmarks(planes: Float32Array, n: number): Promise<Float32Array> {
    const S = LANDMARK_NET.inputSize;
    const t = tidy(() => noGrad(() => this.landmarkNet.run({ [this.landmarkNet.inputs[0].name]: O.tensor(planes, [n, 3, S, S]) })[this.landmarkNet.outputs[0].name]));
    const out = await t.data();
    t.dispose();
    return out;
  }

  /** Faces in a photo, best first: boxes and 68 landmarks in photo pixels. */
  async detect(img: RgbImage, opts: DetectOptions = {}): Promise<DetectedFace[]> {
    const S = this.inputSize;
    const { raw, grid } = await this.rawBoxes(squareResize(img, Math.max(img.width, img.height), S, false));
    const rel = decodeBoxes(raw, grid, img.width, img.height, opts.scoreThreshold ?? 0.5, S);
    const boxes: FaceBox[] = rel.map((b) => ({ x: b.x * img.width, y: b.y * img.height, width: b.w * img.width, height: b.h * img.height, score: b.score }));
    // Each box clipped to the photo and floored, as face-api's extractFaceTensors cuts it.
    const crops = boxes
      .map((b) => {
        const x = Math.max(b.x, 0);
        const y = Math.max(b.y, 0);
        const w = Math.min(b.x + b.width - x, img.width - x);
        const h = Math.min(b.y + b.height - y, img.height - y);
        return { box: b, x: Math.floor(x), y: Math.floor(y), w: Math.floor(w), h: Math.floor(h) };
      })
      .filter((c) => c.w > 0 && c.h > 0);
    if (!crops.length) return [];
    const L = LANDMARK_NET.inputSize;
    const planes = new Float32Array(crops.length * 3 * L * L);
    crops.forEach((c, k) => squareResize(crop(img, c.x, c.y, c.w, c.h), Math.max(c.w, c.h), L, true, planes, k * 3 * L * L));
    const rawLm = await this.rawLandmarks(planes, crops.length);
    return crops.map((c, k) => {
      // face-api's postProcess: undo the centred padding, then scale to the crop and shift by the box corner.
      const scale = L / Math.max(c.w, c.h);
      const iw = c.w * scale;
      const ih = c.h * scale;
      const padX = iw < ih ? Math.abs(iw - ih) / 2 : 0;
      const padY = ih < iw ? Math.abs(iw - ih) / 2 : 0;
      const landmarks = Array.from({ length: 68 }, (_, i): [number, number] => [
        ((rawLm[k * 136 + 2 * i] * L - padX) / iw) * c.w + c.box.x,
        ((rawLm[k * 136 + 2 * i + 1] * L - padY) / ih) * c.h + c.box.y,
      ]);
      return { box: c.box, landmarks };
    });
  }

  dispose(): void {
    this.detector.dispose();
    this.landmarkNet.dispose();
  }
}
