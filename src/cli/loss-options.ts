// The loss and optimiser options every reconstructing command shares (invert, transfer, sweep-tv, judge
// --reconstruct), declared once, and settings(): the preset with those options applied.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tidy, keep, type Tensor } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import type { ReconstructOptions } from '../invert/reconstruct.ts';
import { preset, decayingTv, guideLayersOf, type PresetName } from '../invert/presets.ts';
import { GaussianPrior, fitLapSpectrum } from '../invert/losses.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { ContrastFloor } from '../autograd/regularizers.ts';
import { num, pixelsOf, UsageError, MAX_PIXELS_OPTION, ALIGN_OPTION, type Parsed } from './common.ts';
import { applyOptions, type HelpHeading, type OptionSpec } from './options.ts';

/** S,K,R of a jitter option (--jitter, train-decoder's --view-jitter): shift in pixels, scale change below 1, rotation in degrees, all ≥ 0. */
export function parseJitter(name: string, v: string): { shift: number; scale: number; rotate: number } | string {
  const x = v.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (x.length !== 3 || !x.every((y) => y >= 0 && Number.isFinite(y)) || x[1] >= 1) return `--${name}: '${v}' is not S,K,R (shift in pixels, scale change below 1, rotation in degrees, all ≥ 0)`;
  return { shift: x[0], scale: x[1], rotate: (x[2] * Math.PI) / 180 };
}
/** A checked jitter option's geometry (its check has refused anything else; throws a UsageError all the same). */
export function jitterGeometry(name: string, v: string): { shift: number; scale: number; rotate: number } {
  const j = parseJitter(name, v);
  if (typeof j === 'string') throw new UsageError(j);
  return j;
}
/** A jitter's geometry as its option writes it (S,K,R with R in degrees): parseJitter's inverse. */
export const jitterText = (j: { shift: number; scale: number; rotate: number }): string => [j.shift, j.scale, +((j.rotate * 180) / Math.PI).toFixed(6)].join(',');
/** The option check of a jitter option named `name`: its parse error, or null. */
export const jitterCheck = (name: string) => (v: string): string | null => {
  const j = parseJitter(name, v);
  return typeof j === 'string' ? j : null;
};
export interface EnsembleSpec { file: string; size?: number; weight: number }
/** An --ensemble value, F[@S][:W]: the ONNX file, the input size to run it at (S), its weight (W, default 1). */
export function parseEnsembleSpec(v: string): EnsembleSpec | string {
  const m = /^(.+?)(?:@([0-9]+))?(?::([^:]*))?$/.exec(v);
  if (!m) return `--ensemble: '${v}' is not F[@S][:W]`;
  const weight = m[3] === undefined ? 1 : /^[0-9.eE+-]+$/.test(m[3]) ? Number(m[3]) : NaN;
  if (!(weight >= 0 && Number.isFinite(weight))) return `--ensemble: '${v}' has a bad weight (F:W with W ≥ 0)`;
  const size = m[2] === undefined ? undefined : Number(m[2]);
  if (size !== undefined && size < 32) return `--ensemble: '${v}' has a bad input size (F@S with S ≥ 32)`;
  return { file: m[1], size, weight };
}
const ensembleCheck = (v: string): string | null => {
  const p = parseEnsembleSpec(v);
  return typeof p === 'string' ? p : null;
};
const floorCheck = (name: string) => (v: string): string | null => {
  const x = v.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  return x.length <= 2 && x[0] >= 0 && Number.isFinite(x[0]) && (x.length === 1 || (x[1] >= 0 && x[1] < 1)) ? null : `--${name}: '${v}' is not W or W,F (a weight ≥ 0, a floor in [0, 1))`;
};

const weightsCheck = (v: string): string | null =>
  v.split(',').every((t) => t.trim() !== '' && Number(t) >= 0 && Number.isFinite(Number(t))) ? null : `--lap-weights: '${v}' is not a list of weights ≥ 0 (W0,W1,…)`;

/** The tone options (invert's and train-decoder's): --chroma-tv W, --contrast W[,F] and --face-contrast W[,F]. */
export const TONE_OPTIONS: OptionSpec[] = [
  { name: 'chroma-tv', type: 'number', arg: 'W', min: 0, help: "weight of the total variation of the image's colour (minus its luminance): less\ncolour speckle, the light-dark detail kept" },
  { name: 'contrast', type: 'string', arg: 'W[,F]', check: floorCheck('contrast'), help: 'weight of the contrast floor: images whose luminance standard deviation (0..1) is\nbelow F (default 0.2, a face photo\'s) are pushed up to it' },
  { name: 'face-contrast', type: 'string', arg: 'W[,F]', check: floorCheck('face-contrast'), help: "the same floor on the face region (the chip's central 60 %; default F 0.17, a face\nphoto's there): lifts a pale face that a dark background leaves above --contrast's floor" },
];

