// Builds the package: the library (dist/index.js, one ES module for Node, Deno and browsers, with its type
// declarations under dist/types/) and the CLI (dist/cli.js), with esbuild and tsc.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning' };
// The library bundles its pure-JS dependencies (onnx-proto, wgsl-preprocessor), so its only run-time import is
// Dawn on Node (`webgpu`, loaded by a computed name that bundlers leave alone). 'neutral' ignores package.json
// main fields unless named; CommonJS deps (onnx-proto) need 'main'.
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', platform: 'neutral', mainFields: ['module', 'main'], external: ['webgpu'] });
await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  platform: 'node',
  // Pure-JS dependencies (pngjs, onnx-proto, wgsl-preprocessor) are bundled; what stays outside loads from the
  // installed package's node_modules: Dawn, the native SVG renderer (optional, loaded only to write plot PNGs)
  // and face-api (optional, loaded only by `faceinv convert`; its weights are files read from its directory).
  external: ['webgpu', '@resvg/resvg-js', '@vladmandic/face-api', '@vladmandic/face-api/*'],
  // CommonJS dependencies bundled into an ES module call require() for Node built-ins.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __faceinvCreateRequire } from 'node:module';\nconst require = __faceinvCreateRequire(import.meta.url);" },
});
chmodSync('dist/cli.js', 0o755);

// Declarations: tsc writes one .d.ts per source file; consumers resolve them with .js specifiers.
rmSync('dist/types', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname, '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// onnx-proto is bundled, not a dependency, but the API names its message types (OnnxModule takes a ModelProto):
// its declarations ship in dist/types/vendor/, with the three protobufjs types they name reduced to stubs.
const onnxProtoTypes = readFileSync(createRequire(import.meta.url).resolve('onnx-proto/dist/onnx.d.ts'), 'utf8').replace(
  /^import \* as \$protobuf from "protobufjs";\n/m,
  `// onnx-proto's declarations (MIT, github.com/chaosmail/onnx-proto), vendored by faceinv's build; the protobufjs
// types they name are stubs here (faceinv's API takes and returns the plain message objects).
declare namespace $protobuf {
  interface IConversionOptions { [option: string]: unknown }
  class Reader { pos: number; len: number }
  class Writer { finish(): Uint8Array }
}
/** A 64-bit integer as protobufjs decodes it. */
interface Long { low: number; high: number; unsigned: boolean; toNumber(): number }
`,
);
if (!onnxProtoTypes.includes('declare namespace $protobuf')) throw new Error('build: onnx-proto\'s declarations changed shape');
mkdirSync('dist/types/vendor', { recursive: true });
writeFileSync('dist/types/vendor/onnx-proto.d.ts', onnxProtoTypes);

const walk = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
for (const file of walk('dist/types').filter((f) => f.endsWith('.d.ts') && !f.includes('vendor'))) {
  const vendored = relative(dirname(file), 'dist/types/vendor/onnx-proto.js').replace(/^(?!\.)/, './');
  let text = readFileSync(file, 'utf8')
    .replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2')
    .replace(/^import (\w+) from 'onnx-proto';$/m, `import * as $1 from '${vendored}';`)
    .replace(/import\("onnx-proto"\)/g, `import("${vendored}")`);
  if (/['"]onnx-proto['"]/.test(text)) throw new Error(`build: ${file} still imports onnx-proto`);
  // GPUDevice, GPUBuffer … in the public types come from @webgpu/types, a dependency of the package.
  if (file === join('dist', 'types', 'index.d.ts')) text = '/// <reference types="@webgpu/types" />\n' + text;
  writeFileSync(file, text);
}
