// What the faceinv commands share: argument parsing, loading the model, reading targets and images.
import { existsSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { FaceModel } from '../models/face_model.ts';
import { readPng, DEFAULT_PIXEL_LIMIT } from '../io/png.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/tape.ts';
import { DEFAULT_MODEL } from './paths.ts';
import { UsageError, type OptionSpec } from './options.ts';

export { UsageError, type Parsed } from './options.ts';

/** Exit codes: 0 done, 1 an error, 2 a usage error, 3 a loss became non-finite, 4 stopped by Ctrl-C / SIGTERM (results written). */
export const EXIT_NON_FINITE = 3;
export const EXIT_INTERRUPTED = 4;

/** Input images over DEFAULT_PIXEL_LIMIT pixels (4096×4096) are refused before decoding unless this raises it. */
export const MAX_PIXELS_OPTION: OptionSpec = { name: 'max-pixels', type: 'int', min: 1, help: `largest input image accepted, in pixels (default ${DEFAULT_PIXEL_LIMIT}, 4096×4096)` };

export function loadModel(path: string | true | undefined): FaceModel {
  const file = typeof path === 'string' ? path : DEFAULT_MODEL;
  if (!existsSync(file)) {
    throw new Error(path ? `model file ${file} does not exist` : `the default model is missing at ${file}; run 'faceinv convert'`);
  }
  return FaceModel.fromBytes(new Uint8Array(readFileSync(file)), file);
}

/** A number option, checked. */
export function num(opt: Record<string, string | true>, name: string, def: number, check: (v: number) => boolean = Number.isFinite): number {
  const v = opt[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (v === true || !check(n)) throw new UsageError(`--${name}: '${v === true ? '' : v}' is not a valid value`);
  return n;
}

/** Pixels [N, 3, S, S] of PNG files, cropped and resized to the model's input. */
export function pixelsOf(model: FaceModel, paths: string[]): Tensor {
  return model.pixels(paths.map(readPng));
}

/** Embeddings [N, D] of images (0..255 pixels). */
export function embedPixels(model: FaceModel, pixels: Tensor): Tensor {
  return tidy(() => noGrad(() => model.embed(pixels).embedding));
}

/**
 * Target embeddings from --target values: a PNG (embedded with the model), or JSON: an array of numbers,
 * {"embedding": [...]} (what `faceinv embed` prints), or several such lines.
 */
export async function readTargets(model: FaceModel, sources: string[]): Promise<{ embeddings: Float32Array[]; labels: string[] }> {
  const dim = Number(model.module.outputs[0].dims.at(-1));
  const embeddings: (Float32Array | null)[] = [];
  const labels: string[] = [];
  const images: string[] = [];
  for (const src of sources) {
    if (!existsSync(src)) throw new Error(`target ${src} does not exist`);
    const bytes = readFileSync(src);
    if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
      images.push(src);
      embeddings.push(null);
      labels.push(src);
      continue;
    }
    const text = bytes.toString('utf8').trim();
    let values: unknown[];
    try {
      values = [JSON.parse(text)];
    } catch {
      values = text.split('\n').filter((l) => l.trim()).map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          throw new Error(`target ${src}: neither a PNG nor JSON (an embedding array, or {"embedding": [...]} per line)`);
        }
      });
    }
    values.forEach((v, k) => {
      const arr = Array.isArray(v) ? v : (v as { embedding?: unknown } | null)?.embedding;
      if (!Array.isArray(arr) || (Number.isInteger(dim) && arr.length !== dim) || arr.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
        const got = Array.isArray(arr) ? `${arr.length} values` : 'no embedding';
        throw new Error(`target ${src}${values.length > 1 ? ` (line ${k + 1})` : ''}: expected ${dim} finite numbers, got ${got}`);
      }
      embeddings.push(Float32Array.from(arr as number[]));
      labels.push(values.length > 1 ? `${src}#${k}` : src);
    });
  }
  if (images.length) {
    const e = tidy(() => embedPixels(model, pixelsOf(model, images)));
    const data = await e.data();
    e.dispose();
    const d = data.length / images.length;
    let k = 0;
    embeddings.forEach((v, i) => {
      if (v === null) embeddings[i] = data.slice(k * d, (k + 1) * d), k++;
    });
  }
  return { embeddings: embeddings as Float32Array[], labels };
}

/** Writes a text file atomically (temp file + rename). */
export function writeText(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}


/** The signal that stopped the command's work early, if one did: the command then exits EXIT_INTERRUPTED. */
let interruptedBy: NodeJS.Signals | null = null;
export const interrupted = (): NodeJS.Signals | null => interruptedBy;

/**
 * Stops long work at its next step on the first Ctrl-C or SIGTERM (the work checks `signal.aborted` and still
 * writes its results; the command then exits EXIT_INTERRUPTED); a second one exits at once (128 + signal).
 */
export function abortOnSigint(what = 'stopping after this iteration'): { signal: { aborted: boolean }; release(): void } {
  const signal = { aborted: false };
  const handler = (name: NodeJS.Signals) => {
    if (signal.aborted) process.exit(name === 'SIGTERM' ? 143 : 130);
    signal.aborted = true;
    interruptedBy = name;
    process.stderr.write(`\nfaceinv: ${name === 'SIGINT' ? 'Ctrl-C' : name}: ${what} (${name === 'SIGINT' ? 'Ctrl-C' : 'a second signal'} again to quit at once)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
