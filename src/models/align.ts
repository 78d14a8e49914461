// Alignment of detected faces to faceinv's chips: a least-squares similarity transform (rotation, uniform scale,
// shift) from dlib's mean face template to the 68 landmarks, then the chip resampled from the photo with the
// engine's warp. The template is dlib's get_face_chip_details (landmarks 17–67, padding 0.25, as dlib's face
// recognition example cuts its 150-px chips), scaled to the chip size; a model framed differently declares
// faceinv.chip_box and FaceModel.fit resamples these chips to it.
import { tidy } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { warp, packAffines, type Affine } from '../autograd/warp.ts';
import { resize, fromPlanes, type RgbImage } from '../io/image.ts';

/** dlib's mean face shape (face_utilities.h), landmarks 17..67, in 0..1 of the face box. */
const MEAN_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
  0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
  0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
  0.553364, 0.490127, 0.42689,
];
const MEAN_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
  0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
  0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
  0.784792, 0.824182, 0.831803, 0.824182,
];
/** The first landmark of the template (17: the right eyebrow's outer end). */
const FIRST = 17;
export const CHIP_PADDING = 0.25;

/** The template's points in a `size`-pixel chip (continuous coordinates: pixel k covers [k, k + 1]). */
export function chipTemplate(size: number, padding = CHIP_PADDING): [number, number][] {
  return MEAN_X.map((x, i): [number, number] => [((x + padding) / (2 * padding + 1)) * size + 0.5, ((MEAN_Y[i] + padding) / (2 * padding + 1)) * size + 0.5]);
}

/**
 * InsightFace's five-point template for its 112-px crops (eye centres, nose tip, mouth corners; insightface
 * face_align.arcface_dst), in continuous coordinates (OpenCV puts pixel k's centre at k: half a pixel added).
 */
export const INSIGHTFACE_TEMPLATE: [number, number][] = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]].map(([x, y]): [number, number] => [x + 0.5, y + 0.5]);

/** The same five points of dlib's mean face in a `size`-px chip: eye centres (landmarks 36–41, 42–47), nose tip (30), mouth corners (48, 54). */
export function chipFivePoints(size: number): [number, number][] {
  const t = chipTemplate(size);
  const at = (k: number) => t[k - FIRST];
  const centre = (from: number): [number, number] => [0, 1].map((c) => Array.from({ length: 6 }, (_, i) => at(from + i)[c]).reduce((a, b) => a + b) / 6) as [number, number];
  return [centre(36), centre(42), at(30), at(48), at(54)];
}

/**
 * Where a crop aligned to a five-point template (`template` in a `cropSize`-px crop) lies in faceinv's chips, as
 * faceinv.chip_box [x0, y0, side] in chip widths: the least-squares similarity between that template and the
 * same points of dlib's mean face, so a network fed through the box sees a chip's face where its own training
 * crops had it (its rotation, well under a degree for InsightFace's, is dropped).
 */
export function templateBox(template: [number, number][], cropSize: number): [number, number, number] {
  const S = 150;
  const [a, b, c, d, e, f] = similarity(template, chipFivePoints(S));
  const side = Math.hypot(a, d) * cropSize;
  const h = cropSize / 2;
  const [cx, cy] = [a * h + b * h + c, d * h + e * h + f];
  return [(cx - side / 2) / S, (cy - side / 2) / S, side / S];
}

/** The least-squares similarity transform taking `from` to `to` (2-D Umeyama without reflection), as an Affine. */
export function similarity(from: [number, number][], to: [number, number][]): Affine {
  const n = from.length;
  let mfx = 0, mfy = 0, mtx = 0, mty = 0;
  for (let i = 0; i < n; i++) {
    mfx += from[i][0] / n;
    mfy += from[i][1] / n;
    mtx += to[i][0] / n;
    mty += to[i][1] / n;
  }
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i][0] - mfx, py = from[i][1] - mfy;
    const qx = to[i][0] - mtx, qy = to[i][1] - mty;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const a = dot / norm;
  const b = cross / norm;
  return [a, -b, mtx - (a * mfx - b * mfy), b, a, mty - (b * mfx + a * mfy)];
}

/**
 * The chip → photo transform for a face's 68 landmarks (photo pixel coordinates as the landmark net gives them,
 * pixel k at k: half a pixel is added).
 */
export function chipTransform(landmarks: [number, number][], size: number): Affine {
  if (landmarks.length !== 68) throw new RangeError(`align: expected 68 landmarks, got ${landmarks.length}`);
  return similarity(chipTemplate(size), landmarks.slice(FIRST).map(([x, y]): [number, number] => [x + 0.5, y + 0.5]));
}

/**
 * Cuts a `size`-pixel chip out of a photo through the transform (chip pixel centre → photo coordinates) with the
 * engine's bilinear warp. Only the photo region the chip covers is uploaded; where the chip is more than 1.5×
 * smaller than the face, that region is first area-averaged down to about the chip's scale (as dlib samples from
 * a pyramid), so the bilinear warp does not alias.
 */
