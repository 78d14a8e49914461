// What waiting costs on a CPU adapter: blocks of ten forward + backward steps of the default model, each block
// then awaited at once (Dawn's Node binding polls with setImmediate for the whole wait) or after sleeping through
// 85 % of its expected time (src/tensor/pacer.ts, as every loss-history readback now does), alternating.
// Run: node --import tsx bench/pacing.ts [--batch 1] [--rounds 3]      (last line: JSON result)
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { Pacer } from '../src/tensor/pacer.ts';
import { printResult } from './common.ts';
import { arg } from './args.ts';

const N = Number(arg('batch', '1'));
const rounds = Number(arg('rounds', '3'));
const BLOCK = 10;
const BLOCKS = 6;
const e = await F.init();
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(DEFAULT_MODEL)), DEFAULT_MODEL);
const p = F.keep(F.mul(F.rand([N, 3, 150, 150], 1), 255));
p.requiresGrad = true;
const target = F.keep(F.randn([N, 128], 2));
const step = () => {
  F.tidy(() => F.backward(F.sum(F.square(F.sub(model.embed(p).embedding, target)))));
  p.grad?.dispose();
  p.grad = null;
  e.flush();
};
/** Milliseconds a step over BLOCKS blocks, each awaited through `pacer` or at once. */
async function run(pacer: Pacer | null): Promise<number> {
  const t0 = performance.now();
  for (let b = 0; b < BLOCKS; b++) {
    for (let i = 0; i < BLOCK; i++) {
      step();
      pacer?.unit();
    }
    await pacer?.beforeWait(BLOCK);
    await e.sync();
    pacer?.done(BLOCK);
  }
  return (performance.now() - t0) / (BLOCKS * BLOCK);
}
await run(null);
const pacer = new Pacer();
await run(pacer);
const times: Record<'at once' | 'paced', number[]> = { 'at once': [], paced: [] };
for (let r = 0; r < rounds; r++) {
  times['at once'].push(await run(null));
  times.paced.push(await run(pacer));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const [once, paced] = [median(times['at once']), median(times.paced)];
console.log(`adapter: ${e.adapter.description || e.adapter.device}; batch ${N}; ms a step, blocks of ${BLOCK}: awaited at once ${times['at once'].map((t) => t.toFixed(2)).join(', ')}; paced ${times.paced.map((t) => t.toFixed(2)).join(', ')}`);
printResult({ name: 'pacing', unit: 'ms/step', ours: +paced.toFixed(2), peer: +once.toFixed(2), peer_name: 'the same steps awaited at once', speedup: +(once / paced).toFixed(3), batch: N });
F.shutdown();
process.exit(0);
