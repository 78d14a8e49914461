// The faceinv command table: every command's declaration (options, help) beside what runs it, and the
// small commands that need no file of their own (embed, compare, info, convert).
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import { init, tidy } from '../index.ts';
import { convertDefaultModel, convertDetectorModels, writeAtomic } from '../models/faceapi-node.ts';
import { writePng } from '../io/png.ts';
import { FaceModel, euclidean, cosine } from '../models/face_model.ts';
import { OnnxModule } from '../models/onnx/module.ts';
import { decodeModel, isTflite } from '../models/onnx/load.ts';
import { convertTflite } from '../models/tflite-graph.ts';
import { encodeModel } from '../models/onnx/builder.ts';
import { DEFAULT_MODEL, DETECTOR_MODEL, LANDMARK_MODEL } from './paths.ts';
import { UsageError, loadModel, readFaces, MAX_PIXELS_OPTION, ALIGN_OPTION, EXIT_INTERRUPTED, type Face, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs } from './outputs.ts';
import { invert, transfer, sweepTv, INVERT, TRANSFER, SWEEP_TV } from './invert.ts';
import { trainDecoderCmd, TRAIN_DECODER } from './train-decoder.ts';
import { decodeCmd, DECODE } from './decode.ts';
import { evalCmd, EVAL } from './eval.ts';
import { judgeCmd, JUDGE } from './judge.ts';

async function embedFaces(model: FaceModel, faces: Face[]): Promise<Float32Array[]> {
  const e = tidy(() => model.embed(model.pixels(faces.map((f) => f.image))).embedding);
  const data = await e.data();
  e.dispose();
  const d = data.length / faces.length;
  return faces.map((_, i) => data.slice(i * d, (i + 1) * d));
}

const MODEL_OPTION = { name: 'model', type: 'string', arg: 'F', help: 'an ONNX face-embedding model (default: the bundled dlib ResNet)' } as const;

const EMBED: CommandSpec = {
  name: 'embed',
  summary: 'print the embedding of each face, one JSON line per face',
  usage: 'faceinv embed <photo.jpg|image.png ...> [--model file.onnx] [--no-align]',
  about: `Finds the faces in each photo (PNG or JPEG), aligns each to the model's chip and prints
{"image", "face", "box": [x, y, width, height], "score", "embedding"} as one JSON line per face. Square images
no larger than the chip (150×150) are taken as ready chips, and so is every image with --no-align:
{"image", "embedding"} per image.`,
  positionals: { name: 'image', min: 1, max: Infinity },
  options: [MODEL_OPTION, ALIGN_OPTION, MAX_PIXELS_OPTION],
};

const boxOf = (f: Face) => (f.box ? { box: [f.box.x, f.box.y, f.box.width, f.box.height].map((v) => Math.round(v * 10) / 10), score: Math.round(f.box.score * 1000) / 1000 } : {});

async function embed({ pos, opt }: Parsed): Promise<number> {
  const model = loadModel(opt.model);
  await init();
  const faces = await readFaces(model, pos, { all: true });
  const embs = await embedFaces(model, faces);
  const index = new Map<string, number>();
  faces.forEach((f, i) => {
    const k = index.get(f.path) ?? 0;
    index.set(f.path, k + 1);
    process.stdout.write(JSON.stringify({ image: f.path, ...(f.box ? { face: k } : {}), ...boxOf(f), embedding: Array.from(embs[i]) }) + '\n');
  });
  model.dispose();
  return 0;
}

const COMPARE: CommandSpec = {
  name: 'compare',
  summary: 'the distance between two faces and whether they are the same person',
  usage: 'faceinv compare <a.jpg|a.png> <b.jpg|b.png> [--model file.onnx] [--json] [--no-align]',
  about: `Euclidean distance of the embeddings (cosine similarity for models whose faceinv.distance is cosine, such as
assets/judges/mobileface.onnx) and the verdict at the model's same-person threshold. Each photo's most confident
face is aligned to the model's chip first (--no-align: the images are ready chips).`,
  positionals: { name: 'image', min: 2, max: 2 },
  options: [MODEL_OPTION, { name: 'json', type: 'flag', help: 'one JSON line' }, ALIGN_OPTION, MAX_PIXELS_OPTION],
};

