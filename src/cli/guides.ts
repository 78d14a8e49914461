// Each target's own guide (paper §3 picks the guide for the person; §5.1 guides with averaged faces), for
// `invert` and `judge --reconstruct`: among the --guide images or the bundled LFW faces, the K nearest the
// target under the networks that take part (src/invert/guide_choice.ts), averaged.
import { basename } from 'node:path';
import { keep } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { RgbImage } from '../io/image.ts';
import { readPng } from '../io/png.ts';
import { facesFromSheet } from '../train/faces.ts';
import { nearestGuides, meanImage, type ChoosingNetwork } from '../invert/guide_choice.ts';
import { num, readImages, UsageError, type Parsed } from './common.ts';
import type { OptionSpec } from './options.ts';
import { LFW_SHEET } from './paths.ts';

/** The 100 bundled LFW faces (assets/lfw), enlarged to `size`: the guide pool, and strangers for the cross-check. */
export const bundledFaces = (size: number) => facesFromSheet(readPng(LFW_SHEET), size);

export const GUIDE_AVERAGE: OptionSpec = {
  name: 'guide-average',
  type: 'int',
  arg: 'K',
  min: 1,
  max: 100,
  help: "each target's guide: the pixel mean of the K faces nearest it under the optimised\nnetworks, among the --guide images (two or more) or the 100 bundled LFW faces",
};

/**
 * Each target's own guide (paper §3, §5.1), or null for one shared guide: with two or more --guide images or
 * --guide-average K, the mean of the K pool faces nearest the target under the networks that take part.
 */
export async function guidesPerTarget(args: Parsed, model: FaceModel, members: ChoosingNetwork[], targets: Float32Array[], names: string[]): Promise<{ images: RgbImage[]; picks: string[][] } | null> {
  const { opt, all } = args;
  const K = num(opt, 'guide-average', 1, (v) => Number.isInteger(v) && v >= 1);
  const files = all.guide ?? [];
  if (files.length < 2 && opt['guide-average'] === undefined) return null;
  const pool = files.length >= 2 ? readImages(model, files) : bundledFaces(model.imageSize);
  const poolNames = files.length >= 2 ? files.map((f) => basename(f)) : pool.map((_, i) => `lfw#${i}`);
  if (K > pool.length) throw new UsageError(`--guide-average ${K}: only ${pool.length} faces to average`);
  const [poolPixels, target] = [keep(model.pixels(pool)), keep(O.tensor(Float32Array.from(targets.flatMap((e) => Array.from(e))), [targets.length, targets[0].length]))];
  try {
    const picks = await nearestGuides([{ model, target }, ...members], poolPixels, K);
    picks.forEach((p, t) => process.stderr.write(`${names[t]}: guide ${p.map((k) => poolNames[k]).join(' + ')}\n`));
    return { images: picks.map((p) => meanImage(p.map((k) => pool[k]))), picks: picks.map((p) => p.map((k) => poolNames[k])) };
  } finally {
    poolPixels.dispose();
    target.dispose();
  }
}

