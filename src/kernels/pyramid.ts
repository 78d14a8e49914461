// The Laplacian pyramid's 5-tap binomial down- and up-sampling (shaders/pyramid.wgsl).
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';
import { reduceKernel } from './reduce.ts';

/** DOWN: [...,H,W] → [...,ceil(H/2),ceil(W/2)]; UP: [...,h,w] → [...,outH,outW]. Output = gain × the sum. */
export function resampleKernel(mode: 'down' | 'up', src: Tensor, outH: number, outW: number, gain: number): Tensor {
  return resample(mode, src, outH, outW, gain, null);
}

/** A band of the pyramid in one pass: level − 4·UP(coarser), the coarser level enlarged to level's size. */
export function bandKernel(level: Tensor, coarser: Tensor): Tensor {
  const [H, W] = level.shape.slice(-2);
  return resample('up', coarser, H, W, 4, { kind: 'sub', other: level });
}

/**
 * One step of a normalised merge in one pass: band · sb + 4·UP(coarser) · sc, per item (`planesPerItem`
 * planes share a scale) sb = wB / max(√(ssB[item] / countB), eps) from the band's sum of squares, and sc the
 * same of the coarser level's where `first` (it is the low-pass rest, not yet scaled), else 1.
 */
export function mergeKernel(band: Tensor, coarser: Tensor, m: MergeScales): Tensor {
  const [H, W] = band.shape.slice(-2);
  return resample('up', coarser, H, W, 4, { kind: 'merge', other: band, ...m });
}

export interface MergeScales {
  ssB: Tensor;
  wB: number;
  countB: number;
  /** The coarser level's sum of squares, weight and count: given for the first merge only. */
  first?: { ssC: Tensor; wC: number; countC: number };
  planesPerItem: number;
  eps: number;
}

type Epilogue = ({ kind: 'sub' } | ({ kind: 'merge' } & MergeScales)) & { other: Tensor };

function resample(mode: 'down' | 'up', src: Tensor, outH: number, outW: number, gain: number, epi: Epilogue | null): Tensor {
  const e = engine();
  const [SH, SW] = src.shape.slice(-2);
  const lead = src.shape.slice(0, -2);
  const out = Tensor.empty([...lead, outH, outW]);
  const merge = epi?.kind === 'merge' ? epi : null;
  // UP runs 4 outputs of a row per invocation (shaders/pyramid.wgsl).
  const n = mode === 'down' ? out.size : (out.size / outW) * Math.ceil(outW / 4);
  const scales = merge ? [merge.ssB.buffer, (merge.first?.ssC ?? merge.ssB).buffer] : [];
  e.dispatch({
    pipeline: shaderPipeline('pyramid', { DOWN: mode === 'down', OTHER: !!epi, SUB: epi?.kind === 'sub', MERGE: !!merge, FIRST: !!merge?.first, UNIFORM: merge ? 5 : epi ? 3 : 2 }),
    buffers: [src.buffer, out.buffer, ...(epi ? [epi.other.buffer] : []), ...scales],
    uniforms: packParams('pyramid', {
      n, SH, SW, OH: outH, OW: outW, gain, planesPerItem: merge?.planesPerItem ?? 1, eps: merge?.eps ?? 0,
      wB: merge?.wB ?? 0, invCountB: merge ? 1 / merge.countB : 0, wC: merge?.first?.wC ?? 0, invCountC: merge?.first ? 1 / merge.first.countC : 0,
    }),
    workgroups: grid(n, 256),
    label: `pyramid.${epi ? (epi.kind === 'sub' ? 'band' : 'merge') : mode}(${fmt(src.shape)} -> ${fmt(out.shape)})`,
  });
  return out;
}

/**
 * Deepdream's Laplacian-pyramid normalisation of g [N, ..., H, W] in 4·levels + levels + 1 passes: each level
 * split off as a band (DOWN, then level − UP in one pass), each band's sum of squares (per item, or over all),
 * and the merge with every band divided by max(RMS, eps) and scaled by its weight inside the UP that enlarges
 * the coarser sum. null where the image is too small to split (the caller normalises it as one level).
 */
export function lapNormalizeKernel(g: Tensor, levels: number, o: { eps: number; perItem: boolean; weight: (i: number) => number }): Tensor | null {
  const bands: Tensor[] = [];
  let cur = g;
  for (let i = 0; i < levels; i++) {
    const [H, W] = cur.shape.slice(-2);
    if (H < 2 && W < 2) break;
    const lo = resampleKernel('down', cur, Math.ceil(H / 2), Math.ceil(W / 2), 1);
    bands.push(bandKernel(cur, lo));
    if (cur !== g) cur.dispose();
    cur = lo;
  }
  if (!bands.length) return null;
  bands.push(cur);
  const items = o.perItem ? g.shape[0] : 1;
  const axes = Array.from({ length: g.rank }, (_, i) => i).filter((a) => !o.perItem || a > 0);
  const ss = bands.map((L) => reduceKernel('sumsq', L, axes, [items]));
  const count = (L: Tensor) => L.size / items;
  const planesPerItem = g.size / (g.shape.at(-1)! * g.shape.at(-2)!) / items;
  const last = bands.length - 1;
  let acc = bands[last];
  for (let i = last - 1; i >= 0; i--) {
    const first = i === last - 1 ? { ssC: ss[last], wC: o.weight(last), countC: count(bands[last]) } : undefined;
    const next = mergeKernel(bands[i], acc, { ssB: ss[i], wB: o.weight(i), countB: count(bands[i]), first, planesPerItem, eps: o.eps });
    acc.dispose();
    acc = next;
  }
  [...bands.slice(0, last), ...ss].forEach((t) => t.dispose());
  return acc;
}
