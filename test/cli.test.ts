// The faceinv command as a user runs it (dist/cli.js, built by the test command).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { defaultModelPath, sampleFaceRgb, normalizedNchw } from './helpers/faces.ts';
import { cli } from './helpers/cli.ts';

const SAMPLE = 'assets/faces/astronaut.png';

describe('faceinv embed / compare / info', () => {
  it('embed prints one JSON line per image whose embedding matches onnxruntime on the same model', async () => {
    defaultModelPath();
    const r = cli('embed', SAMPLE, SAMPLE);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].image).toBe(SAMPLE);
    const s = await ort.InferenceSession.create(defaultModelPath());
    const want = (await s.run({ input: new ort.Tensor('float32', normalizedNchw(sampleFaceRgb().data, 150, 150), [1, 3, 150, 150]) })).embedding.data as Float32Array;
    const got = lines[0].embedding as number[];
    expect(got).toHaveLength(128);
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-4);
  });

  it('embed into a pipe read late: every line arrives (process.exit used to drop output still queued)', async () => {
    // 60 lines (about 160 kB) into a pipe nobody reads at first: beyond the pipe's 64 kB the output waits in
    // the process, which must not exit before it is written. Reading starts when the process has exited or
    // after 10 s, whichever comes first (a process that waits for the reader is still running then).
    const n = 60;
    const child = spawn(process.execPath, ['dist/cli.js', 'embed', '--no-align', ...Array(n).fill(SAMPLE)]);
    child.stdout.pause();
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.on('exit', r));
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    child.stdout.resume();
    await new Promise((r) => child.stdout.on('close', r));
    await exited;
    expect(child.exitCode).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(n);
    for (const l of lines) expect(JSON.parse(l).embedding).toHaveLength(128);
  }, 60_000);

  it('compare: the same face is the same person; a scrambled face is not', () => {
    const same = cli('compare', SAMPLE, SAMPLE, '--json');
    expect(same.code, same.err).toBe(0);
    const j = JSON.parse(same.out);
    expect(j.distance).toBeLessThan(1e-5);
    expect(j.same_person).toBe(true);
    // The same pixels with the rows in reverse order (upside down): not a face the model matches.
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-'));
    const png = PNG.sync.read(readFileSync(SAMPLE));
    const flipped = new PNG({ width: png.width, height: png.height });
    for (let y = 0; y < png.height; y++) png.data.copy(flipped.data, y * png.width * 4, (png.height - 1 - y) * png.width * 4, (png.height - y) * png.width * 4);
    writeFileSync(join(dir, 'flipped.png'), PNG.sync.write(flipped));
    const diff = cli('compare', SAMPLE, join(dir, 'flipped.png'));
    expect(diff.code, diff.err).toBe(0);
    expect(diff.out).toMatch(/^distance \d\.\d{4}: different people \(at or above 0\.6\)/);
    // A network compared by angle (the judge) reports a cosine similarity.
    const judge = cli('compare', SAMPLE, join(dir, 'flipped.png'), '--model', 'assets/judges/mobileface.onnx', '--json');
    expect(judge.code, judge.err).toBe(0);
    const jj = JSON.parse(judge.out);
    expect(jj.similarity).toBeLessThan(0.9);
    expect(jj.same_person).toBeNull();
    expect(JSON.parse(cli('compare', SAMPLE, SAMPLE, '--model', 'assets/judges/mobileface.onnx', '--json').out).similarity).toBeGreaterThan(0.9999);
  });

  it('info lists the adapter, the model metadata and its tappable layers', () => {
    const r = cli('info', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.adapter.isCpu).toBeTypeOf('boolean');
    expect(j.model.metadata['faceinv.same_person_threshold']).toBe('0.6');
    expect(j.model.layers.map((l: { name: string }) => l.name)).toContain('conv128_2');
  });

  it('bad input ends in one line on stderr and a non-zero exit, never a stack trace', () => {
    for (const args of [['embed', 'package.json'], ['embed', 'does-not-exist.png'], ['compare', SAMPLE, SAMPLE, '--model', 'package.json'], ['frobnicate']]) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^faceinv: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
