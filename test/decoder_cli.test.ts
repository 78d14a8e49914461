// faceinv train-decoder / decode / eval as a user runs them (dist/cli.js): a shortened cpu preset that learns,
// and a training killed with SIGKILL that resumes to the same weights as an uninterrupted one.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '../src/train/checkpoint-file.ts';
import { readPng, writePng } from '../src/io/png.ts';
import { resize, type RgbImage } from '../src/io/image.ts';
import { facesFromSheet } from '../src/train/faces.ts';
import { IDENTITY_JITTER } from '../src/invert/presets.ts';
import { SAMPLE_FACE, defaultModelPath } from './helpers/faces.ts';
import { cli, lastJson, signalWhen } from './helpers/cli.ts';

const lossRows = (dir: string) => readFileSync(join(dir, 'loss.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));

describe('faceinv train-decoder, decode, eval', () => {
  it('a shortened cpu preset: the loss falls, the held-out embeddings beat a constant image, decode writes faces', () => {
    defaultModelPath();
    const dir = join(mkdtempSync(join(tmpdir(), 'faceinv-dec-')), 'run');
    const r = cli('train-decoder', '--out', dir, '--preset', 'cpu', '--steps', '60', '--checkpoint-every', '30');
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.steps).toBe(60);
    expect(j.stopped).toBe('done');
    const rows = lossRows(dir);
    expect(rows.map((x) => x[0])).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const mean = (xs: number[][]) => xs.reduce((a, x) => a + x[1], 0) / xs.length;
    expect(mean(rows.slice(-10))).toBeLessThan(0.8 * mean(rows.slice(0, 10)));
    expect(readFileSync(join(dir, 'held-out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(120);

    const ev = cli('eval', '--decoder', dir);
    expect(ev.code, ev.err).toBe(0);
    const e = lastJson(ev.out);
    expect(e.embeddings).toBe(120);
    expect(e.decoder.meanCos).toBeGreaterThan(e.guide.meanCos);
    expect(e.decoder.meanL2sq).toBeLessThan(e.guide.meanL2sq);
    expect(e.mean_embedding_image.meanCos).toBeGreaterThan(0);
    for (const f of ['faces.png', 'mean-embedding-image.png', 'eval.json']) expect(existsSync(join(dir, 'eval', f)), f).toBe(true);

    const out = join(dir, 'decoded.png');
    const d = cli('decode', '--decoder', dir, '--embedding', SAMPLE_FACE, '--out', out);
    expect(d.code, d.err).toBe(0);
    expect(lastJson(d.out).distance).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
  }, 900_000);

  it('a shortened identity preset on real faces: two people\'s embeddings decode to two different faces', () => {
    // Two of the bundled LFW faces, the most different pair of the first ten, as a 2-face sheet and as chips.
    const tmp = mkdtempSync(join(tmpdir(), 'faceinv-dec-'));
    const tiles = facesFromSheet(readPng('assets/lfw/faces-25px.png'), 25).slice(0, 10);
    const gap = (a: RgbImage, b: RgbImage) => a.data.reduce((m, v, i) => m + Math.abs(v - b.data[i]), 0) / a.data.length;
    let pair = [0, 1];
    for (let a = 0; a < 10; a++) for (let b = a + 1; b < 10; b++) if (gap(tiles[a], tiles[b]) > gap(tiles[pair[0]], tiles[pair[1]])) pair = [a, b];
    const sheet = { width: 50, height: 25, data: new Float32Array(50 * 25 * 3) };
    for (let y = 0; y < 25; y++) pair.forEach((t, k) => sheet.data.set(tiles[t].data.subarray(y * 75, (y + 1) * 75), (y * 50 + k * 25) * 3));
    writePng(join(tmp, 'two.png'), sheet);
    const chips = pair.map((t, k) => {
      const f = join(tmp, `face${k}.png`);
      writePng(f, resize(tiles[t], 150, 150, 'bilinear'));
      return f;
    });
    const dir = join(tmp, 'run');
    const r = cli('train-decoder', '--out', dir, '--preset', 'identity', '--faces', join(tmp, 'two.png'), '--held-out', '0', '--filters', '4', '--batch', '2', '--steps', '40', '--checkpoint-every', '40');
    expect(r.code, r.err).toBe(0);
    // The preset's networks see invert --preset identity's views; the run records them and --resume holds to them.
    const run = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(run.train.viewJitter).toEqual({ ...IDENTITY_JITTER });
    // Its faces at a photo's contrast (the output stretch) and its rate decaying to a tenth.
    expect([run.decoder.stretch, run.train.lrFinal]).toEqual([0.2, 0.1]);
    // Its faces as read, unless --align-faces.
    expect(run.data.align).toBeUndefined();
    const off = cli('train-decoder', '--out', dir, '--resume', '--view-jitter', 'none');
    expect(off.code).toBe(2);
    expect(off.err).toMatch(/--view-jitter none \(the run's: 4,0\.05,3\) contradicts/);
    // The faces' augmentation: the default (FACE_AUGMENT) unless --augment; a resume holds to it.
    const still = cli('train-decoder', '--out', dir, '--resume', '--augment', '0,0,0');
    expect(still.code).toBe(2);
    expect(still.err).toMatch(/--augment 0,0,0 \(the run's: 3,0\.04,4\) contradicts/);
    const tones = cli('train-decoder', '--out', dir, '--resume', '--contrast', '30', '--chroma-tv', '0.3');
    expect(tones.code).toBe(2);
    expect(tones.err).toMatch(/--chroma-tv 0\.3 \(the run's: 0\), --contrast 30,0\.2 \(the run's: none\) contradict/);
    const shaped = cli('train-decoder', '--out', dir, '--resume', '--stretch', '0.35', '--lr-decay', '0.5', '--grad-levels', '2', '--sheet-levels', '2');
    expect(shaped.code).toBe(2);
    expect(shaped.err).toMatch(/--stretch 0\.35 \(the run's: 0\.2\), --lr-decay 0\.5 \(the run's: 0\.1\), --sheet-levels 2 \(the run's: 0\), --grad-levels 2 \(the run's: 0\) contradict/);
    const framing = cli('train-decoder', '--out', dir, '--resume', '--any-framing');
    expect(framing.code).toBe(2);
    expect(framing.err).toMatch(/--resume: --any-framing only shapes a new run/);
    const out = join(tmp, 'decoded.png');
    const d = cli('decode', '--decoder', dir, '--embedding', chips[0], '--embedding', chips[1], '--out', out);
    expect(d.code, d.err).toBe(0);
    const [x0, x1] = [0, 1].map((k) => readPng(join(tmp, `decoded-${k}.png`)));
    const [p0, p1] = chips.map((f) => readPng(f));
    // After 40 steps the decoded pair differs by a good part of what the photos differ by (a decoder blind to
    // the embedding: 0; one fed unstandardised embeddings stayed far under this bound).
    expect(gap(x0, x1)).toBeGreaterThan(0.15 * gap(p0, p1));
  }, 900_000);

  it('SIGKILL mid-training: the checkpoint is whole, at most k steps are lost, and --resume ends with the weights of an uninterrupted run', async () => {
    const base = mkdtempSync(join(tmpdir(), 'faceinv-dec-'));
    const args = (dir: string) => ['train-decoder', '--out', dir, '--steps', '12', '--batch', '2', '--filters', '4', '--checkpoint-every', '2', '--log-every', '1', '--seed', '5'];
    const whole = join(base, 'whole');
    expect(cli(...args(whole)).code).toBe(0);

    const killed = join(base, 'killed');
    const child = spawn(process.execPath, ['dist/cli.js', ...args(killed)]);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        // Kill once a few steps are logged (so at least one checkpoint exists), at no particular moment.
        if (existsSync(join(killed, 'loss.csv')) && lossRows(killed).length >= 5) {
          child.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });
    expect(child.signalCode).toBe('SIGKILL');
    const logged = lossRows(killed).length;
    expect(logged).toBeLessThan(12);
    const ck = readCheckpoint(join(killed, 'checkpoint.bin'));
    expect(ck.step % 2).toBe(0);
    expect(logged - ck.step).toBeLessThanOrEqual(2);

    const r = cli(...args(killed), '--resume');
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out).steps).toBe(12);
    const a = readCheckpoint(join(whole, 'checkpoint.bin'));
    const b = readCheckpoint(join(killed, 'checkpoint.bin'));
    expect(b.step).toBe(12);
    for (const [name, v] of a.params) expect(b.params.get(name), name).toEqual(v);
    expect(b.optimizerState).toEqual(a.optimizerState);
    // The loss log has each step once, with the same values as the uninterrupted run's.
    expect(lossRows(killed)).toEqual(lossRows(whole));
  }, 600_000);

  it('Ctrl-C checkpoints after the current step and exits with code 4', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'faceinv-dec-')), 'int');
    const r = await signalWhen(['train-decoder', '--out', dir, '--steps', '1000', '--batch', '2', '--filters', '4', '--checkpoint-every', '500', '--log-every', '1'], /train \[/, 'SIGINT');
    // Interrupted: the result is written, and the exit code says the run was cut short.
    expect(r.exitCode).toBe(4);
    const j = lastJson(r.out);
    expect(j.stopped).toBe('aborted');
    expect(j.steps).toBeLessThan(1000);
    // The checkpoint holds exactly the steps done, though it was not a checkpoint step.
    expect(readCheckpoint(join(dir, 'checkpoint.bin')).step).toBe(j.steps);
    expect(lossRows(dir)).toHaveLength(j.steps);
  }, 300_000);

  it('§4.2 guided decoder: trained on a set of guides (frames), decoding an unseen embedding onto each frame', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'faceinv-dec-')), 'guided');
    const frames = ['assets/guides/cartoon-female.png', 'assets/guides/cartoon-male.png'];
    const r = cli('train-decoder', '--out', dir, '--kind', 'guided', '--guide', frames[0], '--guide', frames[1], '--steps', '4', '--batch', '2', '--filters', '4', '--checkpoint-every', '4');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).guides).toEqual(['guide-0.png', 'guide-1.png']);
    const outs = frames.map((f, i) => {
      const out = join(dir, `frame-${i}.png`);
      const d = cli('decode', '--decoder', dir, '--embedding', SAMPLE_FACE, '--guide', f, '--out', out);
      expect(d.code, d.err).toBe(0);
      return readFileSync(out);
    });
    // The guide is an input: another frame, another image.
    expect(outs[0].equals(outs[1])).toBe(false);
    const bad = cli('train-decoder', '--out', join(dir, 'x'), '--guide', frames[0], '--guide', frames[1], '--steps', '1');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/a §4.1 decoder trains with one guide; several need --kind guided/);
  }, 600_000);

  it('bad input: one line on stderr, a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-dec-'));
    const cases: [string[], RegExp][] = [
      [['train-decoder'], /train-decoder needs --out/],
      [['train-decoder', '--out', dir, '--preset', 'gpu'], /--preset: 'gpu' is not a preset/],
      [['train-decoder', '--out', join(dir, 'none'), '--resume'], /--resume: .* holds no training run/],
      [['decode', '--decoder', dir, '--embedding', SAMPLE_FACE, '--out', join(dir, 'x.png')], /holds no trained decoder/],
      [['eval'], /eval needs --decoder/],
      [['train-decoder', '--out', join(dir, 'mix'), '--mix', '0.3'], /--photos, --ensemble, --mix, --augment, --align-faces and --sheet-levels train on real faces/],
      [['train-decoder', '--out', join(dir, 'augment'), '--augment', '0,0,0'], /--photos, --ensemble, --mix, --augment, --align-faces and --sheet-levels train on real faces/],
      [['train-decoder', '--out', join(dir, 'align'), '--align-faces'], /--photos, --ensemble, --mix, --augment, --align-faces and --sheet-levels train on real faces/],
      [['train-decoder', '--out', join(dir, 'anyf'), '--preset', 'identity', '--any-framing'], /--any-framing: .* give --align-faces too/],
      [['train-decoder', '--out', join(dir, 'vj'), '--view-jitter', '4,2,3'], /--view-jitter: '4,2,3' is not S,K,R/],
      [['train-decoder', '--out', join(dir, 'au'), '--preset', 'identity', '--augment', '3,0.04'], /--augment: '3,0.04' is not S,K,R/],
      [['train-decoder', '--out', join(dir, 'g'), '--preset', 'identity', '--guide', SAMPLE_FACE], /--guide: with --data faces each face's guide is its own photo/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err.split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});
