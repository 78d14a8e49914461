// Iterative reconstruction (paper §2–3, §5.1, appendices A and C): each loss term against a float64
// reference (value and gradient), every variant runs and lowers the loss, the steady state of an iteration,
// the non-finite guard.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { readPng } from '../src/io/png.ts';
import { lapSplit } from '../src/autograd/regularizers.ts';
import { embeddingLoss, guideLoss, GaussianPrior, fitLapSpectrum, unitRows } from '../src/invert/losses.ts';
import { reconstruct, jitterAffines, SKIN_CHROMA, ReconstructError, type ReconstructOptions, type Progress } from '../src/invert/reconstruct.ts';
import { preset, decayingTv } from '../src/invert/presets.ts';
import { Rand, size, gradCheck, relErr } from './helpers/ref.ts';
import { defaultModelPath, SAMPLE_FACE } from './helpers/faces.ts';

const GUIDE = 'assets/guides/cartoon-female.png';

describe('loss terms: values per item against float64, gradients against finite differences', () => {
  const N = 3;
  const D = 7;
  const r = new Rand(11);
  const e = r.uniform(N * D, -1, 1);
  const t = r.uniform(N * D, -1, 1);
  const rows = (a: Float64Array) => Array.from({ length: N }, (_, i) => a.slice(i * D, (i + 1) * D));
  const unit = (v: Float64Array) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0) + 1e-12);
    return v.map((x) => x / n);
  };
  const ref = (distance: 'l2' | 'dot', normalize: boolean, scale: number) => (ea: Float64Array, ta: Float64Array) =>
    Float64Array.from(rows(ea).map((row, i) => {
      const a = normalize ? unit(row) : row;
      const b = (normalize ? unit(rows(ta)[i]) : rows(ta)[i]).map((x) => x * scale);
      return distance === 'l2' ? a.reduce((s, x, k) => s + (x - b[k]) ** 2, 0) : -a.reduce((s, x, k) => s + x * b[k], 0);
    }));

  for (const [distance, normalize, scale] of [['l2', false, 1], ['l2', false, 1.5], ['dot', false, 1], ['l2', true, 1], ['dot', true, 0.8]] as ['l2' | 'dot', boolean, number][]) {
    it(`d = ${distance}${normalize ? ' on unit-length embeddings' : ''}${scale !== 1 ? `, target × ${scale}` : ''}`, async () => {
      const o = { distance, normalize, scale };
      const v = F.tidy(() => embeddingLoss(F.tensor(Float32Array.from(e), [N, D]), F.tensor(Float32Array.from(t), [N, D]), o));
      expect(v.shape).toEqual([N]);
      expect(relErr(await v.data(), ref(distance, normalize, scale)(Float64Array.from(Float32Array.from(e)), Float64Array.from(Float32Array.from(t))))).toBeLessThan(1e-5);
      v.dispose();
      await gradCheck({ inputs: [{ data: e, shape: [N, D] }, { data: t, shape: [N, D] }], gpuFn: (a, b) => embeddingLoss(a, b, o), refFn: ref(distance, normalize, scale), check: [0] });
    });
  }

  it('unitRows gives rows of length 1', async () => {
    const u = F.tidy(() => unitRows(F.tensor(Float32Array.from(e), [N, D])));
    const v = await u.data();
    for (let i = 0; i < N; i++) expect(Math.hypot(...v.slice(i * D, (i + 1) * D))).toBeCloseTo(1, 5);
    u.dispose();
  });

  it('guide term: the mean over the item of (a − a_G)², per item', async () => {
    const shape = [2, 3, 5, 4];
    const a = r.uniform(size(shape));
    const g = r.uniform(size(shape));
    const n = size(shape) / 2;
    const refG = (x: Float64Array, y: Float64Array) => Float64Array.from([0, 1], (k) => x.slice(k * n, (k + 1) * n).reduce((s, v, i) => s + (v - y[k * n + i]) ** 2, 0) / n);
    const v = F.tidy(() => guideLoss(F.tensor(Float32Array.from(a), shape), F.tensor(Float32Array.from(g), shape)));
    expect(relErr(await v.data(), refG(Float64Array.from(Float32Array.from(a)), Float64Array.from(Float32Array.from(g))))).toBeLessThan(1e-5);
    v.dispose();
    await gradCheck({ inputs: [{ data: a, shape }, { data: g, shape }], gpuFn: guideLoss, refFn: refG, check: [0] });
  });

  it('Gaussian prior (appendix A, eq. 5): fitted means and σ, then Σ ν (a − v)² σ_max² / (σ² + ν σ_max²)', async () => {
    const M = 6;
    const unitShape = [2, 3, 3];
    const U = size(unitShape);
    const set = r.uniform(M * U, 0, 2);
    const nu = 0.1;
    const v = new Float64Array(U);
    const sd = new Float64Array(U);
    const s32 = Float64Array.from(Float32Array.from(set));
    for (let u = 0; u < U; u++) {
      for (let m = 0; m < M; m++) v[u] += s32[m * U + u] / M;
      for (let m = 0; m < M; m++) sd[u] += (s32[m * U + u] - v[u]) ** 2 / M;
      sd[u] = Math.sqrt(sd[u]);
    }
    const smax = Math.max(...sd);
    const refR = (x: Float64Array) => Float64Array.from([0, 1], (k) => {
      let s = 0;
      for (let u = 0; u < U; u++) s += (nu * (x[k * U + u] - v[u]) ** 2 * smax ** 2) / (sd[u] ** 2 + nu * smax ** 2);
      return s;
    });
    const prior = GaussianPrior.fit('layer', F.tensor(Float32Array.from(set), [M, ...unitShape]), nu);
    const x = r.uniform(2 * U, 0, 2);
    const got = F.tidy(() => prior.loss(F.tensor(Float32Array.from(x), [2, ...unitShape])));
    expect(relErr(await got.data(), refR(Float64Array.from(Float32Array.from(x))))).toBeLessThan(1e-4);
    got.dispose();
    await gradCheck({ inputs: [{ data: x, shape: [2, ...unitShape] }], gpuFn: (a) => prior.loss(a), refFn: refR });
    expect(() => GaussianPrior.fit('layer', F.tidy(() => F.zeros([1, 3])), nu)).toThrow(/at least 2 images/);
    prior.dispose();
  });

  it('R_LP spectrum fit: N_L and β recover an image built with ‖L_n‖ = N_L·2^(βn)', async () => {
    // White noise: its band-pass levels shrink by a steady factor per level, so the fit is exact in log space.
    const img = F.tensor(Float32Array.from(new Rand(3).uniform(3 * 64 * 64)), [1, 3, 64, 64]);
    const fit = await fitLapSpectrum(img, 4);
    const bands = F.tidy(() => F.lapSplit(img, 4).slice(0, -1).map((L) => F.sqrt(F.sum(F.square(L)))));
    const norms = await Promise.all(bands.map((b) => b.item()));
    bands.forEach((b) => b.dispose());
    // Least squares in log space: the residuals sum to zero and are orthogonal to n.
    const res = norms.map((v, n) => Math.log(v) - Math.log(fit.NL) - fit.beta * n * Math.LN2);
    expect(Math.abs(res.reduce((a, b) => a + b))).toBeLessThan(1e-6);
    expect(Math.abs(res.reduce((a, b, n) => a + b * n, 0))).toBeLessThan(1e-6);
    expect(fit.beta).toBeLessThan(0);
    img.dispose();
  });
});

