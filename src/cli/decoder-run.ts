// A trained decoder's run folder as 'faceinv train-decoder' writes it: config.json (the decoder, the training
// settings, the guides, the sampler) and the checkpoint; read by decode, eval and the benches.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderConfig } from '../models/decoder.ts';
import { GaussianSampler } from '../train/sampler.ts';
import type { TrainSettings } from '../train/train.ts';
import type { Checkpoint } from '../train/checkpoint.ts';
import { readCheckpoint } from '../train/checkpoint-file.ts';
import { UsageError } from './common.ts';
import type { DataConfig } from './train-data.ts';

export const CHECKPOINT = 'checkpoint.bin';

export interface RunConfig {
  decoder: DecoderConfig;
  train: TrainSettings;
  seed: number;
  guides: string[];
  sampler: ReturnType<GaussianSampler['toJSON']>;
  model: string;
  /** What it trains on (absent: a run from before 'faces' existed, trained on Gaussian draws). */
  data?: DataConfig;
}

/** A run folder's config.json and checkpoint; a usage error when the folder holds no trained decoder. */
export function loadRun(dir: string): { run: RunConfig; ckpt: Checkpoint } {
  if (!existsSync(join(dir, 'config.json'))) throw new UsageError(`--decoder: ${dir} holds no trained decoder (no config.json)`);
  return { run: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), ckpt: readCheckpoint(join(dir, CHECKPOINT)) };
}
