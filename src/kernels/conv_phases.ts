// A conv's input gradient with all stride phases in one gathered GEMM: which taps each phase of an axis sees
// (mergedTaps) and the weights re-laid per phase for the GEMM (phaseWeights); conv.ts launches it.
import { Tensor } from '../tensor/tensor.ts';
import { gather, scatterInto, filled } from './copy.ts';
import type { ConvGeometry } from './conv.ts';

interface AxisPhase {
  phase: number;
  /** Taps first + t·step, t < count, reach the input positions of this phase. */
  first: number;
  count: number;
  /** Merged tap index of this phase's tap 0. */
  lead: number;
}

/**
 * One axis of a conv's input gradient with all stride phases in one GEMM. Input position y = phase + S·Y sees
 * taps k with (y + P − k·D) divisible by S: first + t·step (step = S / gcd(S, D)), reading dy at
 * Y + (phase + P − first·D)/S − t·D/gcd. Shifting each phase's taps by `lead` aligns those reads to a common
 * Y + srcOffset − t'·srcStep for merged taps t' < taps.
 */
export function mergedTaps(size: number, S: number, KS: number, D: number, P: number) {
  const step = S / gcd(S, D);
  const srcStep = D / gcd(S, D);
  const found = [];
  for (let phase = 0; phase < Math.min(S, size); phase++) {
    const taps: number[] = [];
    for (let k = 0; k < KS; k++) if ((((phase + P - k * D) % S) + S) % S === 0) taps.push(k);
    found.push({ phase, first: taps[0] ?? 0, count: taps.length, offset: taps.length ? (phase + P - taps[0] * D) / S : -Infinity });
  }
  // A phase's offset is the dy row its first tap reads for Y = 0; the merged offset is the largest of them.
  const srcOffset = Math.max(...found.map((f) => f.offset).filter((o) => o > -Infinity), 0);
  const phases: AxisPhase[] = found.map((f) => ({ phase: f.phase, first: f.first, count: f.count, lead: f.count ? (srcOffset - f.offset) / srcStep : 0 }));
  // Some stride/dilation pairs (3 and 2) leave phases whose reads cannot align: no merged form.
  if (phases.some((f) => !Number.isInteger(f.lead))) return null;
  return {
    phases,
    taps: Math.max(...phases.map((f) => f.lead + f.count), 0),
    step,
    srcOffset,
    srcStep,
    outputs: Math.ceil(size / S),
  };
}

type MergedTaps = NonNullable<ReturnType<typeof mergedTaps>>;

/** A [G, phasesY·phasesX·C/G, (K/G, tapsY, tapsX)] matrix: each phase's taps of w at their merged places, zeros elsewhere. */
export function phaseWeights(w: Tensor, g: ConvGeometry, ty: MergedTaps, tx: MergedTaps): Tensor {
  const CG = g.C / g.G;
  const KG = g.K / g.G;
  const khw = g.KH * g.KW;
  const phases = ty.phases.length * tx.phases.length;
  const out = filled([g.G, phases, CG, KG, ty.taps, tx.taps], 0);
  const outStrides = [phases * CG * KG * ty.taps * tx.taps, KG * ty.taps * tx.taps, ty.taps * tx.taps, tx.taps, 1];
  ty.phases.forEach((py, iy) =>
    tx.phases.forEach((px, ix) => {
      if (!py.count || !px.count) return;
      const part = gather(w, [g.G, CG, KG, py.count, px.count], [KG * CG * khw, khw, CG * khw, ty.step * g.KW, tx.step], py.first * g.KW + px.first, 'conv.phaseWeights');
      const at = (iy * tx.phases.length + ix) * CG * KG * ty.taps * tx.taps + py.lead * tx.taps + px.lead;
      scatterInto(out, part, outStrides, at, 'conv.phaseWeights');
      part.dispose();
    }),
  );
  return out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
