// Runs the Deno test suite with the deno binary from the npm package `deno`, and prints its result.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let bin;
try {
  bin = require.resolve('deno/bin.cjs');
} catch {
  console.error('deno-test: the npm package `deno` is not installed (run npm ci)');
  process.exit(1);
}
const r = spawnSync(process.execPath, [bin, 'test', '--unstable-webgpu', '--allow-read', '--allow-env', '--no-check', 'test/deno/'], {
  stdio: 'inherit',
  env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
});
process.exit(r.status ?? 1);
