// Feed-forward decoders (paper §4.1, §4.2) and their training: shapes and initialisation, gradients, the
// embedding sampler, checkpoints, and a resumed run that ends bit for bit where an uninterrupted one does.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { readPng, writePng } from '../src/io/png.ts';
import { resize, type RgbImage } from '../src/io/image.ts';
import { padImage } from '../src/cli/common.ts';
import { realFaces, withFaceSpace, type DataConfig } from '../src/cli/train-data.ts';
import { Decoder, defaultDecoderConfig, parameterShapes, initialParameters, fullSize, type DecoderConfig } from '../src/models/decoder.ts';
import { GaussianSampler, cholesky } from '../src/train/sampler.ts';
import { encodeCheckpoint, decodeCheckpoint, CheckpointError, CHECKPOINT_VERSION, type Checkpoint } from '../src/train/checkpoint.ts';
import { trainDecoder, decoderLoss, type TrainSettings, type TrainState } from '../src/train/train.ts';
import { facesFromSheet, LFW_FRAME } from '../src/train/faces.ts';
import { FaceSource } from '../src/train/face_source.ts';
import { JitterView } from '../src/invert/jitter.ts';
import { faceRegionMask, totalVariation, chroma } from '../src/autograd/regularizers.ts';
import { ridge } from '../src/train/ridge.ts';
import { Rand } from './helpers/ref.ts';
import { defaultModelPath } from './helpers/faces.ts';

const tiny = (over: Partial<DecoderConfig> = {}) =>
  defaultDecoderConfig({ embeddingSize: 6, outputSize: 10, baseSize: 3, baseChannels: 4, filters: 5, upsamplings: 2, guideFilters: 3, ...over });

