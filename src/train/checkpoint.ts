// Decoder training checkpoints: one file, so that writing it atomically (temp file, fsync, rename: see
// checkpoint-file.ts) is enough for a crash at any moment to leave either the previous checkpoint or the new
// one, never a torn one. Encoding and decoding are pure (the browser demo reads checkpoints too).
// Layout: "FINVCKPT" · u32 header length · JSON header · float32 tensors (each at header.tensors[i].offset,
// in floats from the data start) · u32 CRC-32 of everything before it.
import type { DecoderConfig } from '../models/decoder.ts';
import { crc32 } from '../io/crc32.ts';

const MAGIC = 'FINVCKPT';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointHeader {
  version: number;
  config: DecoderConfig;
  /** Training settings, to resume with the same ones. */
  settings: Record<string, unknown>;
  /** Steps done. */
  step: number;
  /** State of the embedding sampler's random generator. */
  rng: number;
  optimizer: { t: number; updates: number[] };
  /** Anything else worth keeping (the sampler, the loss log's length …). */
  extra: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointHeader {
  /** Decoder parameters by name. */
  params: Map<string, Float32Array>;
  /** Optimizer state per parameter (in parameter order), e.g. Adam's m and v. */
  optimizerState: Float32Array[][];
}

/** A checkpoint that cannot be read: truncated, corrupt, or another format. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Serialises a checkpoint (weights, optimiser state, sampler, step) into bytes. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors: { name: string; offset: number; length: number }[] = [];
  const blobs: Float32Array[] = [];
  let at = 0;
  const add = (name: string, v: Float32Array) => {
    tensors.push({ name, offset: at, length: v.length });
    blobs.push(v);
    at += v.length;
  };
  for (const [name, v] of c.params) add(`param:${name}`, v);
  c.optimizerState.forEach((slots, i) => slots.forEach((v, k) => add(`opt:${i}:${k}`, v)));
  const header: CheckpointHeader & { tensors: typeof tensors } = {
    version: c.version, config: c.config, settings: c.settings, step: c.step, rng: c.rng, optimizer: c.optimizer, extra: c.extra, tensors,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Data starts on a 4-byte boundary so it can be viewed as floats.
  const headerEnd = 12 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + at * 4 + 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const floats = new Float32Array(out.buffer, dataStart, at);
  let k = 0;
  for (const b of blobs) {
    floats.set(b, k);
    k += b.length;
  }
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Reads bytes written by encodeCheckpoint back; throws CheckpointError naming `what` when they are not one. */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(`${what}: ${why}`);
  };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('not a faceinv decoder checkpoint');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) fail('corrupt (checksum mismatch)');
  const len = dv.getUint32(8, true);
  if (12 + len > bytes.length) fail('corrupt (header runs past the end)');
  let header: CheckpointHeader & { tensors: { name: string; offset: number; length: number }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  } catch {
    return fail('corrupt (unreadable header)');
  }
  if (header.version !== CHECKPOINT_VERSION) fail(`version ${header.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  const dataStart = Math.ceil((12 + len) / 4) * 4;
  const total = (bytes.length - 4 - dataStart) / 4;
  const copy = bytes.slice(dataStart, bytes.length - 4);
  const floats = new Float32Array(copy.buffer, 0, total);
  const params = new Map<string, Float32Array>();
  const optimizerState: Float32Array[][] = [];
  for (const t of header.tensors) {
    if (t.offset + t.length > total) fail(`corrupt (tensor ${t.name} runs past the end)`);
    const v = floats.slice(t.offset, t.offset + t.length);
    if (t.name.startsWith('param:')) params.set(t.name.slice(6), v);
    else {
      const [, i, k] = t.name.split(':').map(Number);
      (optimizerState[i] ??= [])[k] = v;
    }
  }
  const { tensors: _, ...rest } = header;
  return { ...rest, params, optimizerState };
}
