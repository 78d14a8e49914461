// Checkpoint files (Node): written atomically, read with a clear error.
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.ts';
import { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint } from './checkpoint.ts';

/** Writes the checkpoint atomically: temp file, fsync, rename over the old one. */
export function writeCheckpoint(path: string, c: Checkpoint): void {
  // A failed write (disk full, the path a directory) leaves the previous checkpoint and no stray temp file.
  writeFileAtomic(path, encodeCheckpoint(c), { fsync: true });
}

export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no checkpoint there`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}
