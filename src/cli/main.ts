// The `faceinv` command. Thin: parses arguments, calls the library, reports.
import { init, shutdown } from '../index.ts';

const HELP = `faceinv — invert face-recognition embeddings on WebGPU

Usage: faceinv <command> [options]

Commands:
  info        print the WebGPU adapter, its limits and the engine's kernel choices
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
