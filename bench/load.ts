// Time to load a face network from bytes in memory, for the default model and every bundled judge: ours
// (FaceModel.fromBytes: decoded, checked, fused and folded; the weights go to the GPU on the first run, so that
// is not in it) against onnxruntime-node's InferenceSession.create on the same bytes, in one run. Median of
// --reps loads each.
// Run: node --import tsx bench/load.ts [--reps 7]      (last line: JSON result)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { arg } from './args.ts';
import { geomean, printResult } from './common.ts';
import { NETWORKS } from './gallery.ts';

const reps = Number(arg('reps', '7'));

const e = await F.init();
console.log(`adapter: ${e.adapter.description || e.adapter.device}`);
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median milliseconds of `load` over `reps` calls (one untimed call first). */
async function time(load: () => void | Promise<void>): Promise<number> {
  await load();
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await load();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const rows: { network: string; mb: number; ours_ms: number; onnxruntime_ms: number }[] = [];
for (const [network, file] of Object.entries(NETWORKS)) {
  const bytes = new Uint8Array(readFileSync(file));
  const ours = await time(() => {
    FaceModel.fromBytes(bytes, network).dispose();
  });
  const theirs = await time(async () => {
    const s = await ort.InferenceSession.create(bytes);
    await s.release();
  });
  rows.push({ network, mb: +(bytes.length / 2 ** 20).toFixed(1), ours_ms: +ours.toFixed(1), onnxruntime_ms: +theirs.toFixed(1) });
}
console.log('| network | file (MiB) | ours (ms) | onnxruntime-node (ms) |\n| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.network} | ${r.mb} | ${r.ours_ms} | ${r.onnxruntime_ms} |`);
const ours = geomean(rows.map((r) => r.ours_ms));
const peer = geomean(rows.map((r) => r.onnxruntime_ms));
printResult({ name: 'load', unit: 'ms per load (geometric mean over the networks)', ours: +ours.toFixed(1), peer: +peer.toFixed(1), peer_name: 'onnxruntime-node InferenceSession.create', speedup: +(peer / ours).toFixed(3), rows });
F.shutdown();
process.exit(0);
