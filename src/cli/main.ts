// The `faceinv` command. Thin: parses arguments, calls the library, reports.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { init, shutdown, tidy } from '../index.ts';
import { convertDefaultModel } from '../models/faceapi-node.ts';
import { FaceModel, euclidean, cosine } from '../models/face_model.ts';
import { OnnxModule } from '../models/onnx/module.ts';
import { decodeModel } from '../models/onnx/load.ts';
import { encodeModel } from '../models/onnx/builder.ts';
import { readPng } from '../io/png.ts';
import { DEFAULT_MODEL } from './paths.ts';
import { parse, loadModel, UsageError } from './common.ts';
import { invert, transfer, sweepTv } from './invert.ts';
import { trainDecoderCmd, decodeCmd, evalCmd } from './decoder.ts';
import { judgeCmd } from './judge.ts';

const HELP = `faceinv — invert face-recognition embeddings on WebGPU

Usage: faceinv <command> [options]

Commands:
  invert      reconstruct a face whose embedding matches a target (image or embedding)
  transfer    face transfer: reconstruct a target over the frames of a video, one frame per guide
  sweep-tv    the same reconstruction for several TV weights: images and a distance plot (paper Fig. 6)
  train-decoder  train a feed-forward decoder (paper §4) with the same loss, with checkpoints and --resume
  decode      faces from embeddings in one pass through a trained decoder
  eval        Table 1 and Fig. 10 of the paper for a trained decoder on held-out embeddings
  judge       does a face network that took no part recognise the person? identification against a gallery
  embed       print the embedding of each image, one JSON line per image
  compare     the distance between two faces and whether they are the same person
  info        print the WebGPU adapter, its limits, and a model's inputs, metadata and tappable layers
  annotate    write a copy of an ONNX model with faceinv.* metadata (how to feed a plain export)
  convert     write the default face model (dlib's ResNet from @vladmandic/face-api) as ONNX
  help        this text

Options:
  --model F   an ONNX face-embedding model (default: the bundled dlib ResNet)
  --json      machine-readable output (info, compare)
  --help      help for a command
`;

async function embedImages(model: FaceModel, paths: string[]): Promise<Float32Array[]> {
  const images = paths.map(readPng);
  const e = tidy(() => model.embed(model.pixels(images)).embedding);
  const data = await e.data();
  e.dispose();
  const d = data.length / paths.length;
  return paths.map((_, i) => data.slice(i * d, (i + 1) * d));
}

async function embed(args: string[]): Promise<number> {
  const { pos, opt } = parse(args, ['model']);
  if (opt.help || pos.length === 0) {
    process.stdout.write('Usage: faceinv embed <image.png ...> [--model file.onnx]\n\nPrints {"image", "embedding"} as one JSON line per image.\n');
    return opt.help ? 0 : 2;
  }
  const model = loadModel(opt.model);
  await init();
  const embs = await embedImages(model, pos);
  pos.forEach((image, i) => process.stdout.write(JSON.stringify({ image, embedding: Array.from(embs[i]) }) + '\n'));
  model.dispose();
  return 0;
}

