// Hostile and careless input through the real faceinv command (dist/cli.js): each case ends in the exit code
// it should, one line on stderr naming the problem, and no stray file (nothing half-written, no *.tmp-PID).
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { SAMPLE_FACE, defaultModelPath } from './helpers/faces.ts';
import { cli, lastJson } from './helpers/cli.ts';

/** Every file under dir, recursively, relative to it. */
const tree = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name + '/', ...tree(join(dir, e.name)).map((f) => `${e.name}/${f}`)] : [e.name])).sort();

/** Runs faceinv in `dir`'s sight: the exit code, one stderr line matching msg, and the folder as it was. */
function refuses(dir: string, args: string[], code: number, msg: RegExp): void {
  const before = tree(dir);
  const r = cli(...args);
  expect(r.code, `${args.join(' ')}\n${r.err}`).toBe(code);
  expect(r.err.split('\n'), r.err).toHaveLength(1);
  expect(r.err).toMatch(/^faceinv: /);
  expect(r.err).toMatch(msg);
  expect(r.err).not.toMatch(/\s+at /);
  expect(tree(dir), args.join(' ')).toEqual(before);
}

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `faceinv-${name}-`));

describe('the command line refuses careless options in one line (exit 2) before any work', () => {
  it('a value-taking option does not swallow the next flag; empty values, non-numbers, out-of-range values, repeats and stray arguments are refused', () => {
    defaultModelPath();
    const dir = fresh('opts');
    const out = join(dir, 'o.png');
    const inv = ['invert', '--target', SAMPLE_FACE];
    const cases: [string[], RegExp][] = [
      [[...inv, '--out', '--iterations', '5'], /invert: --out needs a value, got the option '--iterations'/],
      [[...inv, '--out', out, '--iterations', ''], /invert: --iterations needs a value, got an empty one/],
      [[...inv, '--out', out, '--iterations=abc'], /--iterations: 'abc' is not a number/],
      [[...inv, '--out', out, '--iterations', '2.5'], /--iterations: '2\.5' is not a whole number/],
      [[...inv, '--out', out, '--seed', '1e300'], /--seed: '1e300' is out of range \(0\.\.4294967295\)/],
      [[...inv, '--out', out, '--lr', '0'], /--lr: '0' is out of range \(> 0\)/],
      [[...inv, '--out', out, 'stray.png'], /invert: unexpected argument 'stray\.png'/],
      [[...inv, '--out', out, '--out', join(dir, 'p.png')], /--out is given twice/],
      [[...inv, '--out', out, '--normalize=yes'], /--normalize takes no value/],
      [[...inv, '--out', out, '--gauss-nu', '0.2'], /--gauss-nu takes effect only with --gauss-fit/],
      [[...inv, '--out', out, '--frames', dir], /invert: unknown option --frames/],
      [['sweep-tv', '--target', SAMPLE_FACE, '--out', dir, '--tv', '1'], /sweep-tv: unknown option --tv/],
      [['eval', '--decoder', dir, '--iterations', '5'], /--iterations takes effect only with --iterative/],
      [['judge', '--gallery', dir, '--out', dir], /--out takes effect only with --reconstruct/],
      [['compare', SAMPLE_FACE], /compare needs 2 images/],
      [['compare', SAMPLE_FACE, SAMPLE_FACE, SAMPLE_FACE], /unexpected argument/],
      [['info', '--json', 'x'], /info: unexpected argument 'x'/],
    ];
    for (const [args, msg] of cases) refuses(dir, args, 2, msg);
    expect(existsSync('--iterations')).toBe(false);
    // --help comes from the same declaration and wins over anything careless beside it.
    const h = cli('invert', '--help', '--frobnicate');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^ {2}--seed S +seed of the noise start/m);
  }, 300_000);

  it('output paths are checked before any work: collisions, inputs, directories, unwritable places', () => {
    const dir = fresh('outs');
    const target = join(dir, 'face.png');
    copyFileSync(SAMPLE_FACE, target);
    const photo = readFileSync(target);
    mkdirSync(join(dir, 'folder'));
    const inv = (...rest: string[]) => ['invert', '--target', target, '--iterations', '1', ...rest];
    refuses(dir, inv('--out', join(dir, 'x.csv')), 2, /the trace \(--out with \.csv\) .*x\.csv is the same path as --out .*x\.csv/);
    refuses(dir, inv('--out', join(dir, 'o.png'), '--trace', join(dir, 'o.png')), 2, /--trace .*o\.png is the same path as --out/);
    refuses(dir, inv('--out', target), 2, /--out .*face\.png is also --target .*face\.png; writing it would overwrite the input/);
    refuses(dir, inv('--out', join(dir, 'folder')), 2, /--out .*folder is a directory; name a file/);
    refuses(dir, inv('--out', '/proc/x.png'), 2, /--out \/proc\/x\.png: cannot write in \/proc/);
    refuses(dir, inv('--out', join(dir, 'face.png', 'x.png')), 2, /face\.png is not a directory/);
    refuses(dir, ['transfer', '--target', target, '--frames', join(dir, 'folder'), '--out', join(dir, 'folder')], 2, /--out .*folder is also --frames/);
    refuses(dir, ['train-decoder', '--out', target], 2, /--out .*face\.png is a file; name a directory/);
    expect(readFileSync(target).equals(photo)).toBe(true);
  }, 300_000);
});