describe('decoder: architecture and initialisation (§4.1, §4.2, §5.2)', () => {
  it('§4.1: embeddings [N, D] → images [N, 3, S, S] inside 0..255, cropped from 3·2² = 12 to 10', async () => {
    const c = tiny();
    expect(fullSize(c)).toBe(12);
    const d = Decoder.create(c, 3);
    const e = F.tensor(Float32Array.from(new Rand(1).uniform(2 * 6, -1, 1)), [2, 6]);
    const img = d.decode(e);
    expect(img.shape).toEqual([2, 3, 10, 10]);
    const v = await img.data();
    expect(v.every((x) => x > 0 && x < 255)).toBe(true);
    [e, img].forEach((t) => t.dispose());
    d.dispose();
  });

  it('initialisation: deconvolutions are Xavier mixing × a smooth interpolation kernel; the image layer is grey', async () => {
    const c = tiny();
    const v = initialParameters(c, 4);
    const w0 = v.get('deconv0.weight')!;
    // Every filter-to-filter kernel is a multiple of the same 5×5 interpolation kernel (each stride phase sums to 1).
    const k = Array.from(w0.slice(0, 25));
    const scale = k[12] / (36 / 64);
    const interp = [1, 4, 6, 4, 1].flatMap((a) => [1, 4, 6, 4, 1].map((b) => (a * b) / 64));
    k.forEach((x, i) => expect(x).toBeCloseTo(scale * interp[i], 6));
    // The image layer mixes every input channel into R, G and B alike: a grey output.
    const wl = v.get('deconv1.weight')!;
    for (let i = 0; i < 5; i++) for (let t = 0; t < 25; t++) {
      expect(wl[(i * 3 + 1) * 25 + t]).toBe(wl[(i * 3) * 25 + t]);
      expect(wl[(i * 3 + 2) * 25 + t]).toBe(wl[(i * 3) * 25 + t]);
    }
    const d = Decoder.create(c, 4);
    const e = F.tensor(Float32Array.from(new Rand(2).uniform(6, -1, 1)), [1, 6]);
    const img = await d.decode(e).data();
    for (let p = 0; p < 100; p++) {
      expect(img[100 + p]).toBeCloseTo(img[p], 3);
      expect(img[200 + p]).toBeCloseTo(img[p], 3);
    }
    e.dispose();
    d.dispose();
  });

  it('§4.2: the guide joins every scale and the final convolution; a one-hot guide index joins the embedding', async () => {
    const c = tiny({ kind: 'guided', guideIndexCount: 3 });
    const shapes = Object.fromEntries(parameterShapes(c));
    expect(shapes['fc.weight']).toEqual([6 + 3, 4 * 9]);
    expect(shapes['deconv0.weight']).toEqual([4 + 3, 5, 5, 5]);
    expect(shapes['guide0.weight']).toEqual([3, 3, 5, 5]);
    expect(shapes['final.weight']).toEqual([3, 5 + 3, 5, 5]);
    const d = Decoder.create(c, 5);
    const e = F.tensor(Float32Array.from(new Rand(3).uniform(12, -1, 1)), [2, 6]);
    const guide = F.tensor(Float32Array.from(new Rand(4).uniform(300, 0, 255)), [1, 3, 10, 10]);
    const a = await F.tidy(() => d.decode(e, guide, [0, 2])).data();
    const b = await F.tidy(() => d.decode(e, F.mul(guide, 0.5), [0, 2])).data();
    const c2 = await F.tidy(() => d.decode(e, guide, [1, 2])).data();
    // Another guide, or another index, changes the image.
    expect(a.some((x, i) => Math.abs(x - b[i]) > 1e-3)).toBe(true);
    expect(a.slice(0, 300).some((x, i) => Math.abs(x - c2[i]) > 1e-4)).toBe(true);
    expect(a.slice(300).every((x, i) => x === c2[300 + i])).toBe(true);
    expect(() => d.decode(e, guide, [0, 3])).toThrow(/one guide index in 0..2 per embedding/);
    expect(() => d.decode(e)).toThrow(/needs guide images/);
    [e, guide].forEach((t) => t.dispose());
    d.dispose();
  });

  it('linear face space: the standardised embedding mapped linearly, enlarged by the pyramid, plus the residual', async () => {
    const c = tiny({ linearLevels: 1, inputMean: [1, 2, 3, 4, 5, 6], inputStd: [2, 2, 2, 4, 4, 4] });
    expect(Object.fromEntries(parameterShapes(c))['linear.weight']).toEqual([6, 3 * 5 * 5]);
    const values = initialParameters(c, 3);
    const W = Float32Array.from(new Rand(11).uniform(6 * 75, -30, 30));
    values.set('linear.weight', W);
    // No residual: the image layer's weights and bias zero, so tanh(0) = 0.
    values.set('deconv1.weight', new Float32Array(values.get('deconv1.weight')!.length));
    const d = Decoder.fromValues(c, values);
    const e = Float32Array.from(new Rand(12).uniform(12, 0, 8));
    const got = await F.tidy(() => d.decode(F.tensor(e, [2, 6]))).data();
    // The face space by hand: ((e − mean) / std)·W + 127.5 on the host, then the pyramid's enlargement.
    const small = new Float32Array(2 * 75);
    for (let n = 0; n < 2; n++) for (let j = 0; j < 75; j++) {
      let v = 127.5;
      for (let i = 0; i < 6; i++) v += ((e[n * 6 + i] - c.inputMean![i]) / c.inputStd![i]) * W[i * 75 + j];
      small[n * 75 + j] = v;
    }
    const want = await F.tidy(() => F.clamp(F.pyrUp(F.tensor(small, [2, 3, 5, 5]), 10, 10), 0, 255)).data();
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 2));
    d.dispose();
    expect(() => tiny({ kind: 'guided', linearLevels: 1 })).toThrow(/for the embedding decoder only/);
  });

  it('evenEdges: a uniform face space enlarges to a uniform face, where zero padding darkens the border', async () => {
    // A 3 × 2 level face space (10 → 5 → 3) whose weights are zero and bias a grey of 100, no residual.
    const over = { linearLevels: 2, outputSize: 10, baseSize: 3, upsamplings: 2 };
    const values = initialParameters(tiny(over), 5);
    values.set('linear.weight', new Float32Array(values.get('linear.weight')!.length));
    values.set('linear.bias', new Float32Array(values.get('linear.bias')!.length).fill(100));
    values.set('deconv1.weight', new Float32Array(values.get('deconv1.weight')!.length));
    values.set('deconv1.bias', new Float32Array(values.get('deconv1.bias')!.length));
    const e = F.tensor(Float32Array.from(new Rand(15).uniform(6, -1, 1)), [1, 6]);
    const [zero, even] = [tiny(over), tiny({ ...over, evenEdges: true })].map((c) => Decoder.fromValues(c, values));
    const [a, b] = [await F.tidy(() => zero.decode(e)).data(), await F.tidy(() => even.decode(e)).data()];
    b.forEach((v) => expect(v).toBeCloseTo(100, 3));
    // Zero padding: the corner loses the most, the centre nothing.
    expect(a[0]).toBeLessThan(90);
    expect(a[5 * 10 + 5]).toBeCloseTo(100, 3);
    [zero, even].forEach((d) => d.dispose());
    e.dispose();
    expect(() => tiny({ evenEdges: 1 as unknown as boolean })).toThrow(/evenEdges must be true or false/);
  });

  it('output stretch: each face\'s luminance σ raised to the floor about its mean, the same decoder otherwise', async () => {
    const values = initialParameters(tiny({ linearLevels: 1 }), 4);
    values.set('linear.weight', Float32Array.from(new Rand(13).uniform(values.get('linear.weight')!.length, -6, 6)));
    const [plain, toned] = [tiny({ linearLevels: 1 }), tiny({ linearLevels: 1, stretch: 0.1 })].map((c) => Decoder.fromValues(c, values));
    const e = F.tensor(Float32Array.from(new Rand(14).uniform(12, -1, 1)), [2, 6]);
    const [a, b] = [await F.tidy(() => plain.decode(e)).data(), await F.tidy(() => toned.decode(e)).data()];
    const HW = 100;
    const lum = (x: Float32Array, n: number) => Array.from({ length: HW }, (_, i) => [0.299, 0.587, 0.114].reduce((s, w, c) => s + w * x[(n * 3 + c) * HW + i], 0));
    const sd = (l: number[]) => Math.sqrt(l.reduce((s, v) => s + (v - l.reduce((t, u) => t + u, 0) / HW) ** 2, 0) / HW);
    for (let n = 0; n < 2; n++) {
      expect(sd(lum(a, n))).toBeLessThan(0.1 * 255);
      expect(Math.min(...b)).toBeGreaterThan(0);
      expect(sd(lum(b, n))).toBeCloseTo(0.1 * 255, 1);
      // Colour about the luminance unchanged: R − G the same in both.
      expect(b[n * 300 + 7] - b[n * 300 + 107]).toBeCloseTo(a[n * 300 + 7] - a[n * 300 + 107], 3);
    }
    e.dispose();
    [plain, toned].forEach((d) => d.dispose());
    expect(() => tiny({ stretch: 1.5 })).toThrow(/stretch must be/);
  });

  it('ridge regression: recovers a linear map from exact data, and its objective is stationary at the fit', () => {
    const r = new Rand(13);
    const [n, D, M] = [40, 5, 7];
    const Wt = r.uniform(D * M, -2, 2);
    const bt = r.uniform(M, -1, 1);
    const xs = Array.from({ length: n }, () => Array.from(r.uniform(D, -1, 1)));
    const ys = xs.map((x) => Array.from({ length: M }, (_, j) => bt[j] + x.reduce((a, v, i) => a + v * Wt[i * M + j], 0)));
    const exact = ridge(xs, ys, 1e-9);
    exact.weight.forEach((v, k) => expect(v).toBeCloseTo(Wt[k], 4));
    exact.bias.forEach((v, j) => expect(v).toBeCloseTo(bt[j], 4));
    // With noise and a real λ: ∂/∂W [Σ‖y − xW − b‖² + λ‖W‖²] = 0 and ∂/∂b = 0 (float64 on the host).
    const noisy = ys.map((y) => y.map((v) => v + 2 * r.next() - 1));
    const lambda = 3;
    const { weight: W, bias: b } = ridge(xs, noisy, lambda);
    const res = xs.map((x, k) => Array.from({ length: M }, (_, j) => b[j] + x.reduce((a, v, i) => a + v * W[i * M + j], 0) - noisy[k][j]));
    for (let j = 0; j < M; j++) {
      expect(Math.abs(res.reduce((a, rk) => a + rk[j], 0))).toBeLessThan(1e-3);
      for (let i = 0; i < D; i++) expect(Math.abs(xs.reduce((a, x, k) => a + x[i] * res[k][j], 0) + lambda * W[i * M + j])).toBeLessThan(1e-3);
    }
  });

  it('bad configurations and inputs are refused', () => {
    expect(() => tiny({ baseSize: 2 })).toThrow(/2·2\^2 = 8 is smaller than the output size 10/);
    expect(() => tiny({ filters: 0 })).toThrow(/filters must be a whole number ≥ 1/);
    expect(() => tiny({ guideIndexCount: 2 })).toThrow(/a guide index needs kind guided/);
    const d = Decoder.create(tiny(), 1);
    expect(() => F.tidy(() => d.decode(F.zeros([2, 5])))).toThrow(/embeddings must be \[N, 6\], got \[2,5\]/);
    expect(() => Decoder.fromValues(tiny(), new Map())).toThrow(/parameter fc.weight needs/);
    d.dispose();
  });

  it('gradients of every parameter against central differences of the decoder itself', async () => {
    const standardised = { inputMean: [0.1, -0.2, 0, 0.3, 0, 0.05], inputStd: [0.5, 1, 2, 0.7, 1, 1.5] };
    for (const c of [tiny(), tiny({ kind: 'guided' }), tiny({ linearLevels: 1, ...standardised }), tiny({ linearLevels: 1, ...standardised, stretch: 0.2 })]) {
      const values = initialParameters(c, 7);
      // A face space that is not flat, small enough that the clamp to 0..255 stays out of the way.
      if (c.linearLevels) values.set('linear.weight', Float32Array.from(new Rand(10).uniform(values.get('linear.weight')!.length, -20, 20)));
      const d = Decoder.fromValues(c, values);
      const e = F.tensor(Float32Array.from(new Rand(5).uniform(12, -1, 1)), [2, 6]);
      const guide = c.kind === 'guided' ? F.tensor(Float32Array.from(new Rand(6).uniform(600, 0, 255)), [2, 3, 10, 10]) : undefined;
      const r = F.tensor(Float32Array.from(new Rand(8).uniform(600, -1, 1)), [2, 3, 10, 10]);
      // On tanh's scale (the image mapped back to −1..1) the loss stays small enough for f32 differences.
      const loss = () => F.sum(F.mul(F.mul(F.sub(d.forward(e, guide), 127.5), 1 / 127.5), r));
      F.tidy(() => F.backward(loss()));
      const rnd = new Rand(9);
      for (const [name, p] of d.params) {
        const g = await p.grad!.data();
        const v = await p.data();
        for (let s = 0; s < 3; s++) {
          const i = Math.floor(rnd.next() * v.length);
          // Small enough that ReLU kinks are rarely crossed, large enough for f32 (loss values are O(10)).
          const h = 1e-4;
          const at = async (x: number) => {
            const w = v.slice();
            w[i] = x;
            p.write(w);
            const l = F.tidy(() => F.noGrad(loss));
            const out = await l.item();
            l.dispose();
            return out;
          };
          const num = ((await at(v[i] + h)) - (await at(v[i] - h))) / (2 * h);
          p.write(v);
          expect(Math.abs(num - g[i]), `${c.kind} ${name}[${i}]: analytic ${g[i]}, numeric ${num}`).toBeLessThan(0.01 + 0.02 * Math.abs(num));
        }
        p.grad!.dispose();
        p.grad = null;
      }
      [e, r, ...(guide ? [guide] : [])].forEach((t) => t.dispose());
      d.dispose();
    }
  });
});

