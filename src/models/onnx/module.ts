// An ONNX graph as an executable, differentiable module. Values are either host values (initializers,
// Constant nodes and everything computed from them and from shapes: Shape, Gather, Concat, Unsqueeze … are
// evaluated on the host once per input shape, never dispatched) or engine tensors produced by differentiable
// ops. Each op is one entry of op_table.ts. Any node output can be tapped by name.
import { Tensor, keep } from '../../tensor/tensor.ts';
import { fmt } from '../../tensor/shape.ts';
import * as O from '../../autograd/ops.ts';
import type { NodeProto, ModelProto } from './proto.ts';
import { decodeModel, defaultOpset, tensorFromProto, readAttrs, OnnxError, OPSET_FLOOR, type HostTensor, type Attr } from './load.ts';
import { shapeOnly } from './host_ops.ts';
import { OPS, type OpContext, type OpEntry } from './op_table.ts';
import { indexGraph, findAffineFolds, findPadFolds, type AffineFold, type PadFold, type GraphIndex } from './fold.ts';

type Value = { host: HostTensor; gpu?: undefined } | { gpu: Tensor; host?: undefined };

/**
 * What one set of input shapes fixes: every host value (shape arithmetic included, since a Shape of a run-time
 * tensor is known once the input shapes are) and their uploads. Derived on the first run at those shapes.
 */
interface ShapePlan {
  host: Map<string, HostTensor>;
  uploads: Map<string, Tensor>;
}

/** Plans kept per module; an inversion uses one or two input shapes, so a few suffice. */
const MAX_PLANS = 4;

/** One run's values by name, what is asked for, and the nodes taken in by others. */
interface RunState {
  env: Map<string, Value>;
  wanted: Set<string>;
  plan: ShapePlan;
  /** Node → the node that computed its output with its own. */
  fusedInto: Map<number, number>;
  /** Residual Add → the Conv whose run waits for it (convIntoAdd). */
  waiting: Map<number, number>;
}

/** What a node's run takes in besides itself: the Relu after it, or a residual Add and its Relu. */
interface Fuse {
  relu?: boolean;
  residual?: Tensor;
}

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

