// The browser demo in Debian's Chromium, headless, driven by playwright-core against the page served on
// localhost by scripts/web.mjs (the same engine on Chromium's own WebGPU: SwiftShader on a machine without a GPU).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { encode } from 'jpeg-js';
import { readImage } from '../src/io/png.ts';
import { pasteChip } from './helpers/photos.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { defaultModelPath, SAMPLE_FACE } from './helpers/faces.ts';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Headless, and no background traffic: this machine's network is closed.
const FLAGS = ['--no-sandbox', '--headless', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps'];

/** Starts scripts/web.mjs on a free port; resolves with the process and the URL it prints. */
function serve(extra: string[]): Promise<[ChildProcess, string]> {
  const p = spawn(process.execPath, ['scripts/web.mjs', '--port', '0', ...extra]);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
      const m = /serving the demo at (http:\/\/\S+)/.exec(out);
      if (m) resolve([p, m[1]]);
    });
    p.on('exit', (code) => reject(new Error(`scripts/web.mjs exited with ${code}: ${out}`)));
  });
}

interface Demo {
  state: string;
  adapter: string;
  iteration: number;
  distances: [number, number][];
  error: string | null;
}

describe('browser demo (web/, npm run web)', () => {
  let server: ChildProcess;
  let url = '';
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set CHROMIUM`);
    defaultModelPath();
    [server, url] = await serve([]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', ...FLAGS] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  it('reports its adapter, runs 8 iterations, draws a face and a falling distance, logs no console error', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    // 8 iterations: SwiftShader takes about 3.5 s each here, and the distance is under 0.6 after 5 (0.25 there, 0.14 after 8).
    await page.goto(`${url}?iterations=8`);
    await page.waitForFunction(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo.state !== 'loading', null, { timeout: 180_000 });
    let demo = await page.evaluate(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo);
    expect(demo.error).toBeNull();
    expect(demo.state).toBe('ready');
    expect(demo.adapter.length).toBeGreaterThan(0);
    await page.click('#start');
    await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { faceinvDemo: Demo }).faceinvDemo.state), null, { timeout: 540_000, polling: 1000 });
    demo = await page.evaluate(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo);
    expect(demo.error).toBeNull();
    expect(demo.state).toBe('done');
    expect(demo.iteration).toBeGreaterThanOrEqual(8);
    const d = demo.distances.map(([, v]) => v);
    expect(d[0]).toBeGreaterThan(0.6);
    expect(d.at(-1)!).toBeLessThan(d[0]);
    expect(d.at(-1)!).toBeLessThan(0.6);
    // The result canvas holds an image, not a blank: its pixels vary.
    const spread = await page.evaluate(() => {
      const c = document.getElementById('result') as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      let s2 = 0;
      const n = px.length / 4;
      for (let i = 0; i < px.length; i += 4) {
        s += px[i];
        s2 += px[i] * px[i];
      }
      return Math.sqrt(s2 / n - (s / n) ** 2);
    });
    expect(spread).toBeGreaterThan(5);
    // The plot drew the distance.
    expect(await page.locator('#plot polyline').count()).toBe(1);
    mkdirSync('out/web', { recursive: true });
    await page.screenshot({ path: 'out/web/screenshot.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);

  it('with a trained decoder on offer: decode in one pass; face transfer over the guides as frames', async () => {
    // A decoder trained for two steps: enough to have a checkpoint to serve.
    const run = join(mkdtempSync(join(tmpdir(), 'faceinv-web-')), 'decoder');
    const t = spawnSync(process.execPath, ['dist/cli.js', 'train-decoder', '--out', run, '--steps', '2', '--batch', '2', '--filters', '4', '--checkpoint-every', '2'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const [srv, addr] = await serve(['--decoder', run]);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${addr}?transferIterations=1`);
      await page.waitForFunction(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo.state === 'ready', null, { timeout: 180_000 });
      expect(await page.locator('#decoderInfo').textContent()).toMatch(/§4.1 decoder, 4 filters, 2 training steps/);
      await page.click('#decode');
      await page.waitForFunction(() => /decoded in \d+ ms: distance \d/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
      await page.click('#transfer');
      await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { faceinvDemo: Demo }).faceinvDemo.state), null, { timeout: 400_000, polling: 1000 });
      const demo = await page.evaluate(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo);
      expect(demo.error).toBeNull();
      // Five frames of one iteration each (SwiftShader takes about 3.5 s an iteration here).
      expect(demo.iteration).toBe(5);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      srv.kill();
    }
  }, 600_000);

  it('a photo from the disk (JPEG): the face is found on the engine, its box drawn, the target is its aligned chip', async () => {
    const photo = pasteChip(readImage(SAMPLE_FACE), { width: 480, height: 360, angle: 0.15, scale: 1.2, cx: 300, cy: 170 });
    const rgba = Buffer.alloc(480 * 360 * 4);
    for (let i = 0; i < 480 * 360; i++) {
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(photo.data[i * 3 + c]);
      rgba[i * 4 + 3] = 255;
    }
    const file = join(mkdtempSync(join(tmpdir(), 'faceinv-web-')), 'photo.jpg');
    writeFileSync(file, encode({ data: rgba, width: 480, height: 360 }, 92).data);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo.state !== 'loading', null, { timeout: 180_000 });
    await page.setInputFiles('#targetFile', file);
    await page.waitForFunction(() => (window as unknown as { faceinvDemo: { faces: number[][] } }).faceinvDemo.faces.length > 0, null, { timeout: 180_000 });
    const faces = await page.evaluate(() => (window as unknown as { faceinvDemo: { faces: number[][] } }).faceinvDemo.faces);
    expect(faces).toHaveLength(1);
    const [x, y, w, h] = faces[0];
    expect(Math.hypot(x + w / 2 - 300, y + h / 2 - 170)).toBeLessThan(40);
    expect(await page.locator('#photoFigure').isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 400_000);

  it('without WebGPU (navigator.gpu hidden) the page says so instead of failing silently', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { faceinvDemo: Demo }).faceinvDemo.state === 'no-webgpu', null, { timeout: 60_000 });
    expect(await page.locator('#error').textContent()).toMatch(/This browser has no WebGPU/);
    await context.close();
  }, 120_000);
});
