// The `faceinv` command. Thin: parses arguments, calls the library, reports.
import { existsSync } from 'node:fs';
import { init, shutdown, tidy } from '../index.ts';
import { convertDefaultModel } from '../models/faceapi-node.ts';
import { FaceModel, euclidean, cosine } from '../models/face_model.ts';
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
    process.stdout.write('Usage: faceinv info [--model file.onnx] [--json]\n\nPrints the WebGPU adapter and its limits, then the model\'s inputs, outputs, metadata and tappable layers.\n');
    return 0;
  }
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
