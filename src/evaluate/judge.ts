// Does an unrelated face network recognise the person in a reconstruction? Identification of reconstructions
// against a labelled gallery with a judge network's embeddings (issue 8). Pure: embeddings in, verdicts out.
//
// A reconstruction made from photo s of person p is scored against the gallery without s: each person's score
// is their best photo's similarity; it is identified when p scores highest (rank 1), and it clears the judge's
// threshold when p's score is at or above the same-person threshold.

export type Metric = 'cosine' | 'euclidean';

export interface Labelled {
  person: string;
  /** The photo's name (file name without extension). */
  name: string;
  embedding: ArrayLike<number>;
}

export interface Probe extends Labelled {
  /** The reconstruction's file. */
  file: string;
}

export interface Verdict {
  file: string;
  person: string;
  /** The photo the reconstruction was made from (left out of the gallery for it). */
  source: string;
  rank1: string;
  rank1Score: number;
  /** The true person's score (best of their other photos). */
  score: number;
  /** The best score of any other person: the margin score − bestOther is how clearly the person stands out. */
  bestOther: number;
  /** 1 + the number of other people scoring at least as high (ties count against it); 1 = identified. */
  rank: number;
  identified: boolean;
  clears: boolean;
}

/** Higher is more alike: the cosine, or minus the Euclidean distance. */
export function similarity(metric: Metric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`judge: embeddings of length ${a.length} and ${b.length}`);
  let ab = 0, aa = 0, bb = 0, d = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    d += (a[i] - b[i]) ** 2;
  }
  return metric === 'cosine' ? ab / Math.sqrt(aa * bb) : -Math.sqrt(d);
}

/** People of the gallery with how many photos each; refuses a gallery that cannot judge anything. */
export function galleryPeople(gallery: Labelled[]): Map<string, number> {
  const people = new Map<string, number>();
  for (const g of gallery) people.set(g.person, (people.get(g.person) ?? 0) + 1);
  if (people.size < 2) throw new RangeError(`judge: the gallery needs at least two people, it has ${people.size}`);
  if (![...people.values()].some((n) => n >= 2)) throw new RangeError('judge: no person of the gallery has two photos, so no reconstruction can be judged against another photo');
  return people;
}

export interface Calibration {
  /** Same-person threshold on the similarity: the one that best separates the gallery's pairs. */
  threshold: number;
  /** Balanced accuracy of that threshold: the mean of the true-accept and true-reject rates. */
  accuracy: number;
  samePairs: number;
  differentPairs: number;
  /** Mean similarity of same-person and of different-person pairs. */
  sameMean: number;
  differentMean: number;
}

/** Measures the judge's threshold on the labelled pairs of the gallery (every pair of photos). */
export function calibrate(gallery: Labelled[], metric: Metric): Calibration {
  galleryPeople(gallery);
  const pairs: { s: number; same: boolean }[] = [];
  for (let i = 0; i < gallery.length; i++)
    for (let j = i + 1; j < gallery.length; j++) pairs.push({ s: similarity(metric, gallery[i].embedding, gallery[j].embedding), same: gallery[i].person === gallery[j].person });
  pairs.sort((a, b) => a.s - b.s);
  const S = pairs.filter((p) => p.same).length;
  const D = pairs.length - S;
  // Threshold between consecutive scores: everything above is "same".
  let best = { threshold: pairs[0].s - 1e-6, accuracy: 0.5 };
  let sameBelow = 0;
  let diffBelow = 0;
  for (let k = 0; k < pairs.length; k++) {
    if (pairs[k].same) sameBelow++;
    else diffBelow++;
    const t = k + 1 < pairs.length ? (pairs[k].s + pairs[k + 1].s) / 2 : pairs[k].s + 1e-6;
    const acc = ((S - sameBelow) / S + diffBelow / D) / 2;
    if (acc > best.accuracy) best = { threshold: t, accuracy: acc };
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  return {
    ...best,
    samePairs: S,
    differentPairs: D,
    sameMean: mean(pairs.filter((p) => p.same).map((p) => p.s)),
    differentMean: mean(pairs.filter((p) => !p.same).map((p) => p.s)),
  };
}

/** The verdict on one reconstruction, or null when its person has no other photo in the gallery. */
export function identify(probe: Probe, gallery: Labelled[], metric: Metric, threshold: number): Verdict | null {
  const best = new Map<string, number>();
  for (const g of gallery) {
    if (g.person === probe.person && g.name === probe.name) continue;
    const s = similarity(metric, probe.embedding, g.embedding);
    best.set(g.person, Math.max(best.get(g.person) ?? -Infinity, s));
  }
  const score = best.get(probe.person);
  if (score === undefined) return null;
  let rank1 = probe.person;
  let rank1Score = score;
  let rank = 1;
  let bestOther = -Infinity;
  for (const [person, s] of best) {
    if (person === probe.person) continue;
    bestOther = Math.max(bestOther, s);
    if (s >= score) rank++;
    if (s > rank1Score) {
      rank1 = person;
      rank1Score = s;
    }
  }
  return { file: probe.file, person: probe.person, source: probe.name, rank1, rank1Score, score, bestOther, rank, identified: rank === 1, clears: score >= threshold };
}

export interface Summary {
  judged: number;
  identified: number;
  /** Identified and at or above the threshold. */
  identifiedAndClears: number;
  /** identified / judged. */
  rate: number;
  rateClears: number;
  meanScore: number;
  /** Mean of the best other person's score: beside meanScore, how far the true person stands out. */
  meanBestOther: number;
  /** The rate a judge guessing at random would reach: the mean of 1 / (people it chooses among). */
  chance: number;
}

export function summarize(verdicts: Verdict[], people: number): Summary {
  const n = verdicts.length;
  const identified = verdicts.filter((v) => v.identified).length;
  const both = verdicts.filter((v) => v.identified && v.clears).length;
  return {
    judged: n,
    identified,
    identifiedAndClears: both,
    rate: n ? identified / n : 0,
    rateClears: n ? both / n : 0,
    meanScore: n ? verdicts.reduce((a, v) => a + v.score, 0) / n : 0,
    meanBestOther: n ? verdicts.reduce((a, v) => a + v.bestOther, 0) / n : 0,
    chance: 1 / people,
  };
}

/**
 * Person and photo name of a gallery file or reconstruction from its path relative to the gallery (or the
 * reconstructions' folder): "<person>/<photo>.png", or "<person>_<k>.png" in a flat folder.
 */
export function labelOf(relPath: string): { person: string; name: string } {
  const parts = relPath.split(/[\\/]/).filter(Boolean);
  const file = parts.at(-1) ?? '';
  const name = file.replace(/\.[^.]*$/, '');
  if (parts.length >= 2) return { person: parts.at(-2)!, name };
  const m = /^(.+)[_-][^_-]+$/.exec(name);
  if (!m) throw new RangeError(`judge: cannot tell whose face '${relPath}' is: use <person>/<photo>.png or <person>_<k>.png`);
  return { person: m[1], name };
}
