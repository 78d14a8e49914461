// Identification of reconstructions by a judge network (issue 8): the pure scoring, and `faceinv judge`.
import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { mkdtempSync, mkdirSync, copyFileSync, existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { calibrate, identify, summarize, labelOf, similarity, galleryPeople, type Labelled } from '../src/evaluate/judge.ts';
import { readPng, writePng } from '../src/io/png.ts';
import { facesFromSheet } from '../src/train/faces.ts';
import { mirrorImage } from '../src/io/image.ts';
import { cli, lastJson } from './helpers/cli.ts';

const g = (person: string, name: string, embedding: number[]): Labelled => ({ person, name, embedding });

describe('judge scoring', () => {
  const gallery = [g('ann', 'a1', [1, 0, 0]), g('ann', 'a2', [0.9, 0.1, 0]), g('bob', 'b1', [0, 1, 0]), g('bob', 'b2', [0.1, 0.9, 0.1]), g('cy', 'c1', [0, 0, 1])];

  it('similarity: cosine, or minus the distance', () => {
    expect(similarity('cosine', [1, 0], [2, 0])).toBeCloseTo(1, 12);
    expect(similarity('cosine', [1, 0], [0, 3])).toBeCloseTo(0, 12);
    expect(similarity('euclidean', [0, 0], [3, 4])).toBeCloseTo(-5, 12);
    expect(() => similarity('cosine', [1], [1, 2])).toThrow(/length/);
  });

  it('leaves the source photo out, scores each person by their best photo, ranks', () => {
    // Made from ann's a1, close to a1 itself (left out) and nearer bob than a2: missed at rank 2.
    const v = identify({ file: 'r.png', person: 'ann', name: 'a1', embedding: [0.5, 0.52, 0] }, gallery, 'cosine', 0.9)!;
    expect(v.source).toBe('a1');
    expect(v.rank1).toBe('bob');
    expect(v.identified).toBe(false);
    expect(v.rank).toBe(2);
    expect(v.score).toBeCloseTo(similarity('cosine', [0.5, 0.52, 0], [0.9, 0.1, 0]), 12);
    const w = identify({ file: 's.png', person: 'bob', name: 'b1', embedding: [0.05, 1, 0.05] }, gallery, 'cosine', 0.9)!;
    expect(w).toMatchObject({ rank1: 'bob', rank: 1, identified: true, clears: true });
    // cy has one photo: a reconstruction from it cannot be judged.
    expect(identify({ file: 't.png', person: 'cy', name: 'c1', embedding: [0, 0, 1] }, gallery, 'cosine', 0.9)).toBeNull();
    const s = summarize([v, w], 3);
    expect(s).toMatchObject({ judged: 2, identified: 1, identifiedAndClears: 1, rate: 0.5 });
    // The best other person: bob for ann's reconstruction (its rank-1), ann or cy for bob's.
    expect(v.bestOther).toBeCloseTo(v.rank1Score, 12);
    const wOther = Math.max(similarity('cosine', [0.05, 1, 0.05], [1, 0, 0]), similarity('cosine', [0.05, 1, 0.05], [0.9, 0.1, 0]), similarity('cosine', [0.05, 1, 0.05], [0, 0, 1]));
    expect(w.bestOther).toBeCloseTo(wOther, 12);
    expect(s.meanBestOther).toBeCloseTo((v.bestOther + w.bestOther) / 2, 12);
    expect(s.chance).toBeCloseTo(1 / 3, 12);
  });

  it('calibration picks the threshold that best separates same from different pairs', () => {
    const c = calibrate(gallery, 'cosine');
    expect(c.samePairs).toBe(2);
    expect(c.differentPairs).toBe(8);
    expect(c.accuracy).toBe(1);
    const same = [similarity('cosine', [1, 0, 0], [0.9, 0.1, 0]), similarity('cosine', [0, 1, 0], [0.1, 0.9, 0.1])];
    expect(c.threshold).toBeLessThan(Math.min(...same));
    expect(c.threshold).toBeGreaterThan(similarity('cosine', [0.9, 0.1, 0], [0.1, 0.9, 0.1]));
  });

  it('labels from paths, and refuses galleries that cannot judge', () => {
    expect(labelOf('ann/photo 1.png')).toEqual({ person: 'ann', name: 'photo 1' });
    expect(labelOf('x/y/ann/p.png')).toEqual({ person: 'ann', name: 'p' });
    expect(labelOf('jean_luc_2.png')).toEqual({ person: 'jean_luc', name: 'jean_luc_2' });
    expect(() => labelOf('nolabel.png')).toThrow(/whose face/);
    expect(() => galleryPeople([g('a', '1', []), g('a', '2', [])])).toThrow(/two people/);
    expect(() => galleryPeople([g('a', '1', []), g('b', '2', [])])).toThrow(/two photos/);
  });
});

describe('faceinv judge', () => {
  // A stand-in gallery for the mechanics: each "person" is one face and its mirror image. (A measurement
  // needs real photos of the same people: see BENCHMARKS.md.)
  const makeGallery = () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-judge-'));
    const faces = [readPng('assets/faces/astronaut.png'), ...facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150).slice(0, 3)];
    faces.forEach((f, i) => {
      mkdirSync(join(dir, 'gallery', `p${i}`), { recursive: true });
      writePng(join(dir, 'gallery', `p${i}`, 'a.png'), f);
      writePng(join(dir, 'gallery', `p${i}`, 'b.png'), mirrorImage(f));
    });
    return dir;
  };

  it('identifies photos of the gallery people by their other photo, misses a mislabelled one, writes a report', () => {
    const dir = makeGallery();
    // "Reconstructions" that are the photos themselves: the judge must find their person via the mirror image.
    mkdirSync(join(dir, 'rec', 'p0'), { recursive: true });
    mkdirSync(join(dir, 'rec', 'p2'), { recursive: true });
    copyFileSync(join(dir, 'gallery', 'p0', 'a.png'), join(dir, 'rec', 'p0', 'a.png'));
    copyFileSync(join(dir, 'gallery', 'p2', 'b.png'), join(dir, 'rec', 'p2', 'b.png'));
    // p1's face filed as p2's photo a.
    copyFileSync(join(dir, 'gallery', 'p1', 'a.png'), join(dir, 'rec', 'p2', 'a.png'));
    const r = cli('judge', '--gallery', join(dir, 'gallery'), '--report', join(dir, 'report'), join(dir, 'rec', 'p0', 'a.png'), join(dir, 'rec', 'p2', 'b.png'), join(dir, 'rec', 'p2', 'a.png'));
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j).toMatchObject({ judge: 'mobileface', people: 4, photos: 8 });
    expect(j.calibration.accuracy).toBe(1);
    expect(j.verdicts.map((v: { person: string; identified: boolean }) => [v.person, v.identified])).toEqual([['p0', true], ['p2', true], ['p2', false]]);
    expect(j.verdicts[2].rank1).toBe('p1');
    expect(j.summary).toMatchObject({ judged: 3, identified: 2 });
    expect(r.err).toMatch(/2\/3 identified/);
    expect(readFileSync(join(dir, 'report', 'report.html'), 'utf8')).toMatch(/2 of 3 identified/);
    expect(readPng(join(dir, 'report', 'grid.png')).width).toBeGreaterThan(3 * 112);
  });

  it('--reconstruct makes a reconstruction of every photo, then judges them', () => {
    const dir = makeGallery();
    const r = cli('judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec'), '--preset', 'fast', '--iterations', '3', '--batch', '5');
    expect(r.code, r.err).toBe(0);
    for (let i = 0; i < 4; i++) for (const p of ['a', 'b']) expect(existsSync(join(dir, 'rec', `p${i}`, `${p}.png`))).toBe(true);
    const j = lastJson(r.out);
    expect(j.summary.judged).toBe(8);
    expect(j.white_box.threshold).toBe(0.6);
    expect(j.white_box.max).toBeGreaterThanOrEqual(j.white_box.mean);
  });

  it('levers on the command line: --jitter and --ensemble run; the judge may not take part; --per-person limits', () => {
    const dir = makeGallery();
    const judge = 'assets/judges/mobileface.onnx';
    const r = cli('judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec'), '--per-person', '1', '--preset', 'fast', '--iterations', '2', '--jitter', '3,0.05,2');
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out).summary.judged).toBe(4);
    expect(existsSync(join(dir, 'rec', 'p0', 'b.png'))).toBe(false);
    const both = ['judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec2'), '--per-person', '1', '--preset', 'fast', '--iterations', '2'];
    expect(cli(...both, '--ensemble', `${judge}:0.5`).err).toMatch(/is the judge; the judge must take no part/);
    expect(cli(...both, '--model', judge).err).toMatch(/--model is the judge/);
    expect(cli(...both, '--jitter', '1,2').err).toMatch(/--jitter: '1,2' is not S,K,R/);
    // Outside judge, any network can join: invert with an ensemble member runs and reports its term.
    const inv = cli('invert', '--target', 'assets/faces/astronaut.png', '--out', join(dir, 'inv.png'), '--preset', 'fast', '--iterations', '2', '--ensemble', `${judge}:0.5`);
    expect(inv.code, inv.err).toBe(0);
    expect(readFileSync(join(dir, 'inv.csv'), 'utf8').split('\n')[0]).toMatch(/ensemble:0/);
    expect(cli('invert', '--target', join(dir, 'none.json'), '--out', join(dir, 'x.png'), '--ensemble', judge).err).toMatch(/does not exist/);
  });

  it('--reconstruct --ensemble with more photos than --batch: every batch gets its own rows of the ensemble targets', () => {
    const dir = makeGallery();
    // 4 people, batches of 3: the second batch (one photo) once got an empty slice of the member's targets.
    const r = cli('judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec'), '--per-person', '1', '--batch', '3',
      '--preset', 'fast', '--iterations', '2', '--ensemble', 'assets/judges/faceplugin.onnx:0.5');
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out).summary.judged).toBe(4);
    for (let i = 0; i < 4; i++) expect(existsSync(join(dir, 'rec', `p${i}`, 'a.png'))).toBe(true);
  });

  it('--preset identity optimises with the bundled networks but never the judge, and says which it used', () => {
    const dir = makeGallery();
    const run = (judge: string) => {
      const r = cli('judge', '--gallery', join(dir, 'gallery'), '--judge', judge, '--reconstruct', '--out', join(dir, `rec-${judge}`), '--per-person', '1', '--preset', 'identity', '--iterations', '1');
      expect(r.code, r.err).toBe(0);
      return (lastJson(r.out).optimised as string[]).map((f) => basename(f));
    };
    expect(run('faceplugin')).toEqual(['dlib_face_recognition_resnet.onnx', 'mobileface.onnx', 'faceres.onnx', 'mobilefacenet.onnx']);
    expect(run('mobileface')).toEqual(['dlib_face_recognition_resnet.onnx', 'faceplugin.onnx', 'faceres.onnx', 'mobilefacenet.onnx']);
    expect(run('mobilefacenet')).toEqual(['dlib_face_recognition_resnet.onnx', 'mobileface.onnx', 'faceplugin.onnx', 'faceres.onnx']);
  }, 600_000);

  it("--guide-average and repeated --guide: each target's guide picked by the optimised networks (paper §3)", () => {
    const dir = makeGallery();
    // Zero iterations: the reconstruction is its guide. p1..p3 are LFW faces 0..2, so among the bundled LFW
    // faces the nearest to p1/a (under the model and a member) is that face itself.
    const base = ['judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--per-person', '1', '--preset', 'fast', '--iterations', '0'];
    const r = cli(...base, '--out', join(dir, 'rec'), '--guide-average', '1', '--ensemble', 'assets/judges/faceplugin.onnx');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/p1\/a: guide lfw#0\n/);
    const diff = (a: string, b: string) => {
      const [x, y] = [readPng(a).data, readPng(b).data];
      return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    };
    expect(diff(join(dir, 'rec', 'p1', 'a.png'), join(dir, 'gallery', 'p1', 'a.png'))).toBeLessThanOrEqual(1);
    // Among given guides: the astronaut's photo for the astronaut, LFW face 1 for p2; K = 2 averages both.
    const guides = ['--guide', join(dir, 'gallery', 'p0', 'a.png'), '--guide', join(dir, 'gallery', 'p2', 'a.png')];
    const g = cli(...base, '--out', join(dir, 'rec2'), ...guides);
    expect(g.code, g.err).toBe(0);
    expect(diff(join(dir, 'rec2', 'p0', 'a.png'), join(dir, 'gallery', 'p0', 'a.png'))).toBeLessThanOrEqual(1);
    expect(diff(join(dir, 'rec2', 'p2', 'a.png'), join(dir, 'gallery', 'p2', 'a.png'))).toBeLessThanOrEqual(1);
    const m = cli(...base, '--out', join(dir, 'rec3'), ...guides, '--guide-average', '2');
    expect(m.code, m.err).toBe(0);
    const [a, b, mean] = [join(dir, 'gallery', 'p0', 'a.png'), join(dir, 'gallery', 'p2', 'a.png'), join(dir, 'rec3', 'p3', 'a.png')].map((f) => readPng(f).data);
    expect(mean.reduce((e, v, i) => Math.max(e, Math.abs(v - (a[i] + b[i]) / 2)), 0)).toBeLessThanOrEqual(1);
    expect(cli(...base, '--out', join(dir, 'rec4'), ...guides, '--guide-average', '3').err).toMatch(/--guide-average 3: only 2 faces/);
    // invert takes it too: one guide per target, named in its result.
    const inv = cli('invert', '--target', join(dir, 'gallery', 'p1', 'b.png'), '--out', join(dir, 'inv.png'), '--preset', 'fast', '--iterations', '0', '--guide-average', '1');
    expect(inv.code, inv.err).toBe(0);
    expect(lastJson(inv.out).guide).toBe('lfw#0');
  });

  it('--cross-check: a candidate per ensemble member, made without it and scored by it; the better-scored one is kept', async () => {
    const dir = makeGallery();
    const base = ['judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--per-person', '1', '--preset', 'fast', '--iterations', '1', '--cross-check'];
    const r = cli(...base, '--out', join(dir, 'rec'), '--ensemble', 'assets/judges/faceplugin.onnx', '--ensemble', 'assets/judges/faceres.onnx@112');
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out).summary.judged).toBe(4);
    expect(r.err.match(/kept the candidate made without (faceplugin|faceres)\.onnx \(stand-out faceplugin\.onnx -?\d+\.\d+, faceres\.onnx -?\d+\.\d+\)/g)).toHaveLength(4);
    expect(cli(...base, '--out', join(dir, 'rec2'), '--ensemble', 'assets/judges/faceplugin.onnx').err).toMatch(/--cross-check needs an ensemble of two or more networks/);
    // The pick follows the held-out network's scores: the target's own mirror image stands out, a stranger does not.
    const { pickByHeldOut } = await import('../src/cli/cross_check.ts');
    const { loadModel, embedAll } = await import('../src/cli/common.ts');
    await F.init();
    const v = loadModel('assets/judges/faceplugin.onnx');
    const [photo, stranger] = [readPng(join(dir, 'gallery', 'p0', 'a.png')), readPng(join(dir, 'gallery', 'p2', 'a.png'))];
    const targets = await embedAll(v, [photo]);
    const got = await pickByHeldOut([{ model: v, targets }, { model: v, targets }], [[stranger], [mirrorImage(photo)]]);
    expect(got.pick).toEqual([1]);
    expect(got.scores[1][0]).toBeGreaterThan(got.scores[0][0] + 2);
    v.dispose();
  });

  it('--start-decoder starts each reconstruction from a trained decoder\'s face for its target', () => {
    const dir = makeGallery();
    const t = cli('train-decoder', '--out', join(dir, 'dec'), '--steps', '2', '--batch', '2', '--filters', '4', '--checkpoint-every', '2');
    expect(t.code, t.err).toBe(0);
    // Zero iterations: the reconstruction is the decoder's face itself.
    const r = cli('judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec'), '--per-person', '1', '--iterations', '0', '--start-decoder', join(dir, 'dec'));
    expect(r.code, r.err).toBe(0);
    const d = cli('decode', '--decoder', join(dir, 'dec'), '--embedding', join(dir, 'gallery', 'p1', 'a.png'), '--out', join(dir, 'dec.png'));
    expect(d.code, d.err).toBe(0);
    const a = readPng(join(dir, 'rec', 'p1', 'a.png')).data;
    const b = readPng(join(dir, 'dec.png')).data;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThanOrEqual(1);
    expect(cli('judge', '--gallery', join(dir, 'gallery'), '--reconstruct', '--out', join(dir, 'rec'), '--start-decoder', join(dir, 'nope')).err).toMatch(/holds no trained decoder/);
  });

  it('clear errors: no gallery, a WebP or a broken JPEG in it, an unknown judge, a gallery of one person', () => {
    const dir = makeGallery();
    expect(cli('judge', 'x.png').err).toMatch(/needs --gallery/);
    expect(cli('judge', '--gallery', join(dir, 'nope'), 'x.png').err).toMatch(/not a directory/);
    expect(cli('judge', '--gallery', join(dir, 'gallery'), '--judge', 'nosuch', join(dir, 'gallery', 'p0', 'a.png')).err).toMatch(/neither a bundled network \(mobileface, faceres, faceplugin, mobilefacenet\)/);
    writeFileSync(join(dir, 'gallery', 'p0', 'c.webp'), 'x');
    expect(cli('judge', '--gallery', join(dir, 'gallery'), join(dir, 'gallery', 'p0', 'a.png')).err).toMatch(/c\.webp: only PNG and JPEG images are read/);
    rmSync(join(dir, 'gallery', 'p0', 'c.webp'));
    writeFileSync(join(dir, 'gallery', 'p0', 'c.jpg'), 'x');
    expect(cli('judge', '--gallery', join(dir, 'gallery'), join(dir, 'gallery', 'p0', 'a.png')).err).toMatch(/c\.jpg: not a PNG or JPEG file/);
    const one = join(dir, 'one', 'ann');
    mkdirSync(one, { recursive: true });
    copyFileSync(join(dir, 'gallery', 'p0', 'a.png'), join(one, 'a.png'));
    copyFileSync(join(dir, 'gallery', 'p0', 'b.png'), join(one, 'b.png'));
    expect(cli('judge', '--gallery', join(dir, 'one'), join(one, 'a.png')).err).toMatch(/at least two people/);
  });
});
