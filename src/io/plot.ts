// Plots as SVG text (pure: the browser uses it too) and image grids. PNG versions of the plots are rendered
// in Node by plot-png.ts.
import type { RgbImage } from './image.ts';

export interface Series {
  name: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Draw markers only (a scatter plot) instead of lines. */
  scatter?: boolean;
  /** A dashed y = x line (scatter plots comparing two losses). */
  diagonal?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

const fmtTick = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(+v.toPrecision(4)));

/** A line (or scatter) chart with axes, ticks, a legend and a title. */
export function chartSvg(o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 400;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = pts.length ? [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))] : [0, 1];
  if (o.diagonal) [x0, y0, x1, y1] = [Math.min(x0, y0), Math.min(x0, y0), Math.max(x1, y1), Math.max(x1, y1)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  for (const t of ticks(x0, x1)) {
    out.push(`<line x1="${X(t)}" y1="${m.t}" x2="${X(t)}" y2="${H - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${X(t)}" y="${H - m.b + 16}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    out.push(`<line x1="${m.l}" y1="${Y(t)}" x2="${W - m.r}" y2="${Y(t)}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.diagonal) out.push(`<line x1="${X(x0)}" y1="${Y(x0)}" x2="${X(x1)}" y2="${Y(x1)}" stroke="#888" stroke-dasharray="5 4"/>`);
  o.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (o.scatter) for (const [x, y] of ok) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${c}" fill-opacity="0.7"/>`);
    else if (ok.length) out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${ok.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    const ly = m.t + 14 + 16 * i;
    out.push(`<rect x="${W - m.r - 150}" y="${ly - 9}" width="12" height="10" fill="${c}"/>`);
    out.push(`<text x="${W - m.r - 133}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Images of equal size tiled `cols` per row, with `gap` pixels of white between them. */
export function imageGrid(images: RgbImage[], cols: number, gap = 4): RgbImage {
  if (images.length === 0) throw new RangeError('imageGrid: no images');
  const { width: w, height: h } = images[0];
  if (images.some((im) => im.width !== w || im.height !== h)) throw new RangeError('imageGrid: images differ in size');
  const c = Math.min(cols, images.length);
  const rows = Math.ceil(images.length / c);
  const W = c * w + (c - 1) * gap;
  const H = rows * h + (rows - 1) * gap;
  const data = new Float32Array(W * H * 3).fill(255);
  images.forEach((im, k) => {
    const x0 = (k % c) * (w + gap);
    const y0 = Math.floor(k / c) * (h + gap);
    for (let y = 0; y < h; y++) data.set(im.data.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * W + x0) * 3);
  });
  return { width: W, height: H, data };
}
