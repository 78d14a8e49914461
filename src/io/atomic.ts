// Writing a file so that a reader (or a crash) never sees half of it: a temp file beside it, renamed over it.
import { writeFileSync, renameSync, rmSync, mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `data` to `path` atomically: temp file, optional fsync, rename. A failed write (disk full, the path a
 * directory) leaves what was there and no stray temp file. `mkdir` makes the directory first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { fsync?: boolean; mkdir?: boolean } = {}): void {
  if (opts.mkdir) mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    if (opts.fsync) {
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