describe('embedding sampler: a shrunk Gaussian fitted to real embeddings', () => {
  it('Cholesky factor: L·Lᵀ reproduces the matrix', () => {
    const a = Float64Array.from([4, 0, 0, 2, 5, 0, 1, 3, 6]);
    const L = cholesky(a, 3);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += L[i * 3 + k] * L[j * 3 + k];
        expect(s).toBeCloseTo(a[i * 3 + j], 12);
      }
    expect(() => cholesky(Float64Array.from([1, 0, 2, 1]), 2)).toThrow(/not positive definite/);
  });

  it('samples have the fitted mean and (shrunk) covariance; the same generator state draws the same numbers', () => {
    const r = new F.Rng(3);
    const D = 4;
    const A = [[1, 0, 0, 0], [0.8, 0.6, 0, 0], [0, 0.5, 0.5, 0], [0.2, 0, 0, 0.3]];
    const data = Array.from({ length: 4000 }, () => {
      const z = Array.from({ length: D }, () => r.normal());
      return A.map((row, i) => 1 + i + row.reduce((s, a, k) => s + a * z[k], 0));
    });
    const s = GaussianSampler.fit(data, 0.1);
    const rng = new F.Rng(11);
    const state = rng.state;
    const x = s.sample(rng, 20000);
    const mean = Array.from({ length: D }, (_, i) => x.filter((_, k) => k % D === i).reduce((a, b) => a + b, 0) / 20000);
    mean.forEach((m, i) => expect(m).toBeCloseTo(1 + i, 1));
    // Var of dimension 1 = 0.8² + 0.6² = 1; its covariance with dimension 0 is 0.8, shrunk by 10%.
    const c01 = x.reduce((acc, _, k) => (k % D === 0 ? acc + (x[k] - mean[0]) * (x[k + 1] - mean[1]) : acc), 0) / 20000;
    expect(c01).toBeCloseTo(0.72, 1);
    rng.state = state;
    expect(s.sample(rng, 3)).toEqual(x.slice(0, 3 * D));
    const again = GaussianSampler.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(again.sample(new F.Rng(5), 2)).toEqual(s.sample(new F.Rng(5), 2));
  });

  it('the bundled LFW sheet gives 100 faces at the model size', () => {
    const faces = facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150);
    expect(faces).toHaveLength(100);
    expect([faces[0].width, faces[0].height]).toEqual([150, 150]);
  });

  it('a frame resamples each tile: a shifted frame moves the face, edge pixels repeat past the tile', () => {
    // Two 5-px tiles side by side: a horizontal ramp and a vertical one, every channel alike.
    const sheet = { width: 10, height: 5, data: new Float32Array(10 * 5 * 3) };
    for (let y = 0; y < 5; y++) for (let x = 0; x < 10; x++) sheet.data.fill(x < 5 ? 40 * x : 40 * y, (y * 10 + x) * 3, (y * 10 + x) * 3 + 3);
    const plain = facesFromSheet(sheet, 20, 5);
    // Shifted by a fifth of the tile to the right: output pixel x shows the tile at x + 4 (of 20); past the
    // tile's edge its last column repeats.
    const [ramp] = facesFromSheet(sheet, 20, 5, [1, 0, 0.2, 0, 1, 0]);
    const at = (img: { data: Float32Array }, x: number, y: number) => img.data[(y * 20 + x) * 3];
    for (const x of [0, 5, 10]) expect(at(ramp, x, 7)).toBeCloseTo(at(plain[0], x + 4, 7), 4);
    expect(at(ramp, 19, 7)).toBe(160);
    // The bundled sheet through LFW_FRAME: 100 faces, still inside 0..255.
    const lfwFaces = facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150, 25, LFW_FRAME);
    expect(lfwFaces).toHaveLength(100);
    expect(lfwFaces.every((f) => f.data.every((v) => v >= 0 && v <= 255))).toBe(true);
  });
});

