// faceinv train-decoder: the command-line face of src/train (paper §4, §5.2): presets, resume, checkpoints.
import { existsSync, mkdirSync, readFileSync, copyFileSync, appendFileSync } from 'node:fs';
import { join, extname, resolve as resolvePath } from 'node:path';
import { keep, type Tensor } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import { Rng } from '../tensor/random.ts';
import { Decoder, defaultDecoderConfig, checkConfig, type DecoderConfig } from '../models/decoder.ts';
import type { FaceModel } from '../models/face_model.ts';
import { GaussianSampler } from '../train/sampler.ts';
import { trainDecoder, LOSS_COLUMNS, type TrainSettings, type LogRow } from '../train/train.ts';
import { CHECKPOINT_VERSION, type Checkpoint } from '../train/checkpoint.ts';
import { readCheckpoint, writeCheckpoint } from '../train/checkpoint-file.ts';
import { readPng } from '../io/png.ts';
import { ProgressBar } from './progress.ts';
import { loadModel, num, pixelsOf, embedAll, writeText, abortOnSigint, UsageError, MAX_PIXELS_OPTION, EXIT_INTERRUPTED, EXIT_NON_FINITE, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs } from './outputs.ts';
import { DEFAULT_GUIDE, LFW_SHEET } from './paths.ts';
import { CHECKPOINT, type RunConfig } from './decoder-run.ts';
import { jitterCheck, jitterGeometry, jitterText, TONE_OPTIONS, tonesOf } from './loss-options.ts';
import type { ContrastFloor } from '../autograd/regularizers.ts';
import { IDENTITY_JITTER } from '../invert/presets.ts';
import { FACE_AUGMENT } from '../train/face_source.ts';
import { photoFiles, ensembleSpecsOf, realFaces, trainingFaces, faceTraining, withFaceSpace, type DataConfig } from './train-data.ts';

type Preset = { decoder: Partial<DecoderConfig>; train: TrainSettings; data: DataConfig['kind'] };

/**
 * cpu: a small decoder that trains here (2 CPU cores, lavapipe) in minutes; paper: the paper's sizes (L_n = 50,
 * w_TV = 1e-3; Table 1 also uses 112 and 250 filters and w_TV = 1e-4: --filters, --tv) for a GPU.
 * The guide weight 0.1 per layer: with the inversion's 3e-3 the guide term stayed flat and the decoder drew
 * grey fields that match embeddings; at 0.1 it draws the guide's face (measured, see the README).
 * identity (issue 20): the real faces themselves (the LFW sheet and any --photos), a linear face space fitted
 * to them first, a pixel term toward the face each embedding came from and no guide: distinct faces for
 * different people where the Gaussian-trained presets draw one face for all (BENCHMARKS.md § Decoders on the
 * labelled gallery; 600 steps of 8: 633 s here, the machine nearly idle), the loss's networks seeing each
 * decoded face through invert --preset identity's views (IDENTITY_JITTER): with them every network that took no
 * part identifies more of the gallery's people (BENCHMARKS.md § Decoders trained on real faces); the faces
 * stretched to a photo's contrast by the decoder's output layer (stretch 0.2: as distinct as the issue asks)
 * and 1500 steps with the rate decaying to a tenth (faceres, faceplugin and mobilefacenet find as many people
 * or more over two seeds, mobileface 1–3: BENCHMARKS.md § Photo contrast as a layer, and longer runs; 10–12
 * minutes here).
 */
function presetSettings(name: string, guideLayers: string[]): Preset {
  const layers = (w: number) => guideLayers.map((layer) => ({ layer, weight: w }));
  switch (name) {
    case 'cpu':
      return { decoder: { filters: 16 }, train: { steps: 400, batch: 8, lr: 2e-3, guideLayers: layers(0.1), tvWeight: 3e-2, checkpointEvery: 50, logEvery: 10 }, data: 'gaussian' };
    case 'paper':
      return { decoder: { filters: 50 }, train: { steps: 20000, batch: 64, lr: 1e-3, guideLayers: layers(0.1), tvWeight: 1e-3, checkpointEvery: 200, logEvery: 20 }, data: 'gaussian' };
    case 'identity':
      return { decoder: { filters: 16, linearLevels: 2, stretch: 0.2 }, train: { steps: 1500, batch: 8, lr: 2e-3, lrFinal: 0.1, guideLayers: [], tvWeight: 1e-3, pixelWeight: 3, viewJitter: IDENTITY_JITTER, checkpointEvery: 50, logEvery: 10 }, data: 'faces' };
    default:
      throw new UsageError(`--preset: '${name}' is not a preset (cpu, paper, identity)`);
  }
}