describe('reconstruct() on the default model', () => {
  let model: FaceModel;
  let target: F.Tensor;
  let guide: F.Tensor;
  const layers = ['conv32_3', 'conv64_3', 'conv128_2', 'conv256_2'];

  beforeAll(() => {
    model = FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())));
    target = F.keep(F.tidy(() => F.noGrad(() => model.embed(model.pixels([readPng(SAMPLE_FACE)])).embedding)));
    guide = F.keep(model.pixels([readPng(GUIDE)]));
  });
  afterAll(() => {
    [target, guide].forEach((t) => t.dispose());
    model.dispose();
  });

  const base = (): ReconstructOptions => ({ ...preset('fast', layers, 10), model, target, guide, progressEvery: 10 });
  const lowers = async (extra: Partial<ReconstructOptions>, what: string) => {
    const r = await reconstruct({ ...base(), ...extra });
    expect(r.stopped, what).toBe('done');
    for (let item = 0; item < r.distance.length; item++) {
      const totals = r.trace.filter((row) => row.item === item).map((row) => row.values.total);
      expect(totals).toHaveLength(10);
      expect(totals.at(-1)!, `${what}, item ${item}: total ${totals[0]} → ${totals.at(-1)}`).toBeLessThan(totals[0]);
    }
    const px = await r.image.data();
    expect(px.every((v) => v >= 0 && v <= 255), `${what}: pixels within 0..255`).toBe(true);
    r.image.dispose();
    return r;
  };

  it('l2 from the guide: the loss falls, the distance falls, pixels stay in 0..255', async () => {
    const r = await lowers({}, 'l2');
    const d = r.trace.map((row) => row.values.distance);
    expect(d.at(-1)!).toBeLessThan(d[0]);
    expect(r.termNames).toEqual(['embedding', ...layers.map((l) => `guide:${l}`), 'tv', 'total', 'distance']);
  });

  it('dot, normalised and scaled targets', async () => {
    await lowers({ distance: 'dot' }, 'dot');
    await lowers({ normalize: true }, 'normalised l2');
    await lowers({ distance: 'dot', normalize: true }, 'normalised dot');
    await lowers({ targetScale: 1.3 }, 'scaled l2');
  });

  it('every regulariser: per-pixel TV, mirror, R_LP, the Gaussian prior; SGD; no gradient normalisation', async () => {
    await lowers({ tv: { weight: 1e-2, form: 'pixel', beta: 1 } }, 'per-pixel TV');
    await lowers({ mirror: 0.05 }, 'mirror');
    const unit = F.tidy(() => F.mul(guide, 1 / 255));
    const fit = await fitLapSpectrum(unit, 4);
    unit.dispose();
    await lowers({ lp: { weight: 0.01, levels: 4, ...fit } }, 'R_LP');
    const acts = F.tidy(() => F.noGrad(() => model.embed(F.concat([guide, model.pixels([readPng('assets/guides/cartoon-male.png'), readPng('assets/guides/lfw-average.png')])], 0), ['conv64_3']).taps.conv64_3));
    const prior = GaussianPrior.fit('conv64_3', acts, 0.1);
    acts.dispose();
    await lowers({ gauss: { prior, weight: 1 } }, 'Gaussian prior');
    prior.dispose();
    await lowers({ optimizer: 'sgd', lr: 0.2, momentum: 0.5 }, 'SGD');
    await lowers({ lapNormLevels: 0, lr: 1 }, 'no Laplacian normalisation');
  });

  it('a network that resamples the chip runs at another input size (an ensemble member at 150 px): its own kind of embedding, cheaper', async () => {
    const bytes = new Uint8Array(readFileSync('assets/judges/faceres.onnx'));
    const img = readPng(SAMPLE_FACE);
    const embed = async (m: FaceModel) => {
      const e = F.tidy(() => F.noGrad(() => m.embed(m.pixels([img])).embedding));
      const v = await e.data();
      e.dispose();
      return v;
    };
    const own = FaceModel.fromBytes(bytes, 'faceres');
    const small = FaceModel.fromBytes(bytes, 'faceres', { inputSize: 150 });
    expect([own.networkSize, small.networkSize, small.imageSize]).toEqual([224, 150, 150]);
    const [a, b] = [await embed(own), await embed(small)];
    expect(b.length).toBe(1024);
    const cos = a.reduce((s, v, i) => s + v * b[i], 0) / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
    // The same face at two sizes: close (measured 0.82 on the sample), not the same numbers.
    expect(cos).toBeGreaterThan(0.7);
    expect(cos).toBeLessThan(0.999);
    [own, small].forEach((m) => m.dispose());
    // A network fed whole chips at its own size has no box to resample from.
    expect(() => FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())), 'dlib', { inputSize: 100 })).toThrow(/only a network that resamples/);
    expect(() => FaceModel.fromBytes(bytes, 'faceres', { inputSize: 8 })).toThrow(/≥ 32/);
  });

  it('identity levers: transformation robustness (jitter) and an ensemble of networks lower their loss; the same jitter seed repeats', async () => {
    const jitter = { shift: 4, scale: 0.05, rotate: 0.05, seed: 3 };
    const a = await lowers({ jitter }, 'jitter');
    const b = await reconstruct({ ...base(), jitter, iterations: 2 });
    expect(b.trace[1].values.total).toBeCloseTo(a.trace[1].values.total, 4);
    const c = await reconstruct({ ...base(), jitter: { ...jitter, seed: 4 }, iterations: 2 });
    expect(c.trace[1].values.total).not.toBeCloseTo(a.trace[1].values.total, 4);
    [b.image, c.image].forEach((t) => t.dispose());
    // A second network (here the bundled judge, as any ONNX face model) with its own target.
    const other = FaceModel.fromBytes(new Uint8Array(readFileSync('assets/judges/mobileface.onnx')), 'mobileface');
    const otherTarget = F.keep(F.tidy(() => F.noGrad(() => other.embed(other.pixels([readPng(SAMPLE_FACE)])).embedding)));
    // Without jitter, so that every step scores the same view: the total and the member's own term fall.
    const r = await lowers({ ensemble: [{ model: other, target: otherTarget, weight: 0.01 }] }, 'ensemble');
    expect(r.termNames).toContain('ensemble:0');
    const e0 = r.trace.map((row) => row.values['ensemble:0']);
    expect(e0.at(-1)!).toBeLessThan(e0[0]);
    // With jitter the member's term still falls over the run.
    const rj = await reconstruct({ ...base(), ensemble: [{ model: other, target: otherTarget, weight: 0.01 }], jitter, iterations: 20 });
    const ej = rj.trace.map((row) => row.values['ensemble:0']);
    expect(ej.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan(ej[0]);
    rj.image.dispose();
    await expect(reconstruct({ ...base(), ensemble: [{ model, target, weight: 1 }] })).rejects.toThrow(/is the main model/);
    await expect(reconstruct({ ...base(), ensemble: [{ model: other, target: F.zeros([2, 256]), weight: 1 }] })).rejects.toThrow(/target must be \[1, D\]/);
    await expect(reconstruct({ ...base(), jitter: { shift: -1, scale: 0, rotate: 0 } })).rejects.toThrow(/jitter bounds/);
    otherTarget.dispose();
    other.dispose();
  });

  it('photo-likeness levers: flips and colour changes in the jitter, chroma TV and the contrast floors lower their loss', async () => {
    await lowers({ jitter: { shift: 2, scale: 0.05, rotate: 0.05, flip: true, colour: 0.1, seed: 2 } }, 'flip + colour jitter');
    const blurred = await lowers({ jitter: { shift: 0, scale: 0, rotate: 0, blur: 1, seed: 2 } }, 'blur jitter');
    // The first step's view is blurred, so its embedding term differs from the unblurred one's.
    const sharp = await reconstruct({ ...base(), jitter: { shift: 0, scale: 0, rotate: 0, seed: 2 }, iterations: 1, progressEvery: 1 });
    sharp.image.dispose();
    const first = (r: typeof sharp) => r.trace.filter((row) => row.iteration === r.trace[0].iteration).map((row) => row.values.embedding);
    first(blurred).forEach((v, i) => expect(Math.abs(v - first(sharp)[i]), `item ${i}`).toBeGreaterThan(1e-4 * Math.abs(first(sharp)[i])));
    // Noise in the view: the loss still falls, and the first step scores a different (noisy) view.
    const noisy = await lowers({ jitter: { shift: 0, scale: 0, rotate: 0, noise: 12, seed: 2 } }, 'noise jitter');
    first(noisy).forEach((v, i) => expect(Math.abs(v - first(sharp)[i]), `item ${i}`).toBeGreaterThan(1e-4 * Math.abs(first(sharp)[i])));
    // From the washed-out average face (luminance σ ≈ 0.1), below the floor from the start.
    const average = F.keep(model.pixels([readPng('assets/guides/lfw-average.png')]));
    const r = await lowers({ guide: average, chromaTv: 0.3, contrast: { weight: 30, floor: 0.25 } }, 'chroma TV + contrast floor');
    // The grey guide gains colour as it moves; with chroma TV weighted up, less of it as speckle.
    const finalChroma = async (w: number) => {
      const q = await reconstruct({ ...base(), guide: average, chromaTv: w });
      q.image.dispose();
      return q.trace.at(-1)!.values['chroma-tv'] / w;
    };
    expect(await finalChroma(3)).toBeLessThan(await finalChroma(1e-6));
    // chromaStep 0: every step moves R, G and B alike, so the grey guide stays grey; at 1 it takes colour.
    const greyness = async (chromaStep: number) => {
      const q = await reconstruct({ ...base(), guide: average, chromaStep });
      const px = await q.image.data();
      q.image.dispose();
      const P = px.length / 3;
      let worst = 0;
      for (let i = 0; i < P; i++) worst = Math.max(worst, Math.abs(px[i] - px[P + i]), Math.abs(px[i] - px[2 * P + i]));
      return worst;
    };
    expect(await greyness(0)).toBeLessThan(0.01);
    expect(await greyness(1)).toBeGreaterThan(1);
    await expect(reconstruct({ ...base(), chromaStep: 2 })).rejects.toThrow(/chromaStep/);
    average.dispose();
    expect(r.termNames).toEqual(expect.arrayContaining(['chroma-tv', 'contrast']));
    const c = r.trace.map((row) => row.values.contrast);
    expect(c[0]).toBeGreaterThan(0);
    expect(c.at(-1)!).toBeLessThan(c[0]);
    await expect(reconstruct({ ...base(), contrast: { weight: 1, floor: 1.5 } })).rejects.toThrow(/floor in \[0, 1\)/);
    // The face-region floor lifts the pale face of the average guide (σ there ≈ 0.08) toward a photo's.
    const pale = F.keep(model.pixels([readPng('assets/guides/lfw-average.png')]));
    const f = await lowers({ guide: pale, faceContrast: { weight: 30, floor: 0.17 } }, 'face contrast floor');
    pale.dispose();
    const fc = f.trace.map((row) => row.values['face-contrast']);
    expect(fc[0]).toBeGreaterThan(0);
    expect(fc.at(-1)!).toBeLessThan(fc[0]);
    await expect(reconstruct({ ...base(), faceContrast: { weight: -1, floor: 0.1 } })).rejects.toThrow(/faceContrast needs a weight/);
    await expect(reconstruct({ ...base(), jitter: { shift: 0, scale: 0, rotate: 0, colour: 1 } })).rejects.toThrow(/jitter bounds/);
    await expect(reconstruct({ ...base(), jitter: { shift: 0, scale: 0, rotate: 0, blur: 1.5 } })).rejects.toThrow(/jitter bounds/);
    await expect(reconstruct({ ...base(), jitter: { shift: 0, scale: 0, rotate: 0, noise: -1 } })).rejects.toThrow(/jitter bounds/);
  });

  it('caricature: every target moved away from the guide\'s embedding by A times their difference; the distance reported is to the given target', async () => {
    const A = 0.5;
    const other = FaceModel.fromBytes(new Uint8Array(readFileSync('assets/judges/mobileface.onnx')), 'mobileface');
    const otherTarget = F.keep(F.tidy(() => F.noGrad(() => other.embed(other.pixels([readPng(SAMPLE_FACE)])).embedding)));
    const ensemble = [{ model: other, target: otherTarget, weight: 1 }];
    const plain = await reconstruct({ ...base(), ensemble, iterations: 1 });
    const r = await lowers({ ensemble, caricature: A }, 'caricature');
    // Iteration 0 scores the guide itself: the model's l2 term grows by (1 + A)², its distance to the target stays.
    const [p0, r0] = [plain.trace[0].values, r.trace[0].values];
    expect(r0.embedding / p0.embedding).toBeCloseTo((1 + A) ** 2, 3);
    expect(r0.distance).toBeCloseTo(p0.distance, 4);
    // The member's term, from its embeddings of the guide and the target in float64.
    const unitOf = (v: Float32Array) => Array.from(v, (x) => x / Math.hypot(...v));
    const gT = F.tidy(() => F.noGrad(() => other.embed(guide).embedding));
    const g = unitOf(await gT.data());
    gT.dispose();
    const t = unitOf(await otherTarget.data());
    const want = unitOf(Float32Array.from(t, (x, i) => x + A * (x - g[i])));
    expect(r0['ensemble:0']).toBeCloseTo(g.reduce((s, x, i) => s + (x - want[i]) ** 2, 0), 3);
    plain.image.dispose();
    await expect(reconstruct({ ...base(), caricature: -1 })).rejects.toThrow(/caricature must be ≥ 0/);
    await expect(reconstruct({ ...base(), guide: undefined, start: 'noise', guideLayers: [], caricature: 1 })).rejects.toThrow(/give a guide/);
    otherTarget.dispose();
    other.dispose();
  });

  it('guideDecay: the guide terms fall geometrically to that fraction of their weight over the run', async () => {
    // A step so small the image stays put: each guide term is then its weight × D^(t/T) × one fixed value.
    const D = 0.1;
    const T = 4;
    const r = await reconstruct({ ...base(), start: 'noise', iterations: T, lr: 1e-6, progressEvery: 1, guideDecay: D });
    r.image.dispose();
    const name = `guide:${layers[0]}`;
    const g = r.trace.filter((row) => row.item === 0).map((row) => row.values[name]);
    expect(g[0]).toBeGreaterThan(0);
    for (let t = 1; t < g.length; t++) expect(g[t] / g[0], `iteration ${t}`).toBeCloseTo(D ** (t / T), 3);
    await expect(reconstruct({ ...base(), guideDecay: 1.5 })).rejects.toThrow(/guideDecay must be in \[0, 1\]/);
  });

  /** After three steps with options o: the RMS of the change's finest pyramid level over the RMS of the whole change. */
  const fineShare = async (o: Partial<ReconstructOptions>) => {
    const r = await reconstruct({ ...base(), iterations: 3, ...o });
    const ratio = F.tidy(() => {
      const step = F.sub(r.image, guide);
      return F.div(F.sqrt(F.mean(F.square(lapSplit(step, 4)[0]))), F.sqrt(F.mean(F.square(step))));
    });
    const v = await ratio.item();
    [r.image, ratio].forEach((t) => t.dispose());
    return v;
  };

  it('coarseToFine: the fine levels of the step come in last, and the loss still falls', async () => {
    await lowers({ coarseToFine: 0.5 }, 'coarse to fine');
    // Over the first steps only the coarse levels move: the image's change holds far less fine detail than a plain run's.
    const [plain, coarse] = [await fineShare({ coarseToFine: 0 }), await fineShare({ coarseToFine: 1 })];
    expect(coarse).toBeLessThan(0.5 * plain);
    await expect(reconstruct({ ...base(), coarseToFine: 2 })).rejects.toThrow(/coarseToFine must be in \[0, 1\]/);
    await expect(reconstruct({ ...base(), coarseToFine: 0.5, lapNormLevels: 0 })).rejects.toThrow(/needs lapNormLevels/);
  });

  it('lapWeights: a lighter finest level leaves less of it in the steps (more so with pyramid parameters), and the loss still falls', async () => {
    await lowers({ lapWeights: [0.3] }, 'level weights');
    await lowers({ lapParam: 4, lapWeights: [0.3, 0.6] }, 'level weights with pyramid parameters');
    expect(await fineShare({ lapWeights: [0.1] })).toBeLessThan(0.9 * (await fineShare({})));
    expect(await fineShare({ lapParam: 4, lapWeights: [0.1] })).toBeLessThan(0.7 * (await fineShare({ lapParam: 4 })));
    await expect(reconstruct({ ...base(), lapWeights: [-1] })).rejects.toThrow(/lapWeights must be weights ≥ 0/);
    await expect(reconstruct({ ...base(), lapWeights: [0.5], lapNormLevels: 0 })).rejects.toThrow(/need lapParam or lapNormLevels/);
    await expect(reconstruct({ ...base(), lapWeights: [0], lapParam: 3 })).rejects.toThrow(/must be > 0/);
  });

  it('skin-tone prior: from the grey average face, the face region\'s mean hue moves to the skin chroma', async () => {
    const average = F.keep(model.pixels([readPng('assets/guides/lfw-average.png')]));
    // Mean chroma (each channel minus the luminance, 0..1) over the chip's central 60 %.
    const hue = async (img: F.Tensor) => {
      const px = await img.data();
      const S = Math.sqrt(px.length / 3);
      const [lo, hi] = [Math.round(0.2 * S), Math.round(0.8 * S)];
      const m = [0, 0, 0];
      for (let y = lo; y < hi; y++)
        for (let x = lo; x < hi; x++) {
          const [r, g, b] = [0, 1, 2].map((c) => px[c * S * S + y * S + x] / 255);
          const lum = 0.299 * r + 0.587 * g + 0.114 * b;
          [r, g, b].forEach((v, c) => (m[c] += (v - lum) / (hi - lo) ** 2));
        }
      return m;
    };
    const off = (m: number[]) => Math.hypot(...m.map((v, c) => v - SKIN_CHROMA[c]));
    const before = off(await hue(average));
    const r = await lowers({ guide: average, skin: 20 }, 'skin tone');
    expect(r.termNames).toContain('skin');
    const q = await reconstruct({ ...base(), guide: average, skin: 20, iterations: 40 });
    const after = off(await hue(q.image));
    q.image.dispose();
    expect(before).toBeGreaterThan(0.1);
    expect(after, `distance of the mean hue from skin: ${before} → ${after}`).toBeLessThan(before / 4);
    await expect(reconstruct({ ...base(), skin: -1 })).rejects.toThrow(/skin must be a weight/);
    average.dispose();
  });

  it('flipped jitter transformations mirror the image about its centre', () => {
    const rng = new F.Rng(3);
    const ms = jitterAffines(rng, 100, 150, { shift: 0, scale: 0, rotate: 0, flip: true });
    const flipped = ms.filter((m) => m[0] < 0);
    expect(flipped.length).toBeGreaterThan(30);
    expect(flipped.length).toBeLessThan(70);
    for (const m of flipped) [-1, 0, 150, 0, 1, 0].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 9));
  });

  it('Laplacian-pyramid parameterisation: the loss falls, the image stays in 0..255, the first step starts from the guide', async () => {
    const r = await lowers({ lapParam: 4 }, 'pyramid parameters');
    const plain = await reconstruct({ ...base(), iterations: 1 });
    const lap = await reconstruct({ ...base(), lapParam: 4, iterations: 1 });
    // Iteration 0 sees the same image (the guide) either way.
    expect(lap.trace[0].values.total).toBeCloseTo(plain.trace[0].values.total, 3);
    [plain.image, lap.image].forEach((t) => t.dispose());
    expect(r.stopped).toBe('done');
    await expect(reconstruct({ ...base(), lapParam: 1.5 })).rejects.toThrow(/lapParam/);
  });

  it('the identity preset is the paper preset with an edge-preserving TV (per-pixel, β = 1), plus input diversity (jitter, flips, colour) and photo-like tones', () => {
    const paper = preset('paper', layers);
    const id = preset('identity', layers);
    for (const t of [0, 150, 300]) expect((id.tv!.weight as (t: number) => number)(t)).toBeCloseTo(0.03 * (paper.tv!.weight as (t: number) => number)(t), 12);
    expect({ ...id.tv, weight: 0 }).toEqual({ weight: 0, form: 'pixel', beta: 1 });
    expect(id.jitter).toMatchObject({ shift: 4, scale: 0.05, flip: true, colour: 0.1 });
    expect(id.chromaTv).toBeGreaterThan(0);
    expect(id.contrast).toMatchObject({ floor: 0.2 });
    expect(id.faceContrast).toMatchObject({ floor: 0.17 });
    expect(id.skin).toBeGreaterThan(0);
    const strip = { jitter: undefined, tv: undefined, chromaTv: undefined, contrast: undefined, faceContrast: undefined, skin: undefined };
    expect({ ...id, ...strip }).toEqual({ ...paper, ...strip });
    expect(() => preset('nope' as never, layers)).toThrow(/paper, fast, identity/);
  });

  it('jitter transformations stay within their bounds and move about the centre', () => {
    const rng = new F.Rng(1);
    for (const m of jitterAffines(rng, 200, 150, { shift: 3, scale: 0.1, rotate: 0.2 })) {
      const k = Math.hypot(m[0], m[3]);
      expect(1 / k).toBeGreaterThanOrEqual(0.9 - 1e-9);
      expect(1 / k).toBeLessThanOrEqual(1.1 + 1e-9);
      expect(Math.abs(Math.atan2(m[3], m[0]))).toBeLessThanOrEqual(0.2 + 1e-9);
      // The centre moves by the shift alone.
      expect(Math.abs(m[0] * 75 + m[1] * 75 + m[2] - 75)).toBeLessThanOrEqual(3 + 1e-9);
      expect(Math.abs(m[3] * 75 + m[4] * 75 + m[5] - 75)).toBeLessThanOrEqual(3 + 1e-9);
    }
  });

  it('from seeded noise (the same seed gives the same image) and from a given image; a batch of two', async () => {
    const a = await lowers({ start: 'noise', seed: 5, guideLayers: [] }, 'noise');
    const b = await reconstruct({ ...base(), start: 'noise', seed: 5, guideLayers: [], iterations: 1 });
    const c = await reconstruct({ ...base(), start: 'noise', seed: 6, guideLayers: [], iterations: 1 });
    expect(b.trace[0].values.total).toBeCloseTo(a.trace[0].values.total, 4);
    expect(c.trace[0].values.total).not.toBeCloseTo(a.trace[0].values.total, 4);
    b.image.dispose();
    c.image.dispose();
    const start = F.keep(model.pixels([readPng('assets/guides/cartoon-male.png')]));
    await lowers({ start }, 'given start image');
    // Two targets with two guides in one batch: each item its own trace.
    const two = F.keep(F.concat([target, F.mul(target, 0.9)], 0));
    const guides = F.keep(F.concat([guide, start], 0));
    const r = await lowers({ target: two, guide: guides }, 'batch of two');
    expect(r.distance).toHaveLength(2);
    expect(new Set(r.trace.map((row) => row.item))).toEqual(new Set([0, 1]));
    [start, two, guides].forEach((t) => t.dispose());
  });

  it('one item of a batch gets the same result as alone', async () => {
    const alone = await reconstruct({ ...base(), iterations: 4 });
    const two = F.keep(F.concat([target, F.mul(target, 0.5)], 0));
    const guides = F.keep(F.concat([guide, guide], 0));
    const batch = await reconstruct({ ...base(), target: two, guide: guides, iterations: 4 });
    const a = await alone.image.data();
    const b = (await batch.image.data()).slice(0, a.length);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(0.05);
    [alone.image, batch.image, two, guides].forEach((t) => t.dispose());
  });

  it('steady state: after the first iteration no buffer is allocated and no pipeline created, and only the asked-for readbacks happen', async () => {
    const e = F.engine();
    const debug = e.debug;
    e.debug = false;
    try {
      const seen: { it: number; buffers: number; bytes: number; pipelines: number; reads: number }[] = [];
      const snap = (p: Progress) => {
        const s = e.stats();
        seen.push({ it: p.iteration, buffers: s.buffersAllocated, bytes: s.bytesAllocated, pipelines: s.pipelines, reads: e.reads });
      };
      // A readback every iteration: iteration 1 sets up; later ones allocate and compile nothing.
      // With jitter (flips, colour changes, blur and noise too), pyramid parameters, chroma TV, both contrast floors, the caricature and the identity preset's per-pixel TV on,
      // so their per-step work is covered too.
      const r1 = await reconstruct({
        ...base(), iterations: 6, progressEvery: 1, onProgress: snap, jitter: { shift: 2, scale: 0.05, rotate: 0.05, flip: true, colour: 0.1, blur: 0.5, noise: 8 }, lapParam: 3, lapWeights: [0.5, 1, 2],
        chromaTv: 0.1, contrast: { weight: 10, floor: 0.25 }, faceContrast: { weight: 10, floor: 0.2 }, chromaStep: 0.3, caricature: 0.5,
        tv: { weight: (t: number) => 3e-3 * 0.9 ** t, form: 'pixel', beta: 1 },
      });
      r1.image.dispose();
      // Coarse to fine (on the pixel gradient's normalisation, which the pyramid parameters replace): its level weights change every step.
      const before = seen.length;
      const r1b = await reconstruct({ ...base(), iterations: 4, progressEvery: 1, onProgress: snap, coarseToFine: 1, lapWeights: [0.5] });
      r1b.image.dispose();
      for (const s of seen.slice(before + 1)) {
        expect(s.buffers - seen[before].buffers, `coarse to fine, iteration ${s.it}`).toBe(0);
        expect(s.pipelines - seen[before].pipelines, `coarse to fine, iteration ${s.it}`).toBe(0);
      }
      seen.length = before;
      for (const s of seen.slice(1)) {
        expect(s.buffers, `iteration ${s.it}`).toBe(seen[0].buffers);
        expect(s.bytes, `iteration ${s.it}`).toBe(seen[0].bytes);
        expect(s.pipelines, `iteration ${s.it}`).toBe(seen[0].pipelines);
      }
      for (let k = 1; k < seen.length; k++) expect(seen[k].reads - seen[k - 1].reads, `readbacks in iteration ${seen[k].it}`).toBe(1);
      // A readback every 5 iterations: one per 5 iterations, none inside them.
      seen.length = 0;
      const r2 = await reconstruct({ ...base(), iterations: 15, progressEvery: 5, onProgress: snap });
      r2.image.dispose();
      expect(seen.map((s) => s.it)).toEqual([5, 10, 15]);
      expect(seen[2].reads - seen[1].reads).toBe(1);
      expect(seen[1].reads - seen[0].reads).toBe(1);
      expect(seen[2].buffers).toBe(seen[0].buffers);
      expect(seen[2].pipelines).toBe(seen[0].pipelines);
    } finally {
      e.debug = debug;
    }
  });

  it('a non-finite loss stops the run with a message and keeps the last image checked finite', async () => {
    // A learning rate of 1e38 sends the pixels to the range's ends, then TV^(3/2) of them overflows f32.
    const r = await reconstruct({ ...base(), iterations: 12, progressEvery: 3, lr: 1e38, lapNormLevels: 0, tv: { weight: 1e30, form: 'global', alpha: 3 } });
    expect(r.stopped).toBe('non-finite');
    expect(r.message).toMatch(/a loss term became non-finite at iteration \d+; kept the image of iteration \d+/);
    const img = await r.image.data();
    expect(img.every((v) => Number.isFinite(v) && v >= 0 && v <= 255)).toBe(true);
    expect(r.distance.every(Number.isFinite)).toBe(true);
    r.image.dispose();
  });

  it('an aborted run stops after the current iteration and returns its image', async () => {
    const signal = { aborted: false };
    const r = await reconstruct({ ...base(), iterations: 50, progressEvery: 2, signal, onProgress: (p) => void (p.iteration >= 4 && (signal.aborted = true)) });
    expect(r.stopped).toBe('aborted');
    expect(r.iterations).toBeLessThanOrEqual(6);
    r.image.dispose();
  });

  it('bad settings are refused with a clear message', async () => {
    await expect(reconstruct({ ...base(), guide: undefined })).rejects.toThrow(/starting from the guide needs a guide image/);
    await expect(reconstruct({ ...base(), guideLayers: [{ layer: 'nope', weight: 1 }] })).rejects.toThrow(/the model has no layer 'nope'/);
    const small = F.zeros([1, 3, 100, 100]);
    await expect(reconstruct({ ...base(), guide: small })).rejects.toThrow(ReconstructError);
    await expect(reconstruct({ ...base(), guide: small })).rejects.toThrow(/guide must be \[1, 3, 150, 150\].*got \[1,3,100,100\]/);
    small.dispose();
    await expect(reconstruct({ ...base(), iterations: 1.5 })).rejects.toThrow(/iterations must be a whole number/);
  });

  it('w_TV falls from w0 to a tenth of it over the run (paper §3)', () => {
    const s = decayingTv(0.03, 200);
    expect(s(0)).toBeCloseTo(0.03, 12);
    expect(s(100)).toBeCloseTo(0.03 * Math.sqrt(0.1), 12);
    expect(s(200)).toBeCloseTo(0.003, 12);
    expect(s(400)).toBeCloseTo(0.003, 12);
  });
});