async function compare({ pos, opt }: Parsed): Promise<number> {
  const model = loadModel(opt.model);
  await init();
  const [a, b] = await embedFaces(model, await readFaces(model, pos));
  const threshold = Number.isFinite(model.threshold) ? model.threshold : null;
  if (model.distance === 'cosine') {
    // Networks compared by angle (the judges): a similarity, the same person at or above the threshold.
    const similarity = cosine(a, b);
    const same = threshold === null ? null : similarity >= threshold;
    if (opt.json) process.stdout.write(JSON.stringify({ a: pos[0], b: pos[1], similarity, threshold, same_person: same }) + '\n');
    else process.stdout.write(`cosine similarity ${similarity.toFixed(4)}${same === null ? ' (the model states no threshold; faceinv judge measures one on a gallery)' : same ? ': same person' : ': different people'}\n`);
    model.dispose();
    return 0;
  }
  const distance = euclidean(a, b);
  const same = threshold === null ? null : distance < threshold;
  if (opt.json) process.stdout.write(JSON.stringify({ a: pos[0], b: pos[1], distance, threshold: model.threshold, same_person: same }) + '\n');
  else {
    const verdict = same === null ? '(the model states no threshold)' : same ? `same person (below ${model.threshold})` : `different people (at or above ${model.threshold})`;
    process.stdout.write(`distance ${distance.toFixed(4)}: ${verdict}\n`);
  }
  model.dispose();
  return 0;
}

const INFO: CommandSpec = {
  name: 'info',
  summary: "print the WebGPU adapter, its limits, and a model's inputs, metadata and tappable layers",
  usage: 'faceinv info [--model file.onnx] [--json]',
  about: "Prints the WebGPU adapter and its limits, then the model's inputs, outputs, metadata (and what is missing for faceinv to use it) and tappable layers.",
  options: [MODEL_OPTION, { name: 'json', type: 'flag', help: 'one JSON line' }],
};

async function info({ opt }: Parsed): Promise<number> {
  // The graph alone, so that a model faceinv cannot use yet is still described, with what it lacks.
  const file = typeof opt.model === 'string' ? opt.model : DEFAULT_MODEL;
  if (!existsSync(file)) throw new Error(typeof opt.model === 'string' ? `model file ${file} does not exist` : `the default model is missing at ${file}; run 'faceinv convert'`);
  const m = OnnxModule.fromBytes(new Uint8Array(readFileSync(file)), file);
  let model: FaceModel | null = null;
  let usable = 'yes';
  try {
    model = new FaceModel(m);
    usable = `yes: images ${model.imageSize}×${model.imageSize}${model.chipBox ? `, network input ${model.networkSize}×${model.networkSize} from chip box [${model.chipBox}]` : ''}, ${model.distance} distance`;
  } catch (err) {
    usable = `no: ${(err as Error).message}`;
  }
  const e = await init();
  const report = {
    adapter: e.adapter,
    limits: e.limits,
    model: { file: m.name, opset: m.opset, inputs: m.inputs, outputs: m.outputs, metadata: m.metadata, faceModel: usable, layers: m.layers() },
  };
  if (opt.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    const a = e.adapter;
    const out: string[] = [`adapter: ${a.description || a.device} (${a.vendor}, ${a.architecture})${a.isCpu ? ' [CPU driver]' : ''}`];
    for (const [k, v] of Object.entries(e.limits)) out.push(`  ${k}: ${v}`);
    out.push(`model: ${m.name} (opset ${m.opset})`);
    for (const i of m.inputs) out.push(`  input  ${i.name} [${i.dims.join(',')}]`);
    for (const o of m.outputs) out.push(`  output ${o.name} [${o.dims.join(',')}]`);
    for (const [k, v] of Object.entries(m.metadata)) out.push(`  ${k} = ${v}`);
    out.push(`usable as a face model: ${usable}`);
    out.push(`layers (tap any by name, e.g. a guide layer): ${m.layers().length}`);
    for (const l of m.layers()) out.push(`  ${l.name}  (${l.op})`);
    process.stdout.write(out.join('\n') + '\n');
  }
  if (model) model.dispose();
  else m.dispose();
  return 0;
}

