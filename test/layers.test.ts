// DESIGN.md's layering: data flows one way (files → tensors → kernels → ops → models → algorithms → CLI and
// API), and a lower layer never imports a higher one. Checked on every relative import under src/.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, normalize, relative } from 'node:path';

/** Each folder of src/ and its rank: a module may import its own folder or lower ranks only. */
const RANK: Record<string, number> = { io: 0, tensor: 0, kernels: 1, autograd: 2, optim: 3, models: 3, invert: 4, evaluate: 4, train: 5, cli: 6, 'index.ts': 6 };

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

describe('kernels declared once: binding kinds come from the WGSL', () => {
  it('bindingKinds reads each specialised shader\'s declarations, in order, and refuses gaps and misplaced uniforms', async () => {
    const { bindingKinds, specialise } = await import('../src/kernels/preprocess.ts');
    // The pool shader declares different bindings for its forward and backward variants.
    const window = { KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1 };
    const plain = { MAX: true, COUNT_PAD: false, MASK: false, ...window };
    expect(bindingKinds(specialise('pool', { ...plain, BACKWARD: false }))).toEqual(['read', 'write', 'write', 'uniform']);
    expect(bindingKinds(specialise('pool', { ...plain, BACKWARD: true }))).toEqual(['read', 'read', 'write', 'uniform']);
    // With the ReLU's mask taken in, the backward reads one buffer more, the uniform block still last.
    expect(bindingKinds(specialise('pool', { ...plain, BACKWARD: true, MASK: true }))).toEqual(['read', 'read', 'write', 'read', 'uniform']);
    expect(bindingKinds(specialise('optim', { ADAM: false, MOMENTUM: false, NESTEROV: false }))).toEqual(['write', 'read', 'uniform']);
    const decl = (i: number, kind: string) => `@group(0) @binding(${i}) var<${kind}> b${i}: array<f32>;`;
    expect(() => bindingKinds([decl(0, 'storage, read'), decl(2, 'uniform')].join('\n'))).toThrow(/binding 1 is missing/);
    expect(() => bindingKinds([decl(0, 'uniform'), decl(1, 'storage, read_write')].join('\n'))).toThrow(/uniform block must be the last/);
    expect(() => bindingKinds([decl(0, 'storage, read'), decl(0, 'storage, read')].join('\n'))).toThrow(/declared twice/);
  });
});