export const TRAIN_DECODER: CommandSpec = {
  name: 'train-decoder',
  summary: 'train a feed-forward decoder (paper §4) with the same loss, with checkpoints and --resume',
  usage: 'faceinv train-decoder --out <checkpoint dir> [--preset cpu|paper|identity] [--config <json>] [--seed S] [--resume] [options]',
  about: `Trains a feed-forward decoder (paper §4.1; --kind guided for §4.2) on random embeddings drawn from a Gaussian
fitted to real faces, with the same loss as faceinv invert; or (--data faces, --preset identity) on the real
faces themselves, augmented each step, their embeddings the inputs and the faces the pixel targets, with a
linear face space fitted to them first (ridge regression) and --ensemble networks pulled to their own
embeddings of the faces. Writes to the checkpoint dir: checkpoint.bin
(atomically, every --checkpoint-every steps and on Ctrl-C or SIGTERM, which then exit with code ${EXIT_INTERRUPTED}),
loss.csv, held-out.jsonl (embeddings the training never sees, for faceinv eval), config.json and the guide
image(s). --resume continues from checkpoint.bin exactly as an uninterrupted run with the same seed would
have; it takes a new --steps, and refuses any other option that contradicts the run's config.json.`,
  required: ['out'],
  options: [
    { name: 'out', type: 'string', arg: 'DIR', help: 'the checkpoint directory' },
    { name: 'resume', type: 'flag', help: 'continue the run in --out from its checkpoint' },
    { name: 'preset', type: 'string', arg: 'P', choices: ['cpu', 'paper', 'identity'], choiceName: 'a preset', help: 'cpu (default: 16 filters, 400 steps of 8, minutes here), paper (50 filters, for a GPU)\nor identity (real faces with a pixel term: --data faces --pixel-weight 3, no guide;\n--view-jitter 4,0.05,3 --stretch 0.2, 1500 steps --lr-decay 0.1: ~11 minutes here)' },
    { name: 'data', type: 'string', arg: 'D', choices: ['gaussian', 'faces'], choiceName: 'a kind of training data', help: 'gaussian (draws from a Gaussian fitted to the real faces\' embeddings; cpu, paper) or\nfaces (the real faces themselves, augmented, with a pixel term; identity)' },
    { name: 'photos', type: 'string', arg: 'PATH', repeat: true, help: 'face photos (files or folders) to train on besides the face sheet (--data faces)' },
    { name: 'align-faces', type: 'flag', help: "bring every training face to the model's chip first (--data faces): the bundled sheet's\ntiles through their measured framing, the --photos by their landmarks, ready chips too" },
    { name: 'any-framing', type: 'flag', help: "with --align-faces: the decoder's input is half the time the embedding of each face as\nread (its own framing) while it still draws the aligned face, so that a photo framed\notherwise (a ready chip, an LFW crop) decodes as its aligned face does" },
    { name: 'pixel-weight', type: 'number', arg: 'W', min: 0, help: "weight of the mean squared pixel difference to the real face (--data faces)" },
    { name: 'augment', type: 'string', arg: 'S,K,R', check: jitterCheck('augment'), help: 'move each real training face by up to S px, scale it by up to ±K and turn it by up to\nR° (--data faces; mirrored and re-toned as before; default 3,0.04,4): its embedding\nbarely says how it moved, so the pixel term learns the moves\' average' },
    { name: 'mix', type: 'number', arg: 'M', min: 0, max: 0.5, help: 'blend each drawn real face with another by a random fraction up to M (--data faces):\nfaces between the training people, so unseen people lie inside what was learnt' },
    { name: 'sheet-levels', type: 'int', arg: 'L', min: 1, max: 5, help: "compare the sheet's faces (25-px LFW crops, blurred at full size) with the decoded\nfaces only after L halvings, the --photos at full size (--data faces; default: all alike)" },
    { name: 'pixel-levels', type: 'int', arg: 'L', min: 0, max: 5, help: 'compare with the real face after L halvings (2: at 38 px, the coarse face; the detail left\nto the embedding terms; default 0)' },
    { name: 'grad-levels', type: 'int', arg: 'L', min: 0, max: 6, help: "the luminance of the networks' gradient on each decoded face balanced over L Laplacian\nlevels, its norm kept (the iterative method's --lap-levels, applied to what reaches the\ndecoder; default 0: as it comes)" },
    { name: 'view-jitter', type: 'string', arg: 'S,K,R', check: (v: string) => (v === 'none' ? null : jitterCheck('view-jitter')(v)), help: "the loss's networks see each decoded face shifted by up to S px, scaled by up to ±K,\nturned by up to R°, mirrored half the time and re-toned by up to ±10 % (invert's\n--preset identity diversity), the pixel term the face as drawn (identity: 4,0.05,3;\nnone: off)" },
    ...TONE_OPTIONS,
    { name: 'stretch', type: 'number', arg: 'S', above: 0, max: 0.9, help: "photo contrast as the decoder's output layer: each face's luminance stretched about its\nmean until its σ is at least S (0..1; a photo's ≈ 0.2), by at most 4×" },
    { name: 'ensemble', type: 'string', arg: 'F[@S][:W]', repeat: true, help: "another ONNX face model in the loss, pulled to its own embedding of the real face\n(--data faces; weight W, input size S), repeatable" },
    { name: 'config', type: 'string', help: 'JSON with any of {"decoder": {...}, "train": {...}} overriding the preset' },
    { name: 'kind', type: 'string', arg: 'K', choices: ['embedding', 'guided'], choiceName: 'a decoder kind', help: 'embedding (§4.1, default) or guided (§4.2)' },
    { name: 'filters', type: 'int', arg: 'L', min: 1, max: 4096, help: 'L_n, channels of each deconvolution' },
    { name: 'steps', type: 'int', min: 1, max: 1e9, help: 'training steps' },
    { name: 'batch', type: 'int', arg: 'B', min: 1, max: 4096, help: 'embeddings per step' },
    { name: 'lr', type: 'number', above: 0, help: 'Adam learning rate' },
    { name: 'lr-decay', type: 'number', arg: 'F', above: 0, max: 1, help: "Adam's rate falls along half a cosine to F × --lr at the last step (default 1:\nconstant; a resumed run with a new --steps stretches the curve)" },
    { name: 'tv', type: 'number', arg: 'W', min: 0, help: 'w_TV' },
    { name: 'guide-weight', type: 'number', arg: 'W', min: 0, help: "weight of each guide layer (the model's faceinv.guide_layers); with --data faces each\nface's guide is its own photo, seen through the same view: a perceptual term" },
    { name: 'checkpoint-every', type: 'int', arg: 'K', min: 1, help: 'write checkpoint.bin every K steps' },
    { name: 'log-every', type: 'int', arg: 'K', min: 1, help: 'append to loss.csv every K steps' },
    { name: 'guide', type: 'string', repeat: true, help: "guide image (repeat for a guided decoder's set; default the bundled average face)" },
    { name: 'faces', type: 'string', help: 'a sheet of 25×25 real faces to fit the embedding Gaussian on (default: the bundled LFW subset)' },
    { name: 'held-out', type: 'int', arg: 'N', min: 0, help: 'real faces of the sheet held out of training (default 20), besides 100 fresh Gaussian samples' },
    { name: 'seed', type: 'int', arg: 'S', min: 0, max: 2 ** 32 - 1, help: 'seed of the initialisation and of the embedding draws (default 1)' },
    { name: 'model', type: 'string', help: 'the face model (default: the bundled dlib ResNet)' },
    MAX_PIXELS_OPTION,
  ],
};

