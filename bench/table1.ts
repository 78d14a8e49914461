// Paper Table 1: decoders with L_n filters trained with w_TV, each evaluated on held-out embeddings
// (⟨L⟩, ⟨‖e1 − e2‖²⟩, ⟨ẽ1·ẽ2⟩), by running the CLI (faceinv train-decoder, faceinv eval) for every cell.
// The paper's grid, for a GPU:
//   node --import tsx bench/table1.ts --filters 50,112,250 --tv 1e-4,1e-3 --steps 20000 --batch 64 --out runs/table1
// A reduced grid that runs on a 2-core machine without a GPU in about half an hour:
//   node --import tsx bench/table1.ts --filters 8,16,32 --tv 1e-4,1e-3 --steps 150 --batch 8 --out out/table1
// Prints a Markdown table and, last, one JSON line.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { arg } from './args.ts';

const filters = arg('filters', '8,16,32').split(',').map(Number);
const tvs = arg('tv', '1e-4,1e-3').split(',');
const steps = arg('steps', '150');
const batch = arg('batch', '8');
const out = arg('out', 'out/table1');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`faceinv ${args.join(' ')} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
};

const cells: { filters: number; tv: string; meanLoss: number; meanL2sq: number; meanCos: number; samePerson: number; seconds: number }[] = [];
for (const tv of tvs)
  for (const f of filters) {
    const dir = join(out, `L${f}-tv${tv}`);
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    const t = cli('train-decoder', '--out', dir, '--preset', 'paper', '--filters', String(f), '--tv', tv, '--steps', steps, '--batch', batch, '--checkpoint-every', steps);
    const e = cli('eval', '--decoder', dir);
    cells.push({ filters: f, tv, ...e.decoder, seconds: t.seconds });
    console.log(`L_n ${f}, w_TV ${tv}: ⟨L⟩ ${e.decoder.meanLoss.toFixed(4)} ⟨‖e1−e2‖²⟩ ${e.decoder.meanL2sq.toFixed(4)} ⟨ẽ1·ẽ2⟩ ${e.decoder.meanCos.toFixed(4)} (trained in ${t.seconds.toFixed(0)} s)`);
  }
console.log(`\n| w_TV | L_n | ⟨L⟩ | ⟨‖e1 − e2‖²⟩ | ⟨ẽ1·ẽ2⟩ | same person |\n| --- | ---: | ---: | ---: | ---: | ---: |`);
for (const c of cells) console.log(`| ${c.tv} | ${c.filters} | ${c.meanLoss.toFixed(4)} | ${c.meanL2sq.toFixed(4)} | ${c.meanCos.toFixed(4)} | ${(100 * c.samePerson).toFixed(0)}% |`);
console.log(JSON.stringify({ name: 'table1', steps: Number(steps), batch: Number(batch), cells }));
