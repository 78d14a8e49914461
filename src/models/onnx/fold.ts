// Per-channel constant Mul and Add after a Conv, folded into its weights and bias at load time (batch-norm
// folding): converters that keep a batch norm as Conv → Mul → Add (faceres, from tfjs) then run one kernel
// where they ran three, forward and backward. The module decides per run: a tapped value inside the chain
// keeps the unfolded nodes.
import type { NodeProto } from './proto.ts';
import type { HostTensor } from './load.ts';

export interface AffineFold {
  /** The Mul and Add nodes taken in, in order; each is the only reader of the value before it. */
  chain: number[];
  /** The Conv reading the folded weights and bias (initializers added by findAffineFolds). */
  node: NodeProto;
}

/** The per-channel values of a constant that broadcasts over [N, C, H, W] along C only (or is a scalar). */
function perChannel(t: HostTensor | undefined, C: number): Float64Array | null {
  if (!t || t.kind !== 'float' || t.shape.length > 4) return null;
  const s = [...Array(4 - t.shape.length).fill(1), ...t.shape];
  if (s[0] !== 1 || s[2] !== 1 || s[3] !== 1 || (s[1] !== 1 && s[1] !== C)) return null;
  return Float64Array.from({ length: C }, (_, o) => Number(t.data[s[1] === 1 ? 0 : o]));
}

/**
 * Finds every Conv whose output alone feeds a per-channel constant Mul or Add (and so on down a chain), and
 * adds the folded weights and bias to `inits`: W'[o] = W[o]·Πscale, b'[o] = (b[o]·scale + shift)….
 * `kept` names values that must stay computed (graph outputs).
 */
export function findAffineFolds(nodes: NodeProto[], inits: Map<string, HostTensor>, kept: Set<string>): Map<number, AffineFold> {
  const readers = new Map<string, number[]>();
  nodes.forEach((n, j) => (n.input ?? []).forEach((i) => readers.set(i, [...(readers.get(i) ?? []), j])));
  const folds = new Map<number, AffineFold>();
  nodes.forEach((n, k) => {
    const [x, wName, bName] = n.input ?? [];
    const w = inits.get(wName);
    if (n.opType !== 'Conv' || !w || w.shape.length !== 4 || (n.output ?? []).length !== 1 || (bName && !inits.get(bName))) return;
    const C = w.shape[0];
    const per = w.data.length / C;
    const weight = Float64Array.from(w.data, Number);
    const bias = bName ? Float64Array.from(inits.get(bName)!.data, Number) : new Float64Array(C);
    const chain: number[] = [];
    let v = n.output![0];
    for (;;) {
      const r = readers.get(v);
      if (!r || r.length !== 1 || kept.has(v)) break;
      const m = nodes[r[0]];
      const other = (m.input ?? []).find((i) => i !== v);
      const c = (m.input ?? []).length === 2 && (m.opType === 'Mul' || m.opType === 'Add') ? perChannel(inits.get(other!), C) : null;
      if (!c || (m.input ?? []).filter((i) => i === v).length !== 1) break;
      for (let o = 0; o < C; o++) {
        if (m.opType === 'Mul') {
          for (let i = 0; i < per; i++) weight[o * per + i] *= c[o];
          bias[o] *= c[o];
        } else bias[o] += c[o];
      }
      chain.push(r[0]);
      v = m.output![0];
    }
    if (!chain.length) return;
    const tag = `${v}#folded`;
    inits.set(`${tag}/W`, { shape: w.shape, data: Float32Array.from(weight), kind: 'float' });
    inits.set(`${tag}/B`, { shape: [C], data: Float32Array.from(bias), kind: 'float' });
    folds.set(k, { chain, node: { ...n, input: [x, `${tag}/W`, `${tag}/B`], output: [v] } as NodeProto });
  });
  return folds;
}
