// Decoding and validating .onnx bytes: every failure becomes one OnnxError line naming the problem.
import { onnx, DataType, type ModelProto, type TensorProto, type AttributeProto } from './proto.ts';

/** An ONNX model that cannot be loaded or run: names the op, the node and the opset. */
export class OnnxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxError';
  }
}

// Opsets 7–10 are read too (older torch exports, e.g. opset 9): their ops mean what they mean at 11 except
// the ones in OPSET_FLOOR, whose parameters were attributes before that opset.
export const MIN_OPSET = 7;
/** Ops whose older versions took their parameters in another form: the first opset faceinv reads them at. */
export const OPSET_FLOOR: Record<string, number> = { Pad: 11, Slice: 10, Upsample: 11, Resize: 11, Split: 11, TopK: 11 };
export const MAX_OPSET = 21;

/** A value known on the host at load or run time: initializers, Constant nodes, shape arithmetic. */
export interface HostTensor {
  shape: number[];
  data: Float32Array | number[];
  /** 'int' for integer types (shapes, indices, axes), 'float' otherwise. */
  kind: 'float' | 'int';
}

export function decodeModel(bytes: Uint8Array, what = 'model'): ModelProto {
  if (bytes.length === 0) throw new OnnxError(`${what}: the file is empty`);
  if (isTflite(bytes)) throw new OnnxError(`${what}: this is a TensorFlow Lite model, not ONNX; convert it with 'faceinv annotate ${what} out.onnx faceinv.mean=… faceinv.scale=…'`);
  let m: ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxError(`${what}: not a valid ONNX file (${(e as Error).message.split('\n')[0]})`);
  }
  if (!m.graph || !m.graph.node) throw new OnnxError(`${what}: the file decodes but holds no graph (not an ONNX model?)`);
  const opset = defaultOpset(m);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxError(`${what}: opset ${opset} is not supported (faceinv reads opsets ${MIN_OPSET}–${MAX_OPSET})`);
  }
  return m;
}

/** A TensorFlow Lite FlatBuffer (file identifier 'TFL3' after the root offset). */
export const isTflite = (bytes: Uint8Array): boolean => bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3';

export function defaultOpset(m: ModelProto): number {
  const entry = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? Number(entry.version) : 1;
}

const toNum = (v: number | { toNumber(): number }) => (typeof v === 'number' ? v : v.toNumber());

/** Reads a TensorProto (raw_data or typed fields) into host memory. */
export function tensorFromProto(t: TensorProto, what: string): HostTensor {
  const shape = (t.dims ?? []).map(toNum);
  const n = shape.reduce((a, b) => a * b, 1);
  if ((t as { dataLocation?: number }).dataLocation === 1 || (t.externalData ?? []).length > 0) {
    throw new OnnxError(`${what}: tensor '${t.name}' uses external data, which faceinv does not load; save the model with its weights inside`);
  }
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const need = (bytesPer: number) => {
    if (raw && raw.length !== n * bytesPer) {
      throw new OnnxError(`${what}: tensor '${t.name}' has ${raw.length} bytes of data for shape [${shape.join(',')}]`);
    }
  };
  let data: Float32Array | number[];
  let kind: 'float' | 'int' = 'float';
  switch (t.dataType) {
    case DataType.FLOAT:
      need(4);
      // Little-endian hosts (all WebGPU targets) can copy raw_data as is: one memcpy, not n DataView reads.
      // (Copy through a fresh array: under Node, protobufjs yields Buffers, whose slice() is a view.)
      data = raw ? new Float32Array(Uint8Array.from(raw).buffer) : Float32Array.from(t.floatData ?? []);
      break;
    case DataType.DOUBLE:
      need(8);
      data = view ? Float32Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true)) : Float32Array.from(t.doubleData ?? []);
      break;
    case DataType.INT64:
      need(8);
      kind = 'int';
      data = view ? Array.from({ length: n }, (_, i) => Number(view.getBigInt64(8 * i, true))) : (t.int64Data ?? []).map(toNum);
      break;
    case DataType.INT32:
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.BOOL: {
      kind = 'int';
      const sizes: Record<number, number> = { [DataType.INT32]: 4, [DataType.INT8]: 1, [DataType.UINT8]: 1, [DataType.INT16]: 2, [DataType.UINT16]: 2, [DataType.BOOL]: 1 };
      const b = sizes[t.dataType!];
      need(b);
      const read = (i: number) =>
        b === 4 ? view!.getInt32(4 * i, true) : b === 2 ? (t.dataType === DataType.INT16 ? view!.getInt16(2 * i, true) : view!.getUint16(2 * i, true)) : t.dataType === DataType.INT8 ? view!.getInt8(i) : view!.getUint8(i);
      data = view ? Array.from({ length: n }, (_, i) => read(i)) : (t.int32Data ?? []).slice();
      break;
    }
    default:
      throw new OnnxError(`${what}: tensor '${t.name}' has data type ${DataType[t.dataType ?? 0] ?? t.dataType}, which faceinv does not support`);
  }
  if (data.length !== n) throw new OnnxError(`${what}: tensor '${t.name}' has ${data.length} values for shape [${shape.join(',')}]`);
  return { shape, data, kind };
}

export type Attr = number | number[] | string | HostTensor | undefined;

export function readAttrs(attrs: AttributeProto[] | null | undefined, what: string): Map<string, Attr> {
  const A = onnx.AttributeProto.AttributeType;
  const out = new Map<string, Attr>();
  for (const a of attrs ?? []) {
    switch (a.type) {
      case A.INT:
        out.set(a.name!, toNum(a.i!));
        break;
      case A.FLOAT:
        out.set(a.name!, a.f!);
        break;
      case A.INTS:
        out.set(a.name!, (a.ints ?? []).map(toNum));
        break;
      case A.FLOATS:
        out.set(a.name!, [...(a.floats ?? [])]);
        break;
      case A.STRING:
        out.set(a.name!, new TextDecoder().decode(a.s!));
        break;
      case A.TENSOR:
        out.set(a.name!, tensorFromProto(a.t!, what));
        break;
      default:
        out.set(a.name!, undefined);
    }
  }
  return out;
}
