// Per-channel constant Mul and Add after a Conv, folded into its weights and bias at load time (batch-norm
// folding): converters that keep a batch norm as Conv → Mul → Add (faceres, from tfjs) then run one kernel
// where they ran three, forward and backward. The module decides per run: a tapped value inside the chain
// keeps the unfolded nodes.
import type { NodeProto } from './proto.ts';
import type { HostTensor, Attr } from './load.ts';

export interface AffineFold {
  /** The Mul and Add nodes taken in, in order; each is the only reader of the value before it. */
  chain: number[];
  /** The Conv reading the folded weights and bias (initializers added by findAffineFolds). */
  node: NodeProto;
}

/** Who reads each value (a node index per reading input, so a node reading it twice counts twice) and which node makes it. */
export interface GraphIndex {
  readers: Map<string, number[]>;
  producer: Map<string, number>;
}

export function indexGraph(nodes: NodeProto[]): GraphIndex {
  const readers = new Map<string, number[]>();
  nodes.forEach((n, j) => (n.input ?? []).forEach((i) => readers.set(i, [...(readers.get(i) ?? []), j])));
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => (n.output ?? []).forEach((o) => producer.set(o, k)));
  return { readers, producer };
}

/** The per-channel values of a constant that broadcasts over [N, C, H, W] along C only (or is a scalar). */
function perChannel(t: HostTensor | undefined, C: number): Float64Array | null {
  if (!t || t.kind !== 'float' || t.shape.length > 4) return null;
  const s = [...Array(4 - t.shape.length).fill(1), ...t.shape];
  if (s[0] !== 1 || s[2] !== 1 || s[3] !== 1 || (s[1] !== 1 && s[1] !== C)) return null;
  return Float64Array.from({ length: C }, (_, o) => Number(t.data[s[1] === 1 ? 0 : o]));
}

/**
 * A Conv's weights and bias through a chain of per-channel Mul and Add steps, in float64 in the chain's order
 * (each weight multiplied by each Mul's constant in turn; the bias multiplied and shifted), rounded once.
 */
function folded(w: HostTensor, b: HostTensor | undefined, steps: { mul: boolean; c: Float64Array }[]): { weight: Float32Array; bias: Float32Array } {
  const C = w.shape[0];
  const per = w.data.length / C;
  const muls = steps.filter((s) => s.mul).map((s) => s.c);
  const weight = new Float32Array(w.data.length);
  for (let o = 0; o < C; o++)
    for (let i = o * per; i < (o + 1) * per; i++) {
      let x = Number(w.data[i]);
      for (const c of muls) x *= c[o];
      weight[i] = x;
    }
  const bias = b ? Float64Array.from(b.data, Number) : new Float64Array(C);
  for (const { mul, c } of steps) for (let o = 0; o < C; o++) bias[o] = mul ? bias[o] * c[o] : bias[o] + c[o];
  return { weight, bias: Float32Array.from(bias) };
}

/**
 * Finds every Conv whose output alone feeds a per-channel constant Mul or Add (and so on down a chain), and
 * adds the folded weights and bias to `inits`: W'[o] = W[o]·Πscale, b'[o] = (b[o]·scale + shift)….
 * `kept` names values that must stay computed (graph outputs).
 */