/**
 * What the tone options set: --chroma-tv its weight; --contrast and --face-contrast a floor's weight and level
 * (default: a face photo's σ there; W 0: off, null). Only the options given.
 */
export function tonesOf(opt: Parsed['opt']): { chromaTv?: number; contrast?: ContrastFloor | null; faceContrast?: ContrastFloor | null } {
  const floors: { chromaTv?: number; contrast?: ContrastFloor | null; faceContrast?: ContrastFloor | null } = {};
  if (opt['chroma-tv'] !== undefined) floors.chromaTv = num(opt, 'chroma-tv', 0, (v) => v >= 0);
  for (const [name, key, floor] of [['contrast', 'contrast', 0.2], ['face-contrast', 'faceContrast', 0.17]] as const) {
    if (opt[name] === undefined) continue;
    const v = String(opt[name]).split(',').map(Number);
    floors[key] = v[0] > 0 ? { weight: v[0], floor: v[1] ?? floor } : null;
  }
  return floors;
}

/** What the loss and optimiser options set: reconstruct()'s options less the model, targets and guides. */
type S = Omit<ReconstructOptions, 'model' | 'target' | 'guide'>;

/** The loss and optimiser options, shared by every command that reconstructs (each overrides the preset). */
export const LOSS_OPTIONS: (OptionSpec | HelpHeading)[] = [
  { heading: 'Loss and optimiser (each overrides the preset):' },
  { name: 'preset', type: 'string', arg: 'P', choices: ['paper', 'fast', 'identity'], choiceName: 'a preset', help: 'paper (default: 300 iterations), fast (100), or identity: paper with an edge-\npreserving TV (--tv 0.003 --tv-form pixel --tv-beta 1), input diversity (--jitter\n4,0.05,3 --flip --colour-jitter 0.1) and tones (--chroma-tv 0.3 --contrast 30,0.2\n--face-contrast 30,0.17 --skin 20), with mobileface, faceplugin, faceres@150 and\nmobilefacenet (not the model or the judge) as --ensemble: faces that other networks\nrecognise (BENCHMARKS.md)' },
  { name: 'iterations', type: 'int', min: 0, max: 10_000_000, help: 'iterations' },
  { name: 'lr', type: 'number', above: 0, set: (s: S, v: number) => (s.lr = v), help: 'learning rate (pixel units per step for Adam)' },
  { name: 'optimizer', type: 'string', arg: 'O', choices: ['adam', 'sgd'], set: (s: S, v: 'adam' | 'sgd') => (s.optimizer = v), help: 'adam or sgd' },
  { name: 'distance', type: 'string', arg: 'D', choices: ['l2', 'dot'], set: (s: S, v: 'l2' | 'dot') => (s.distance = v), help: 'l2 (default) or dot' },
  { name: 'normalize', type: 'flag', set: (s: S) => (s.normalize = true), help: 'compare unit-length embeddings' },
  { name: 'target-scale', type: 'number', arg: 'S', set: (s: S, v: number) => (s.targetScale = v), help: 'scale the target embedding before comparing (paper Fig. 8)' },
  { name: 'guide-layers', type: 'string', arg: 'A,B', help: "layers tied to the guide (default: the model's faceinv.guide_layers; 'pixels' = the image)" },
  { name: 'guide-weight', type: 'number', arg: 'W', min: 0, help: 'weight of each guide layer' },
  { name: 'guide-decay', type: 'number', arg: 'F', min: 0, max: 1, set: (s: S, v: number) => (s.guideDecay = v), help: "the guide layers' weights fall to F times their start over the run (default 1:\nconstant); late steps then follow the networks rather than the guide's features" },
  { name: 'tv', type: 'number', arg: 'W', min: 0, set: (s: S, v: number) => (s.tv = v > 0 ? { ...(s.tv ?? {}), weight: decayingTv(v, s.iterations!) } : null), help: 'starting w_TV; it falls to a tenth over the run (0 turns TV off)' },
  { name: 'tv-form', type: 'string', arg: 'F', choices: ['global', 'pixel'], set: (s: S, v: 'global' | 'pixel') => s.tv && (s.tv = { ...s.tv, form: v }), help: 'global (paper eq. 2, default) or pixel' },
  { name: 'tv-alpha', type: 'number', arg: 'A', above: 0, set: (s: S, v: number) => s.tv && (s.tv = { ...s.tv, alpha: v }), help: 'exponent α of the global form (default 2)' },
  { name: 'tv-beta', type: 'number', arg: 'B', above: 0, set: (s: S, v: number) => s.tv && (s.tv = { ...s.tv, beta: v }), help: 'exponent β of the per-pixel form (default 2)' },
  { name: 'lap-levels', type: 'int', min: 0, max: 8, set: (s: S, v: number) => (s.lapNormLevels = v), help: 'Laplacian-pyramid gradient normalisation levels (0 = off; default 4)' },
  { name: 'coarse-to-fine', type: 'number', arg: 'F', min: 0, max: 1, set: (s: S, v: number) => (s.coarseToFine = v), help: "over the first F of the iterations the normalisation's levels fade in, coarsest\nfirst: layout and shading settle before fine detail is drawn (needs --lap-levels)" },
  { name: 'lap-weights', type: 'string', arg: 'W0,W1,…', check: weightsCheck, set: (s: S, v: string) => (s.lapWeights = v.split(',').map(Number)), help: "weights of the normalisation's levels, finest first (missing ones 1): e.g. 0.3 draws\nless of the pixel-scale stripes" },
  { name: 'mirror', type: 'number', arg: 'W', min: 0, set: (s: S, v: number) => (s.mirror = v), help: 'weight of the mirror-symmetry regulariser' },
  { name: 'lp', type: 'number', arg: 'W', min: 0, help: 'weight of R_LP (eq. 12), its N_L and β fitted to the first guide' },
  { name: 'gauss-fit', type: 'string', arg: 'DIR', help: 'fit the Gaussian activation prior (appendix A) on the PNG faces in DIR' },
  { name: 'gauss-layer', type: 'string', arg: 'L', needs: 'gauss-fit', help: 'its layer (default: the second guide layer)' },
  { name: 'gauss-weight', type: 'number', arg: 'W', min: 0, needs: 'gauss-fit', help: 'its weight (default 1)' },
  { name: 'gauss-nu', type: 'number', arg: 'V', above: 0, needs: 'gauss-fit', help: 'its ν (default 0.1)' },
  { name: 'jitter', type: 'string', arg: 'S,K,R', check: jitterCheck('jitter'), help: 'transformation robustness: each step the network sees the image shifted by up to S\npixels, scaled by up to ±K and rotated by up to R degrees (e.g. 4,0.05,3)' },
  { name: 'flip', type: 'flag', help: 'also mirror the image the networks see, at random half of the steps' },
  { name: 'colour-jitter', type: 'number', arg: 'C', min: 0, max: 0.99, help: 'also change its contrast and brightness at random each step by up to ±C (e.g. 0.1)' },
  { name: 'blur-jitter', type: 'number', arg: 'B', min: 0, max: 1, help: 'also blur it at random each step: mixed toward its half-resolution version by up\nto B (0 … 1), so the identity reads at coarser scales too' },
  { name: 'noise-jitter', type: 'number', arg: 'σ', min: 0, help: 'also add fresh noise of standard deviation σ (pixel units, 0…255) to it each step:\ndetail finer than the noise cannot carry the identity (e.g. 12)' },
  { name: 'skin', type: 'number', arg: 'W', min: 0, set: (s: S, v: number) => (s.skin = v), help: "weight of the skin-tone prior: the face region's mean colour pulled toward skin\n(local colour left free)" },
  { name: 'chroma-step', type: 'number', arg: 'K', min: 0, max: 1, set: (s: S, v: number) => (s.chromaStep = v), help: 'scale the colour part of each step by K (light and dark move faster; less colour\nblotching)' },
  ...TONE_OPTIONS,
  { name: 'ensemble', type: 'string', arg: 'F[@S][:W]', repeat: true, check: ensembleCheck, help: 'another ONNX face model optimised together, on unit-length embeddings of the\ntarget photo under it, with weight W (default 1), run at input size S (a network\nwith faceinv.chip_box only; default its own); repeatable; needs PNG targets' },
  { name: 'caricature', type: 'number', arg: 'A', min: 0, set: (s: S, v: number) => (s.caricature = v), help: "move every network's target away from the guide's embedding by A times their\ndifference: the image is pushed past the target, away from the generic face" },
  { name: 'lap-param', type: 'int', min: 0, max: 8, set: (s: S, v: number) => (s.lapParam = v), help: "optimise the image's Laplacian pyramid (N levels) instead of its pixels" },
  { name: 'start', type: 'string', arg: 'S', help: 'guide (default), noise, or a PNG to start from' },
  { name: 'seed', type: 'int', arg: 'S', min: 0, max: 2 ** 32 - 1, set: (s: S, v: number) => (s.seed = v), help: 'seed of the noise start and of --jitter' },
  { name: 'model', type: 'string', help: 'an ONNX face model (default: the bundled dlib ResNet)' },
  ALIGN_OPTION,
  MAX_PIXELS_OPTION,
  { name: 'progress-every', type: 'int', arg: 'K', min: 1, set: (s: S, v: number) => (s.progressEvery = v), help: 'read the losses back every K iterations (default 10)' },
];

