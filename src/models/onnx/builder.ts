// Small helpers to write ONNX graphs (the default-model converter and the tests use them).
import { onnx, DataType, type ModelProto } from './proto.ts';

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export function floatTensor(name: string, dims: number[], data: Float32Array | number[]) {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength) });
}

export function int64Tensor(name: string, dims: number[], data: number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.INT64, int64Data: data });
}

export function attr(name: string, v: AttrValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number') {
    return Number.isInteger(v) ? onnx.AttributeProto.create({ name, type: A.INT, i: v }) : onnx.AttributeProto.create({ name, type: A.FLOAT, f: v });
  }
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if ('float' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string) {
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: name ?? outputs[0],
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  });
}

export function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

export interface ModelSpec {
  nodes: ReturnType<typeof node>[];
  initializers: ReturnType<typeof floatTensor>[];
  inputs: ReturnType<typeof valueInfo>[];
  outputs: ReturnType<typeof valueInfo>[];
  opset?: number;
  name?: string;
  metadata?: Record<string, string>;
}

export function model(s: ModelSpec): ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'faceinv',
    opsetImport: [{ domain: '', version: s.opset ?? 17 }],
    graph: { name: s.name ?? 'graph', node: s.nodes, initializer: s.initializers, input: s.inputs, output: s.outputs },
    metadataProps: Object.entries(s.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

export function encodeModel(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}
