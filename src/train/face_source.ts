// Real faces as decoder training data (issue 20): each step draws a batch of real face images, each moved
// (shift, scale, rotation, mirror) and re-toned at random on the GPU. Their embeddings under the model are the
// step's targets and the images themselves its pixel targets (and the ensemble's embedding targets), so the
// decoder is taught what real people look like from their embeddings, rather than one face that satisfies
// one network for every draw of a narrow Gaussian.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import type { Rng } from '../tensor/random.ts';
import * as O from '../autograd/ops.ts';
import { JitterView, type Jitter } from '../invert/jitter.ts';
import { pick } from './train.ts';

/** The augmentation of real faces: small, so that the embedding still says where the face is and how lit. */
export const FACE_AUGMENT: Jitter = { shift: 3, scale: 0.04, rotate: (4 * Math.PI) / 180, flip: true, colour: 0.1 };

export class FaceSource {
  /** The faces [F, 3, S, S], pixels 0..255; with `asRead`, then the same faces as read ([2F, 3, S, S]). */
  private readonly all: Tensor;
  /** F: how many faces (the first F of `all`). */
  readonly count: number;
  private readonly view: JitterView;
  private readonly mixes: Tensor | null;
  private readonly mixHost: Float32Array<ArrayBuffer>;
  /** Per item 1 for a sharp face, 0 for one of the first `sheet` (coarse) faces ([batch]), when `sheet` is given. */
  private readonly sharp: Tensor | null;
  private readonly sharpHost: Float32Array<ArrayBuffer>;
  /** How many of the faces, the first, are coarse (given `sheet`; else undefined: none marked). */
  readonly sheet: number | undefined;

  /**
   * `pixels` [F, 3, S, S] (taken over: disposed with the source); `batch` items are drawn per step. With `mix`
   * (0 … 0.5) each drawn face is blended with the next one in the batch by a random fraction up to it: faces
   * between the training people, whose embeddings the decoder then learns to draw too. With `asRead` (the same
   * faces [F, 3, S, S] in their own framing, taken over too) each item's input face is, half the time, its face
   * as read — moved, re-toned and mixed as its face is — rather than the face itself (`drawPair`). With `sheet`
   * the first that many faces are coarse (the LFW sheet's 25-px crops enlarged): each draw says which items are
   * sharp (`drawPair`'s `sharp`; a blend is sharp only when both its faces are).
   */
  constructor(
    pixels: Tensor,
    readonly batch: number,
    readonly augment: Jitter = FACE_AUGMENT,
    readonly mix = 0,
    { asRead, sheet }: { asRead?: Tensor; sheet?: number } = {},
  ) {
    if (pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== pixels.shape[3]) throw new RangeError(`FaceSource: faces must be [F, 3, S, S], got [${pixels.shape}]`);
    if (pixels.shape[0] < 2) throw new RangeError(`FaceSource: needs at least 2 faces, got ${pixels.shape[0]}`);
    if (!(mix >= 0 && mix <= 0.5)) throw new RangeError(`FaceSource: mix must be in [0, 0.5], got ${mix}`);
    if (mix && batch < 2) throw new RangeError('FaceSource: mixing faces needs a batch of 2 or more');
    if (asRead && asRead.shape.join() !== pixels.shape.join()) throw new RangeError(`FaceSource: the faces as read must be [${pixels.shape}] like the faces, got [${asRead.shape}]`);
    if (sheet !== undefined && !(Number.isInteger(sheet) && sheet >= 0 && sheet <= pixels.shape[0])) throw new RangeError(`FaceSource: sheet must count some of the ${pixels.shape[0]} faces, got ${sheet}`);
    this.count = pixels.shape[0];
    this.all = asRead ? keep(tidy(() => O.concat([pixels, asRead], 0))) : keep(pixels);
    if (asRead) {
      pixels.dispose();
      asRead.dispose();
    }
    this.view = new JitterView(batch, pixels.shape[2], augment, true);
    this.mixes = mix ? keep(O.zeros([batch, 1, 1, 1])) : null;
    this.mixHost = new Float32Array(batch);
    this.sheet = sheet;
    this.sharp = sheet !== undefined ? keep(O.zeros([batch])) : null;
    this.sharpHost = new Float32Array(batch);
  }

  get size(): number {
    return this.all.shape[2];
  }

  /** One step's batch [batch, 3, S, S]: random faces, each augmented at random (call inside a tidy scope). */
  draw(rng: Rng): Tensor {
    return this.drawPair(rng).faces;
  }

  /**
   * One step's faces and the decoder's input faces (the same tensor without `asRead`): each item's input is its
   * face or, half the time, that face as read, through the same augmentation and mix (call inside a tidy scope).
   */
  drawPair(rng: Rng): { faces: Tensor; inputs: Tensor; sharp?: Tensor } {
    const B = this.batch;
    const idx = Array.from({ length: B }, () => Math.floor(rng.next() * this.count));
    const faces = this.view.apply(pick(this.all, idx), rng);
    const asRead = this.all.shape[0] > this.count;
    const inputs = asRead ? this.view.replay(pick(this.all, idx.map((i) => (rng.next() < 0.5 ? i : i + this.count)))) : faces;
    const sharp = this.sharpness(idx);
    if (!this.mixes) return { faces, inputs, ...sharp };
    for (let i = 0; i < B; i++) this.mixHost[i] = this.mix * rng.next();
    this.mixes.write(this.mixHost);
    const mixed = this.mixed(faces);
    return { faces: mixed, inputs: inputs === faces ? mixed : this.mixed(inputs), ...sharp };
  }

  /** Which of the drawn faces `idx` are sharp, written to the GPU (with `sheet`; else nothing). */
  private sharpness(idx: number[]): { sharp?: Tensor } {
    if (!this.sharp) return {};
    const B = this.batch;
    const sharpFace = (i: number) => (i >= this.sheet! ? 1 : 0);
    for (let k = 0; k < B; k++) this.sharpHost[k] = sharpFace(idx[k]) * (this.mixes ? sharpFace(idx[(k + 1) % B]) : 1);
    this.sharp.write(this.sharpHost);
    return { sharp: this.sharp };
  }

  /** Each item blended toward the next one in the batch (the last toward the first) by this step's fractions. */
  private mixed(x: Tensor): Tensor {
    const [B, S] = [this.batch, this.size];
    const next = O.concat([O.slice(x, [1, 0, 0, 0], [B, 3, S, S]), O.slice(x, [0, 0, 0, 0], [1, 3, S, S])], 0);
    return O.add(x, O.mul(O.sub(next, x), this.mixes!));
  }

  dispose(): void {
    this.all.dispose();
    this.view.dispose();
    this.mixes?.dispose();
    this.sharp?.dispose();
  }
}