/** Reconstruction settings from the preset and the options that override it (everything but targets and guides). */
export async function settings(model: FaceModel, args: Parsed, firstGuide: Tensor | null): Promise<{ s: S; owned: { dispose(): void }[] }> {
  const { opt } = args;
  const presetName = (opt.preset ?? 'paper') as PresetName;
  if (!['paper', 'fast', 'identity'].includes(presetName)) throw new UsageError(`--preset: '${presetName}' is not a preset (paper, fast, identity)`);
  const metaLayers = JSON.parse(model.module.metadata['faceinv.guide_layers'] ?? '[]') as string[];
  const iterations = num(opt, 'iterations', NaN, (v) => Number.isInteger(v) && v >= 0);
  const s = preset(presetName, metaLayers, Number.isNaN(iterations) ? undefined : iterations);
  const owned: { dispose(): void }[] = [];
  const layers = typeof opt['guide-layers'] === 'string' ? opt['guide-layers'].split(',').filter(Boolean) : (s.guideLayers ?? []).map((g) => g.layer);
  const gw = num(opt, 'guide-weight', s.guideLayers?.[0]?.weight ?? 1e-3, (v) => v >= 0 && Number.isFinite(v));
  s.guideLayers = guideLayersOf(layers, gw).filter((g) => g.weight > 0);
  // Every option with a plain effect, declared in its row of LOSS_OPTIONS (tv before its form and exponents).
  applyOptions(LOSS_OPTIONS, opt, s);
  if (opt.lp !== undefined) {
    if (!firstGuide) throw new UsageError('--lp fits N_L and β to the guide: give a guide');
    const levels = 4;
    const unit = tidy(() => noGrad(() => O.mul(O.slice(firstGuide, [0, 0, 0, 0], [1, 3, model.imageSize, model.imageSize]), 1 / 255)));
    const fit = await fitLapSpectrum(unit, levels);
    unit.dispose();
    s.lp = { weight: num(opt, 'lp', 0, (v) => v >= 0), levels, ...fit };
  }
  if (opt['gauss-fit'] !== undefined) {
    const dir = String(opt['gauss-fit']);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--gauss-fit: ${dir} is not a directory`);
    const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort().map((f) => join(dir, f));
    if (files.length < 2) throw new UsageError(`--gauss-fit: ${dir} holds ${files.length} PNG file(s); the prior needs at least 2`);
    const layer = typeof opt['gauss-layer'] === 'string' ? opt['gauss-layer'] : (layers[1] ?? layers[0] ?? metaLayers[1]);
    if (!layer) throw new UsageError('--gauss-fit needs --gauss-layer (the model names no guide layers)');
    const acts = tidy(() => noGrad(() => model.embed(pixelsOf(model, files), [layer]).taps[layer]));
    const prior = GaussianPrior.fit(layer, acts, num(opt, 'gauss-nu', 0.1, (v) => v > 0));
    acts.dispose();
    owned.push(prior);
    s.gauss = { prior, weight: num(opt, 'gauss-weight', 1, (v) => v >= 0) };
  }
  if (opt.start !== undefined) {
    if (opt.start === 'guide' || opt.start === 'noise') s.start = opt.start;
    else {
      const img = keep(pixelsOf(model, [String(opt.start)]));
      owned.push(img);
      s.start = img;
    }
  }
  if (opt.jitter !== undefined) {
    s.jitter = { ...(s.jitter ?? {}), ...jitterGeometry('jitter', String(opt.jitter)), seed: s.seed };
  }
  if (opt.flip || opt['colour-jitter'] !== undefined || opt['blur-jitter'] !== undefined || opt['noise-jitter'] !== undefined) {
    s.jitter = { ...(s.jitter ?? { shift: 0, scale: 0, rotate: 0, seed: s.seed }) };
    if (opt.flip) s.jitter.flip = true;
    if (opt['colour-jitter'] !== undefined) s.jitter.colour = num(opt, 'colour-jitter', 0, (v) => v >= 0 && v < 1);
    if (opt['blur-jitter'] !== undefined) s.jitter.blur = num(opt, 'blur-jitter', 0, (v) => v >= 0 && v <= 1);
    if (opt['noise-jitter'] !== undefined) s.jitter.noise = num(opt, 'noise-jitter', 0, (v) => v >= 0);
  }
  Object.assign(s, tonesOf(opt));
  return { s, owned };
}
