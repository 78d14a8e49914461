// faceinv eval: Table 1's rows for a trained decoder against constant images and the iterative method.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keep, tidy, type Tensor } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import * as O from '../autograd/ops.ts';
import { Decoder } from '../models/decoder.ts';
import { GaussianSampler } from '../train/sampler.ts';
import { guideActivations } from '../train/train.ts';
import { scoreDecoder, scoreImages, summarise, type ItemScore, type Summary } from '../train/eval.ts';
import { reconstruct } from '../invert/reconstruct.ts';
import { writePng } from '../io/png.ts';
import { fromPlanes } from '../io/image.ts';
import { chartSvg, imageGrid } from '../io/plot.ts';
import { writePlot } from '../io/plot-png.ts';
import { ProgressBar } from './progress.ts';
import { loadModel, num, pixelsOf, readTargets, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs } from './outputs.ts';
import { loadRun } from './decoder-run.ts';

export const EVAL: CommandSpec = {
  name: 'eval',
  summary: 'Table 1 and Fig. 10 of the paper for a trained decoder on held-out embeddings',
  usage: 'faceinv eval --decoder <checkpoint dir> [--embeddings <jsonl>] [--iterative [--iterations N]] [--out <dir>]',
  about: `Paper Table 1 for one decoder on held-out embeddings (default: the run's held-out.jsonl): ⟨L⟩, ⟨‖e1 − e2‖²⟩,
⟨ẽ1·ẽ2⟩ and the fraction the face model calls the same person, beside the same numbers for two constant
images (one image for every embedding): the image the iterative method makes for the mean embedding of the
fit, and the training guide. --iterative also runs the iterative method with the same loss on the same
embeddings (N iterations, default 100) and draws Fig. 10: feed-forward loss against iterative loss, with
their mean ratio (paper: 1.6). Writes <out>/faces.png (decoded faces), <out>/fig10.svg and .png, and the last
stdout line as JSON.`,
  required: ['decoder'],
  options: [
    { name: 'decoder', type: 'string', arg: 'DIR', help: "a checkpoint directory from 'faceinv train-decoder'" },
    { name: 'embeddings', type: 'string', help: "embeddings as JSON lines (default: the run's held-out.jsonl)" },
    { name: 'iterative', type: 'flag', help: 'also run the iterative method on the same embeddings (Fig. 10)' },
    { name: 'iterations', type: 'int', min: 1, max: 10_000_000, needs: 'iterative', help: 'its iterations (default 100)' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'where the figures and eval.json go (default: <decoder>/eval)' },
    { name: 'model', type: 'string', help: "the face model (default: the decoder's)" },
  ],
};