/** An ONNX graph as engine ops: takes input tensors, returns outputs and any tapped layer, all differentiable. */
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
  private readonly plans = new Map<string, ShapePlan>();
  /** Node k → the Relu node that alone reads its output, where node k's op can take the ReLU in (gpuRelu). */
  private readonly reluAfter = new Map<number, number>();
  /** Conv k → [the residual Add j that alone reads its output (its ReLU fused, if it has one), and the Add's other input]. */
  private readonly convIntoAdd = new Map<number, [number, string]>();
  /** Conv k → the zero Pad before it, taken into its padding (fold.ts); and the Pad's node → k. */
  private readonly padFolds: Map<number, PadFold>;
  private readonly paddedBy = new Map<number, number>();
  /** Conv k → the per-channel Mul/Add chain after it, folded into its weights (fold.ts). */
  private readonly folds: Map<number, AffineFold>;

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
      if (!Object.hasOwn(OPS, n.opType!)) {
        throw new OnnxError(`${name}: unsupported op '${n.opType}' (node '${n.name}', opset ${this.opset})`);
      }
      const floor = OPSET_FLOOR[n.opType!];
      if (floor && this.opset < floor) {
        throw new OnnxError(`${name}: node '${n.name}' (${n.opType}, opset ${this.opset}): faceinv reads ${n.opType} from opset ${floor} on (before it, its parameters were attributes); export the model at opset ${floor} or later`);
      }
      for (const o of n.output ?? []) known.add(o);
    });
    for (const o of this.outputs) if (!known.has(o.name)) throw new OnnxError(`${name}: output '${o.name}' is produced by no node`);
    const graph = indexGraph(this.nodes);
    const kept = new Set(this.outputs.map((o) => o.name));
    this.folds = findAffineFolds(this.nodes, graph, this.initializers, kept);
    this.padFolds = findPadFolds(this.nodes, graph, this.attrs, this.initializers, kept, this.folds);
    for (const [k, f] of this.padFolds) this.paddedBy.set(f.pad, k);
    this.findFusableRelus(graph, kept);
  }

  private findFusableRelus({ readers, producer }: GraphIndex, kept: Set<string>): void {
    // A value read once, by the node that would take its producer in, and not a graph output.
    const alone = (v: string) => readers.get(v)?.length === 1 && !kept.has(v);
    this.nodes.forEach((n, j) => {
      const v = (n.input ?? [])[0];
      if (n.opType !== 'Relu' || v === undefined || !alone(v)) return;
      const k = producer.get(v);
      if (k !== undefined && OPS[this.nodes[k].opType!].gpuRelu && (this.nodes[k].output ?? []).length === 1) this.reluAfter.set(k, j);
    });
    // A residual block's Conv → Add(·, residual) (→ Relu), the Conv's output read by the Add alone: the Conv
    // adds the residual (and applies the ReLU) in its output write (the later Conv where both inputs are).
    for (const [j, add] of this.nodes.entries()) {
      if (add.opType !== 'Add' || add.input?.length !== 2) continue;
      const convs = add.input.map((v, i) => ({ v, i, k: producer.get(v) })).filter(({ v, k }) => k !== undefined && this.nodes[k].opType === 'Conv' && !this.folds.has(k) && alone(v) && this.nodes[k].output?.length === 1);
      const last = convs.sort((a, b) => b.k! - a.k!)[0];
      if (last) this.convIntoAdd.set(last.k!, [j, add.input[1 - last.i]]);
    }
  }

  /** Node outputs that can be tapped, with the op that makes each. */
  layers(): { name: string; op: string }[] {
    return this.nodes.flatMap((n) => (n.output ?? []).map((o) => ({ name: o, op: n.opType! })));
  }

  /**
   * The same graph taking `input` at other fixed sizes (e.g. a fully convolutional network with global pooling
   * at a smaller image). Shapes are planned per input shape, so nothing else changes; a graph whose later
   * shapes do not follow fails at run time naming the node.
   */
  resizeInput(input: string, dims: number[]): void {
    const io = this.inputs.find((i) => i.name === input);
    if (!io) throw new OnnxError(`${this.name}: no input named '${input}'`);
    if (dims.length !== io.dims.length) throw new OnnxError(`${this.name}: input '${input}' has rank ${io.dims.length}, not ${dims.length}`);
    io.dims = io.dims.map((d, i) => (typeof d === 'number' ? dims[i] : d));
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
    const plan = this.planFor(this.inputs.map((i) => fmt(feeds[i.name].shape)).join(';'));
    const state: RunState = { env, wanted, plan, fusedInto: new Map(), waiting: new Map() };
    this.nodes.forEach((node, k) => this.runNode(node, k, state));
    const result: Record<string, Tensor> = {};
    for (const name of wanted) {
      const v = env.get(name);
      if (!v) throw new OnnxError(`${this.name}: '${name}' was not computed (an optional output left out?)`);
      result[name] = this.toGpu(v, name, plan);
    }
    return result;
  }

  /** Runs node k into state.env, or leaves it to a later node (a fused ReLU, a folded chain, a residual Add). */
  private runNode(node: NodeProto, k: number, st: RunState): void {
    const { env, wanted, plan, fusedInto } = st;
    // A ReLU taken in by the node before it, or a Mul/Add folded into a Conv: its output is already there.
    if (fusedInto.has(k)) return;
    // A Pad whose Conv takes it in (unless its output is asked for): nothing to compute.
    if (this.paddedBy.has(k) && !wanted.has(node.output![0])) return;
    const into = this.convIntoAdd.get(k);
    if (into && env.get(this.asRun(k, wanted).node.input![0])?.gpu && !wanted.has(node.output![0])) {
      st.waiting.set(into[0], k);
      return;
    }
    if (st.waiting.has(k) && this.runWaitingConv(node, k, st)) return;
    // A Conv runs folded when its input is computed and no value inside the chain is asked for.
    const fold = this.folds.get(k);
    const folding = fold && env.get(node.input![0])?.gpu && ![node, ...fold.chain.slice(0, -1).map((j) => this.nodes[j])].some((m) => wanted.has(m.output![0]));
    if (folding) for (const j of fold.chain) fusedInto.set(j, k);
    const run = this.asRun(k, wanted);
    const n = folding ? fold.node : run.node;
    const last = folding ? fold.chain.at(-1)! : k;
    const outNames = n.output ?? [];
    // Host values depend only on the input shapes: a known plan skips the node.
    if (outNames.length && outNames.every((o) => !o || plan.host.has(o))) {
      for (const o of outNames) if (o) env.set(o, { host: plan.host.get(o)! });
      return;
    }
    const ins = (n.input ?? []).map((i) => (i === '' ? undefined : env.get(i)));
    const where = `${this.name}: node '${n.name}' (${n.opType}, opset ${this.opset})`;
    const relu = this.reluAfter.get(last);
    const fuse = relu !== undefined && !wanted.has(outNames[0]) && ins.some((v) => v?.gpu) ? relu : undefined;
    const outs = this.run1(n, run.attrs, ins, where, plan, { relu: fuse !== undefined });
    if (fuse !== undefined) {
      fusedInto.set(fuse, k);
      env.set(this.nodes[fuse].output![0], outs[0]);
      return;
    }
    outNames.forEach((o, i) => {
      if (!o || !outs[i]) return;
      env.set(o, outs[i]);
      if (outs[i].host) plan.host.set(o, outs[i].host);
    });
  }

  /** Node k as it runs: a Conv with the Pad before it taken in (padFolds) unless the Pad's output is asked for. */
  private asRun(k: number, wanted: Set<string>): { node: NodeProto; attrs: Map<string, Attr> } {
    const f = this.padFolds.get(k);
    return f && !wanted.has(this.nodes[f.pad].output![0]) ? f : { node: this.nodes[k], attrs: this.attrs[k] };
  }

  /**
   * At residual Add j, the Conv that waited for it: run with the Add's other input and the ReLU after it (if
   * any) taken in (true: the Add's or the ReLU's output is set), or, where that input is a constant, alone
   * (false: the Add runs next).
   */
  private runWaitingConv(add: NodeProto, j: number, st: RunState): boolean {
    const conv = st.waiting.get(j)!;
    // The ReLU after the Add is taken in too unless the sum itself is asked for.
    const relu = st.wanted.has(add.output![0]) ? undefined : this.reluAfter.get(j);
    const { node: n, attrs } = this.asRun(conv, st.wanted);
    const ins = (n.input ?? []).map((i) => (i === '' ? undefined : st.env.get(i)));
    const residual = st.env.get(this.convIntoAdd.get(conv)![1])?.gpu;
    const also = [add, ...(relu !== undefined ? [this.nodes[relu]] : [])].map((m) => `'${m.name}'`).join(' and ');
    const where = `${this.name}: node '${n.name}' (${n.opType}, opset ${this.opset})${residual ? ` with ${also}` : ''}`;
    const out = this.run1(n, attrs, ins, where, st.plan, { residual, relu: relu !== undefined })[0];
    if (!residual) {
      st.env.set(n.output![0], out);
      return false;
    }
    st.env.set((relu !== undefined ? this.nodes[relu] : add).output![0], out);
    if (relu !== undefined) st.fusedInto.set(relu, j);
    return true;
  }

  private planFor(key: string): ShapePlan {
    let plan = this.plans.get(key);
    if (!plan) {
      if (this.plans.size >= MAX_PLANS) {
        const [oldest, old] = this.plans.entries().next().value!;
        for (const t of old.uploads.values()) t.dispose();
        this.plans.delete(oldest);
      }
      plan = { host: new Map(), uploads: new Map() };
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** A host value as an engine tensor: weights once per module, values derived from shapes once per plan. */
  private toGpu(v: Value, name: string, plan: ShapePlan): Tensor {
    if (v.gpu) return v.gpu;
    const cache = this.initializers.has(name) ? this.gpuConstants : plan.uploads;
    const cached = cache.get(name);
    if (cached && !cached.isDisposed) return cached;
    const t = keep(O.tensor(v.host.data instanceof Float32Array ? v.host.data : Float32Array.from(v.host.data), v.host.shape));
    cache.set(name, t);
    return t;
  }

  /** exec, its errors named by `where`. */
  private run1(n: NodeProto, attrs: Map<string, Attr>, ins: (Value | undefined)[], where: string, plan: ShapePlan, fuse: Fuse): Value[] {
    try {
      return this.exec(n, attrs, ins, where, plan, fuse);
    } catch (e) {
      if (e instanceof OnnxError) throw e;
      throw new OnnxError(`${where}: ${(e as Error).message}`);
    }
  }

  /**
   * Runs node n; with `relu`, the node and the Relu after it (entry.gpuRelu), returning the Relu's output; with
   * `residual`, a Conv and the Add of the residual after it (and that Add's Relu with `relu`: entry.gpuResidual).
   */
  private exec(n: NodeProto, attrs: Map<string, Attr>, ins: (Value | undefined)[], where: string, plan: ShapePlan, fuse: Fuse): Value[] {
    const entry: OpEntry = OPS[n.opType!];
    const names = n.input ?? [];
    const allHost = ins.every((v) => !v || v.host);
    const onHost = !!entry.host && (allHost || !!entry.shapeOnly);
    const missing = (i: number): never => {
      throw new OnnxError(`${where}: input ${i} is missing`);
    };
    const c: OpContext = {
      where,
      opset: this.opset,
      outputs: n.output ?? [],
      arity: ins.length,
      has: (i) => !!ins[i],
      isHost: (i) => !!ins[i]?.host,
      gpu: (i) => this.toGpu(ins[i] ?? missing(i), names[i], plan),
      host: (i) => {
        const v = ins[i] ?? missing(i);
        if (v.host) return v.host;
        if (onHost && entry.shapeOnly) return shapeOnly(v.gpu!.shape);
        throw new OnnxError(`${where}: input ${i} ('${names[i]}') must be a constant known at load time`);
      },
      ints: (i) => (ins[i] ? Array.from(c.host(i).data, Number) : undefined),
      int: (k, d) => (attrs.get(k) as number | undefined) ?? d,
      float: (k, d) => (attrs.get(k) as number | undefined) ?? d,
      intList: (k) => attrs.get(k) as number[] | undefined,
      str: (k, d) => (attrs.get(k) as string | undefined) ?? d,
      attr: (k) => attrs.get(k),
      constant: (key, data, shape) => {
        const id = `${n.name}/${(n.output ?? [])[0]}/${key}`;
        const hit = this.gpuConstants.get(id);
        if (hit && !hit.isDisposed) return hit;
        const t = keep(O.tensor(data, shape));
        this.gpuConstants.set(id, t);
        return t;
      },
    };
    if (onHost) return entry.host!(c).map((h) => ({ host: h }));
    if (!entry.gpu) {
      const runtime = ins.findIndex((v) => v?.gpu);
      throw new OnnxError(`${where}: unsupported op '${n.opType}' on run-time tensors (input ${runtime} '${names[runtime]}' is computed from the image; faceinv evaluates ${n.opType} only on constants and shapes)`);
    }
    const out = fuse.residual ? entry.gpuResidual!(c, fuse.residual, !!fuse.relu) : fuse.relu ? entry.gpuRelu!(c) : entry.gpu(c);
    return (Array.isArray(out) ? out : [out]).map((t) => ({ gpu: t }));
  }

  /** Releases the weights and shape-derived constants uploaded to the GPU. */
  dispose(): void {
    for (const t of this.gpuConstants.values()) t.dispose();
    this.gpuConstants.clear();
    for (const p of this.plans.values()) for (const t of p.uploads.values()) t.dispose();
    this.plans.clear();
  }
}

const fmtDims = (dims: (number | string)[]) => `[${dims.join(',')}]`;
