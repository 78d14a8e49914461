// An ONNX graph as an executable, differentiable module. Values are either host constants (initializers,
// Constant nodes and all shape arithmetic: Shape, Gather, Concat, Unsqueeze … are computed on the host, never
// dispatched) or engine tensors produced by differentiable ops. Any node output can be tapped by name.
import { Tensor, keep } from '../../tensor/tensor.ts';
import { fmt } from '../../tensor/shape.ts';
import * as O from '../../autograd/ops.ts';
import { conv2d, convTranspose2d, type Padding } from '../../autograd/conv.ts';
import { maxPool2d, avgPool2d, globalAvgPool } from '../../autograd/pool.ts';
import { affineAct } from '../../autograd/affine_act.ts';
import type { NodeProto, ModelProto } from './proto.ts';
import { decodeModel, defaultOpset, tensorFromProto, readAttrs, OnnxError, OPSET_FLOOR, type HostTensor, type Attr } from './load.ts';
import { hostOp, HOST_OPS } from './host_ops.ts';

type Value = { host: HostTensor; gpu?: undefined } | { gpu: Tensor; host?: undefined };

export interface IoInfo {
  name: string;
  /** Fixed sizes as numbers, symbolic ones (batch) as their names. */
  dims: (number | string)[];
}

export interface RunOptions {
  /** Node outputs to return besides the graph outputs (e.g. guide layers). */
  taps?: string[];
}

const toNum = (v: number | { toNumber(): number }) => (typeof v === 'number' ? v : v.toNumber());

export class OnnxModule {
  readonly name: string;
  readonly opset: number;
  readonly inputs: IoInfo[];
  readonly outputs: IoInfo[];
  readonly metadata: Record<string, string>;
  private readonly initializers = new Map<string, HostTensor>();
  private readonly nodes: NodeProto[];
  private readonly attrs: Map<string, Attr>[];
  private readonly gpuConstants = new Map<string, Tensor>();

  static fromBytes(bytes: Uint8Array, name = 'model'): OnnxModule {
    return new OnnxModule(decodeModel(bytes, name), name);
  }