export async function cutChip(photo: RgbImage, m: Affine, size: number): Promise<RgbImage> {
  const corners = [[0, 0], [size, 0], [0, size], [size, size]].map(([x, y]) => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]);
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0]))) - 2);
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1]))) - 2);
  const x1 = Math.min(photo.width, Math.ceil(Math.max(...corners.map((c) => c[0]))) + 2);
  const y1 = Math.min(photo.height, Math.ceil(Math.max(...corners.map((c) => c[1]))) + 2);
  // A chip wholly outside the photo still samples its nearest edge.
  const cx0 = Math.min(x0, photo.width - 1), cy0 = Math.min(y0, photo.height - 1);
  const w = Math.max(1, x1 - cx0), h = Math.max(1, y1 - cy0);
  let region: RgbImage = { width: w, height: h, data: new Float32Array(w * h * 3) };
  for (let r = 0; r < h; r++) region.data.set(photo.data.subarray(((cy0 + r) * photo.width + cx0) * 3, ((cy0 + r) * photo.width + cx0 + w) * 3), r * w * 3);
  // The transform into the region, then (when shrunk) into the shrunk region.
  let t: Affine = [m[0], m[1], m[2] - cx0, m[3], m[4], m[5] - cy0];
  const scale = Math.hypot(m[0], m[3]);
  // A face larger than the chip: sampled at twice the chip's resolution (from the region area-averaged to that
  // scale when it is larger still), then averaged 2×2, so neither step aliases or blurs more than a pixel.
  const ss = scale > 1.5 ? 2 : 1;
  if (scale / ss > 1.5) {
    const f = ss / scale;
    const rw = Math.max(1, Math.round(w * f));
    const rh = Math.max(1, Math.round(h * f));
    const sx = rw / w, sy = rh / h;
    region = resize(region, rw, rh, 'area');
    t = [t[0] * sx, t[1] * sx, t[2] * sx, t[3] * sy, t[4] * sy, t[5] * sy];
  }
  if (ss > 1) t = [t[0] / ss, t[1] / ss, t[2], t[3] / ss, t[4] / ss, t[5]];
  const planes = new Float32Array(3 * region.width * region.height);
  const n = region.width * region.height;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c * n + i] = region.data[i * 3 + c];
  const out = tidy(() =>
    noGrad(() => warp(O.tensor(planes, [1, 3, region.height, region.width]), O.tensor(packAffines([t]), [1, 12]), size * ss, size * ss)),
  );
  const data = await out.data();
  out.dispose();
  const chip = fromPlanes(data, 1, size * ss, size * ss)[0];
  return ss > 1 ? resize(chip, size, size, 'area') : chip;
}

/** A face found in a photo and its chip. */
export interface AlignedFace {
  box: { x: number; y: number; width: number; height: number; score: number };
  landmarks: [number, number][];
  /** The chip → photo transform the chip was cut with. */
  transform: Affine;
  chip: RgbImage;
}

/** What alignment needs of a detector (FaceDetector has it). */
export interface LandmarkDetector {
  detect(img: RgbImage, opts?: { scoreThreshold?: number }): Promise<{ box: AlignedFace['box']; landmarks: [number, number][] }[]>;
  /** Relative 68-point positions (0..1 of the input) of N crops, planes [N, 3, S, S] of 0..255 pixels. */
  rawLandmarks(planes: Float32Array, n: number): Promise<Float32Array>;
}

/**
 * Where the landmark net's crop lies in a 150-px chip (x0, y0, side): the square around the tiny face
 * detector's box on an upright face (on the sample face: x −7..151, y 18..147); refinement crops the face
 * there, upright, and runs the net again. (A tighter square, [17, 12, 116], left the round trip's turned
 * cases 0.01–0.02 further from the unturned one.)
 */
export const REFINE_BOX: [number, number, number] = [-7, 3.5, 158];
const LANDMARK_INPUT = 112;

/**
 * Landmarks measured again on an upright crop of the face (the landmark net was trained on upright faces
 * framed by the detector's box): the crop is cut through the current chip transform with the warp, the net
 * runs on it, and its points are mapped back into the photo.
 */
export async function refineLandmarks(detector: LandmarkDetector, photo: RgbImage, transform: Affine, size: number): Promise<[number, number][]> {
  const k = size / 150;
  const [bx, by, bs] = REFINE_BOX.map((v) => v * k);
  const s = bs / LANDMARK_INPUT;
  const t = transform;
  // crop pixel → chip (bx + s·x) → photo.
  const C: Affine = [t[0] * s, t[1] * s, t[0] * bx + t[1] * by + t[2], t[3] * s, t[4] * s, t[3] * bx + t[4] * by + t[5]];
  const crop = await cutChip(photo, C, LANDMARK_INPUT);
  const n = LANDMARK_INPUT * LANDMARK_INPUT;
  const planes = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c * n + i] = crop.data[i * 3 + c];
  const rel = await detector.rawLandmarks(planes, 1);
  return Array.from({ length: 68 }, (_, i): [number, number] => {
    const x = rel[2 * i] * LANDMARK_INPUT + 0.5;
    const y = rel[2 * i + 1] * LANDMARK_INPUT + 0.5;
    return [C[0] * x + C[1] * y + C[2] - 0.5, C[3] * x + C[4] * y + C[5] - 0.5];
  });
}

/**
 * Every face a detector finds in a photo, best first, each cut out as a `size`-pixel chip. `refine` rounds of
 * landmark refinement on upright crops (default 2) make the framing independent of the face's turn.
 */
export async function alignFaces(detector: LandmarkDetector, photo: RgbImage, size: number, opts: { scoreThreshold?: number; refine?: number } = {}): Promise<AlignedFace[]> {
  const faces = await detector.detect(photo, opts);
  const out: AlignedFace[] = [];
  for (const f of faces) {
    let landmarks = f.landmarks;
    let transform = chipTransform(landmarks, size);
    for (let r = 0; r < (opts.refine ?? 2); r++) {
      landmarks = await refineLandmarks(detector, photo, transform, size);
      transform = chipTransform(landmarks, size);
    }
    out.push({ box: f.box, landmarks, transform, chip: await cutChip(photo, transform, size) });
  }
  return out;
}
