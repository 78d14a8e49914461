// Output paths are checked before any work, so that a run never ends, after all its iterations, in a path it
// cannot write, nor writes over one of its inputs or over another of its own outputs. Nothing is created
// here: the check probes the nearest existing folder with a temporary file and removes it.
import { closeSync, existsSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './options.ts';

/** A path and the option that names it, for messages. */
export interface NamedPath {
  path: string;
  /** e.g. '--out', '--trace (default: --out with .csv)'. */
  what: string;
  /** Output folders (the command writes files inside); files otherwise. */
  dir?: boolean;
}

/** The real path of a path that may not exist yet: its nearest existing ancestor resolved, the rest appended. */
function canonical(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    tail.unshift(basename(head));
    head = dirname(head);
  }
  try {
    return join(realpathSync(head), ...tail);
  } catch {
    return resolve(path);
  }
}

/** The nearest existing ancestor of a path (the folder a write would create the rest in). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

function probeWritable(dir: string, o: NamedPath): void {
  if (!statSync(dir).isDirectory()) throw new UsageError(`${o.what} ${o.path}: ${dir} is not a directory`);
  const probe = join(dir, `.faceinv-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw new UsageError(`${o.what} ${o.path}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  rmSync(probe, { force: true });
}

/**
 * Throws a one-line UsageError when an output cannot be written (a file that is a directory, a folder that is
 * a file, no permission, a read-only or virtual file system), equals an input, or equals another output.
 */
export function checkOutputs(outputs: NamedPath[], inputs: (NamedPath | null | undefined)[] = []): void {
  const seen = new Map<string, NamedPath>();
  const ins = inputs.filter((i): i is NamedPath => !!i).map((i) => ({ ...i, real: canonical(i.path) }));
  for (const o of outputs) {
    const real = canonical(o.path);
    const exists = existsSync(o.path);
    if (exists && !o.dir && statSync(o.path).isDirectory()) throw new UsageError(`${o.what} ${o.path} is a directory; name a file`);
    if (exists && o.dir && !statSync(o.path).isDirectory()) throw new UsageError(`${o.what} ${o.path} is a file; name a directory`);
    probeWritable(o.dir && exists ? o.path : nearestExisting(o.dir ? o.path : dirname(o.path)), o);
    const clash = seen.get(real);
    if (clash) throw new UsageError(`${o.what} ${o.path} is the same path as ${clash.what} ${clash.path}; name another`);
    seen.set(real, o);
    const input = ins.find((i) => i.real === real);
    if (input) throw new UsageError(`${o.what} ${o.path} is also ${input.what}; writing it would overwrite the input`);
  }
}
