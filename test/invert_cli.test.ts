// faceinv invert / transfer / sweep-tv as a user runs them (dist/cli.js, built by the test command).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { SAMPLE_FACE, defaultModelPath } from './helpers/faces.ts';
import { cli, lastJson, signalWhen } from './helpers/cli.ts';

const embedOf = (png: string): number[] => {
  const r = cli('embed', png);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out).embedding;
};
const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
const pixels = (png: string) => PNG.sync.read(readFileSync(png));
const GUIDE = 'assets/guides/cartoon-female.png';

describe('faceinv invert', () => {
  it('default preset: the written image is within 0.6 of the target, the guide is not, and the image is not the guide', () => {
    defaultModelPath();
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-invert-'));
    const out = join(dir, 'out.png');
    const r = cli('invert', '--target', SAMPLE_FACE, '--guide', GUIDE, '--out', out);
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.out).toBe(out);
    expect(j.iterations).toBe(300);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.stopped).toBe('done');
    // Measured again from the PNG as written (8-bit rounding included).
    const target = embedOf(SAMPLE_FACE);
    const got = dist(embedOf(out), target);
    expect(got).toBeLessThan(0.6);
    expect(Math.abs(got - j.distance)).toBeLessThan(0.05);
    expect(dist(embedOf(GUIDE), target)).toBeGreaterThan(0.6);
    const a = pixels(out);
    const g = pixels(GUIDE);
    expect([a.width, a.height]).toEqual([150, 150]);
    let diff = 0;
    for (let i = 0; i < a.data.length; i += 4) for (let c = 0; c < 3; c++) diff += Math.abs(a.data[i + c] - g.data[i + c]) / 255;
    expect(diff / (150 * 150 * 3)).toBeGreaterThan(0.02);
    // The trace: a header and one row per iteration, every term a number.
    const csv = readFileSync(j.trace, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('iteration,item,target,guide,embedding,guide:conv32_3,guide:conv64_3,guide:conv128_2,guide:conv256_2,tv,total,distance');
    expect(csv).toHaveLength(301);
    expect(csv[300].split(',').slice(4).every((v) => Number.isFinite(Number(v)))).toBe(true);
  }, 600_000);

  it('several guides keep, per target, the closest result (§3); two targets give two files; a target as embedding JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-invert-'));
    const json = join(dir, 'target.json');
    writeFileSync(json, cli('embed', SAMPLE_FACE).out);
    const r = cli('invert', '--target', SAMPLE_FACE, '--target', json, '--guide', GUIDE, '--guide', 'assets/guides/cartoon-male.png', '--out', join(dir, 'x.png'), '--preset', 'fast', '--iterations', '20');
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.out).toEqual([join(dir, 'x-0.png'), join(dir, 'x-1.png')]);
    expect(j.distance).toHaveLength(2);
    for (const f of j.out) expect(existsSync(f)).toBe(true);
    // Each target keeps the guide with the smaller final distance; the two targets are the same embedding.
    const guides = [GUIDE, 'assets/guides/cartoon-male.png'];
    for (let t = 0; t < 2; t++) {
      const d = j.distance_by_guide[t] as number[];
      expect(j.distance[t]).toBe(Math.min(...d));
      expect(j.guide[t]).toBe(guides[d.indexOf(Math.min(...d))]);
    }
    expect(j.guide[0]).toBe(j.guide[1]);
    // The trace: 2 targets × 2 guides per iteration.
    expect(readFileSync(j.trace, 'utf8').trim().split('\n')).toHaveLength(1 + 20 * 4);
  }, 600_000);

  it('Ctrl-C stops after the current iteration and still writes the image and the trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-invert-'));
    const out = join(dir, 'stopped.png');
    const r = await signalWhen(['invert', '--target', SAMPLE_FACE, '--out', out, '--iterations', '1000', '--progress-every', '5'], /invert \[/, 'SIGINT');
    // Interrupted: the result is written, and the exit code says the run was cut short.
    expect(r.exitCode).toBe(4);
    const j = lastJson(r.out);
    expect(j.stopped).toBe('aborted');
    expect(j.iterations).toBeLessThan(1000);
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(j.trace, 'utf8').trim().split('\n').length - 1).toBe(j.iterations);
  });

  it('--snapshot-every: a run killed with SIGKILL leaves its latest snapshot behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-invert-'));
    const out = join(dir, 'snap.png');
    // The snapshot of iteration 10 is written before the progress line that reports it.
    const r = await signalWhen(['invert', '--target', SAMPLE_FACE, '--out', out, '--iterations', '1000', '--snapshot-every', '5'], /\] 10\/1000/, 'SIGKILL');
    expect(r.signalCode).toBe('SIGKILL');
    const png = pixels(out);
    expect([png.width, png.height]).toEqual([150, 150]);
  });

  it('bad input: one line on stderr, a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-invert-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ embedding: [1, 2, 3] }));
    const cases: [string[], RegExp][] = [
      [['invert', '--target', SAMPLE_FACE], /invert needs --target and --out/],
      [['invert', '--target', bad, '--out', join(dir, 'o.png')], /target .*bad\.json: expected 128 finite numbers, got 3 values/],
      [['invert', '--target', 'nope.png', '--out', join(dir, 'o.png')], /target nope\.png does not exist/],
      [['invert', '--target', SAMPLE_FACE, '--out', join(dir, 'o.png'), '--frobnicate'], /unknown option --frobnicate/],
      [['invert', '--target', SAMPLE_FACE, '--out', join(dir, 'o.png'), '--preset', 'slow'], /--preset: 'slow' is not a preset/],
      [['invert', '--target', SAMPLE_FACE, '--out', join(dir, 'o.png'), '--guide-layers', 'nope'], /the model has no layer 'nope'/],
      [['invert', '--target', SAMPLE_FACE, '--out', join(dir, 'o.png'), '--guide', 'package.json'], /package\.json: not a PNG or JPEG file/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err.split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});

describe('faceinv transfer and sweep-tv', () => {
  it('transfer: one reconstruction per frame, warm-started, a PNG per frame', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-transfer-'));
    const frames = join(dir, 'frames');
    mkdirSync(frames);
    copyFileSync(GUIDE, join(frames, 'f000.png'));
    copyFileSync('assets/guides/cartoon-male.png', join(frames, 'f001.png'));
    const r = cli('transfer', '--target', SAMPLE_FACE, '--frames', frames, '--out', join(dir, 'out'), '--preset', 'fast', '--iterations', '15');
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.frames).toBe(2);
    expect(j.distance).toHaveLength(2);
    for (const f of ['f000.png', 'f001.png']) expect(existsSync(join(dir, 'out', f))).toBe(true);
  }, 600_000);

  it('sweep-tv (Fig. 6): an image per w_TV, the grid, and the distance plot as SVG and PNG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-sweep-'));
    const r = cli('sweep-tv', '--target', SAMPLE_FACE, '--out', dir, '--values', '0.001,0.1', '--preset', 'fast', '--iterations', '10');
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.values).toEqual([0.001, 0.1]);
    expect(j.distance).toHaveLength(2);
    for (const f of ['tv-0.001.png', 'tv-0.1.png', 'grid.png', 'distance.png']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(pixels(join(dir, 'grid.png')).width).toBe(2 * 150 + 4);
    const svg = readFileSync(join(dir, 'distance.svg'), 'utf8');
    expect(svg).toContain('w_TV 0.001');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2);
  }, 600_000);

  it('--preset identity optimises with the bundled networks that are not the model; --ensemble overrides, none turns it off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-identity-'));
    const header = (...extra: string[]) => {
      const r = cli('invert', '--target', SAMPLE_FACE, '--out', join(dir, 'x.png'), '--preset', 'identity', '--iterations', '1', ...extra);
      expect(r.code, r.err).toBe(0);
      return readFileSync(join(dir, 'x.csv'), 'utf8').split('\n')[0].split(',').filter((c) => c.startsWith('ensemble:'));
    };
    expect(header()).toEqual(['ensemble:0', 'ensemble:1', 'ensemble:2', 'ensemble:3']);
    expect(header('--model', 'assets/judges/mobileface.onnx')).toEqual(['ensemble:0', 'ensemble:1', 'ensemble:2']);
    expect(header('--ensemble', 'none')).toEqual([]);
    expect(header('--ensemble', 'assets/judges/faceres.onnx:0.5')).toEqual(['ensemble:0']);
    expect(header('--ensemble', 'assets/judges/faceres.onnx@150:0.5')).toEqual(['ensemble:0']);
    for (const [bad, why] of [['assets/judges/faceres.onnx@8', /bad input size/], ['assets/judges/faceres.onnx:x', /bad weight/]] as const) {
      const r = cli('invert', '--target', SAMPLE_FACE, '--out', join(dir, 'y.png'), '--ensemble', bad);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
    }
  }, 600_000);

  it('transfer and sweep-tv honour --ensemble: the other network changes the result', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-ens-'));
    const member = ['--ensemble', 'assets/judges/mobileface.onnx:20'];
    const sweep = (out: string, ...extra: string[]) => cli('sweep-tv', '--target', SAMPLE_FACE, '--out', join(dir, out), '--values', '0.1', '--preset', 'fast', '--iterations', '3', ...extra);
    for (const r of [sweep('alone'), sweep('ensemble', ...member)]) expect(r.code, r.err).toBe(0);
    const differ = (a: string, b: string) => {
      const [x, y] = [pixels(a).data, pixels(b).data];
      return x.some((v, i) => Math.abs(v - y[i]) > 1);
    };
    expect(differ(join(dir, 'alone', 'tv-0.1.png'), join(dir, 'ensemble', 'tv-0.1.png'))).toBe(true);
    const frames = join(dir, 'frames');
    mkdirSync(frames);
    copyFileSync(GUIDE, join(frames, 'f000.png'));
    const transfer = (out: string, ...extra: string[]) => cli('transfer', '--target', SAMPLE_FACE, '--frames', frames, '--out', join(dir, out), '--preset', 'fast', '--iterations', '3', ...extra);
    for (const r of [transfer('t-alone'), transfer('t-ensemble', ...member)]) expect(r.code, r.err).toBe(0);
    expect(differ(join(dir, 't-alone', 'f000.png'), join(dir, 't-ensemble', 'f000.png'))).toBe(true);
  }, 600_000);
});