function metaLayers(model: FaceModel): string[] {
  return JSON.parse(model.module.metadata['faceinv.guide_layers'] ?? '[]') as string[];
}

function guideTensor(model: FaceModel, dir: string, files: string[]): Tensor {
  return keep(pixelsOf(model, files.map((f) => join(dir, f))));
}

/**
 * On --resume only the length may change: every other option given must agree with the run's config.json
 * (the same arguments again plus --resume are fine); one that differs, or one that only a fresh run reads,
 * is refused by name rather than silently ignored.
 */
function checkResume(opt: Parsed['opt'], run: RunConfig, dir: string): void {
  const recorded: Record<string, unknown> = {
    kind: run.decoder.kind,
    filters: run.decoder.filters,
    stretch: run.decoder.stretch ?? 'none',
    batch: run.train.batch,
    lr: run.train.lr,
    'lr-decay': run.train.lrFinal ?? 1,
    tv: run.train.tvWeight,
    'guide-weight': run.train.guideLayers[0]?.weight,
    'pixel-weight': run.train.pixelWeight,
    'pixel-levels': run.train.pixelLevels ?? 0,
    'sheet-levels': run.train.sheetLevels ?? 0,
    'grad-levels': run.train.gradLevels ?? 0,
    mix: run.train.mix ?? 0,
    augment: jitterText(run.train.augment ?? FACE_AUGMENT),
    'view-jitter': run.train.viewJitter ? jitterText(run.train.viewJitter) : 'none',
    'chroma-tv': run.train.chromaTv ?? 0,
    contrast: floorText(run.train.contrast),
    'face-contrast': floorText(run.train.faceContrast),
    'checkpoint-every': run.train.checkpointEvery,
    'log-every': run.train.logEvery,
    seed: run.seed,
    model: run.model,
  };
  const contradicts: string[] = [];
  const floors = tonesOf(opt);
  for (const [name, value] of Object.entries(recorded)) {
    const floor = name === 'contrast' ? floors.contrast : name === 'face-contrast' ? floors.faceContrast : undefined;
    const given = floor !== undefined ? floorText(floor) : opt[name];
    if (given === undefined) continue;
    const same = typeof value === 'number' ? Number(given) === value : String(given) === String(value);
    if (!same) contradicts.push(`--${name} ${given} (the run's: ${value ?? 'none'})`);
  }
  const fresh = ['preset', 'config', 'guide', 'faces', 'held-out', 'data', 'photos', 'ensemble', 'align-faces', 'any-framing'].filter((n) => opt[n] !== undefined).map((n) => `--${n}`);
  if (contradicts.length) throw new UsageError(`--resume: ${contradicts.join(', ')} contradict${contradicts.length === 1 ? 's' : ''} ${join(dir, 'config.json')}; drop ${contradicts.length === 1 ? 'it' : 'them'} or train into another --out`);
  if (fresh.length) throw new UsageError(`--resume: ${fresh.join(', ')} only shape${fresh.length === 1 ? 's' : ''} a new run; the run in ${dir} keeps its own (drop ${fresh.length === 1 ? 'it' : 'them'})`);
}