const ANNOTATE: CommandSpec = {
  name: 'annotate',
  summary: 'write a copy of an ONNX (or TensorFlow Lite) model with faceinv.* metadata (how to feed a plain export)',
  usage: 'faceinv annotate <in.onnx | in.tflite> <out.onnx> key=value...',
  about: `Writes a copy of the model with faceinv.* metadata set (an empty value removes a key), then checks that
faceinv can use it. A float32 TensorFlow Lite model is converted to ONNX first. The keys:
  faceinv.mean=[r,g,b]        per-channel mean subtracted from 0..255 RGB pixels
  faceinv.scale=s             multiplier applied after (e.g. 0.0078125 for (p − 127.5) / 128)
  faceinv.chip_box=[x0,y0,s]  where the network's input lies in faceinv's face chips, in chip widths, for a
                              network trained on another framing (images are then faceinv.chip_size, 150)
  faceinv.distance=cosine     how embeddings compare (default euclidean)
  faceinv.same_person_threshold=t
  faceinv.guide_layers=["a","b"]  default guide layers for invert
Example (an ArcFace-style export taking (p − 127.5) / 128 on 112×112 crops):
  faceinv annotate arcface.onnx arcface-faceinv.onnx faceinv.mean=[127.5,127.5,127.5] faceinv.scale=0.0078125 faceinv.distance=cosine`,
  positionals: { name: 'argument', min: 3, max: Infinity },
  options: [],
};

function annotate({ pos }: Parsed): number {
  const [src, dst, ...pairs] = pos;
  const input = new Uint8Array(readFileSync(src));
  const m = decodeModel(isTflite(input) ? convertTflite(input, { name: basename(src) }) : input, src);
  const md = new Map((m.metadataProps ?? []).map((p) => [p.key!, p.value!]));
  for (const kv of pairs) {
    const at = kv.indexOf('=');
    if (at <= 0 || !kv.startsWith('faceinv.')) throw new UsageError(`annotate: '${kv}' is not faceinv.key=value`);
    const [k, v] = [kv.slice(0, at), kv.slice(at + 1)];
    if (v === '') md.delete(k);
    else md.set(k, v);
  }
  m.metadataProps = [...md].map(([key, value]) => ({ key, value }));
  const bytes = encodeModel(m);
  const check = FaceModel.fromBytes(bytes, dst);
  check.dispose();
  checkOutputs([{ path: dst, what: '<out.onnx>' }], [{ path: src, what: '<in.onnx>' }]);
  writeFileSync(dst, bytes);
  process.stdout.write(`wrote ${dst}: images ${check.imageSize}×${check.imageSize}, ${check.distance} distance\n`);
  return 0;
}

const CROP: CommandSpec = {
  name: 'crop',
  summary: "find the faces in photos and write each aligned to the model's chip as a PNG",
  usage: 'faceinv crop <photo.jpg|photo.png ...> --out <dir> [--model file.onnx]',
  about: `Finds every face in each photo (PNG or JPEG; EXIF orientation applied) with face-api's tiny face detector
and 68-point landmark net run on faceinv's engine, aligns it to the model's chip (dlib's 150-px template) and
writes <dir>/<photo name>.png, or <photo name>-<k>.png when the photo holds several faces, printing one line
per face with its box. A photo without a face is an error naming it.`,
  positionals: { name: 'photo', min: 1, max: Infinity },
  required: ['out'],
  options: [{ name: 'out', type: 'string', arg: 'DIR', help: 'the directory to write the chips into (made if missing)' }, MODEL_OPTION, MAX_PIXELS_OPTION],
};

