// The package as a consumer gets it: `npm pack`, the tarball unpacked into a temporary project's node_modules,
// then test/consumer/app.ts (init, tensor, conv2d, backward, FaceModel, reconstruct) type-checked against the
// shipped declarations and run in Node, in headless Chromium (bundled by esbuild) and in Deno.
//
// The project gets exactly the tarball's declared `dependencies`, linked from this checkout's node_modules, and
// nothing else: an offline `npm install` would need the registry's metadata in npm's cache, which a checkout's
// node_modules does not guarantee; linking tests the same things (the packed files, `exports`, the types, the
// declared dependencies) without a network, in seconds.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MODEL = 'models/dlib_face_recognition_resnet.onnx';

interface Summary {
  adapter: string;
  convGrad: number[];
  embeddingSize: number;
  distance: number;
  iterations: number;
}

/** What every runtime must print: the conv gradient is exact (each tap sums the inputs it meets). */
function expectSummary(s: Summary, iterations: number) {
  expect(s.convGrad).toEqual([8, 12, 20, 24]);
  expect(s.embeddingSize).toBe(128);
  expect(s.iterations).toBe(iterations);
  expect(Number.isFinite(s.distance)).toBe(true);
  expect(s.distance).toBeGreaterThan(0);
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

const tsc = (cwd: string, config: string) => sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', config], cwd);
const lastJson = (text: string) => JSON.parse(text.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!) as Summary;

describe('the packed package in a consumer project', () => {
  let dir = '';
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
  let manifest: { dependencies: Record<string, string>; exports: Record<string, Record<string, string>>; bin: Record<string, string> };

  beforeAll(() => {
    // npm test builds dist/ before vitest; a lone run of this file builds it here.
    if (!existsSync(join(root, 'dist/types/index.d.ts'))) {
      const b = sh(process.execPath, ['scripts/gen-shaders.mjs'], root);
      const c = sh(process.execPath, ['scripts/build.mjs'], root);
      if (b.status !== 0 || c.status !== 0) throw new Error(`build failed: ${b.out}${c.out}`);
    }
    if (!existsSync(join(root, MODEL))) throw new Error(`${MODEL} is missing: npm install converts it (node dist/cli.js convert)`);
    dir = mkdtempSync(join(tmpdir(), 'faceinv-consumer-'));
    // --ignore-scripts: `prepare` (build, convert) has run; packing must not rebuild under a parallel test.
    const p = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root);
    if (p.status !== 0) throw new Error(`npm pack failed: ${p.out}`);
    packed = JSON.parse(p.stdout.slice(p.stdout.indexOf('[')))[0];

    const pkg = join(dir, 'app', 'node_modules', 'faceinv');
    mkdirSync(pkg, { recursive: true });
    const x = sh('tar', ['xzf', join(dir, packed.filename), '-C', pkg, '--strip-components=1'], dir);
    if (x.status !== 0) throw new Error(`tar: ${x.out}`);
    manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    for (const name of Object.keys(manifest.dependencies)) {
      const link = join(dir, 'app', 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(dirname(require.resolve(`${name}/package.json`)), link, 'dir');
    }
    const app = join(dir, 'app');
    for (const f of readdirSync(join(root, 'test/consumer'))) copyFileSync(join(root, 'test/consumer', f), join(app, f));
    const json = (file: string, v: unknown) => writeFileSync(join(app, file), JSON.stringify(v, null, 2));
    json('package.json', { name: 'consumer', private: true, type: 'module', dependencies: { faceinv: `file:../${packed.filename}` } });
    const strict = { strict: true, target: 'ES2022', types: [] as string[] };
    json('tsconfig.nodenext.json', { compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, files: ['app.ts'] });
    json('tsconfig.bundler.json', { compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, files: ['app.ts'] });
    json('deno.json', { imports: { faceinv: 'npm:faceinv' }, nodeModulesDir: 'manual' });
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the build, its declarations, the model and the assets; no sources; Dawn is the one native dependency', () => {
    const paths = packed.files.map((f) => f.path);
    for (const f of ['dist/index.js', 'dist/cli.js', 'dist/types/index.d.ts', 'dist/types/vendor/onnx-proto.d.ts', MODEL, 'assets/guides/lfw-average.png', 'README.md']) {
      expect(paths).toContain(f);
    }
    expect(paths.filter((f) => /^(src|test|bench|scripts|shaders)\//.test(f))).toEqual([]);
    // The bundled networks: --preset identity optimises with two of them, and any may judge.
    for (const id of ['mobileface', 'faceres', 'faceplugin']) expect(paths).toContain(`assets/judges/${id}.onnx`);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@webgpu/types', 'webgpu']);
    expect(manifest.exports['.']).toMatchObject({ types: './dist/types/index.d.ts', browser: './dist/index.js', deno: './dist/index.js', node: './dist/index.js', import: './dist/index.js' });
    expect(Object.keys(manifest.exports['.'])[0]).toBe('types');
    expect(manifest.bin.faceinv).toBe('dist/cli.js');
    console.log(`tarball ${(packed.size / 1e6).toFixed(1)} MB, unpacked ${(packed.unpackedSize / 1e6).toFixed(1)} MB, ${paths.length} files`);
  });

  it('type-checks with tsc --strict under NodeNext and Bundler (a wrong call is a type error), and runs in Node', () => {
    const app = join(dir, 'app');
    const bundler = tsc(app, 'tsconfig.bundler.json');
    expect(bundler.status, bundler.out).toBe(0);
    const nodenext = tsc(app, 'tsconfig.nodenext.json');
    expect(nodenext.status, nodenext.out).toBe(0);
    // Were the exports `any`, app.ts's `@ts-expect-error` line would be unused: error TS2578, and tsc would fail.
    expect(readFileSync(join(app, 'app.ts'), 'utf8')).toMatch(/@ts-expect-error/);

    const r = sh(process.execPath, ['node-main.mjs'], app);
    expect(r.status, r.out).toBe(0);
    expectSummary(lastJson(r.stdout), 2);
  }, 120_000);

  it('the installed CLI runs with the declared dependencies only (its pure-JS ones are bundled)', () => {
    const app = join(dir, 'app');
    const cli = join(app, 'node_modules/faceinv/dist/cli.js');
    const faces = join(app, 'node_modules/faceinv/assets');
    const r = sh(process.execPath, [cli, 'compare', join(faces, 'faces/astronaut.png'), join(faces, 'guides/lfw-average.png'), '--json'], app);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.stdout).distance).toBeGreaterThan(0.6);
  }, 120_000);

  it('bundled by esbuild for the browser (no Node built-ins), runs in headless Chromium on a model the page fetches', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set CHROMIUM`);
    const app = join(dir, 'app');
    const www = join(app, 'www');
    const result = await build({
      absWorkingDir: app, entryPoints: ['browser-main.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      outfile: join(www, 'bundle.js'), metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => !f.startsWith('node_modules/faceinv/') && !['app.ts', 'browser-main.ts'].includes(f))).toEqual([]);
    expect(readFileSync(join(www, 'bundle.js'), 'utf8')).not.toMatch(/from\s*["']node:|require\(["'](fs|path|os|node:)/);
    writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><title>consumer</title><script type="module" src="bundle.js"></script>');
    const files: Record<string, [string, string]> = {
      '/': [join(www, 'index.html'), 'text/html'],
      '/bundle.js': [join(www, 'bundle.js'), 'text/javascript'],
      '/model.onnx': [join(app, 'node_modules/faceinv', MODEL), 'application/octet-stream'],
    };
    const server: Server = createServer((req, res) => {
      const f = files[new URL(req.url ?? '/', 'http://localhost').pathname];
      if (!f) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': f[1] });
      createReadStream(f[0]).pipe(res);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--headless', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => 'consumerResult' in window || 'consumerError' in window, null, { timeout: 110_000, polling: 250 });
      const { consumerResult, consumerError } = await page.evaluate(() => {
        const w = window as unknown as { consumerResult?: Summary; consumerError?: string };
        return { consumerResult: w.consumerResult, consumerError: w.consumerError };
      });
      expect(consumerError).toBeUndefined();
      expect(errors).toEqual([]);
      expectSummary(consumerResult!, 1);
      console.log(`browser: ${JSON.stringify(consumerResult)}`);
    } finally {
      await browser.close();
      server.close();
    }
  }, 150_000);

  it('Deno runs it with --unstable-webgpu, importing npm:faceinv', () => {
    const app = join(dir, 'app');
    const r = sh(process.execPath, [require.resolve('deno/bin.cjs'), 'run', '--unstable-webgpu', '--allow-read', '--allow-env', 'deno-main.ts'], app, {
      DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1',
    });
    expect(r.status, r.out).toBe(0);
    expectSummary(lastJson(r.stdout), 1);
  }, 120_000);
});
