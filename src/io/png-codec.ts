// PNG decode and encode without Node: zlib through the web's DecompressionStream / CompressionStream, which
// Deno, browsers and Node ≥ 18 all have. For the browser demo and the Deno example; Node's CLI uses pngjs
// (png.ts). Decodes 8- and 16-bit grey, grey + alpha, RGB and RGBA, palette, non-interlaced; encodes 8-bit RGB.
import type { RgbImage } from './image.ts';
import { crc32 } from './crc32.ts';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

async function inflate(data: Uint8Array, format: 'deflate'): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** PNG bytes that cannot be decoded (or an image that cannot be encoded). */
export class PngCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngCodecError';
  }
}

/**
 * RGB 0..255 (alpha dropped, 16-bit scaled) from PNG bytes. Long on purpose: it walks the chunk stream once,
 * checking each chunk where it stands, so every refusal of a malformed file names the chunk it came from.
 */
export async function decodePngBytes(bytes: Uint8Array, what = 'image'): Promise<RgbImage> {
  const fail = (why: string): never => {
    throw new PngCodecError(`${what}: ${why}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let color = 0;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + len > bytes.length) fail(`chunk ${type} runs past the end`);
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(at + 8);
      height = dv.getUint32(at + 12);
      depth = bytes[at + 16];
      color = bytes[at + 17];
      if (bytes[at + 20] !== 0) fail('interlaced PNGs are not supported');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[color];
  if (!width || !height || !channels || !(depth === 8 || depth === 16) || (color === 3 && depth !== 8)) {
    fail(`unsupported PNG (colour type ${color}, bit depth ${depth})`);
  }
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let k = 0;
  for (const c of idat) {
    joined.set(c, k);
    k += c.length;
  }
  let raw: Uint8Array;
  try {
    raw = await inflate(joined, 'deflate');
  } catch (e) {
    return fail(`corrupt image data (${(e as Error).message})`);
  }
  const bpp = (channels * depth) / 8;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) fail('image data is shorter than the image');
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? px.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = up ? up[i] : 0;
      const c = up && i >= bpp ? up[i - bpp] : 0;
      let p: number;
      switch (filter) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const q = a + b - c;
          const pa = Math.abs(q - a);
          const pb = Math.abs(q - b);
          const pc = Math.abs(q - c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          return fail(`unknown row filter ${filter}`);
      }
      row[i] = (src[i] + p) & 0xff;
    }
  }
  const data = new Float32Array(width * height * 3);
  const sample = (i: number, ch: number) => (depth === 8 ? px[i * bpp + ch] : ((px[i * bpp + 2 * ch] << 8) | px[i * bpp + 2 * ch + 1]) * (255 / 65535));
  for (let i = 0; i < width * height; i++) {
    if (color === 3) {
      const e = px[i] * 3;
      if (!palette || e + 2 >= palette.length) fail('palette index out of range');
      for (let c = 0; c < 3; c++) data[i * 3 + c] = palette![e + c];
    } else if (channels <= 2) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = sample(i, 0);
    else for (let c = 0; c < 3; c++) data[i * 3 + c] = sample(i, c);
  }
  return { width, height, data };
}

/** 8-bit RGB PNG bytes (values rounded and clamped to 0..255). */
export async function encodePngBytes(img: RgbImage): Promise<Uint8Array> {
  const stride = img.width * 3 + 1;
  const raw = new Uint8Array(img.height * stride);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width * 3; x++) raw[y * stride + 1 + x] = Math.max(0, Math.min(255, Math.round(img.data[y * img.width * 3 + x])));
  const z = await deflate(raw);
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, img.width);
  hv.setUint32(4, img.height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', z), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
