// The faceinv command table: every command's declaration (options, help) beside what runs it, and the
// small commands that need no file of their own (embed, compare, info, convert).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { init, tidy } from '../index.ts';
import { convertDefaultModel } from '../models/faceapi-node.ts';
import { FaceModel, euclidean, cosine } from '../models/face_model.ts';
import { OnnxModule } from '../models/onnx/module.ts';
import { decodeModel } from '../models/onnx/load.ts';
import { encodeModel } from '../models/onnx/builder.ts';
import { DEFAULT_MODEL } from './paths.ts';
import { UsageError, loadModel, readImages, MAX_PIXELS_OPTION, EXIT_INTERRUPTED, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs } from './outputs.ts';
import { invert, transfer, sweepTv, INVERT, TRANSFER, SWEEP_TV } from './invert.ts';
import { trainDecoderCmd, decodeCmd, evalCmd, TRAIN_DECODER, DECODE, EVAL } from './decoder.ts';
import { judgeCmd, JUDGE } from './judge.ts';

async function embedImages(model: FaceModel, paths: string[]): Promise<Float32Array[]> {
  const images = readImages(model, paths);
  const e = tidy(() => model.embed(model.pixels(images)).embedding);
  const data = await e.data();
  e.dispose();
  const d = data.length / paths.length;
  return paths.map((_, i) => data.slice(i * d, (i + 1) * d));
}

const MODEL_OPTION = { name: 'model', type: 'string', arg: 'F', help: 'an ONNX face-embedding model (default: the bundled dlib ResNet)' } as const;

const EMBED: CommandSpec = {
  name: 'embed',
  summary: 'print the embedding of each image, one JSON line per image',
  usage: 'faceinv embed <image.png ...> [--model file.onnx]',
  about: 'Prints {"image", "embedding"} as one JSON line per image.',
  positionals: { name: 'image', min: 1, max: Infinity },
  options: [MODEL_OPTION, MAX_PIXELS_OPTION],
};

async function embed({ pos, opt }: Parsed): Promise<number> {
  const model = loadModel(opt.model);
  await init();
  const embs = await embedImages(model, pos);
  pos.forEach((image, i) => process.stdout.write(JSON.stringify({ image, embedding: Array.from(embs[i]) }) + '\n'));
  model.dispose();
  return 0;
}

const COMPARE: CommandSpec = {
  name: 'compare',
  summary: 'the distance between two faces and whether they are the same person',
  usage: 'faceinv compare <a.png> <b.png> [--model file.onnx] [--json]',
  about: `Euclidean distance of the embeddings (cosine similarity for models whose faceinv.distance is cosine, such as
assets/judges/mobileface.onnx) and the verdict at the model's same-person threshold.`,
  positionals: { name: 'image', min: 2, max: 2 },
  options: [MODEL_OPTION, { name: 'json', type: 'flag', help: 'one JSON line' }, MAX_PIXELS_OPTION],
};

async function compare({ pos, opt }: Parsed): Promise<number> {
  const model = loadModel(opt.model);
  await init();
  const [a, b] = await embedImages(model, pos);
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
  summary: 'write a copy of an ONNX model with faceinv.* metadata (how to feed a plain export)',
  usage: 'faceinv annotate <in.onnx> <out.onnx> key=value...',
  about: `Writes a copy of the model with faceinv.* metadata set (an empty value removes a key), then checks that
faceinv can use it. The keys:
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
  const m = decodeModel(new Uint8Array(readFileSync(src)), src);
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

const CONVERT: CommandSpec = {
  name: 'convert',
  summary: "write the default face model (dlib's ResNet from @vladmandic/face-api) as ONNX",
  usage: 'faceinv convert [--out file.onnx] [--if-missing]',
  about: `Converts dlib's face-recognition ResNet shipped by @vladmandic/face-api into a standard ONNX file
(default: ${DEFAULT_MODEL}); npm install runs this.`,
  options: [
    { name: 'out', type: 'string', help: 'the ONNX file to write' },
    { name: 'if-missing', type: 'flag', help: 'do nothing when the file exists' },
  ],
};

function convert({ opt }: Parsed): number {
  const out = typeof opt.out === 'string' ? opt.out : DEFAULT_MODEL;
  if (opt['if-missing'] && existsSync(out)) return 0;
  checkOutputs([{ path: out, what: '--out' }]);
  const r = convertDefaultModel(out);
  process.stdout.write(`wrote ${out} (${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB)\n`);
  return 0;
}

/** The command table: each command's declaration (options, help) and what runs it. */
export const COMMANDS: { spec: CommandSpec; run: (a: Parsed) => Promise<number> | number }[] = [
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