export async function evalCmd({ opt }: Parsed): Promise<number> {
  const decoderDir = String(opt.decoder);
  checkOutputs([{ path: typeof opt.out === 'string' ? opt.out : join(decoderDir, 'eval'), what: '--out', dir: true }], [
    ...(typeof opt.embeddings === 'string' ? [{ path: opt.embeddings, what: `--embeddings ${opt.embeddings}` }] : []),
    ...(typeof opt.model === 'string' ? [{ path: opt.model, what: `--model ${opt.model}` }] : []),
  ]);
  const { run, ckpt } = loadRun(decoderDir);
  await init();
  const model = loadModel(opt.model ?? (run.model !== 'default' ? run.model : undefined));
  const decoder = Decoder.fromValues(ckpt.config, ckpt.params);
  const file = typeof opt.embeddings === 'string' ? opt.embeddings : join(decoderDir, 'held-out.jsonl');
  const { embeddings } = await readTargets(model, [file]);
  const out = typeof opt.out === 'string' ? opt.out : join(decoderDir, 'eval');
  mkdirSync(out, { recursive: true });
  const S = model.imageSize;
  const s = { guideLayers: run.train.guideLayers, tvWeight: run.train.tvWeight };
  const guide = keep(pixelsOf(model, [join(decoderDir, run.guides[0])]));
  const acts = guideActivations(model, guide, s.guideLayers);
  const N = embeddings.length;
  const D = decoder.config.embeddingSize;
  const targets = keep(O.tensor(Float32Array.from(embeddings.flatMap((e) => Array.from(e))), [N, D]));
  const ff = await scoreDecoder(model, decoder, embeddings, guide, acts, s);
  const rows: Record<string, Summary> = { decoder: summarise(ff.scores, model.threshold) };
  // Constant images: the training guide, and the iterative method's image for the mean embedding of the fit.
  const constant = async (img: Tensor) => summarise(await scoreImages(model, tidy(() => O.expand(img, [N, 3, S, S])), targets, acts, s), model.threshold);
  rows.guide = await constant(guide);
  const sampler = GaussianSampler.fromJSON(run.sampler);
  const mu = keep(O.tensor(Float32Array.from(sampler.mean), [1, D]));
  const meanImage = await reconstruct({ model, target: mu, guide, iterations: 100, guideLayers: s.guideLayers, tv: { weight: s.tvWeight }, lapNormLevels: 4, lr: 2 });
  rows.mean_embedding_image = await constant(meanImage.image);
  writePng(join(out, 'mean-embedding-image.png'), fromPlanes(await meanImage.image.data(), 1, S, S)[0]);
  meanImage.image.dispose();
  mu.dispose();
  writePng(join(out, 'faces.png'), imageGrid(ff.images.slice(0, 16).map((px) => fromPlanes(px, 1, S, S)[0]), 8));
  let iterative: { summary: Summary; ratio: number } | null = null;
  if (opt.iterative) {
    const iterations = num(opt, 'iterations', 100, (v) => Number.isInteger(v) && v > 0);
    const scores: ItemScore[] = [];
    const bar = new ProgressBar(N, 'iterative', 'embeddings');
    for (let at = 0; at < N; at += 8) {
      const n = Math.min(8, N - at);
      const t = keep(tidy(() => O.slice(targets, [at, 0], [at + n, D])));
      const r = await reconstruct({ model, target: t, guide, iterations, guideLayers: s.guideLayers, tv: { weight: s.tvWeight }, lapNormLevels: 4, lr: 2 });
      scores.push(...(await scoreImages(model, r.image, t, acts, s)));
      r.image.dispose();
      t.dispose();
      bar.update(at + n, {});
    }
    bar.done();
    const ratio = ff.scores.reduce((a, x) => a + x.loss, 0) / scores.reduce((a, x) => a + x.loss, 0);
    iterative = { summary: summarise(scores, model.threshold), ratio };
    writePlot(
      join(out, 'fig10'),
      chartSvg({
        title: `Feed-forward vs iterative loss on ${N} embeddings (mean ratio ${ratio.toFixed(2)})`,
        xLabel: `iterative loss (${iterations} iterations)`,
        yLabel: 'feed-forward loss',
        series: [{ name: 'embeddings', points: scores.map((x, i) => [x.loss, ff.scores[i].loss]) }],
        scatter: true,
        diagonal: true,
      }),
    );
  }
  [targets, guide, ...Object.values(acts)].forEach((t) => t.dispose());
  decoder.dispose();
  model.dispose();
  const fmtRow = (name: string, r: Summary) =>
    `${name.padEnd(22)} ⟨L⟩ ${r.meanLoss.toFixed(4)}   ⟨‖e1−e2‖²⟩ ${r.meanL2sq.toFixed(4)}   ⟨ẽ1·ẽ2⟩ ${r.meanCos.toFixed(4)}   same person ${(100 * r.samePerson).toFixed(0)}%`;
  process.stderr.write(`${N} embeddings from ${file}\n`);
  for (const [k, v] of Object.entries(rows)) process.stderr.write(fmtRow(k, v) + '\n');
  if (iterative) process.stderr.write(fmtRow('iterative', iterative.summary) + `\nfeed-forward / iterative mean loss: ${iterative.ratio.toFixed(3)}\n`);
  const result = { embeddings: N, ...rows, ...(iterative ? { iterative: iterative.summary, loss_ratio: iterative.ratio } : {}), out };
  writeFileSync(join(out, 'eval.json'), JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}