describe('checkpoints: one self-checking file', () => {
  const sample = (): Checkpoint => ({
    version: CHECKPOINT_VERSION, config: tiny(), settings: { steps: 5 }, step: 3, rng: 12345, optimizer: { t: 3, updates: [3, 3] },
    extra: { seed: 1 }, params: new Map([['a', Float32Array.of(1, 2, 3)], ['b', Float32Array.of(-0.5)]]),
    optimizerState: [[Float32Array.of(0.1, 0.2, 0.3), Float32Array.of(1, 1, 1)], [Float32Array.of(7), Float32Array.of(8)]],
  });
  it('round trip', () => {
    const c = decodeCheckpoint(encodeCheckpoint(sample()));
    expect(c.step).toBe(3);
    expect(c.rng).toBe(12345);
    expect(c.config).toEqual(tiny());
    expect(c.params.get('a')).toEqual(Float32Array.of(1, 2, 3));
    expect(c.optimizerState[1][1]).toEqual(Float32Array.of(8));
  });
  it('a flipped byte, a truncated file or another file is refused', () => {
    const bytes = encodeCheckpoint(sample());
    const flipped = bytes.slice();
    flipped[bytes.length - 10] ^= 1;
    expect(() => decodeCheckpoint(flipped, 'c.bin')).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(flipped, 'c.bin')).toThrow(/c.bin: corrupt \(checksum mismatch\)/);
    expect(() => decodeCheckpoint(bytes.slice(0, bytes.length - 7), 'c.bin')).toThrow(/corrupt/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"}'), 'x')).toThrow(/x: not a faceinv decoder checkpoint/);
  });
});