async function crop({ pos, opt }: Parsed): Promise<number> {
  const dir = String(opt.out);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out: ${dir} is a file, not a directory`);
  const model = loadModel(opt.model);
  await init();
  const faces = await readFaces(model, pos, { all: true, force: true });
  mkdirSync(dir, { recursive: true });
  const count = new Map<string, number>();
  for (const f of faces) count.set(f.path, (count.get(f.path) ?? 0) + 1);
  const seen = new Map<string, number>();
  const written = new Set<string>();
  for (const f of faces) {
    const k = seen.get(f.path) ?? 0;
    seen.set(f.path, k + 1);
    const stem = basename(f.path, extname(f.path)) + (count.get(f.path)! > 1 ? `-${k}` : '');
    // Photos of the same name from different folders: the folder's name goes before the later ones.
    let name = `${stem}.png`;
    for (let n = 2; written.has(name); n++) name = `${basename(dirname(resolvePath(f.path)))}-${stem}${n > 2 ? `-${n}` : ''}.png`;
    written.add(name);
    const out = join(dir, name);
    writePng(out, f.image);
    const b = f.box!;
    process.stdout.write(`${out}: face ${k} of ${f.path}, box ${[b.x, b.y, b.width, b.height].map((v) => v.toFixed(0)).join(',')} (x,y,w,h), score ${b.score.toFixed(2)}\n`);
  }
  model.dispose();
  return 0;
}

const CONVERT: CommandSpec = {
  name: 'convert',
  summary: "write the default face model (dlib's ResNet from @vladmandic/face-api) and the face detector as ONNX",
  usage: 'faceinv convert [--out file.onnx] [--if-missing]',
  about: `Converts dlib's face-recognition ResNet shipped by @vladmandic/face-api into a standard ONNX file
(default: ${DEFAULT_MODEL}), and, beside the default model, face-api's tiny face detector and 68-point landmark
net (${DETECTOR_MODEL}, ${LANDMARK_MODEL}); npm install runs this.`,
  options: [
    { name: 'out', type: 'string', help: 'the ONNX file to write' },
    { name: 'if-missing', type: 'flag', help: 'do nothing when the file exists' },
  ],
};

function convert({ opt }: Parsed): number {
  const out = typeof opt.out === 'string' ? opt.out : DEFAULT_MODEL;
  if (!(opt['if-missing'] && existsSync(out))) {
    checkOutputs([{ path: out, what: '--out' }]);
    const r = convertDefaultModel(out);
    process.stdout.write(`wrote ${out} (${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB)\n`);
  }
  // The detector files go beside the bundled model (only when converting the default model).
  if (typeof opt.out !== 'string' && !(opt['if-missing'] && existsSync(DETECTOR_MODEL) && existsSync(LANDMARK_MODEL))) {
    const m = convertDetectorModels();
    writeAtomic(DETECTOR_MODEL, m.detector);
    writeAtomic(LANDMARK_MODEL, m.landmarks);
    process.stdout.write(`wrote ${DETECTOR_MODEL} and ${LANDMARK_MODEL}\n`);
  }
  return 0;
}

/** The command table: each command's declaration (options, help) and what runs it. */
export const COMMANDS: { spec: CommandSpec; run: (args: Parsed) => Promise<number> | number }[] = [
  { spec: INVERT, run: invert },
  { spec: TRANSFER, run: transfer },
  { spec: SWEEP_TV, run: sweepTv },
  { spec: TRAIN_DECODER, run: trainDecoderCmd },
  { spec: DECODE, run: decodeCmd },
  { spec: EVAL, run: evalCmd },
  { spec: JUDGE, run: judgeCmd },
  { spec: EMBED, run: embed },
  { spec: COMPARE, run: compare },
  { spec: INFO, run: info },
  { spec: ANNOTATE, run: annotate },
  { spec: CROP, run: crop },
  { spec: CONVERT, run: convert },
];

export const HELP = `faceinv — invert face-recognition embeddings on WebGPU

Usage: faceinv <command> [options]

Commands:
${COMMANDS.map(({ spec }) => `  ${spec.name.padEnd(14)} ${spec.summary}`).join('\n')}
  help           this text

'faceinv <command> --help' lists a command's options.
Exit codes: 0 done, 1 an error, 2 a usage error, 3 a loss became non-finite, ${EXIT_INTERRUPTED} stopped by Ctrl-C or SIGTERM
(the result so far is written).
`;