/** A contrast floor as its option writes it in full (W,F), or none. */
const floorText = (f: ContrastFloor | null | undefined): string => (f ? `${f.weight},${f.floor}` : 'none');

/** The decoder and training settings of a new run: the preset, then --config's, then single options. */
function configFrom(opt: Parsed['opt'], model: FaceModel): { decoder: DecoderConfig; train: TrainSettings; data: DataConfig['kind'] } {
  const layers = metaLayers(model);
  const p = presetSettings(String(opt.preset ?? 'cpu'), layers);
  let cfgFile: { decoder?: Partial<DecoderConfig>; train?: Partial<TrainSettings> } = {};
  if (typeof opt.config === 'string') {
    try {
      cfgFile = JSON.parse(readFileSync(opt.config, 'utf8'));
    } catch (e) {
      throw new UsageError(`--config ${opt.config}: ${(e as Error).message}`);
    }
  }
  const decoder = defaultDecoderConfig({
    outputSize: model.imageSize,
    embeddingSize: Number(model.module.outputs[0].dims.at(-1)),
    ...p.decoder,
    ...cfgFile.decoder,
    ...(opt.kind !== undefined ? { kind: opt.kind as DecoderConfig['kind'] } : {}),
    ...(opt.filters !== undefined ? { filters: num(opt, 'filters', 16, (v) => Number.isInteger(v) && v > 0) } : {}),
    ...(opt.stretch !== undefined ? { stretch: num(opt, 'stretch', 0.2, (v) => v > 0 && v < 1) } : {}),
  });
  const train: TrainSettings = { ...p.train, ...cfgFile.train };
  if (opt.steps !== undefined) train.steps = num(opt, 'steps', 0, (v) => Number.isInteger(v) && v > 0);
  if (opt.batch !== undefined) train.batch = num(opt, 'batch', 8, (v) => Number.isInteger(v) && v > 0);
  if (opt.lr !== undefined) train.lr = num(opt, 'lr', 1e-3, (v) => v > 0);
  if (opt['lr-decay'] !== undefined) train.lrFinal = num(opt, 'lr-decay', 1, (v) => v > 0 && v <= 1);
  if (opt.tv !== undefined) train.tvWeight = num(opt, 'tv', 0, (v) => v >= 0);
  // --guide-weight on a preset without guide layers (identity) ties the model's guide layers.
  const tied = train.guideLayers.length ? train.guideLayers : layers.map((layer) => ({ layer, weight: 0 }));
  if (opt['guide-weight'] !== undefined) train.guideLayers = tied.map((g) => ({ ...g, weight: num(opt, 'guide-weight', 0, (v) => v >= 0) }));
  if (opt['checkpoint-every'] !== undefined) train.checkpointEvery = num(opt, 'checkpoint-every', 50, (v) => Number.isInteger(v) && v > 0);
  if (opt['log-every'] !== undefined) train.logEvery = num(opt, 'log-every', 10, (v) => Number.isInteger(v) && v > 0);
  if (opt['pixel-weight'] !== undefined) train.pixelWeight = num(opt, 'pixel-weight', 0, (v) => v >= 0);
  if (opt['sheet-levels'] !== undefined) train.sheetLevels = num(opt, 'sheet-levels', 0, (v) => Number.isInteger(v) && v >= 1 && v <= 5);
  if (opt['pixel-levels'] !== undefined) train.pixelLevels = num(opt, 'pixel-levels', 0, (v) => Number.isInteger(v) && v >= 0 && v <= 5);
  if (opt['grad-levels'] !== undefined) train.gradLevels = num(opt, 'grad-levels', 0, (v) => Number.isInteger(v) && v >= 0 && v <= 6);
  if (opt.mix !== undefined) train.mix = num(opt, 'mix', 0, (v) => v >= 0 && v <= 0.5);
  if (opt.augment !== undefined) train.augment = { ...FACE_AUGMENT, ...jitterGeometry('augment', String(opt.augment)) };
  // --view-jitter S,K,R: the identity views with the given geometry (their flips and tones kept); none: off.
  if (opt['view-jitter'] === 'none') delete train.viewJitter;
  else if (opt['view-jitter'] !== undefined) train.viewJitter = { ...IDENTITY_JITTER, ...jitterGeometry('view-jitter', String(opt['view-jitter'])) };
  Object.assign(train, tonesOf(opt));
  return { decoder, train, data: (opt.data as DataConfig['kind'] | undefined) ?? p.data };
}