describe('decoder training', () => {
  let model: FaceModel;
  let guide: F.Tensor;
  let sampler: GaussianSampler;
  beforeAll(async () => {
    model = FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())));
    guide = F.keep(model.pixels([readPng('assets/guides/lfw-average.png')]));
    const faces = facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150).slice(0, 30);
    const e = F.tidy(() => F.noGrad(() => model.embed(model.pixels(faces)).embedding));
    const v = await e.data();
    e.dispose();
    sampler = GaussianSampler.fit(Array.from({ length: 30 }, (_, i) => v.slice(i * 128, (i + 1) * 128)));
  });
  afterAll(() => {
    guide.dispose();
    model.dispose();
  });

  const config = defaultDecoderConfig({ filters: 4 });
  const settings = (steps: number): TrainSettings => ({
    steps, batch: 2, lr: 2e-3, guideLayers: [{ layer: 'conv64_3', weight: 3e-3 }], tvWeight: 3e-2, checkpointEvery: 3, logEvery: 1,
  });

  it("realFaces with align: the bundled sheet through LFW_FRAME, a loosely framed chip aligned to the model's; without it, both as read; with anyFraming, both ways", async () => {
    const astro = readPng('assets/faces/astronaut.png');
    // The astronaut's chip at 80 % in a flat surround: a 150-px image that readFaces takes for a ready chip.
    const loose = resize(padImage(astro, 19), 150, 150, 'area');
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-align-'));
    const file = join(dir, 'loose.png');
    writePng(file, loose);
    const d: DataConfig = { kind: 'faces', sheet: 'assets/lfw/faces-25px.png', heldOut: 0, photos: [file, 'assets/faces/astronaut.png'], ensemble: [] };
    try {
      const [asRead, aligned] = [await realFaces(model, d), await realFaces(model, { ...d, align: true, anyFraming: true })];
      expect(asRead.asRead).toBeUndefined();
      expect(aligned.asRead!.photos.map((p) => p.data)).toEqual(asRead.photos.map((p) => p.data));
      expect(aligned.asRead!.sheet.map((p) => p.data)).toEqual(asRead.sheet.map((p) => p.data));
      const gap = (a: { data: Float32Array }, b: { data: Float32Array }) => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length;
      expect(gap(asRead.photos[0], readPng(file))).toBeLessThan(1e-6);
      // Aligned, the loose chip is nearly the astronaut's own chip aligned (resampling blur apart).
      expect(gap(aligned.photos[0], aligned.photos[1])).toBeLessThan(0.3 * gap(asRead.photos[0], aligned.photos[1]));
      const sheet = readPng('assets/lfw/faces-25px.png');
      expect(aligned.sheet[7].data).toEqual(facesFromSheet(sheet, 150, 25, LFW_FRAME)[7].data);
      expect(asRead.sheet[7].data).toEqual(facesFromSheet(sheet, 150)[7].data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run resumed from its checkpoint ends with the same weights, bit for bit, as one that never stopped; the loss falls', async () => {
    // Uninterrupted: 6 steps.
    const whole = Decoder.create(config, 2);
    const losses: number[] = [];
    const r1 = await trainDecoder({ model, decoder: whole, sampler, guides: guide, settings: settings(6), seed: 9, onLog: (rows) => losses.push(...rows.map((x) => x.loss)) });
    expect(r1).toEqual({ steps: 6, stopped: 'done', message: undefined });
    expect(losses).toHaveLength(6);
    const want = await whole.values();
    whole.dispose();
    // Interrupted after its checkpoint at step 3, then resumed from that checkpoint's bytes.
    const first = Decoder.create(config, 2);
    let saved: Uint8Array | null = null;
    const signal = { aborted: false };
    await trainDecoder({
      model, decoder: first, sampler, guides: guide, settings: settings(6), seed: 9, signal,
      onCheckpoint: (s: TrainState) => {
        // The first checkpoint (step 3) is the one resumed from; the abort stops the run a step later.
        if (saved) return;
        saved = encodeCheckpoint({ version: CHECKPOINT_VERSION, config, settings: {}, step: s.step, rng: s.rng, optimizer: { t: s.optimizer.t, updates: s.optimizer.updates }, optimizerState: s.optimizer.state, params: s.params, extra: {} });
        signal.aborted = true;
      },
    });
    first.dispose();
    const ckpt = decodeCheckpoint(saved!);
    expect(ckpt.step).toBe(3);
    const resumed = Decoder.fromValues(config, ckpt.params);
    const r2 = await trainDecoder({
      model, decoder: resumed, sampler, guides: guide, settings: settings(6), seed: 9,
      resume: { step: ckpt.step, rng: ckpt.rng, optimizer: { ...ckpt.optimizer, state: ckpt.optimizerState } },
    });
    expect(r2.steps).toBe(6);
    const got = await resumed.values();
    resumed.dispose();
    for (const [name, v] of want) expect(got.get(name), name).toEqual(v);
    expect(losses[5]).toBeLessThan(losses[0]);
  });

  it('lrFinal: the rate falls along half a cosine, its second of two steps at (1 + lrFinal) / 2 of the first', async () => {
    const run = async (steps: number, lrFinal?: number) => {
      const d = Decoder.create(config, 4);
      await trainDecoder({ model, decoder: d, sampler, guides: guide, settings: { ...settings(steps), lrFinal }, seed: 5 });
      const v = await d.values();
      d.dispose();
      return v;
    };
    const [one, constant, decayed] = [await run(1), await run(2), await run(2, 0.01)];
    // The same first step; the second moves by Adam's same normalised step times the rate.
    const moved = (v: Map<string, Float32Array>) => [...one].reduce((s, [name, w]) => s + w.reduce((t, x, i) => t + Math.abs(v.get(name)![i] - x), 0), 0);
    expect(moved(decayed) / moved(constant)).toBeCloseTo(0.505, 2);
  });

  it('steady state: after the first step no buffer is allocated and no pipeline created', async () => {
    const e = F.engine();
    const debug = e.debug;
    e.debug = false;
    const seen: { buffers: number; pipelines: number; reads: number }[] = [];
    const d = Decoder.create(config, 3);
    try {
      await trainDecoder({
        model, decoder: d, sampler, guides: guide, settings: { ...settings(5), checkpointEvery: 100 }, seed: 1,
        onLog: () => void seen.push({ buffers: e.stats().buffersAllocated, pipelines: e.stats().pipelines, reads: e.reads }),
      });
    } finally {
      e.debug = debug;
      d.dispose();
    }
    expect(seen).toHaveLength(5);
    for (const s of seen.slice(1)) {
      expect(s.buffers).toBe(seen[0].buffers);
      expect(s.pipelines).toBe(seen[0].pipelines);
    }
    // One readback per logged step (its loss block), none inside a step.
    for (let k = 1; k < seen.length; k++) expect(seen[k].reads - seen[k - 1].reads).toBe(1);
  });

  describe('on real faces (issue 20)', () => {
    const faceSettings = (steps: number): TrainSettings => ({ ...settings(steps), guideLayers: [], pixelWeight: 10, batch: 2 });
    const lfw = (n = 6, from = 0) => model.pixels(facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150).slice(from, from + n));

    it('withFaceSpace: uniform faces fit a uniform face space with evenEdges; zero padding darkens its border', async () => {
      const grey = (v: number): RgbImage => ({ width: 150, height: 150, data: new Float32Array(150 * 150 * 3).fill(v) });
      const faces = [grey(100), grey(100)];
      const c = defaultDecoderConfig({ filters: 4, linearLevels: 2 });
      const [zero, even] = await Promise.all([c, { ...c, evenEdges: true }].map((cfg) => withFaceSpace(model, faces, cfg, 1)));
      // The faces' 100 at every pixel of the 38-px face space (the fit's intercept: its bias; no weights).
      even.get('linear.bias')!.forEach((v) => expect(v).toBeCloseTo(100, 1));
      const z = zero.get('linear.bias')!;
      expect(z[0]).toBeLessThan(90);
      expect(z[19 * 38 + 19]).toBeCloseTo(100, 1);
    });

    it('FaceSource: without augmentation a draw is the faces drawn; with it, moved faces still inside 0..255', async () => {
      const pixels = lfw();
      const all = await pixels.data();
      const still = new FaceSource(pixels, 3, { shift: 0, scale: 0, rotate: 0 });
      const moved = new FaceSource(lfw(), 3);
      const rng = new F.Rng(4);
      const x = await F.tidy(() => still.draw(rng)).data();
      const S = 3 * 150 * 150;
      for (let k = 0; k < 3; k++) {
        const item = x.subarray(k * S, (k + 1) * S);
        // Which face was drawn: the one it equals (to float rounding of the identity warp).
        const errs = Array.from({ length: 6 }, (_, f) => item.reduce((m, v, i) => Math.max(m, Math.abs(v - all[f * S + i])), 0));
        expect(Math.min(...errs)).toBeLessThan(1e-2);
      }
      const y = await F.tidy(() => moved.draw(rng)).data();
      expect(y.every((v) => v >= 0 && v <= 255)).toBe(true);
      const diff = Array.from({ length: 6 }, (_, f) => y.subarray(0, S).reduce((m, v, i) => m + Math.abs(v - all[f * S + i]), 0) / S);
      expect(Math.min(...diff)).toBeGreaterThan(0.5);
      still.dispose();
      moved.dispose();
    });

    it('FaceSource with mix: each drawn face is itself blended toward the next one by at most the fraction', async () => {
      const still = { shift: 0, scale: 0, rotate: 0 };
      const pixels = lfw();
      const all = await pixels.data();
      const plain = new FaceSource(pixels, 3, still);
      const mixed = new FaceSource(lfw(), 3, still, 0.4);
      const S = 3 * 150 * 150;
      // The same generator state draws the same faces; then the mix fractions come from it.
      const x = await F.tidy(() => mixed.draw(new F.Rng(9))).data();
      const idx = Array.from({ length: 3 }, (_, k) => {
        const r = new F.Rng(9);
        return Array.from({ length: 3 }, () => Math.floor(r.next() * 6))[k];
      });
      let blended = 0;
      for (let k = 0; k < 3; k++) {
        const [a, b] = [all.subarray(idx[k] * S, (idx[k] + 1) * S), all.subarray(idx[(k + 1) % 3] * S, (idx[(k + 1) % 3] + 1) * S)];
        // x = a + λ (b − a) with one λ in [0, 0.4] for the whole face: recover it by least squares.
        let [num, den] = [0, 0];
        for (let i = 0; i < S; i++) [num, den] = [num + (x[k * S + i] - a[i]) * (b[i] - a[i]), den + (b[i] - a[i]) ** 2];
        const lambda = den ? num / den : 0;
        expect(lambda).toBeGreaterThanOrEqual(-1e-4);
        expect(lambda).toBeLessThanOrEqual(0.4 + 1e-4);
        const resid = x.subarray(k * S, (k + 1) * S).reduce((m, v, i) => Math.max(m, Math.abs(v - (a[i] + lambda * (b[i] - a[i])))), 0);
        expect(resid).toBeLessThan(0.05);
        if (lambda > 0.01) blended++;
      }
      expect(blended).toBeGreaterThan(0);
      const spare = lfw();
      expect(() => new FaceSource(spare, 3, still, 0.7)).toThrow(/mix must be in \[0, 0.5\]/);
      spare.dispose();
      plain.dispose();
      mixed.dispose();
    });

    /** A drawPair's faces and inputs, read back. */
    const pairData = async (source: FaceSource, rng: F.Rng): Promise<Float32Array[]> => {
      const pair = F.tidy(() => {
        const p = source.drawPair(rng);
        return [F.keep(p.faces), F.keep(p.inputs)];
      });
      const data = await Promise.all(pair.map((t) => t.data()));
      pair.forEach((t) => t.dispose());
      return data;
    };

    it("FaceSource with the faces as read: each input is its item's face or, half the time, the same face as read, moved as it is", async () => {
      const S = 3 * 150 * 150;
      const [aligned, read] = [lfw(), lfw(6, 6)];
      const [A, R] = [await aligned.data(), await read.data()];
      const still = new FaceSource(aligned, 4, { shift: 0, scale: 0, rotate: 0 }, 0, { asRead: read });
      const face = (x: Float32Array, k: number, all: Float32Array) => {
        const errs = Array.from({ length: 6 }, (_, f) => x.subarray(k * S, (k + 1) * S).reduce((m, v, i) => Math.max(m, Math.abs(v - all[f * S + i])), 0));
        return errs.findIndex((e) => e < 1e-2);
      };
      const rng = new F.Rng(3);
      let asRead = 0;
      for (let draw = 0; draw < 3; draw++) {
        const [x, y] = await pairData(still, rng);
        for (let k = 0; k < 4; k++) {
          const f = face(x, k, A);
          expect(f).toBeGreaterThanOrEqual(0);
          // The input: the same face (the same index), aligned or as read.
          const [same, other] = [face(y, k, A), face(y, k, R)];
          expect(same === f || other === f, `draw ${draw} item ${k}`).toBe(true);
          if (other === f) asRead++;
        }
      }
      expect(asRead).toBeGreaterThan(2);
      expect(asRead).toBeLessThan(10);
      // Moved, re-toned and mixed, with the faces as read equal to the faces: every input is its face exactly.
      const moved = new FaceSource(lfw(), 4, undefined, 0.3, { asRead: lfw() });
      const [x, y] = await pairData(moved, new F.Rng(8));
      expect(x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0)).toBeLessThan(1e-3);
      const plain = new FaceSource(lfw(), 2);
      F.tidy(() => {
        const p = plain.drawPair(new F.Rng(1));
        expect(p.inputs).toBe(p.faces);
      });
      const [few, spare] = [lfw(), lfw(5)];
      expect(() => new FaceSource(few, 2, undefined, 0, { asRead: spare })).toThrow(/as read must be \[6,3,150,150\]/);
      [few, spare].forEach((t) => t.dispose());
      [still, moved, plain].forEach((s) => s.dispose());
    });

    it('FaceSource with a sheet: each draw marks the items drawn from past the first `sheet` faces as sharp, a blend only when both are', async () => {
      const still = { shift: 0, scale: 0, rotate: 0 };
      for (const mix of [0, 0.3]) {
        const source = new FaceSource(lfw(), 5, still, mix, { sheet: 2 });
        for (let draw = 0; draw < 3; draw++) {
          // The same generator state draws the same faces: recover them from a twin generator.
          const rng = new F.Rng(20 + draw);
          const idx = Array.from({ length: 5 }, ((r) => () => Math.floor(r.next() * 6))(new F.Rng(20 + draw)));
          const sharp = await F.tidy(() => F.keep(source.drawPair(rng).sharp!)).data();
          const want = idx.map((i, k) => (i >= 2 ? 1 : 0) * (mix ? (idx[(k + 1) % 5] >= 2 ? 1 : 0) : 1));
          expect(Array.from(sharp), `mix ${mix} draw ${draw}`).toEqual(want);
        }
        source.dispose();
      }
      const spare = lfw();
      expect(() => new FaceSource(spare, 2, still, 0, { sheet: 7 })).toThrow(/sheet must count some of the 6 faces/);
      spare.dispose();
    });

    it('the pixel term with sheetLevels: a sharp item pays for fine detail, a coarse (sheet) one only for what survives the halvings', async () => {
      const photos = F.keep(lfw(2));
      const S = 150;
      // A pixel-wide checkerboard of ±20 over the photos: detail that two halvings remove.
      const checker = F.tensor(Array.from({ length: 2 * 3 * S * S }, (_, i) => ((i % S) + Math.floor(i / S)) % 2 ? 20 : -20), [2, 3, S, S]);
      const detail = F.add(photos, checker);
      const sharp = F.tensor([1, 0], [2]);
      const pixel = await F.tidy(() => F.noGrad(() => decoderLoss(model, detail, F.zeros([2, 128]), {}, [], 0, { photos, pixelWeight: 2, sharp, sheetLevels: 2 }).pixel)).data();
      expect(pixel[0]).toBeCloseTo(2 * (20 / 255) ** 2, 5);
      expect(pixel[1]).toBeLessThan(1e-3 * pixel[0]);
      // Without the mask every item pays the full-size error.
      const plain = await F.tidy(() => F.noGrad(() => decoderLoss(model, detail, F.zeros([2, 128]), {}, [], 0, { photos, pixelWeight: 2, sheetLevels: 2 }).pixel)).data();
      expect(plain[1]).toBeCloseTo(pixel[0], 5);
      [photos, checker, detail, sharp].forEach((t) => t.dispose());
    });

    it('with a pixel term, a perceptual term, an ensemble member, mixed faces, inputs as read, sheet levels, jittered views and a balanced gradient: the loss falls, a resumed run matches, and steps allocate nothing', async () => {
      const member = FaceModel.fromBytes(new Uint8Array(readFileSync('assets/judges/mobileface.onnx')));
      const e = F.engine();
      const run = async (steps: number, decoder: Decoder, o: Partial<Parameters<typeof trainDecoder>[0]> = {}) => {
        const faces = new FaceSource(lfw(), 2, undefined, 0.3, { asRead: lfw(6, 6), sheet: 3 });
        const rows: { loss: number; pixel: number; ensemble: number; guide: number; buffers: number; reads: number }[] = [];
        try {
          await trainDecoder({
            model, decoder, sampler, guides: guide, settings: { ...faceSettings(steps), guideLayers: [{ layer: 'conv64_3', weight: 0.05 }], viewJitter: { shift: 4, scale: 0.05, rotate: 0.05, flip: true, colour: 0.1 }, gradLevels: 3, sheetLevels: 2 }, seed: 5, faces, ensemble: [{ model: member, weight: 1 }],
            onLog: (r) => void rows.push(...r.map((x) => ({ ...x, buffers: e.stats().buffersAllocated, reads: e.reads }))),
            ...o,
          });
        } finally {
          faces.dispose();
        }
        return rows;
      };
      const debug = e.debug;
      e.debug = false;
      try {
        const whole = Decoder.create(config, 2);
        const rows = await run(8, whole);
        expect(rows).toHaveLength(8);
        for (const r of rows) expect(r.pixel > 0 && r.ensemble > 0 && r.guide > 0).toBe(true);
        const [early, late] = [rows.slice(0, 2), rows.slice(-2)].map((rs) => rs.reduce((a, r) => a + r.loss, 0));
        expect(late).toBeLessThan(early);
        // Steady from the second step (the first step's freed buffers are what the pool then hands out).
        expect(rows.slice(1).map((r) => r.buffers)).toEqual(rows.slice(1).map(() => rows[1].buffers));
        for (let k = 1; k < rows.length; k++) expect(rows[k].reads - rows[k - 1].reads).toBe(1);
        const want = await whole.values();
        whole.dispose();
        // Stopped at step 3 and resumed: the face draws continue where they were.
        const first = Decoder.create(config, 2);
        let state: TrainState | null = null;
        const signal = { aborted: false };
        await run(8, first, { signal, onCheckpoint: (s: TrainState) => void (state ??= s, (signal.aborted = true)) });
        first.dispose();
        const resumed = Decoder.fromValues(config, state!.params);
        await run(8, resumed, { resume: { step: state!.step, rng: state!.rng, optimizer: state!.optimizer } });
        const got = await resumed.values();
        resumed.dispose();
        for (const [name, v] of want) expect(got.get(name), name).toEqual(v);
      } finally {
        e.debug = debug;
        member.dispose();
      }
    });

    it('the pixel term after L halvings: blind to fine detail, nearly the same for a change of tone', async () => {
      const photos = F.keep(lfw(2));
      const S = 150;
      // A pixel-wide checkerboard of ±20 (detail) and a uniform +20 (tone) over the photos.
      const checker = F.tensor(Array.from({ length: 2 * 3 * S * S }, (_, i) => ((i % S) + Math.floor(i / S)) % 2 ? 20 : -20), [2, 3, S, S]);
      const pixelTerm = async (images: F.Tensor, levels: number) =>
        F.tidy(() => F.noGrad(() => decoderLoss(model, images, F.zeros([2, 128]), {}, [], 0, { photos, pixelWeight: 1, pixelLevels: levels }).pixel)).data();
      const [detail, tone] = [F.add(photos, checker), F.add(photos, F.scalar(20))];
      const [d0, d2, t0, t2] = [await pixelTerm(detail, 0), await pixelTerm(detail, 2), await pixelTerm(tone, 0), await pixelTerm(tone, 2)];
      for (let k = 0; k < 2; k++) {
        expect(d0[k]).toBeCloseTo((20 / 255) ** 2, 5);
        expect(d2[k]).toBeLessThan(1e-3 * d0[k]);
        // (The reduce's kernel loses part of its weight at the border, so a tone change reads a little less there.)
        expect(t2[k] / t0[k]).toBeGreaterThan(0.9);
        expect(t2[k] / t0[k]).toBeLessThanOrEqual(1 + 1e-5);
      }
      [photos, checker, detail, tone].forEach((t) => t.dispose());
    });

    it('jittered views: the networks score the view, the pixel and TV terms the face as drawn', async () => {
      const photos = F.keep(lfw(2));
      const faces = F.keep(lfw(4));
      const images = F.keep(F.slice(faces, [2, 0, 0, 0], [4, 3, 150, 150]));
      const targets = F.keep(F.tidy(() => F.noGrad(() => model.embed(photos).embedding)));
      const view = new JitterView(2, 150, { shift: 6, scale: 0.1, rotate: 0.1, flip: true, colour: 0.1 });
      const terms = async (seen?: F.Tensor) => {
        const l = F.tidy(() => F.noGrad(() => decoderLoss(model, images, targets, {}, [], 1e-2, { photos, pixelWeight: 1, seen })));
        const out = await Promise.all([l.embedding, l.pixel, l.tv].map((t) => t.data()));
        Object.values(l).forEach((t) => t.dispose());
        return out;
      };
      const seen = F.keep(F.tidy(() => view.apply(images, new F.Rng(3))));
      const [plain, same, viewed] = [await terms(), await terms(images), await terms(seen)];
      expect(same).toEqual(plain);
      for (let k = 0; k < 2; k++) {
        expect(Math.abs(viewed[0][k] - plain[0][k])).toBeGreaterThan(1e-3 * plain[0][k]);
        expect(viewed[1][k]).toBe(plain[1][k]);
        expect(viewed[2][k]).toBe(plain[2][k]);
      }
      view.dispose();
      [photos, faces, images, targets, seen].forEach((t) => t.dispose());
    });

    it("JitterView.replay: other images moved, re-toned, blurred and noised by the last apply's draws", async () => {
      const faces = F.keep(lfw(4));
      const [a, b] = [0, 2].map((k) => F.keep(F.slice(faces, [k, 0, 0, 0], [k + 2, 3, 150, 150])));
      const jitter = { shift: 6, scale: 0.1, rotate: 0.1, flip: true, colour: 0.1, blur: 0.5, noise: 5 };
      const [one, other] = [new JitterView(2, 150, jitter), new JitterView(2, 150, jitter)];
      // The same generator state: apply on b through a second view is what replay on b gives after apply on a.
      const [viewedA, replayedB] = F.tidy(() => [F.keep(one.apply(a, new F.Rng(7))), F.keep(one.replay(b))]);
      const appliedB = F.keep(F.tidy(() => other.apply(b, new F.Rng(7))));
      expect(Array.from(await replayedB.data())).toEqual(Array.from(await appliedB.data()));
      // …and replay on a again is apply's own result; the view did move them.
      const again = F.keep(F.tidy(() => one.replay(a)));
      expect(Array.from(await again.data())).toEqual(Array.from(await viewedA.data()));
      const [va, pa] = [await viewedA.data(), await a.data()];
      expect(va.reduce((s, v, i) => s + Math.abs(v - pa[i]), 0) / va.length).toBeGreaterThan(5);
      [one, other].forEach((v) => v.dispose());
      [faces, a, b, viewedA, replayedB, appliedB, again].forEach((t) => t.dispose());
    });

    it("with real faces the guide layers' term ties each decoded face to its own photo (a perceptual term)", async () => {
      const layers = [{ layer: 'conv32_3', weight: 0.02 }, { layer: 'conv128_2', weight: 0.5 }];
      const d = Decoder.create(config, 9);
      const faces = new FaceSource(lfw(), 2);
      const rows: { guide: number }[] = [];
      try {
        await trainDecoder({ model, decoder: d, sampler, guides: guide, settings: { ...faceSettings(1), guideLayers: layers }, seed: 4, faces, onLog: (r) => void rows.push(...r) });
      } finally {
        d.dispose();
      }
      // The same draws again (no view jitter: the networks see the faces as drawn), decoded by the same weights.
      const again = new FaceSource(lfw(), 2);
      const fresh = Decoder.create(config, 9);
      const want = await F.tidy(() =>
        F.noGrad(() => {
          const photos = again.draw(new F.Rng(4));
          const images = fresh.forward(model.embed(photos).embedding);
          const [mine, theirs] = [images, photos].map((x) => model.embed(x, layers.map((g) => g.layer)).taps);
          const perItem = layers.map((g) => F.mul(F.mean(F.square(F.sub(mine[g.layer], theirs[g.layer])), [1, 2, 3]), g.weight));
          return F.mean(perItem.reduce((x, y) => F.add(x, y)));
        }),
      ).data();
      expect(rows).toHaveLength(1);
      expect(rows[0].guide).toBeGreaterThan(0);
      expect(rows[0].guide).toBeCloseTo(want[0], 4);
      [faces, again].forEach((f) => f.dispose());
      fresh.dispose();
    });

    it('the tone terms: contrast floors (floor − σ)² · weight over the image and its face region, none above them; the colour TV', async () => {
      const photos = F.keep(lfw(2));
      const S = 150;
      // Luminance pulled 80 % of the way to mid-grey (a fifth of the photos' contrast), and a stark checkerboard.
      const pale = F.keep(F.tidy(() => F.add(F.mul(photos, 0.2), F.scalar(0.8 * 127.5))));
      const stark = F.keep(F.tensor(Array.from({ length: 2 * 3 * S * S }, (_, i) => (((i % S) >> 3) + ((Math.floor(i / S) % S) >> 3)) % 2 ? 230 : 25), [2, 3, S, S]));
      const floors = { contrast: { weight: 30, floor: 0.2 }, faceContrast: { weight: 7, floor: 0.17 } };
      const tones = { floors, lum: F.keep(F.tensor([0.299, 0.587, 0.114], [1, 3, 1, 1])), faceMask: F.keep(faceRegionMask(S)) };
      const tone = async (images: F.Tensor) => F.tidy(() => F.noGrad(() => decoderLoss(model, images, F.zeros([2, 128]), {}, [], 0, { tones }).tone)).data();
      // float64 reference: σ of the luminance (0..1) over the image and over its central 60 %.
      const [lo, hi] = [Math.round(0.2 * S), Math.round(0.8 * S)];
      const reference = async (images: F.Tensor) => {
        const px = await images.data();
        const sigma = (k: number, face: boolean) => {
          const v: number[] = [];
          for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (!face || (x >= lo && x < hi && y >= lo && y < hi)) v.push([0.299, 0.587, 0.114].reduce((a, w, c) => a + (w * px[((k * 3 + c) * S + y) * S + x]) / 255, 0));
          const m = v.reduce((a, b) => a + b, 0) / v.length;
          return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
        };
        return [0, 1].map((k) => 30 * Math.max(0, 0.2 - sigma(k, false)) ** 2 + 7 * Math.max(0, 0.17 - sigma(k, true)) ** 2);
      };
      for (const images of [photos, pale, stark]) {
        const [got, want] = [await tone(images), await reference(images)];
        for (let k = 0; k < 2; k++) expect(got[k]).toBeCloseTo(want[k], 5);
      }
      for (const v of await tone(pale)) expect(v).toBeGreaterThan(0.1);
      expect(Array.from(await tone(stark))).toEqual([0, 0]);
      // The colour TV: nothing for grey images, its weight times the TV of the colour minus luminance otherwise.
      const colourTv = { ...tones, floors: { chromaTv: 0.7 } };
      const withColour = async (images: F.Tensor) => F.tidy(() => F.noGrad(() => decoderLoss(model, images, F.zeros([2, 128]), {}, [], 0, { tones: colourTv }).tone)).data();
      const grey = F.keep(F.tidy(() => F.expand(F.mean(photos, [1], true), [2, 3, S, S])));
      for (const v of await withColour(grey)) expect(Math.abs(v)).toBeLessThan(1e-6);
      const want = await F.tidy(() => F.mul(totalVariation(chroma(F.mul(photos, 1 / 255), tones.lum), { perItem: true }), 0.7)).data();
      const got = await withColour(photos);
      for (let k = 0; k < 2; k++) {
        expect(got[k]).toBeGreaterThan(0);
        expect(got[k]).toBeCloseTo(want[k], 6);
      }
      [photos, pale, stark, grey, tones.lum, tones.faceMask].forEach((t) => t.dispose());
    });

    it('refuses an ensemble without real faces', async () => {
      const d = Decoder.create(config, 2);
      await expect(trainDecoder({ model, decoder: d, sampler, guides: guide, settings: settings(1), seed: 1, ensemble: [{ model, weight: 1 }] })).rejects.toThrow(/an ensemble needs real faces/);
      d.dispose();
    });
  });
});
