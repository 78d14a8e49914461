// The `faceinv` command. Thin: parses arguments against the command table, calls the command, reports.
import { shutdown } from '../index.ts';
import { setPixelLimit } from '../io/png.ts';
import { interrupted, setAlign, UsageError, EXIT_INTERRUPTED } from './common.ts';
import { parseCommand, helpText, wantsHelp } from './options.ts';
import { COMMANDS, HELP } from './commands.ts';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === cmd);
  if (!command) throw new UsageError(`unknown command '${cmd}' (see 'faceinv help')`);
  if (wantsHelp(rest)) {
    process.stdout.write(helpText(command.spec));
    return 0;
  }
  const a = parseCommand(command.spec, rest);
  if (typeof a.opt['max-pixels'] === 'string') setPixelLimit(Number(a.opt['max-pixels']));
  if (a.opt['no-align']) setAlign(false);
  const code = await command.run(a);
  const signal = interrupted();
  if (signal && code === 0) {
    process.stderr.write(`faceinv: ${cmd} was interrupted by ${signal}; what it had done is written (exit code ${EXIT_INTERRUPTED})\n`);
    return EXIT_INTERRUPTED;
  }
  return code;
}

/**
 * Exits once stdout and stderr have taken everything written: process.exit() drops output still queued for a
 * pipe (seen: `faceinv embed` of 20 images into a pipe printed 16 to 20 lines).
 */
async function exit(code: number): Promise<never> {
  shutdown();
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
  process.exit(code);
}

main(process.argv.slice(2))
  .then(exit)
  .catch((e: unknown) => {
    process.stderr.write(`faceinv: ${e instanceof Error ? e.message : String(e)}\n`);
    return exit(e instanceof UsageError ? 2 : 1);
  });