  constructor(model: ModelProto, name = 'model') {
    const g = model.graph!;
    this.name = name;
    this.opset = defaultOpset(model);
    for (const t of g.initializer ?? []) this.initializers.set(t.name!, tensorFromProto(t, `${name}`));
    const dims = (vi: NonNullable<typeof g.input>[number]) =>
      (vi.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNum(d.dimValue) : '?'));
    this.inputs = (g.input ?? []).filter((i) => !this.initializers.has(i.name!)).map((i) => ({ name: i.name!, dims: dims(i) }));
    this.outputs = (g.output ?? []).map((o) => ({ name: o.name!, dims: dims(o) }));
    this.metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key!, p.value!]));
    this.nodes = g.node ?? [];
    this.attrs = this.nodes.map((n) => readAttrs(n.attribute, `${name}: node '${n.name}'`));
    // Every node input must be produced earlier (ONNX requires topological order) or be a graph input.
    const known = new Set<string>([...this.initializers.keys(), ...this.inputs.map((i) => i.name), '']);
    this.nodes.forEach((n) => {
      for (const i of n.input ?? []) {
        if (!known.has(i)) {
          throw new OnnxError(`${name}: node '${n.name}' (${n.opType}) reads '${i}', which no initializer, input or earlier node provides`);
        }
      }
      if (!SUPPORTED.has(n.opType!) && !HOST_OPS.has(n.opType!)) {
        throw new OnnxError(`${name}: unsupported op '${n.opType}' (node '${n.name}', opset ${this.opset})`);
      }
      const floor = OPSET_FLOOR[n.opType!];
      if (floor && this.opset < floor) {
        throw new OnnxError(`${name}: node '${n.name}' (${n.opType}, opset ${this.opset}): faceinv reads ${n.opType} from opset ${floor} on (before it, its parameters were attributes); export the model at opset ${floor} or later`);
      }
      for (const o of n.output ?? []) known.add(o);
    });
    for (const o of this.outputs) if (!known.has(o.name)) throw new OnnxError(`${name}: output '${o.name}' is produced by no node`);
  }

  /** Node outputs that can be tapped, with the op that makes each. */
  layers(): { name: string; op: string }[] {
    return this.nodes.flatMap((n) => (n.output ?? []).map((o) => ({ name: o, op: n.opType! })));
  }

  /**
   * Runs the graph on engine tensors. The result holds the graph outputs and the requested taps; all are
   * differentiable w.r.t. the inputs. Intermediates belong to the caller's scope (wrap the call in tidy).
   */
  run(feeds: Record<string, Tensor>, opts: RunOptions = {}): Record<string, Tensor> {
    const env = new Map<string, Value>();
    for (const [k, v] of this.initializers) env.set(k, { host: v });
    for (const inp of this.inputs) {
      const t = feeds[inp.name];
      if (!t) throw new OnnxError(`${this.name}: input '${inp.name}' ${fmtDims(inp.dims)} was not given`);
      const bad = t.rank !== inp.dims.length || inp.dims.some((d, i) => typeof d === 'number' && d !== t.shape[i]);
      if (bad) throw new OnnxError(`${this.name}: input '${inp.name}' expects ${fmtDims(inp.dims)}, got ${fmt(t.shape)}`);
      env.set(inp.name, { gpu: t });
    }
    const wanted = new Set([...this.outputs.map((o) => o.name), ...(opts.taps ?? [])]);
    for (const tap of opts.taps ?? []) {
      if (!this.nodes.some((n) => n.output?.includes(tap))) throw new OnnxError(`${this.name}: no node output named '${tap}' to tap`);
    }
    this.nodes.forEach((n, k) => {
      const ins = (n.input ?? []).map((i) => (i === '' ? undefined : env.get(i)));
      const where = `${this.name}: node '${n.name}' (${n.opType}, opset ${this.opset})`;
      let outs: Value[];
      try {
        outs = this.exec(n, this.attrs[k], ins, where);
      } catch (e) {
        if (e instanceof OnnxError) throw e;
        throw new OnnxError(`${where}: ${(e as Error).message}`);
      }
      (n.output ?? []).forEach((o, i) => outs[i] && env.set(o, outs[i]));
    });
    const result: Record<string, Tensor> = {};
    for (const name of wanted) result[name] = this.toGpu(env.get(name)!, name);
    return result;
  }

  private toGpu(v: Value, name: string): Tensor {
    if (v.gpu) return v.gpu;
    const cached = this.gpuConstants.get(name);
    if (cached && !cached.isDisposed) return cached;
    const t = O.tensor(v.host.data instanceof Float32Array ? v.host.data : Float32Array.from(v.host.data), v.host.shape);
    // Weights and Constant outputs are the same on every run: upload once, keep until dispose().
    if (this.initializers.has(name) || this.isConstantOutput(name)) this.gpuConstants.set(name, keep(t));
    return t;
  }

  private isConstantOutput(name: string): boolean {
    return this.nodes.some((n) => n.opType === 'Constant' && n.output?.[0] === name);
  }

  private exec(n: NodeProto, a: Map<string, Attr>, ins: (Value | undefined)[], where: string): Value[] {
    const op = n.opType!;
    const allHost = ins.every((v) => !v || v.host);
    if (HOST_OPS.has(op) && (allHost || op === 'Shape' || op === 'Constant')) {
      return hostOp(op, a, ins.map((v) => (v ? (v.host ?? { shape: [...v.gpu!.shape], data: [], kind: 'float' as const }) : undefined)), this.opset, where).map((h) => ({ host: h }));
    }
    const names = n.input ?? [];
    const gpu = (i: number): Tensor => {
      const v = ins[i];
      if (!v) throw new OnnxError(`${where}: input ${i} is missing`);
      return this.toGpu(v, names[i]);
    };
    const hostInts = (i: number): number[] | undefined => {
      const v = ins[i];
      if (!v) return undefined;
      if (!v.host) throw new OnnxError(`${where}: input ${i} ('${names[i]}') must be a constant known at load time`);
      return Array.from(v.host.data, Number);
    };
    const int = (k: string, d: number) => (a.get(k) as number | undefined) ?? d;
    const ints = (k: string) => a.get(k) as number[] | undefined;
    const out = (t: Tensor): Value[] => [{ gpu: t }];
    switch (op) {
      case 'Identity':
      case 'Dropout':
        return [{ gpu: gpu(0) }];
      case 'Cast': {
        if (int('to', 1) !== 1) throw new OnnxError(`${where}: casting a run-time tensor to a non-float type is not supported`);
        return out(gpu(0));
      }
      case 'Relu':
        return out(O.relu(gpu(0)));
      case 'Sigmoid':
        return out(O.sigmoid(gpu(0)));
      case 'Tanh':
        return out(O.tanh(gpu(0)));
      case 'Sqrt':
        return out(O.sqrt(gpu(0)));
      case 'Exp':
        return out(O.exp(gpu(0)));
      case 'Neg':
        return out(O.neg(gpu(0)));
      case 'LeakyRelu':
        return out(O.leakyRelu(gpu(0), (a.get('alpha') as number | undefined) ?? 0.01));
      case 'PRelu': {
        const x = gpu(0);
        // relu(x) − slope · relu(−x), the slope broadcasting unidirectionally onto x.
        return out(O.sub(O.relu(x), O.mul(gpu(1), O.relu(O.neg(x)))));
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Pow': {
        const f = { Add: O.add, Sub: O.sub, Mul: O.mul, Div: O.div, Pow: O.pow }[op];
        const scalarOf = (v: Value | undefined) => (v?.host && v.host.data.length === 1 && v.host.shape.length === 0 ? Number(v.host.data[0]) : null);
        const sb = scalarOf(ins[1]);
        if (sb !== null) return out(f(gpu(0), sb));
        const sa = op === 'Pow' ? null : scalarOf(ins[0]);
        if (sa !== null) return out(f(sa, gpu(1)));
        return out(f(gpu(0), gpu(1)));
      }
      case 'MatMul':
        return out(O.matmul(gpu(0), gpu(1)));
      case 'Gemm': {
        let y = O.matmulCore(gpu(0), gpu(1), int('transA', 0) === 1, int('transB', 0) === 1);
        const alpha = (a.get('alpha') as number | undefined) ?? 1;
        const beta = (a.get('beta') as number | undefined) ?? 1;
        if (alpha !== 1) y = O.mul(y, alpha);
        if (ins[2]) y = O.add(y, beta === 1 ? gpu(2) : O.mul(gpu(2), beta));
        return out(y);
      }
      case 'Conv':
      case 'ConvTranspose': {
        const x = gpu(0);
        if (x.rank !== 4) throw new OnnxError(`${where}: only 2-D convolutions (NCHW input) are supported, got input ${fmt(x.shape)}`);
        const w = gpu(1);
        const b = ins[2] ? gpu(2) : undefined;
        const kernel = ints('kernel_shape') ?? w.shape.slice(2);
        const padding = this.convPadding(a, where, kernel);
        const common = { stride: pair(ints('strides')), dilation: pair(ints('dilations')), groups: int('group', 1), padding };
        if (op === 'Conv') return out(conv2d(x, w, b, common));
        if (ints('output_shape')) throw new OnnxError(`${where}: ConvTranspose with output_shape is not supported; give pads and output_padding`);
        return out(convTranspose2d(x, w, b, { ...common, outputPadding: pair(ints('output_padding'), 0) }));
      }
      case 'BatchNormalization': {
        const [scale, bias, mean, varr] = [1, 2, 3, 4].map((i) => ins[i]?.host);
        if (!scale || !bias || !mean || !varr) throw new OnnxError(`${where}: BatchNormalization parameters must be constants (inference mode)`);
        const eps = (a.get('epsilon') as number | undefined) ?? 1e-5;
        const s = Float32Array.from(scale.data, (v, c) => Number(v) / Math.sqrt(Number(varr.data[c]) + eps));
        const cache = (suffix: string, data: Float32Array) => {
          const key = `${n.name}/${suffix}`;
          const hit = this.gpuConstants.get(key);
          if (hit && !hit.isDisposed) return hit;
          const t = keep(O.tensor(data, [data.length]));
          this.gpuConstants.set(key, t);
          return t;
        };
        return out(
          affineAct(gpu(0), {
            bias: cache('neg_mean', Float32Array.from(mean.data, (v) => -Number(v))),
            scale: cache('scale', s),
            shift: cache('shift', Float32Array.from(bias.data, Number)),
            relu: false,
          }),
        );
      }
      case 'MaxPool':
      case 'AveragePool': {
        const x = gpu(0);
        if (x.rank !== 4) throw new OnnxError(`${where}: only 2-D pooling (NCHW input) is supported, got ${fmt(x.shape)}`);
        const kernel = ints('kernel_shape');
        if (!kernel || kernel.length !== 2) throw new OnnxError(`${where}: kernel_shape must have 2 values`);
        const padding = this.convPadding(a, where, kernel, x.shape.slice(2), ints('strides'));
        if (typeof padding === 'string') throw new OnnxError(`${where}: unexpected padding`);
        const o = { kernel: pair(kernel), stride: pair(ints('strides')), padding: padding as [number, number, number, number], ceilMode: int('ceil_mode', 0) === 1, dilation: pair(ints('dilations')) };
        if (op === 'MaxPool') {
          if ((n.output ?? []).length > 1 && n.output![1]) throw new OnnxError(`${where}: the Indices output of MaxPool is not supported`);
          return out(maxPool2d(x, o));
        }
        return out(avgPool2d(x, { ...o, dilation: undefined, countIncludePad: int('count_include_pad', 0) === 1 }));
      }
      case 'GlobalAveragePool':
        return out(globalAvgPool(gpu(0)));
      case 'Flatten': {
        const x = gpu(0);
        const axis = int('axis', 1) < 0 ? int('axis', 1) + x.rank : int('axis', 1);
        const lead = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
        return out(O.reshape(x, [lead, x.size / Math.max(lead, 1)]));
      }
      case 'Reshape': {
        const x = gpu(0);
        const shape = hostInts(1)!;
        const allowZero = int('allowzero', 0) === 1;
        return out(O.reshape(x, shape.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d))));
      }
      case 'Squeeze':
      case 'Unsqueeze': {
        const x = gpu(0);
        const axes = this.opset >= 13 ? hostInts(1) : ints('axes');
        const [h] = hostOp(op, new Map([['axes', axes]]), [{ shape: [...x.shape], data: [], kind: 'float' }], 11, where, true);
        return out(O.reshape(x, h.shape));
      }
      case 'Transpose':
        return out(O.transpose(gpu(0), ints('perm')));
      case 'Concat':
        return out(O.concat(ins.map((_, i) => gpu(i)), int('axis', 0)));
      case 'Pad': {
        const mode = (a.get('mode') as string | undefined) ?? 'constant';
        if (mode !== 'constant') throw new OnnxError(`${where}: Pad mode '${mode}' is not supported (only constant)`);
        const x = gpu(0);
        const pads = hostInts(1) ?? ints('pads');
        if (!pads || pads.length !== 2 * x.rank) throw new OnnxError(`${where}: pads must have ${2 * x.rank} values for input ${fmt(x.shape)}`);
        if (ins[3]) throw new OnnxError(`${where}: the axes input of Pad is not supported`);
        const value = ins[2]?.host ? Number(ins[2].host.data[0] ?? 0) : ((a.get('value') as number | undefined) ?? 0);
        return out(O.pad(x, x.shape.map((_, d) => [pads[d], pads[d + x.rank]] as [number, number]), value));
      }
      case 'Slice': {
        const x = gpu(0);
        const starts = hostInts(1)!;
        const ends = hostInts(2)!;
        const axes = hostInts(3) ?? starts.map((_, i) => i);
        const steps = hostInts(4);
        const clip = (v: number) => Math.max(Math.min(v, 2 ** 31 - 1), -(2 ** 31));
        return out(O.slice(x, { starts: starts.map(clip), ends: ends.map(clip), axes, steps }));
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceL2':
      case 'ReduceMax': {
        const x = gpu(0);
        const axesFromInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
        let axes = axesFromInput ? hostInts(1) : ints('axes');
        const keep = int('keepdims', 1) === 1;
        if (!axes || axes.length === 0) {
          if (int('noop_with_empty_axes', 0) === 1) return out(x);
          axes = undefined;
        }
        if (op === 'ReduceMean') return out(O.mean(x, axes, keep));
        if (op === 'ReduceSum') return out(O.sum(x, axes, keep));
        if (op === 'ReduceMax') return out(O.max(x, axes, keep));
        return out(O.sqrt(O.sum(O.square(x), axes, keep)));
      }
      case 'LpNormalization': {
        if (int('p', 2) !== 2) throw new OnnxError(`${where}: only p = 2 is supported`);
        const x = gpu(0);
        return out(O.div(x, O.sqrt(O.sum(O.square(x), int('axis', -1), true))));
      }
      case 'Clip': {
        const x = gpu(0);
        const lo = this.opset >= 11 ? (ins[1]?.host ? Number(ins[1].host.data[0]) : -Infinity) : ((a.get('min') as number | undefined) ?? -Infinity);
        const hi = this.opset >= 11 ? (ins[2]?.host ? Number(ins[2].host.data[0]) : Infinity) : ((a.get('max') as number | undefined) ?? Infinity);
        return out(O.clamp(x, Math.max(lo, -3.4e38), Math.min(hi, 3.4e38)));
      }
      case 'Softmax': {
        const x = gpu(0);
        const axis = int('axis', this.opset >= 13 ? -1 : 1);
        if (this.opset < 13 && (axis < 0 ? axis + x.rank : axis) !== x.rank - 1) {
          throw new OnnxError(`${where}: Softmax before opset 13 flattens from axis ${axis}; only the last axis is supported`);
        }
        const e = O.exp(O.sub(x, O.max(x, axis, true)));
        return out(O.div(e, O.sum(e, axis, true)));
      }
      default:
        throw new OnnxError(`${where}: unsupported op '${op}' on run-time tensors`);
    }
  }

  /** ONNX pads / auto_pad → the engine's [top, left, bottom, right] or 'same'. */
  private convPadding(a: Map<string, Attr>, where: string, kernel: number[], spatial?: number[], strides?: number[]): Padding {
    const auto = (a.get('auto_pad') as string | undefined) ?? 'NOTSET';
    if (auto === 'VALID') return [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      if (!spatial) return auto === 'SAME_UPPER' ? 'same' : sameLowerUnsupported(where);
      const s = strides ?? [1, 1];
      const tot = spatial.map((n, i) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + kernel[i] - n, 0));
      const lo = tot.map((t) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
      return [lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1]];
    }
    if (auto !== 'NOTSET') throw new OnnxError(`${where}: auto_pad '${auto}' is not supported`);
    const pads = a.get('pads') as number[] | undefined;
    if (!pads) return [0, 0, 0, 0];
    if (pads.length !== 4) throw new OnnxError(`${where}: pads must have 4 values for a 2-D op, got ${pads.length}`);
    return [pads[0], pads[1], pads[2], pads[3]];
  }

  /** Releases the weights uploaded to the GPU. */
  dispose(): void {
    for (const t of this.gpuConstants.values()) t.dispose();
    this.gpuConstants.clear();
  }
}

function sameLowerUnsupported(where: string): never {
  throw new OnnxError(`${where}: auto_pad SAME_LOWER on a convolution is not supported; give explicit pads`);
}

const pair = (v: number[] | undefined, d = 1): [number, number] => (v && v.length >= 2 ? [v[0], v[1]] : [d, d]);
const fmtDims = (dims: (number | string)[]) => `[${dims.join(',')}]`;

const SUPPORTED = new Set([
  'Identity', 'Dropout', 'Cast', 'Relu', 'Sigmoid', 'Tanh', 'Sqrt', 'Exp', 'Neg', 'LeakyRelu', 'PRelu', 'Add', 'Sub', 'Mul', 'Div',
  'Pow', 'MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'BatchNormalization', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten',
  'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Pad', 'Slice', 'ReduceMean', 'ReduceSum', 'ReduceL2', 'ReduceMax',
  'LpNormalization', 'Clip', 'Softmax',
]);
