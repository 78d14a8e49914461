// Candidates checked by a network held out of their making (ALSUV, "Face reconstruction transfer attack as
// out-of-distribution generalization", 2024): one reconstruction per ensemble member, each made without that
// member, which then scores it; the best-scored candidate is kept. A network that took no part in a
// candidate stands in for the judge it has to convince — the judge itself is never consulted.
import type { RgbImage } from '../io/image.ts';
import type { FaceModel } from '../models/face_model.ts';
import { embedAll } from './common.ts';
import { bundledFaces } from './guides.ts';

const unit = (v: ArrayLike<number>): Float64Array => {
  const n = Math.hypot(...Array.from(v)) || 1;
  return Float64Array.from(v, (x) => x / n);
};
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);

/**
 * How far each candidate stands out as its target's person to a network: its cosine to the target, in
 * standard deviations above its cosines to strangers (so scores of networks with different similarity scales
 * compare).
 */
export async function standOut(validator: FaceModel, targets: ArrayLike<number>[], candidates: RgbImage[], strangers: Float64Array[]): Promise<number[]> {
  const e = (await embedAll(validator, candidates)).map(unit);
  return e.map((c, k) => {
    const s = strangers.map((x) => dot(c, x));
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length) || 1;
    return (dot(c, unit(targets[k])) - mean) / sd;
  });
}

/** The strangers of standOut: the 100 bundled LFW faces, at the network's chip size. */
export async function strangersFor(validator: FaceModel): Promise<Float64Array[]> {
  return (await embedAll(validator, bundledFaces(validator.imageSize))).map(unit);
}

/**
 * Per target, the candidate set whose held-out network scores it highest: candidates[m][k] was made without
 * validators[m].model, which scores it against validators[m].targets[k].
 */
export async function pickByHeldOut(validators: { model: FaceModel; targets: ArrayLike<number>[] }[], candidates: RgbImage[][]): Promise<{ pick: number[]; scores: number[][] }> {
  const scores: number[][] = [];
  for (const [m, v] of validators.entries()) scores.push(await standOut(v.model, v.targets, candidates[m], await strangersFor(v.model)));
  const pick = candidates[0].map((_, k) => scores.reduce((best, s, m) => (s[k] > scores[best][k] ? m : best), 0));
  return { pick, scores };
}
