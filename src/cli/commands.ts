// The faceinv command table: every command's declaration (options, help) beside what runs it, and the
// small commands that need no file of their own (embed, compare, info, convert).
import { existsSync } from 'node:fs';
import { init, tidy } from '../index.ts';
import { convertDefaultModel } from '../models/faceapi-node.ts';
import { FaceModel, euclidean, cosine } from '../models/face_model.ts';
import { DEFAULT_MODEL } from './paths.ts';
import { loadModel, readImages, MAX_PIXELS_OPTION, EXIT_INTERRUPTED, type Parsed } from './common.ts';
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
  about: "Prints the WebGPU adapter and its limits, then the model's inputs, outputs, metadata and tappable layers.",
  options: [MODEL_OPTION, { name: 'json', type: 'flag', help: 'one JSON line' }],
};

async function info({ opt }: Parsed): Promise<number> {
  const model = loadModel(opt.model);
  const e = await init();
  const m = model.module;
  const report = {
    adapter: e.adapter,
    limits: e.limits,
    model: { file: m.name, opset: m.opset, inputs: m.inputs, outputs: m.outputs, metadata: m.metadata, layers: m.layers() },
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
    out.push(`layers (tap any by name, e.g. a guide layer): ${m.layers().length}`);
    for (const l of m.layers()) out.push(`  ${l.name}  (${l.op})`);
    process.stdout.write(out.join('\n') + '\n');
  }
  model.dispose();
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
