// faceinv decode: one pass of a trained decoder from embeddings to faces.
import { mkdirSync } from 'node:fs';
import { join, dirname, basename, extname } from 'node:path';
import { keep, tidy } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { Decoder } from '../models/decoder.ts';
import { writePng } from '../io/png.ts';
import { fromPlanes } from '../io/image.ts';
import { loadModel, num, pixelsOf, readTargets, UsageError, MAX_PIXELS_OPTION, ALIGN_OPTION, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs } from './outputs.ts';
import { CHECKPOINT, loadRun } from './decoder-run.ts';

export const DECODE: CommandSpec = {
  name: 'decode',
  summary: 'faces from embeddings in one pass through a trained decoder',
  usage: 'faceinv decode --decoder <checkpoint dir> --embedding <json | image.png>... --out out.png [--guide <image.png>] [--index K]',
  about: `Decodes faces from embeddings in one pass (paper §4). A guided decoder (§4.2) takes a guide (default: its
first training guide) and, with a guide index input, --index. Several embeddings give out-0.png, out-1.png, …;
the last stdout line is {"out", "distance", "seconds"}.`,
  required: ['decoder', 'embedding', 'out'],
  options: [
    { name: 'decoder', type: 'string', arg: 'DIR', help: "a checkpoint directory from 'faceinv train-decoder'" },
    { name: 'embedding', type: 'string', repeat: true, help: 'an embedding as JSON (one or more lines) or a face PNG (embedded first); repeatable' },
    { name: 'out', type: 'string', help: 'output PNG (several embeddings: F with -0, -1, … before .png)' },
    { name: 'guide', type: 'string', help: "a guided decoder's guide (default: its first training guide)" },
    { name: 'index', type: 'int', arg: 'K', min: 0, help: "a guided decoder's guide index (default 0)" },
    { name: 'model', type: 'string', help: "the face model (default: the decoder's)" },
    ALIGN_OPTION,
    MAX_PIXELS_OPTION,
  ],
};

export async function decodeCmd({ opt, all }: Parsed): Promise<number> {
  const out = String(opt.out);
  const inputs = [
    ...all.embedding.map((path) => ({ path, what: `--embedding ${path}` })),
    ...(all.guide ?? []).map((path) => ({ path, what: `--guide ${path}` })),
    ...(all.model ?? []).map((path) => ({ path, what: `--model ${path}` })),
    { path: join(String(opt.decoder), CHECKPOINT), what: `the decoder's ${CHECKPOINT}` },
  ];
  checkOutputs([{ path: out, what: '--out' }], inputs);
  const { run, ckpt } = loadRun(String(opt.decoder));
  const config = ckpt.config;
  if (opt.guide !== undefined && config.kind !== 'guided') throw new UsageError(`--guide: the decoder in ${opt.decoder} is a §4.1 decoder, which takes no guide`);
  if (opt.index !== undefined && !(Number(opt.index) < config.guideIndexCount)) {
    throw new UsageError(`--index ${opt.index}: the decoder in ${opt.decoder} has ${config.guideIndexCount ? `guide indices 0..${config.guideIndexCount - 1}` : 'no guide index input'}`);
  }
  await init();
  const decoder = Decoder.fromValues(config, ckpt.params);
  const model = loadModel(opt.model ?? (run.model !== 'default' ? run.model : undefined));
  const { embeddings } = await readTargets(model, all.embedding);
  if (embeddings.length > 1) checkOutputs(embeddings.map((_, i) => ({ path: join(dirname(out), `${basename(out, extname(out))}-${i}.png`), what: '--out' })), inputs);
  const N = embeddings.length;
  const t0 = performance.now();
  const targets = keep(O.tensor(Float32Array.from(embeddings.flatMap((e) => Array.from(e))), [N, decoder.config.embeddingSize]));
  const guide = decoder.config.kind === 'guided' ? keep(pixelsOf(model, [typeof opt.guide === 'string' ? opt.guide : join(String(opt.decoder), run.guides[0])])) : undefined;
  const index = decoder.config.guideIndexCount > 0 ? Array(N).fill(num(opt, 'index', 0, (v) => Number.isInteger(v) && v >= 0 && v < decoder.config.guideIndexCount)) : undefined;
  const guides = guide && tidy(() => O.expand(guide, [N, ...guide.shape.slice(1)]));
  const images = decoder.decode(targets, guides, index);
  guides?.dispose();
  const dist = tidy(() => noGrad(() => O.sqrt(O.sum(O.square(O.sub(model.embed(images).embedding, targets)), 1))));
  const px = await images.data();
  const d = Array.from(await dist.data());
  const seconds = (performance.now() - t0) / 1000;
  const S = decoder.config.outputSize;
  const outs = N === 1 ? [out] : embeddings.map((_, i) => join(dirname(out), `${basename(out, extname(out))}-${i}.png`));
  fromPlanes(px, N, S, S).forEach((img, i) => {
    mkdirSync(dirname(outs[i]), { recursive: true });
    writePng(outs[i], img);
  });
  [targets, images, dist, ...(guide ? [guide] : [])].forEach((t) => t.dispose());
  decoder.dispose();
  model.dispose();
  process.stdout.write(JSON.stringify({ out: N === 1 ? outs[0] : outs, distance: N === 1 ? d[0] : d, seconds: +seconds.toFixed(3) }) + '\n');
  return 0;
}