describe('targets and images are validated with one message naming what is wrong and where (exit 1)', () => {
  it('values beyond float32, strings, null, empty files, directories', () => {
    const dir = fresh('targets');
    const e = Array.from({ length: 128 }, (_, i) => Math.sin(i) / 10);
    const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const big = write('big.json', JSON.stringify(e.map((v, i) => (i === 5 ? 1e39 : v))));
    const str = write('str.json', JSON.stringify({ embedding: e.map((v, i) => (i === 3 ? 'a' : v)) }));
    const lines = write('lines.json', `${JSON.stringify({ embedding: e })}\n${JSON.stringify([null, ...e.slice(1)])}\n`);
    const empty = write('empty.json', '');
    const blank = write('blank.json', '  \n\t\n');
    mkdirSync(join(dir, 'folder'));
    const out = join(dir, 'o.png');
    const cases: [string[], RegExp][] = [
      [['--target', big], /target .*big\.json \(index 5\): 1e\+39 is beyond float32/],
      [['--target', str], /target .*str\.json \(index 3\): "a" is not a number/],
      [['--target', lines], /target .*lines\.json \(line 2, index 0\): null is not a number/],
      [['--target', empty], /target .*empty\.json is empty; expected a PNG or JPEG, or JSON/],
      [['--target', blank], /target .*blank\.json is empty/],
      [['--target', join(dir, 'folder')], /target .*folder is a directory; expected a PNG or JPEG, or JSON/],
      [['--target', SAMPLE_FACE, '--model', join(dir, 'folder')], /model file .*folder is a directory, not an ONNX file/],
    ];
    for (const [args, msg] of cases) refuses(dir, ['invert', ...args, '--out', out, '--iterations', '1'], 1, msg);
  }, 300_000);

  it('input images over the pixel limit are refused from their header (--max-pixels raises it); tiny ones warn', () => {
    const dir = fresh('pixels');
    // A PNG whose header says 5000×4000: refused before any decoding, so the rest need not exist.
    const ihdr = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(ihdr, 0);
    ihdr.writeUInt32BE(13, 8);
    ihdr.write('IHDR', 12, 'latin1');
    ihdr.writeUInt32BE(5000, 16);
    ihdr.writeUInt32BE(4000, 20);
    ihdr.set([8, 2, 0, 0, 0], 24);
    writeFileSync(join(dir, 'huge.png'), ihdr);
    refuses(dir, ['embed', join(dir, 'huge.png')], 1, /huge\.png: 5000×4000 is 20000000 pixels, over the limit of 16777216 \(raise it with --max-pixels\)/);
    refuses(dir, ['embed', SAMPLE_FACE, '--max-pixels', '1000'], 1, /over the limit of 1000/);
    const tiny = new PNG({ width: 1, height: 1 });
    tiny.data.set([128, 100, 90, 255]);
    writeFileSync(join(dir, 'tiny.png'), PNG.sync.write(tiny));
    const r = cli('embed', join(dir, 'tiny.png'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^faceinv: warning: .*tiny\.png is only 1×1 pixels; it is enlarged to the model's 150×150$/);
    expect(JSON.parse(r.out).embedding).toHaveLength(128);
  }, 300_000);
});

describe('signals and --resume', () => {
  it('SIGTERM stops like Ctrl-C: the image and the trace are written, stderr says so, the exit code is 4', async () => {
    const dir = fresh('sigterm');
    const out = join(dir, 'stopped.png');
    const child = spawn(process.execPath, ['dist/cli.js', 'invert', '--target', SAMPLE_FACE, '--out', out, '--iterations', '1000', '--progress-every', '2']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/invert \[/.test(stderr) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(4);
    expect(stderr).toMatch(/faceinv: SIGTERM: stopping after this iteration/);
    expect(stderr).toMatch(/faceinv: invert was interrupted by SIGTERM; what it had done is written \(exit code 4\)/);
    const j = lastJson(stdout);
    expect(j.stopped).toBe('aborted');
    expect(j.iterations).toBeLessThan(1000);
    expect(PNG.sync.read(readFileSync(out)).width).toBe(150);
    expect(readFileSync(j.trace, 'utf8').trim().split('\n').length - 1).toBe(j.iterations);
    expect(tree(dir)).toEqual(['stopped.csv', 'stopped.png']);
  }, 300_000);

  it('--resume refuses, by name, options that contradict the run (and decode refuses a float32-infinite embedding)', () => {
    const dir = join(fresh('resume'), 'run');
    const t = cli('train-decoder', '--out', dir, '--steps', '1', '--batch', '2', '--filters', '4', '--checkpoint-every', '1');
    expect(t.code, t.err).toBe(0);
    const checkpoint = readFileSync(join(dir, 'checkpoint.bin'));
    refuses(dir, ['train-decoder', '--out', dir, '--resume', '--filters', '8', '--steps', '2'], 2, /--resume: --filters 8 \(the run's: 4\) contradicts .*config\.json; drop it or train into another --out/);
    refuses(dir, ['train-decoder', '--out', dir, '--resume', '--batch', '3', '--seed', '9'], 2, /--resume: --batch 3 \(the run's: 2\), --seed 9 \(the run's: 1\) contradict/);
    refuses(dir, ['train-decoder', '--out', dir, '--resume', '--faces', SAMPLE_FACE], 2, /--resume: --faces only shapes a new run/);
    refuses(dir, ['train-decoder', '--out', dir, '--resume', '--view-jitter', '4,0.05,3'], 2, /--resume: --view-jitter 4,0\.05,3 \(the run's: none\) contradicts/);
    expect(readFileSync(join(dir, 'checkpoint.bin')).equals(checkpoint)).toBe(true);
    const big = join(dir, '..', 'big.json');
    writeFileSync(big, JSON.stringify(Array.from({ length: 128 }, (_, i) => (i === 7 ? -1e39 : 0.01))));
    refuses(dir, ['decode', '--decoder', dir, '--embedding', big, '--out', join(dir, 'o.png')], 1, /big\.json \(index 7\): -1e\+39 is beyond float32/);
    refuses(dir, ['decode', '--decoder', dir, '--embedding', SAMPLE_FACE, '--guide', SAMPLE_FACE, '--out', join(dir, 'o.png')], 2, /--guide: the decoder in .* is a §4\.1 decoder, which takes no guide/);
  }, 600_000);
});
