// Running the faceinv command (dist/cli.js, built by the test command) as a user does.
import { spawn, spawnSync } from 'node:child_process';

/** Runs faceinv to completion: exit code, stdout, stderr without Dawn's start-up warnings. */
export function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic')).join('\n') };
}

/** The JSON object on the last line of a command's stdout. */
export const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

/** Starts faceinv, sends `signal` once its stderr matches `when`, and resolves when it has exited. */
export function signalWhen(args: string[], when: RegExp, signal: NodeJS.Signals): Promise<{ exitCode: number | null; signalCode: NodeJS.Signals | null; out: string }> {
  const child = spawn(process.execPath, ['dist/cli.js', ...args]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => {
    let sent = false;
    child.stderr.on('data', (d) => {
      if (!sent && when.test(String(d))) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('exit', () => resolve({ exitCode: child.exitCode, signalCode: child.signalCode, out }));
  });
}
