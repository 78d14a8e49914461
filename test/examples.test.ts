// examples/invert-node.mjs as a user runs it: the built package imported by name ('faceinv').
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelPath } from './helpers/faces.ts';

describe('examples', () => {
  it('examples/invert-node.mjs reconstructs the sample face below the same-person threshold', () => {
    defaultModelPath();
    const out = join(mkdtempSync(join(tmpdir(), 'faceinv-ex-')), 'face.png');
    const r = spawnSync(process.execPath, ['examples/invert-node.mjs', 'assets/faces/astronaut.png', out, '15'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(j.iterations).toBe(15);
    expect(j.distance).toBeLessThan(0.6);
    expect(existsSync(out)).toBe(true);
  });
});
