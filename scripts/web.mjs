// npm run web: bundles the browser demo (web/app.ts → out/web/app.js) and serves it on localhost with the
// default model and the bundled faces; prints the URL. Options: --port N (default 8080; 0 = any free port),
// --decoder <checkpoint dir> (offer that trained decoder in the page), --build-only.
// The server is read-only and answers only what it serves: GET/HEAD of files inside its folders (symlinks
// leaving them are not followed), for a Host that names the bound address (a DNS-rebinding page sends its own
// name and is refused); any other request gets a 4xx status, and no request can end the process.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const fail = (message) => {
  console.error(`web: ${message}`);
  process.exit(2);
};
const OPTIONS = { port: { type: 'string', default: '8080' }, decoder: { type: 'string' }, 'build-only': { type: 'boolean' } };
const { values: args, tokens } = parseArgs({ options: OPTIONS, strict: false, tokens: true });
for (const t of tokens) {
  if (t.kind === 'positional') fail(`unexpected argument '${t.value}' (options: --port N, --decoder DIR, --build-only)`);
  if (t.kind !== 'option') continue;
  const type = OPTIONS[t.name]?.type;
  if (!type) fail(`unknown option ${t.rawName} (options: --port N, --decoder DIR, --build-only)`);
  if (type === 'boolean' && t.value !== undefined) fail(`${t.rawName} takes no value`);
  if (type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('--')))) fail(`${t.rawName} needs a value`);
}
const port = /^\d{1,5}$/.test(args.port) ? Number(args.port) : NaN;
if (!(port <= 65535)) fail(`--port: '${args.port}' is not a port number (0..65535; 0 = any free port)`);
const decoderDir = args.decoder ?? null;
if (decoderDir && !existsSync(join(decoderDir, 'checkpoint.bin'))) fail(`--decoder ${decoderDir} holds no checkpoint.bin`);
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
if (args['build-only']) process.exit(0);

const HOST = '127.0.0.1';
// URL prefix → directory (its real path, so that symlinks leaving it are caught). Nothing outside these is served.
const real = (dir) => (dir && existsSync(dir) ? realpathSync(dir) : null);
const mounts = [
  ['/models/', real(join(root, 'models'))],
  ['/assets/', real(join(root, 'assets'))],
  ['/decoder/', real(decoderDir)],
  ['/', real(outDir)],
];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json', '.png': 'image/png', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream', '.json': 'application/json' };

/** The file a URL path names, or null: inside a mount after resolving every symlink, and a plain file. */
function fileOf(path) {
  if (path === '/' || path === '/index.html') return join(root, 'web', 'index.html');
  const m = mounts.find(([prefix, dir]) => dir && path.startsWith(prefix));
  if (!m) return null;
  const full = normalize(join(m[1], path.slice(m[0].length)));
  if (!full.startsWith(m[1] + sep) || !existsSync(full)) return null;
  const target = realpathSync(full);
  return target.startsWith(m[1] + sep) && statSync(target).isFile() ? target : null;
}

const reply = (res, status, text, headers = {}) => {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text + '\n');
};

let hosts = new Set();
const server = createServer((req, res) => {
  try {
    // DNS rebinding: a page on another origin that resolves its name to 127.0.0.1 still sends its own Host.
    if (!hosts.has(String(req.headers.host ?? '').toLowerCase())) return reply(res, 421, 'misdirected request: this server answers only for its own address');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return reply(res, 400, 'bad request: the path is not valid percent-encoded UTF-8');
    }
    if (path.includes('\0')) return reply(res, 400, 'bad request: NUL in the path');
    // The page asks whether a decoder is on offer (a plain 404 would be a console error in the page).
    if (path === '/decoder/info.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ available: !!decoderDir }));
      return;
    }
    const file = fileOf(path);
    if (!file) return reply(res, 404, 'not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  } catch (e) {
    console.error(`web: ${req.method} ${req.url}: ${e?.message ?? e}`);
    if (!res.headersSent) reply(res, 500, 'internal error');
    else res.destroy();
  }
});
server.on('clientError', (_e, socket) => socket.destroy());
server.on('error', (e) => {
  fail(e.code === 'EADDRINUSE' ? `port ${port} on ${HOST} is in use; choose another with --port N (0 = any free port)` : e.code === 'EACCES' ? `port ${port} needs privileges; choose one above 1023 with --port N` : `cannot listen on ${HOST}:${port}: ${e.message}`);
});
server.listen(port, HOST, () => {
  const { port: p } = server.address();
  hosts = new Set([`${HOST}:${p}`, `localhost:${p}`, ...(p === 80 ? [HOST, 'localhost'] : [])]);
  console.log(`web: serving the demo at http://${HOST}:${p}/  (Ctrl-C to stop)`);
});
