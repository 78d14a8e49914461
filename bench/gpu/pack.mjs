// Packs what bench/gpu/run.sh needs on a lent GPU machine (CUDA image: Python and PyTorch, no Node, no npm, no
// network) into .device/, which the device tool carries beside the working tree (64 MiB in all):
//   node.xz                 this machine's Node binary (when the GPU machine has none);
//   node_modules/webgpu     Dawn for linux-x64 (dawn.node.xz), index.js, package.json;
//   node_modules/@vladmandic/face-api   package.json and the recognition net's weights, for `convert.mjs`
//                           (models/ is ignored by git, so the default model is converted there);
//   *.mjs                   bench/matmul, kernels, invert, profile, dispatches and the model conversion, each one bundle
//                           (tfjs included), so no node_modules beyond the two above are needed;
//   tfjs-gradients.mjs      tfjs-core's gradient registration, bundled (faceapi_peer.ts imports it).
// Run here: node bench/gpu/pack.mjs     then the device tool: carry [".device", ".gl"], command bench/gpu/run.sh
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OUT = '.device';
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
spawnSync(process.execPath, ['scripts/gen-shaders.mjs'], { stdio: 'inherit' });

const common = {
  bundle: true, format: 'esm', platform: 'node', target: 'es2022', logLevel: 'warning', external: ['webgpu', 'esbuild'],
  // CommonJS dependencies bundled into an ES module call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
for (const name of ['matmul', 'kernels', 'invert', 'profile', 'dispatches']) {
  await build({ ...common, entryPoints: [`bench/${name}.ts`], outfile: join(OUT, `${name}.mjs`) });
}
// The default model, converted on the GPU machine from face-api's weights (models/ is not in the working tree).
writeFileSync(
  join(OUT, 'convert.ts'),
  "import { convertDefaultModel } from '../src/models/faceapi-node.ts';\nimport { DEFAULT_MODEL } from '../src/cli/paths.ts';\n" +
    'console.log(`converted ${DEFAULT_MODEL}:`, convertDefaultModel(DEFAULT_MODEL));\n',
);
await build({ ...common, entryPoints: [join(OUT, 'convert.ts')], outfile: join(OUT, 'convert.mjs') });
rmSync(join(OUT, 'convert.ts'));
await build({ ...common, entryPoints: ['node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js'], outfile: join(OUT, 'tfjs-gradients.mjs') });

const webgpu = join(OUT, 'node_modules', 'webgpu');
mkdirSync(join(webgpu, 'dist', 'linux-x64'), { recursive: true });
for (const f of ['index.js', 'package.json']) copyFileSync(join('node_modules', 'webgpu', f), join(webgpu, f));
const xz = (from, to) => {
  const r = spawnSync('sh', ['-c', `xz -T0 -6 -c "${from}" > "${to}"`], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`xz ${from} failed`);
};
xz('node_modules/webgpu/dist/linux-x64/dawn.node', join(webgpu, 'dist', 'linux-x64', 'dawn.node.xz'));
const faceApi = join(OUT, 'node_modules', '@vladmandic', 'face-api');
mkdirSync(join(faceApi, 'model'), { recursive: true });
copyFileSync('node_modules/@vladmandic/face-api/package.json', join(faceApi, 'package.json'));
for (const f of ['face_recognition_model-weights_manifest.json', 'face_recognition_model.bin']) {
  copyFileSync(join('node_modules/@vladmandic/face-api/model', f), join(faceApi, 'model', f));
}
// Node without its debug symbols (a tenth smaller), when binutils' strip is here.
const stripped = join(OUT, 'node');
copyFileSync(process.execPath, stripped);
spawnSync('strip', [stripped]);
xz(stripped, join(OUT, 'node.xz'));
rmSync(stripped);
const du = spawnSync('du', ['-sh', OUT], { encoding: 'utf8' }).stdout.trim();
console.log(`packed ${du} (node ${process.version}, ${(statSync(join(OUT, 'node.xz')).size / 2 ** 20).toFixed(1)} MiB compressed)`);
