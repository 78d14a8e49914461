// Plots written as SVG and as PNG (rendered by resvg, with the system's fonts). Node only.
import { writeFileSync, renameSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** Writes `<base>.svg` and `<base>.png` (each atomically); returns both paths. */
export function writePlot(base: string, svg: string): [string, string] {
  const write = (path: string, data: string | Uint8Array) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  };
  write(`${base}.svg`, svg);
  write(`${base}.png`, svgToPng(svg));
  return [`${base}.svg`, `${base}.png`];
}
