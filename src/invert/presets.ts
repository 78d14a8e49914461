// Named settings for reconstruct(). The paper states its method (§3, §5.1) but few numbers; where it is
// silent the values below were chosen by measurement on the default model (distance reached, and a look at
// the images), as BENCHMARKS.md and the README report.
import type { ReconstructOptions } from './reconstruct.ts';

export type PresetName = 'paper' | 'fast';

/** The settings a preset fixes (everything but the model, targets and guides). */
export type PresetSettings = Omit<ReconstructOptions, 'model' | 'target' | 'guide' | 'onProgress' | 'signal'>;

/**
 * w_TV decreasing with the iteration (§3: "reducing w_TV with the iteration number" to undo TV's blur):
 * from w0 at the start to w0·end at the last iteration, geometrically.
 */
export const decayingTv = (w0: number, iterations: number, end = 0.1) => (t: number) => w0 * end ** Math.min(t / Math.max(iterations, 1), 1);

/** The guide layers the model's metadata names (faceinv.guide_layers), each with weight w. */
export const guideLayersOf = (layers: string[], w: number) => layers.map((layer) => ({ layer, weight: w }));

/**
 * paper: the method as the paper describes it — start from the guide; l2 distance on the unnormalised
 * embedding; the guide attached to several layers (§5.1); global TV (α = 2) whose weight falls with the
 * iterations; Laplacian-pyramid gradient normalisation with 4 levels; Adam. 300 iterations ("hundreds or even
 * thousands", §4).
 * fast: the same loss with a larger step and fewer iterations.
 */
export function preset(name: PresetName, guideLayers: string[], iterations?: number): PresetSettings {
  const common = { start: 'guide' as const, distance: 'l2' as const, normalize: false, targetScale: 1, lapNormLevels: 4, optimizer: 'adam' as const };
  switch (name) {
    case 'paper': {
      const its = iterations ?? 300;
      return { ...common, iterations: its, lr: 2, guideLayers: guideLayersOf(guideLayers, 3e-3), tv: { weight: decayingTv(3e-2, its), form: 'global', alpha: 2 } };
    }
    case 'fast': {
      const its = iterations ?? 100;
      return { ...common, iterations: its, lr: 3, guideLayers: guideLayersOf(guideLayers, 1e-3), tv: { weight: decayingTv(1e-2, its), form: 'global', alpha: 2 } };
    }
    default:
      throw new RangeError(`unknown preset '${name as string}' (paper, fast)`);
  }
}
