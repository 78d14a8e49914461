// Other networks as the model: one framed differently (the bundled MobileFace judge, 112-pixel input, chip box)
// and a plain export without faceinv metadata, which is refused by name until annotated.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { floatTensor, node, valueInfo, model, encodeModel } from '../src/models/onnx/builder.ts';
import { SAMPLE_FACE } from './helpers/faces.ts';
import { cli, lastJson } from './helpers/cli.ts';
import { Rand } from './helpers/ref.ts';

const MOBILEFACE = 'assets/judges/mobileface.onnx';

const embedOf = (png: string, m: string): number[] => {
  const r = cli('embed', png, '--model', m);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out).embedding;
};
const cos = (a: number[], b: number[]) => {
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
};

describe('faceinv with a network framed differently (mobileface: 112-pixel input, faceinv.chip_box)', () => {
  it('invert writes a 150-pixel chip whose embedding under that network is closer to the target than the start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-model-'));
    const out = join(dir, 'out.png');
    const r = cli('invert', '--model', MOBILEFACE, '--target', SAMPLE_FACE, '--out', out, '--preset', 'fast', '--iterations', '40');
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([150, 150]);
    const target = embedOf(SAMPLE_FACE, MOBILEFACE);
    const start = cos(embedOf(j.guide, MOBILEFACE), target);
    const got = cos(embedOf(out, MOBILEFACE), target);
    expect(got, `cosine to the target: start ${start}, result ${got}`).toBeGreaterThan(start + 0.1);
  }, 300_000);
});

describe('a plain export without faceinv metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceinv-plain-'));
  const plain = join(dir, 'plain.onnx');
  const r = new Rand(5);
  writeFileSync(
    plain,
    encodeModel(
      model({
        nodes: [node('Conv', ['input', 'w'], ['c'], { kernel_shape: [3, 3], strides: [2, 2] }), node('Relu', ['c'], ['r']), node('GlobalAveragePool', ['r'], ['g']), node('Flatten', ['g'], ['embedding'])],
        initializers: [floatTensor('w', [16, 3, 3, 3], Float32Array.from(r.uniform(16 * 27)))],
        inputs: [valueInfo('input', ['N', 3, 48, 48])],
        outputs: [valueInfo('embedding', ['N', 16])],
      }),
    ),
  );

  it('stops with one line naming the metadata to add; info says so too', () => {
    const run = cli('invert', '--model', plain, '--target', SAMPLE_FACE, '--out', join(dir, 'x.png'));
    expect(run.code).toBe(1);
    expect(run.err.split('\n')).toHaveLength(1);
    expect(run.err).toMatch(/no faceinv metadata .*faceinv\.mean.*faceinv\.scale.*faceinv annotate/);
    const info = cli('info', '--model', plain);
    expect(info.code, info.err).toBe(0);
    expect(info.out).toMatch(/usable as a face model: no: .*faceinv\.mean/);
  });

  it("runs once 'faceinv annotate' has written its preprocessing into a copy", () => {
    const annotated = join(dir, 'annotated.onnx');
    const a = cli('annotate', plain, annotated, 'faceinv.mean=[127.5,127.5,127.5]', 'faceinv.scale=0.0078125', 'faceinv.distance=cosine');
    expect(a.code, a.err).toBe(0);
    expect(cli('info', '--model', annotated).out).toMatch(/usable as a face model: yes: images 48×48, cosine distance/);
    const out = join(dir, 'y.png');
    const run = cli('invert', '--model', annotated, '--target', SAMPLE_FACE, '--out', out, '--iterations', '3');
    expect(run.code, run.err).toBe(0);
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([48, 48]);
  });
});