export function findAffineFolds(nodes: NodeProto[], { readers }: GraphIndex, inits: Map<string, HostTensor>, kept: Set<string>): Map<number, AffineFold> {
  const folds = new Map<number, AffineFold>();
  nodes.forEach((n, k) => {
    const [x, wName, bName] = n.input ?? [];
    const w = inits.get(wName);
    if (n.opType !== 'Conv' || !w || w.shape.length !== 4 || (n.output ?? []).length !== 1 || (bName && !inits.get(bName))) return;
    const C = w.shape[0];
    const chain: number[] = [];
    const steps: { mul: boolean; c: Float64Array }[] = [];
    let v = n.output![0];
    for (;;) {
      const r = readers.get(v);
      if (!r || r.length !== 1 || kept.has(v)) break;
      const m = nodes[r[0]];
      const other = (m.input ?? []).find((i) => i !== v);
      const c = (m.input ?? []).length === 2 && (m.opType === 'Mul' || m.opType === 'Add') ? perChannel(inits.get(other!), C) : null;
      if (!c || (m.input ?? []).filter((i) => i === v).length !== 1) break;
      steps.push({ mul: m.opType === 'Mul', c });
      chain.push(r[0]);
      v = m.output![0];
    }
    // Only now the weights: most Convs have no chain, and reading every weight of a 22 MB model for them was
    // most of its load time.
    if (!chain.length) return;
    const { weight, bias } = folded(w, bName ? inits.get(bName) : undefined, steps);
    const tag = `${v}#folded`;
    inits.set(`${tag}/W`, { shape: w.shape, data: weight, kind: 'float' });
    inits.set(`${tag}/B`, { shape: [C], data: bias, kind: 'float' });
    folds.set(k, { chain, node: { ...n, input: [x, `${tag}/W`, `${tag}/B`], output: [v] } as NodeProto });
  });
  return folds;
}

/** A zero Pad of the spatial axes taken into the Conv that alone reads it (its pads added to the Conv's). */
export interface PadFold {
  /** The Pad node. */
  pad: number;
  /** The Conv reading the Pad's input, and its attributes with the pads summed. */
  node: NodeProto;
  attrs: Map<string, Attr>;
}

/** The [top, left, bottom, right] of a constant zero Pad of an NCHW tensor's H and W only, or null. */
function spatialZeroPads(n: NodeProto, attrs: Map<string, Attr>, inits: Map<string, HostTensor>): number[] | null {
  const [, padsName, valueName, axesName] = n.input ?? [];
  if ((attrs.get('mode') ?? 'constant') !== 'constant' || axesName) return null;
  const value = valueName ? inits.get(valueName) : undefined;
  if ((valueName && (!value || Array.from(value.data, Number).some((v) => v !== 0))) || Number(attrs.get('value') ?? 0) !== 0) return null;
  const pads = padsName ? inits.get(padsName) && Array.from(inits.get(padsName)!.data, Number) : (attrs.get('pads') as number[] | undefined);
  if (!pads || pads.length !== 8 || [0, 1, 4, 5].some((i) => pads[i] !== 0) || pads.some((v) => v < 0)) return null;
  return [pads[2], pads[3], pads[6], pads[7]];
}

/**
 * Finds every zero Pad of H and W whose output only a 2-D Conv reads (as its input, with explicit pads or
 * none): exporters write Pad → Conv where a Conv's own padding would do (mobileface's 13 depthwise layers), and
 * the pass there and back costs as much as the depthwise convolution. A Conv with an affine fold keeps its Pad.
 */
export function findPadFolds(nodes: NodeProto[], { readers, producer }: GraphIndex, attrs: Map<string, Attr>[], inits: Map<string, HostTensor>, kept: Set<string>, affine: Map<number, AffineFold>): Map<number, PadFold> {
  const folds = new Map<number, PadFold>();
  nodes.forEach((n, k) => {
    const v = (n.input ?? [])[0];
    const p = producer.get(v);
    if (n.opType !== 'Conv' || p === undefined || nodes[p].opType !== 'Pad' || affine.has(k) || kept.has(v)) return;
    if (readers.get(v)?.length !== 1 || (n.input ?? []).indexOf(v, 1) !== -1) return;
    const a = attrs[k];
    const own = (a.get('pads') as number[] | undefined) ?? [0, 0, 0, 0];
    if (!['NOTSET', undefined].includes(a.get('auto_pad') as string | undefined) || own.length !== 4) return;
    const extra = spatialZeroPads(nodes[p], attrs[p], inits);
    if (!extra) return;
    const summed = new Map(a);
    summed.set('pads', own.map((x, i) => x + extra[i]));
    folds.set(k, { pad: p, node: { ...n, input: [nodes[p].input![0], ...(n.input ?? []).slice(1)] } as NodeProto, attrs: summed });
  });
  return folds;
}
