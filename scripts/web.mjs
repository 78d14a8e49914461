// npm run web: bundles the browser demo (web/app.ts → out/web/app.js) and serves it on localhost with the
// default model and the bundled faces; prints the URL. Options: --port N (default 8080; 0 = any free port),
// --decoder <checkpoint dir> (offer that trained decoder in the page), --build-only.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const outDir = join(root, 'out', 'web');
mkdirSync(outDir, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'web', 'app.ts')],
  outfile: join(outDir, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  // Dawn is loaded by name only on Node; protobufjs's optional Node paths are never reached in a browser.
  external: ['webgpu'],
});
const bytes = statSync(join(outDir, 'app.js')).size;
writeFileSync(join(outDir, 'bundle.json'), JSON.stringify({ bytes, inputs: Object.keys(result.metafile.inputs).length }) + '\n');
console.log(`web: bundled web/app.ts → out/web/app.js (${(bytes / 1024).toFixed(1)} KiB)`);
if (process.argv.includes('--build-only')) process.exit(0);

const decoderDir = arg('decoder', null);
if (decoderDir && !existsSync(join(decoderDir, 'checkpoint.bin'))) {
  console.error(`web: --decoder ${decoderDir} holds no checkpoint.bin`);
  process.exit(2);
}
// URL prefix → directory. Nothing outside these is served.
const mounts = [
  ['/models/', join(root, 'models')],
  ['/assets/', join(root, 'assets')],
  ['/decoder/', decoderDir ? resolve(decoderDir) : null],
  ['/', outDir],
];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json', '.png': 'image/png', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream', '.json': 'application/json' };

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  // The page asks whether a decoder is on offer (a plain 404 would be a console error in the page).
  if (path === '/decoder/info.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ available: !!decoderDir }));
    return;
  }
  const file =
    path === '/' || path === '/index.html'
      ? join(root, 'web', 'index.html')
      : (() => {
          const m = mounts.find(([prefix, dir]) => dir && path.startsWith(prefix));
          if (!m) return null;
          const full = normalize(join(m[1], path.slice(m[0].length)));
          return full.startsWith(m[1] + sep) ? full : null;
        })();
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  createReadStream(file).pipe(res);
});
const port = Number(arg('port', '8080'));
server.listen(port, '127.0.0.1', () => {
  const { port: p } = server.address();
  console.log(`web: serving the demo at http://127.0.0.1:${p}/  (Ctrl-C to stop)`);
});