async function compare(args: string[]): Promise<number> {
  const { pos, opt } = parse(args, ['model'], ['json']);
  if (opt.help || pos.length !== 2) {
    process.stdout.write('Usage: faceinv compare <a.png> <b.png> [--model file.onnx] [--json]\n\nEuclidean distance of the embeddings (cosine similarity for models whose faceinv.distance is cosine, such as\nassets/judges/mobileface.onnx) and the verdict at the model\'s same-person threshold.\n');
    return opt.help ? 0 : 2;
  }
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

async function info(args: string[]): Promise<number> {
  const { opt } = parse(args, ['model'], ['json']);
  if (opt.help) {
    process.stdout.write('Usage: faceinv info [--model file.onnx] [--json]\n\nPrints the WebGPU adapter and its limits, then the model\'s inputs, outputs, metadata (and what is missing for faceinv to use it) and tappable layers.\n');
    return 0;
  }
  // The graph alone, so that a model faceinv cannot use yet is still described, with what it lacks.
  const file = typeof opt.model === 'string' ? opt.model : DEFAULT_MODEL;
  if (!existsSync(file)) throw new Error(typeof opt.model === 'string' ? `model file ${file} does not exist` : `the default model is missing at ${file}; run 'faceinv convert'`);
  const m = OnnxModule.fromBytes(new Uint8Array(readFileSync(file)), file);
  let faceModel: FaceModel | null = null;
  let usable = 'yes';
  try {
    faceModel = new FaceModel(m);
    usable = `yes: images ${faceModel.imageSize}×${faceModel.imageSize}${faceModel.chipBox ? `, network input ${faceModel.networkSize}×${faceModel.networkSize} from chip box [${faceModel.chipBox}]` : ''}, ${faceModel.distance} distance`;
  } catch (e) {
    usable = `no: ${(e as Error).message}`;
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
  if (faceModel) faceModel.dispose();
  else m.dispose();
  return 0;
}

const ANNOTATE_HELP = `Usage: faceinv annotate <in.onnx> <out.onnx> key=value...

Writes a copy of the model with faceinv.* metadata set (an empty value removes a key), then checks that
faceinv can use it. The keys:
  faceinv.mean=[r,g,b]        per-channel mean subtracted from 0..255 RGB pixels
  faceinv.scale=s             multiplier applied after (e.g. 0.0078125 for (p − 127.5) / 128)
  faceinv.chip_box=[x0,y0,s]  where the network's input lies in faceinv's face chips, in chip widths, for a
                              network trained on another framing (images are then faceinv.chip_size, 150)
  faceinv.distance=cosine     how embeddings compare (default euclidean)
  faceinv.same_person_threshold=t
  faceinv.guide_layers=["a","b"]  default guide layers for invert
Example (an ArcFace-style export taking (p − 127.5) / 128 on 112×112 crops):
  faceinv annotate arcface.onnx arcface-faceinv.onnx faceinv.mean=[127.5,127.5,127.5] faceinv.scale=0.0078125 faceinv.distance=cosine
`;

function annotate(args: string[]): number {
  const { pos, opt } = parse(args, []);
  if (opt.help || pos.length < 3) {
    process.stdout.write(ANNOTATE_HELP);
    return opt.help ? 0 : 2;
  }
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
  writeFileSync(dst, bytes);
  process.stdout.write(`wrote ${dst}: images ${check.imageSize}×${check.imageSize}, ${check.distance} distance\n`);
  return 0;
}

function convert(args: string[]): number {
  if (args.includes('--help')) {
    process.stdout.write(
      'Usage: faceinv convert [--out file.onnx] [--if-missing]\n\n' +
        "Converts dlib's face-recognition ResNet shipped by @vladmandic/face-api into a standard ONNX file\n" +
        `(default: ${DEFAULT_MODEL}); npm install runs this.\n`,
    );
    return 0;
  }
  const at = args.indexOf('--out');
  const out = at >= 0 ? args[at + 1] : DEFAULT_MODEL;
  if (!out) throw new Error('convert: --out needs a file name');
  if (args.includes('--if-missing') && existsSync(out)) return 0;
  const r = convertDefaultModel(out);
  process.stdout.write(`wrote ${out} (${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB)\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'info':
      return info(rest);
    case 'embed':
      return embed(rest);
    case 'compare':
      return compare(rest);
    case 'convert':
      return convert(rest);
    case 'annotate':
      return annotate(rest);
    case 'invert':
      return invert(rest);
    case 'transfer':
      return transfer(rest);
    case 'sweep-tv':
      return sweepTv(rest);
    case 'train-decoder':
      return trainDecoderCmd(rest);
    case 'decode':
      return decodeCmd(rest);
    case 'eval':
      return evalCmd(rest);
    case 'judge':
      return judgeCmd(rest);
    default:
      process.stderr.write(`faceinv: unknown command '${cmd}' (see 'faceinv help')\n`);
      return 2;
  }
}

main(process.argv.slice(2))
  .then((code) => {
    shutdown();
    process.exit(code);
  })
  .catch((e: unknown) => {
    process.stderr.write(`faceinv: ${e instanceof Error ? e.message : String(e)}\n`);
    shutdown();
    process.exit(e instanceof UsageError ? 2 : 1);
  });
