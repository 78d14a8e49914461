// What the faceinv commands share: argument parsing, loading the model, reading targets and images.
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { FaceModel } from '../models/face_model.ts';
import { readPng } from '../io/png.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/tape.ts';
import { DEFAULT_MODEL } from './paths.ts';

export class UsageError extends Error {}

export interface Parsed {
  pos: string[];
  /** Last value of each option; `all` keeps every value of repeatable ones. */
  opt: Record<string, string | true>;
  all: Record<string, string[]>;
}

/** Splits argv into positional arguments and `--flag value` / `--switch` options; unknown options are refused. */
export function parse(args: string[], valued: string[], switches: string[] = []): Parsed {
  const pos: string[] = [];
  const opt: Record<string, string | true> = {};
  const all: Record<string, string[]> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const name = a.slice(2);
    if (valued.includes(name)) {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      opt[name] = v;
      (all[name] ??= []).push(v);
    } else if (switches.includes(name) || name === 'help') opt[name] = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  return { pos, opt, all };
}

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
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}


/**
 * Stops long work at its next step on the first Ctrl-C (the work checks `signal.aborted` and still writes its
 * results); a second Ctrl-C exits at once.
 */
export function abortOnSigint(what = 'stopping after this iteration'): { signal: { aborted: boolean }; release(): void } {
  const signal = { aborted: false };
  const handler = () => {
    if (signal.aborted) process.exit(130);
    signal.aborted = true;
    process.stderr.write(`\nfaceinv: ${what} (Ctrl-C again to quit at once)\n`);
  };
  process.on('SIGINT', handler);
  return { signal, release: () => process.off('SIGINT', handler) };
}
