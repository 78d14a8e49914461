// Bundles the library (dist/index.js, for Node, Deno and browsers) and the CLI (dist/cli.js) with esbuild.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning', external: ['webgpu'] };
// 'neutral' ignores package.json main fields unless named; CommonJS deps (onnx-proto) need 'main'.
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', platform: 'neutral', mainFields: ['module', 'main'] });
await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  platform: 'node',
  // The CLI runs from an installed package: its dependencies (some CommonJS) load from node_modules.
  packages: 'external',
  banner: { js: '#!/usr/bin/env node' },
});
chmodSync('dist/cli.js', 0o755);
