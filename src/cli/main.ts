// The `faceinv` command. Thin: parses arguments, calls the library, reports.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, shutdown } from '../index.ts';
import { convertDefaultModel } from '../models/faceapi-node.ts';

/** Where `npm install` puts the default model: <package>/models/ (the CLI lives in <package>/dist/). */
export const DEFAULT_MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'dlib_face_recognition_resnet.onnx');

const HELP = `faceinv — invert face-recognition embeddings on WebGPU

Usage: faceinv <command> [options]

Commands:
  info        print the WebGPU adapter, its limits and the engine's kernel choices
  convert     write the default face model (dlib's ResNet from @vladmandic/face-api) as ONNX
  help        this text

Options:
  --json      machine-readable output (info)
  --help      help for a command
`;

async function info(args: string[]): Promise<void> {
  if (args.includes('--help')) {
    process.stdout.write('Usage: faceinv info [--json]\n\nPrints the WebGPU adapter in use and its limits.\n');
    return;
  }
  const e = await init();
  const report = { adapter: e.adapter, limits: e.limits, features: e.features };
  if (args.includes('--json')) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    const a = e.adapter;
    process.stdout.write(`adapter: ${a.description || a.device} (${a.vendor}, ${a.architecture})${a.isCpu ? ' [CPU driver]' : ''}\n`);
    for (const [k, v] of Object.entries(e.limits)) process.stdout.write(`  ${k}: ${v}\n`);
  }
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
      await info(rest);
      return 0;
    case 'convert':
      return convert(rest);
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
    process.exit(1);
  });
