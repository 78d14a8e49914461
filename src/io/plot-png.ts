// Plots written as SVG and as PNG (rendered by resvg, with the system's fonts). Node only.
// resvg is a native module that only plots need: an optional peer dependency, loaded on first use.
import { writeFileAtomic } from './atomic.ts';
import { createRequire } from 'node:module';
import type { Resvg as ResvgClass } from '@resvg/resvg-js';

let resvg: typeof ResvgClass | null = null;
function loadResvg(): typeof ResvgClass {
  if (resvg) return resvg;
  try {
    resvg = (createRequire(import.meta.url)('@resvg/resvg-js') as { Resvg: typeof ResvgClass }).Resvg;
  } catch (e) {
    throw new Error(
      `writing a plot as PNG needs the optional package '@resvg/resvg-js' (npm install @resvg/resvg-js); ` +
        `the SVG was written (${(e as Error).message.split('\n')[0]})`,
    );
  }
  return resvg;
}

/** Renders an SVG document (text) to PNG bytes with resvg; throws a message naming the package when it is not installed. */
export function svgToPng(svg: string): Uint8Array {
  const Resvg = loadResvg();
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** Writes `<base>.svg` and `<base>.png` (each atomically); returns both paths. */
export function writePlot(base: string, svg: string): [string, string] {
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, svgToPng(svg));
  return [`${base}.svg`, `${base}.png`];
}
