// The gallery photos the decoder benches decode and judge: one per person with two or more photos, the first
// by name (as judge --per-person 1 picks), so that the rest of the person's photos remain to be found by; and
// the face networks the benches optimise, judge and time.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readFaces } from '../src/cli/common.ts';
import type { RgbImage } from '../src/io/image.ts';

export function firstPhotos(gallery: string): { person: string; photo: string }[] {
  const people = readdirSync(gallery, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  return people
    .map((p) => ({ person: p, files: readdirSync(join(gallery, p)).filter((f) => f.toLowerCase().endsWith('.png')).sort() }))
    .filter((p) => p.files.length >= 2)
    .map((p) => ({ person: p.person, photo: p.files[0] }));
}

/** A gallery photo's face aligned to the model's 150-px chip by its landmarks, as faceinv reads a photo (needs init()). */
export async function alignedPhoto(file: string): Promise<RgbImage> {
  return (await readFaces({ imageSize: 150 }, [file], { force: true }))[0].image;
}

/** The face networks: ONNX files. dlib's is the default model; the others are bundled judges. */
export const NETWORKS: Record<string, string> = {
  dlib: 'models/dlib_face_recognition_resnet.onnx',
  mobileface: 'assets/judges/mobileface.onnx',
  faceres: 'assets/judges/faceres.onnx',
  faceplugin: 'assets/judges/faceplugin.onnx',
  mobilefacenet: 'assets/judges/mobilefacenet.onnx',
};
