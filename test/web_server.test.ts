// scripts/web.mjs (npm run web) against hostile and careless requests, on 127.0.0.1 through real sockets:
// it answers what it does not serve with a 4xx status and keeps serving; a bad or busy port is one line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Starts scripts/web.mjs; resolves with the process and its port once it prints the URL. */
function serve(extra: string[]): Promise<[ChildProcess, number]> {
  const p = spawn(process.execPath, ['scripts/web.mjs', ...extra]);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
      const m = /serving the demo at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve([p, Number(m[1])]);
    });
    p.on('exit', (code) => reject(new Error(`scripts/web.mjs exited with ${code}: ${out}`)));
  });
}

/** One raw request: the path is sent as given (no client-side normalisation or encoding). */
function get(port: number, path: string, { method = 'GET', host = `127.0.0.1:${port}` } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // An empty host sends no Host header at all.
    const req = request({ host: '127.0.0.1', port, path, method, setHost: false, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('npm run web: the server refuses what it does not serve and never dies', () => {
  let server: ChildProcess;
  let port = 0;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'faceinv-web-server-'));
    const decoder = join(dir, 'decoder');
    mkdirSync(decoder);
    writeFileSync(join(decoder, 'checkpoint.bin'), 'not a real checkpoint: the server only serves it');
    writeFileSync(join(dir, 'secret.txt'), 'outside the served folders\n');
    symlinkSync(join(dir, 'secret.txt'), join(decoder, 'leak.txt'));
    symlinkSync(dir, join(decoder, 'up'));
    [server, port] = await serve(['--port', '0', '--decoder', decoder]);
  }, 120_000);

  afterAll(() => server?.kill());

  it('serves the page and the model to GET and HEAD', async () => {
    expect((await get(port, '/')).status).toBe(200);
    expect((await get(port, '/decoder/checkpoint.bin')).status).toBe(200);
    expect((await get(port, '/assets/guides/lfw-average.png', { method: 'HEAD' })).status).toBe(200);
    expect((await get(port, '/', { host: `localhost:${port}` })).status).toBe(200);
  });

  it('an undecodable path (%ff) is 400, and the server keeps serving', async () => {
    for (const path of ['/%ff', '/assets/%E0%A4%A', '/%']) expect((await get(port, path)).status, path).toBe(400);
    expect((await get(port, '/')).status).toBe(200);
    expect(server.exitCode).toBeNull();
  });

  it('POST, DELETE and PUT are 405', async () => {
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const r = await get(port, '/', { method });
      expect(r.status, method).toBe(405);
    }
  });

  it('a symlink inside --decoder that leaves it is 404, as is a path climbing out', async () => {
    expect((await get(port, '/decoder/leak.txt')).status).toBe(404);
    expect((await get(port, '/decoder/up/secret.txt')).status).toBe(404);
    expect((await get(port, '/decoder/../../../etc/passwd')).status).toBe(404);
    expect((await get(port, '/assets/%2e%2e/package.json')).status).toBe(404);
  });

  it('a Host that is not the bound address (DNS rebinding) is 421', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1:1', `127.0.0.1:${port}.evil.example`]) {
      const r = await get(port, '/models/dlib_face_recognition_resnet.onnx', { host });
      expect(r.status, host).toBe(421);
      expect(r.body).toMatch(/^misdirected request/);
    }
    // No Host at all (HTTP/1.1 requires one): Node's parser answers 400.
    expect((await get(port, '/', { host: '' })).status).toBe(400);
  });

  it('a bad --port, or one in use, ends in one line and exit 2', () => {
    for (const bad of ['abc', '-1', '70000', '80.5', '']) {
      const r = spawnSync(process.execPath, ['scripts/web.mjs', '--port', bad], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, bad).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^web: --port/);
    }
    const busy = spawnSync(process.execPath, ['scripts/web.mjs', '--port', String(port)], { encoding: 'utf8', timeout: 60_000 });
    expect(busy.status).toBe(2);
    expect(busy.stderr.trim()).toMatch(new RegExp(`^web: port ${port} on 127\\.0\\.0\\.1 is in use; choose another`));
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);
});
