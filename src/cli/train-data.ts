// What `faceinv train-decoder` trains on. 'gaussian' (the paper's §4): random embeddings drawn from a Gaussian
// fitted to real faces' embeddings. 'faces' (issue 20): the real faces themselves, augmented each step — the
// bundled LFW sheet (or --faces) and any --photos — with their embeddings as targets, the faces as pixel
// targets, and the --ensemble networks' embeddings of them. Either way a few real faces are held out of
// training for `faceinv eval`, and the Gaussian is fitted (it also gives eval its fresh draws).
import { existsSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { keep, tidy, type Tensor } from '../tensor/tensor.ts';
import { engine } from '../tensor/engine.ts';
import { noGrad } from '../autograd/tape.ts';
import { mirrorImage, type RgbImage } from '../io/image.ts';
import { pyrDown } from '../autograd/regularizers.ts';
import * as O from '../autograd/ops.ts';
import { initialParameters, linearSides, downEdgeGain, type DecoderConfig } from '../models/decoder.ts';
import { ridge } from '../train/ridge.ts';
import { readPng } from '../io/png.ts';
import type { FaceModel } from '../models/face_model.ts';
import { facesFromSheet, LFW_FRAME } from '../train/faces.ts';
import { LFW_SHEET } from './paths.ts';
import { FaceSource } from '../train/face_source.ts';
import type { Jitter } from '../invert/jitter.ts';
import { loadModel, readFaces, imageFiles, embedAll, UsageError } from './common.ts';
import { parseEnsembleSpec, type EnsembleSpec } from './loss-options.ts';

/** A run's training data as config.json records it (absent in runs that predate it: 'gaussian'). */
export interface DataConfig {
  kind: 'gaussian' | 'faces';
  /** The sheet of 25×25 faces; its last `heldOut` tiles are never trained on. */
  sheet: string;
  heldOut: number;
  /** Photo files (absolute), aligned to the model's chip: trained on with kind 'faces'. */
  photos: string[];
  ensemble: EnsembleSpec[];
  /**
   * The real faces brought to the model's chip (--align-faces; absent: as read): the bundled sheet's tiles
   * through LFW_FRAME, the photos aligned by their landmarks even when they are ready chips, so that a decoder
   * learns one framing — the one `faceinv crop` and the iterative method's faces have.
   */
  align?: boolean;
  /**
   * With `align` (--any-framing): the decoder's input is, half the time, the model's embedding of each face as
   * read (the sheet's tile in LFW's framing, a ready chip in its own) while it still draws the aligned face, so
   * that the embedding of a face framed otherwise decodes as the aligned face's does.
   */
  anyFraming?: boolean;
}

type Faces = { sheet: RgbImage[]; photos: RgbImage[] };

/** The --photos files and folders as a list of image files, absolute (a resumed run reads them again). */
export function photoFiles(paths: string[]): string[] {
  return paths.flatMap((p) => {
    if (!existsSync(p)) throw new UsageError(`--photos: ${p} does not exist`);
    return (statSync(p).isDirectory() ? imageFiles(p).sort() : [p]).map((f) => resolvePath(f));
  });
}

/** The --ensemble specs of a training run, checked. */
export function ensembleSpecsOf(values: string[]): EnsembleSpec[] {
  return values.map((v) => {
    const p = parseEnsembleSpec(v);
    if (typeof p === 'string') throw new UsageError(p);
    if (!existsSync(p.file)) throw new UsageError(`--ensemble: ${p.file} does not exist`);
    return { ...p, file: resolvePath(p.file) };
  });
}

/**
 * The real faces of a run at the model's size: the sheet's (all of them, held-out last) and the photos; with
 * `anyFraming`, the same faces as read too.
 */
export async function realFaces(model: FaceModel, d: DataConfig): Promise<Faces & { asRead?: Faces }> {
  const bundled = resolvePath(d.sheet) === resolvePath(LFW_SHEET);
  const read = async (align: boolean): Promise<Faces> => ({
    sheet: facesFromSheet(readPng(d.sheet), model.imageSize, 25, align && bundled ? LFW_FRAME : undefined),
    photos: (await readFaces(model, d.photos, { force: align })).map((f) => f.image),
  });
  const faces = await read(!!d.align);
  return d.anyFraming ? { ...faces, asRead: await read(false) } : faces;
}

/** The faces a run learns from: the sheet's but the held-out ones, and (kind 'faces') the photos. */
export function trainingFaces(real: Faces, d: DataConfig): RgbImage[] {
  return [...real.sheet.slice(0, real.sheet.length - d.heldOut), ...(d.kind === 'faces' ? real.photos : [])];
}

/**
 * The training faces (kind 'faces') as a source of augmented batches, and the ensemble's networks; with `sheet`,
 * how many of them (the first) are the sheet's coarse faces.
 */
export function faceTraining(model: FaceModel, d: DataConfig, train: RgbImage[], batch: number, more: { mix?: number; augment?: Jitter; asRead?: RgbImage[]; sheet?: number } = {}): { source: FaceSource; ensemble: { model: FaceModel; weight: number }[]; dispose(): void } {
  // The faces live on the GPU as one tensor: refuse, by number, more than one buffer holds.
  const faceBytes = 3 * model.imageSize ** 2 * 4;
  const fit = Math.floor(engine().pool.maxBufferSize / faceBytes);
  // (With the faces as read beside them (--any-framing), twice as many.)
  const { mix = 0, augment, asRead, sheet } = more;
  const n = (asRead ? 2 : 1) * train.length;
  if (n > fit) throw new UsageError(`${n} training faces need ${((n * faceBytes) / 2 ** 20).toFixed(0)} MiB on the GPU in one buffer; this device allows ${fit} faces: give fewer --photos`);
  const pixels = (faces: RgbImage[]) => keep(tidy(() => noGrad(() => model.pixels(faces)))) as Tensor;
  const source = new FaceSource(pixels(train), batch, augment, mix, { asRead: asRead && pixels(asRead), sheet });
  const ensemble = d.ensemble.map((s) => ({ model: loadModel(s.file, s.size), weight: s.weight }));
  return { source, ensemble, dispose: () => (source.dispose(), ensemble.forEach((m) => m.model.dispose())) };
}

/**
 * A new decoder's parameters with its linear face space fitted: ridge regression (λ = the number of faces, on
 * standardised embeddings) from the embeddings of the training faces and their mirror images to the faces
 * themselves, reduced to the face space's size by the Laplacian pyramid that enlarges it again. With `asRead`
 * (the same faces as read, --any-framing) their embeddings map to the same faces too.
 */
export async function withFaceSpace(model: FaceModel, train: RgbImage[], c: DecoderConfig, seed: number, asRead?: RgbImage[]): Promise<Map<string, Float32Array>> {
  const values = initialParameters(c, seed);
  const mirrored = (fs: RgbImage[]) => fs.flatMap((f) => [f, mirrorImage(f)]);
  const faces = mirrored(train);
  const mean = c.inputMean ?? Array(c.embeddingSize).fill(0);
  const std = c.inputStd ?? Array(c.embeddingSize).fill(1);
  const inputs = asRead ? [...faces, ...mirrored(asRead)] : faces;
  const xs = (await embedAll(model, inputs)).map((e) => e.map((v, i) => (v - mean[i]) / std[i]));
  const side = linearSides(c)[0];
  const M = 3 * side * side;
  // The faces at the face space's size, reduced on the GPU a few at a time.
  const ys: Float32Array[] = [];
  for (let at = 0; at < faces.length; at += 32) {
    const chunk = faces.slice(at, at + 32);
    const small = tidy(() => noGrad(() => {
      let x = model.pixels(chunk);
      for (let l = 0; l < c.linearLevels!; l++) x = c.evenEdges ? O.mul(pyrDown(x), downEdgeGain(x.shape[2])) : pyrDown(x);
      return x;
    }));
    const v = await small.data();
    small.dispose();
    chunk.forEach((_, k) => ys.push(v.slice(k * M, (k + 1) * M)));
  }
  const fit = ridge(xs, asRead ? [...ys, ...ys] : ys, inputs.length);
  values.set('linear.weight', fit.weight);
  values.set('linear.bias', fit.bias);
  return values;
}
