// Named settings for reconstruct(). The paper states its method (§3, §5.1) but few numbers; where it is
// silent the values below were chosen by measurement on the default model: the distance reached, and a look
// at the images. With the guide layers at 3e-3 and w_TV at 3e-2 the distance fell further (0.07 for the sample
// face) but the images kept more colour speckle from the normalised fine levels; at 0.03 and 0.1 they are
// cleaner faces at a distance of about 0.1, still far under the same-person threshold of 0.6.
import type { GuideLayer, ReconstructOptions } from './reconstruct.ts';
import type { Jitter } from './jitter.ts';
import type { ContrastFloor } from '../autograd/regularizers.ts';

export type PresetName = 'paper' | 'fast' | 'identity';

/** The settings a preset fixes (everything but the model, targets and guides). */
export type PresetSettings = Omit<ReconstructOptions, 'model' | 'target' | 'guide' | 'onProgress' | 'signal'>;

/**
 * w_TV decreasing with the iteration (§3: "reducing w_TV with the iteration number" to undo TV's blur):
 * from w0 at the start to w0·end at the last iteration, geometrically.
 */
export const decaying = (w0: number, iterations: number, end = 0.1): ((t: number) => number) => (t: number) => w0 * end ** Math.min(t / Math.max(iterations, 1), 1);
export const decayingTv = decaying;

/** The guide layers the model's metadata names (faceinv.guide_layers), each with weight w. */
export const guideLayersOf = (layers: string[], w: number): GuideLayer[] => layers.map((layer) => ({ layer, weight: w }));

/** The identity preset's input diversity: shifts ≤ 4 px, scale ±5 %, rotation ≤ 3°, mirrored half the time, contrast and brightness ±10 %. */
export const IDENTITY_JITTER: Readonly<Jitter> = Object.freeze({ shift: 4, scale: 0.05, rotate: (3 * Math.PI) / 180, flip: true, colour: 0.1 });

/**
 * The identity preset's contrast floors: a face photo's luminance σ, 0.2 over the chip and 0.17 on its face
 * region, each with weight 30 (train-decoder takes the same floors as options, not in its preset: BENCHMARKS.md).
 */
export const IDENTITY_CONTRAST: Readonly<{ contrast: ContrastFloor; faceContrast: ContrastFloor }> = Object.freeze({ contrast: { weight: 30, floor: 0.2 }, faceContrast: { weight: 30, floor: 0.17 } });

/**
 * paper: the method as the paper describes it — start from the guide; l2 distance on the unnormalised
 * embedding; the guide attached to several layers (§5.1, w_G = 0.03 each); global TV (α = 2) whose weight
 * falls from 0.1 to 0.01 over the iterations; Laplacian-pyramid gradient normalisation with 4 levels; Adam.
 * 300 iterations ("hundreds or even thousands", §4).
 * fast: the same loss with a larger step and fewer iterations.
 * identity: the paper's loss with an edge-preserving TV instead of its quadratic one (the per-pixel form with
 * β = 1, Σ √(Δx² + Δy²), weight 0.003 falling to 0.0003): the quadratic TV at 0.1 blurred the faces to a quarter
 * of a photo's local detail, and at 0.01 it let the networks draw wavy, ridged textures over the skin; the L1
 * form costs such ripples in proportion to their amplitude while a feature's edge costs no more than its height
 * (BENCHMARKS.md § Identity), with input diversity each step (shifts ≤ 4 px, scale ±5 %, rotation ≤ 3°, a
 * mirror image half the time, contrast and brightness ±10 %) and photo-like tones (chroma TV 0.3, a contrast
 * floor at a luminance σ of 0.2 with weight 30 and one on the face region at 0.17, a photo's there, also with
 * weight 30: the whole-image floor alone was met by a dark ground around a pale face; the face region's mean hue
 * pulled to skin with weight 20: from the grey guide the networks otherwise leave a violet cast); the CLI adds the bundled networks (mobileface,
 * faceplugin, faceres at 150 px and mobilefacenet) that are neither the model nor the judge as an ensemble. On the labelled gallery (BENCHMARKS.md
 * § Identity) the diversity and tones took a held-out network from 7 to 13 of 13 people identified, against
 * the ensemble with jitter alone, and the images from two fifths of a photo's contrast to 0.85 of it, with
 * far less colour blotching.
 */
export function preset(name: PresetName, guideLayers: string[], iterations?: number): PresetSettings {
  const common = { start: 'guide' as const, distance: 'l2' as const, normalize: false, targetScale: 1, lapNormLevels: 4, optimizer: 'adam' as const };
  switch (name) {
    case 'paper': {
      const its = iterations ?? 300;
      return { ...common, iterations: its, lr: 2, guideLayers: guideLayersOf(guideLayers, 0.03), tv: { weight: decayingTv(0.1, its), form: 'global', alpha: 2 } };
    }
    case 'fast': {
      const its = iterations ?? 100;
      return { ...common, iterations: its, lr: 3, guideLayers: guideLayersOf(guideLayers, 0.01), tv: { weight: decayingTv(0.05, its), form: 'global', alpha: 2 } };
    }
    case 'identity': {
      const paper = preset('paper', guideLayers, iterations);
      return {
        ...paper,
        tv: { weight: decayingTv(0.003, paper.iterations!), form: 'pixel', beta: 1 },
        jitter: IDENTITY_JITTER,
        chromaTv: 0.3,
        ...IDENTITY_CONTRAST,
        skin: 20,
      };
    }
    default:
      throw new RangeError(`unknown preset '${name as string}' (paper, fast, identity)`);
  }
}