/** The mean and standard deviation per dimension of embeddings (the decoder's input standardisation). */
function standardisation(es: Float32Array[]): { inputMean: number[]; inputStd: number[] } {
  const D = es[0].length;
  const mean = Array.from({ length: D }, (_, i) => es.reduce((a, e) => a + e[i], 0) / es.length);
  const std = mean.map((m, i) => Math.max(1e-4, Math.sqrt(es.reduce((a, e) => a + (e[i] - m) ** 2, 0) / es.length)));
  return { inputMean: mean, inputStd: std };
}

/**
 * A new run from the options: its config.json, guides, loss log and held-out embeddings written to `dir`;
 * with the real faces it read (so that training reads them once).
 */
async function freshRun({ opt, all }: Pick<Parsed, 'opt' | 'all'>, model: FaceModel, dir: string, ckptPath: string): Promise<{ run: RunConfig; real: Awaited<ReturnType<typeof realFaces>> }> {
  if (existsSync(ckptPath)) throw new UsageError(`${dir} already holds a checkpoint: pass --resume to continue it, or choose another --out`);
  const cfg = configFrom(opt, model);
  const { decoder, train } = cfg;
  if (cfg.data === 'faces' && all.guide?.length) throw new UsageError("--guide: with --data faces each face's guide is its own photo (--guide-weight)");
  mkdirSync(dir, { recursive: true });
  const guides = (all.guide?.length ? all.guide : [DEFAULT_GUIDE]).map((g, i) => {
    const name = `guide-${i}${extname(g) || '.png'}`;
    readPng(g);
    copyFileSync(g, join(dir, name));
    return name;
  });
  if (decoder.kind === 'embedding' && guides.length > 1) throw new UsageError('a §4.1 decoder trains with one guide; several need --kind guided');
  // The real faces: some held out; the rest trained on ('faces') or fitted by the Gaussian ('gaussian').
  const faces = typeof opt.faces === 'string' ? opt.faces : LFW_SHEET;
  const data: DataConfig = { kind: cfg.data, sheet: resolvePath(faces), heldOut: 0, photos: photoFiles(all.photos ?? []), ensemble: ensembleSpecsOf(all.ensemble ?? []), ...(opt['align-faces'] ? { align: true } : {}), ...(opt['any-framing'] ? { anyFraming: true } : {}) };
  if (data.anyFraming && !data.align) throw new UsageError("--any-framing: the faces as read are the decoder's other inputs beside the aligned ones; give --align-faces too");
  if (data.kind === 'gaussian' && (data.photos.length || data.ensemble.length || cfg.train.mix || data.align || cfg.train.sheetLevels || cfg.train.augment)) throw new UsageError(`--photos, --ensemble, --mix, --augment, --align-faces and --sheet-levels train on real faces: give --data faces (or --preset identity)`);
  const real = await realFaces(model, data);
  const sheetEmb = await embedAll(model, real.sheet);
  data.heldOut = num(opt, 'held-out', 20, (v) => Number.isInteger(v) && v >= 0 && v <= sheetEmb.length - 2);
  const seed = num(opt, 'seed', 1, Number.isInteger);
  const trained = [...sheetEmb.slice(0, sheetEmb.length - data.heldOut), ...(data.kind === 'faces' ? await embedAll(model, real.photos) : [])];
  const sampler = GaussianSampler.fit(trained);
  if (!decoder.inputMean) Object.assign(decoder, standardisation(trained));
  const fresh = sampler.sample(new Rng(seed + 1_000_003), 100);
  const heldOut = data.heldOut;
  const lines = [
    ...sheetEmb.slice(sheetEmb.length - heldOut).map((e, i) => ({ source: `real face ${sheetEmb.length - heldOut + i} (held out of training)`, embedding: Array.from(e) })),
    ...Array.from({ length: 100 }, (_, i) => ({ source: `gaussian sample ${i} (a seed training never uses)`, embedding: Array.from(fresh.slice(i * sampler.dim, (i + 1) * sampler.dim)) })),
  ];
  writeText(join(dir, 'held-out.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const run: RunConfig = { decoder, train, seed, guides, sampler: sampler.toJSON(), model: typeof opt.model === 'string' ? opt.model : 'default', data };
  writeText(join(dir, 'config.json'), JSON.stringify(run, null, 1) + '\n');
  writeText(join(dir, 'loss.csv'), LOSS_COLUMNS.join(',') + '\n');
  return { run, real };
}

export async function trainDecoderCmd({ opt, all }: Parsed): Promise<number> {
  const dir = String(opt.out);
  checkOutputs([{ path: dir, what: '--out', dir: true }], [
    ...(all.guide ?? []).map((path) => ({ path, what: `--guide ${path}` })),
    ...(all.faces ?? []).map((path) => ({ path, what: `--faces ${path}` })),
    ...(all.config ?? []).map((path) => ({ path, what: `--config ${path}` })),
    ...(all.model ?? []).map((path) => ({ path, what: `--model ${path}` })),
  ]);
  const ckptPath = join(dir, CHECKPOINT);
  let resumedRun: RunConfig | null = null;
  let resumed: Checkpoint | null = null;
  if (opt.resume) {
    if (!existsSync(join(dir, 'config.json'))) throw new UsageError(`--resume: ${dir} holds no training run (no config.json)`);
    resumedRun = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig;
    checkResume(opt, resumedRun, dir);
    if (existsSync(ckptPath)) resumed = readCheckpoint(ckptPath);
    if (opt.steps !== undefined) resumedRun.train.steps = num(opt, 'steps', 0, (v) => Number.isInteger(v) && v > 0);
  }
  await init();
  const model = loadModel(opt.model ?? (resumedRun && resumedRun.model !== 'default' ? resumedRun.model : undefined));
  const fresh = resumedRun ? null : await freshRun({ opt, all }, model, dir, ckptPath);
  const run = resumedRun ?? fresh!.run;
  checkConfig(run.decoder);
  const sampler = GaussianSampler.fromJSON(run.sampler);
  const fitsFaceSpace = !resumed && !!run.decoder.linearLevels;
  // The real faces, when training or the face space needs them: read once (a resumed run reads them again).
  const real = run.data && (run.data.kind === 'faces' || fitsFaceSpace) ? (fresh?.real ?? (await realFaces(model, run.data))) : null;
  const train = real && run.data ? trainingFaces(real, run.data) : [];
  // (--any-framing: the same faces as read, the decoder's other inputs.)
  const asRead = real?.asRead && run.data ? trainingFaces(real.asRead, run.data) : undefined;
  // A new decoder with a face space gets it fitted first (again, the same, if killed before a checkpoint).
  const decoder = resumed
    ? Decoder.fromValues(run.decoder, resumed.params)
    : fitsFaceSpace && train.length
      ? Decoder.fromValues(run.decoder, await withFaceSpace(model, train, run.decoder, run.seed, asRead))
      : Decoder.create(run.decoder, run.seed);
  const guides = guideTensor(model, dir, run.guides);
  // The loss log keeps exactly the steps the checkpoint holds: rows of steps lost since are dropped.
  const logPath = join(dir, 'loss.csv');
  const startStep = resumed?.step ?? 0;
  // (A line cut short by a kill has fewer fields.)
  const lines = readFileSync(logPath, 'utf8').trim().split('\n');
  const columns = lines[0].split(',').length;
  const kept = lines.filter((l, i) => i === 0 || (l.split(',').length === columns && Number(l.split(',')[0]) < startStep));
  writeText(logPath, kept.join('\n') + '\n');
  const faceData = run.data?.kind === 'faces' ? faceTraining(model, run.data, train, run.train.batch, { mix: run.train.mix, augment: run.train.augment, asRead, ...(run.train.sheetLevels ? { sheet: real!.sheet.length - run.data.heldOut } : {}) }) : null;
  const bar = new ProgressBar(run.train.steps, 'train', 'steps');
  const { signal, release } = abortOnSigint('checkpointing after this step');
  let last: LogRow | null = null;
  const t0 = performance.now();
  let r;
  try {
    r = await trainDecoder({
      model, decoder, sampler, guides, settings: run.train, seed: run.seed, signal, faces: faceData?.source, ensemble: faceData?.ensemble,
      resume: resumed ? { step: resumed.step, rng: resumed.rng, optimizer: { ...resumed.optimizer, state: resumed.optimizerState } } : undefined,
      onLog: (rows, sps) => {
        appendFileSync(logPath, rows.map((x) => LOSS_COLUMNS.slice(0, columns).map((k) => x[k as keyof LogRow]).join(',')).join('\n') + '\n');
        last = rows[rows.length - 1];
        bar.update(last.step + 1, { loss: last.loss, distance: last.distance }, sps);
      },
      onCheckpoint: (s) =>
        writeCheckpoint(ckptPath, {
          version: CHECKPOINT_VERSION, config: run.decoder, settings: run.train as unknown as Record<string, unknown>, step: s.step, rng: s.rng,
          optimizer: { t: s.optimizer.t, updates: s.optimizer.updates }, optimizerState: s.optimizer.state, params: s.params, extra: { seed: run.seed },
        }),
    });
  } finally {
    bar.done();
    release();
  }
  decoder.dispose();
  guides.dispose();
  faceData?.dispose();
  model.dispose();
  if (r.stopped === 'non-finite') process.stderr.write(`faceinv: ${r.message}\n`);
  const lastRow = last as LogRow | null;
  process.stdout.write(
    JSON.stringify({ out: dir, checkpoint: ckptPath, steps: r.steps, stopped: r.stopped, loss: lastRow?.loss ?? null, distance: lastRow?.distance ?? null, seconds: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n',
  );
  return r.stopped === 'non-finite' ? EXIT_NON_FINITE : 0;
}
