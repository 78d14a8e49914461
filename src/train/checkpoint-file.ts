// Checkpoint files (Node): written atomically, read with a clear error.
import { writeFileSync, readFileSync, renameSync, openSync, fsyncSync, closeSync, existsSync, rmSync } from 'node:fs';
import { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint } from './checkpoint.ts';

/** Writes the checkpoint atomically: temp file, fsync, rename over the old one. */
export function writeCheckpoint(path: string, c: Checkpoint): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, encodeCheckpoint(c));
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    // A failed write (disk full, the path a directory) leaves the previous checkpoint and no stray temp file.
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no checkpoint there`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}
