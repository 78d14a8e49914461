// DESIGN.md's layering: data flows one way (files → tensors → kernels → ops → models → algorithms → CLI and
// API), and a lower layer never imports a higher one. Checked on every relative import under src/.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, normalize, relative } from 'node:path';

/** Each folder of src/ and its rank: a module may import its own folder or lower ranks only. */
const RANK: Record<string, number> = { io: 0, tensor: 0, kernels: 1, autograd: 2, optim: 3, models: 3, invert: 4, train: 5, cli: 6, 'index.ts': 6 };

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

describe('layering', () => {
  it('no module imports from a layer above its own (src/tensor imports nothing from src/)', () => {
    const layerOf = (path: string) => relative('src', path).split('/')[0];
    const upward: string[] = [];
    for (const f of files('src')) {
      const from = layerOf(f);
      expect(RANK[from], `${f}: a folder of src/ that the layering table does not know`).toBeDefined();
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const to = layerOf(normalize(join(dirname(f), m[1])));
        // src/tensor is the floor: it imports nothing else from src/ (not even io).
        if (to !== from && (RANK[to] > RANK[from] || from === 'tensor')) upward.push(`${f} → ${m[1]}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
