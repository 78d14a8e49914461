// The state of one tfjs → ONNX conversion (tfjs-graph.ts): the TF nodes by name, the ONNX nodes and
// initializers emitted so far, and each TF value translated once (an ONNX activation or a host constant),
// with the helpers every translation uses to read its inputs and emit its outputs.
import { floatTensor, int64Tensor, node, valueInfo, type AttrValue } from './onnx/builder.ts';
import type { WeightSpec } from './faceapi.ts';

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

export const str = (a: TfAttr | undefined): string => (a?.s ? new TextDecoder().decode(Uint8Array.from(atob(a.s), (c) => c.charCodeAt(0))) : '');
export const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const strs = (a: TfAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => str({ s }));

export type Host = { shape: number[]; data: Float32Array };
/** An activation: its ONNX value name and shape (NCHW for 4-D; -1 for the batch). */
export type Act = { name: string; shape: number[] };

/** "name:1" → output 1 of node "name"; "^name" (a control edge) → null. */
function ref(input: string): { node: string; index: number } | null {
  if (input.startsWith('^')) return null;
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1], index: Number(m[2]) } : { node: input, index: 0 };
}

export class Graph {
  readonly nodes: ReturnType<typeof node>[] = [];
  readonly inits: (ReturnType<typeof floatTensor> | ReturnType<typeof int64Tensor>)[] = [];
  readonly inputs: ReturnType<typeof valueInfo>[] = [];
  private readonly memo = new Map<string, Act | Host>();
  private uid = 0;

  /** `translate` makes a TF node's value (called once per node, on first use). */
  constructor(
    private readonly byName: Map<string, TfNode>,
    readonly weights: Map<string, Host>,
    readonly opts: ConvertOptions,
    private readonly translate: (g: Graph, n: TfNode) => Act | Host,
  ) {}

  fresh(base: string): string {
    return `${base}#${this.uid++}`;
  }

  init(base: string, dims: number[], data: Float32Array | number[]): string {
    const name = this.fresh(base);
    this.inits.push(floatTensor(name, dims, data));
    return name;
  }

  int64(base: string, data: number[]): string {
    const name = this.fresh(base);
    this.inits.push(int64Tensor(name, [data.length], data));
    return name;
  }

  emit(op: string, ins: string[], base: string, shape: number[], attrs: Record<string, AttrValue> = {}): Act {
    const name = this.fresh(base);
    this.nodes.push(node(op, ins, [name], attrs));
    return { name, shape };
  }

  isHost(v: Act | Host): v is Host {
    return 'data' in v;
  }

  tfNode(name: string): TfNode {
    const n = this.byName.get(name);
    if (!n) throw new TfjsConvertError(`node '${name}' is read but not defined`);
    return n;
  }

  /** The names of the nodes a node reads (control edges dropped). */
  args(n: TfNode): string[] {
    return (n.input ?? []).map(ref).filter((r): r is { node: string; index: number } => r !== null).map((r) => {
      if (r.index !== 0) throw new TfjsConvertError(`node '${n.name}' reads output ${r.index} of '${r.node}'; only single-output ops are supported`);
      return r.node;
    });
  }

  opOf(name: string): string {
    return this.tfNode(name).op;
  }

  /** A TF node's value, translated on first use. */
  value(name: string): Act | Host {
    let v = this.memo.get(name);
    if (!v) {
      v = this.translate(this, this.tfNode(name));
      this.memo.set(name, v);
    }
    return v;
  }

  act(name: string, where: TfNode): Act {
    const v = this.value(name);
    if (this.isHost(v)) throw new TfjsConvertError(`${where.op} '${where.name}': input '${name}' is a constant where an activation was expected`);
    return v;
  }

  host(name: string, where: TfNode): Host {
    const v = this.value(name);
    if (!this.isHost(v)) throw new TfjsConvertError(`${where.op} '${where.name}': input '${name}' must be a constant`);
    return v;
  }

  /** A constant laid out to broadcast against an activation (per-channel vectors become [C,1,1] for NCHW). */
  operand(h: Host, a: Act, base: string): string {
    const n = h.data.length;
    if (n === 1) return this.init(base, [], [h.data[0]]);
    if (h.shape.length === 1 && a.shape.length === 4 && n === a.shape[1]) return this.init(base, [n, 1, 1], h.data);
    if (h.shape.length === 1 && a.shape.length === 2 && n === a.shape[1]) return this.init(base, [n], h.data);
    throw new TfjsConvertError(`constant '${base}' of shape [${h.shape}] does not broadcast per channel onto an activation of shape [${a.shape}]`);
  }

  scalarIs(name: string, v: number): boolean {
    const n = this.byName.get(name);
    if (!n || n.op !== 'Const') return false;
    const h = this.value(name) as Host;
    return h.data.length === 1 && h.data[0] === v;
  }
}
