// Reads a TensorFlow Lite model (a FlatBuffer, schema.fbs of TensorFlow Lite) into plain objects: the
// tensors, the operators with their builtin options, and each constant tensor's bytes. Only what a float32
// face-embedding network needs is decoded; a quantised or multi-subgraph model is refused by name, so a model
// this reader does not understand fails loudly instead of converting wrongly.

export class TfliteError extends Error {}

/** The FlatBuffer wire format: little-endian tables reached through vtables, vectors with a u32 length. */
class FlatBuffer {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A little-endian read of `size` bytes at `pos`, refused when it would leave the file. */
  private read(pos: number, size: number, get: (v: DataView, at: number) => number): number {
    if (pos < 0 || pos + size > this.bytes.length) throw new TfliteError(`not a TensorFlow Lite model: a FlatBuffer offset (${pos}) points outside the file`);
    return get(this.view, pos);
  }
  u8 = (pos: number): number => this.read(pos, 1, (v, at) => v.getUint8(at));
  u16 = (pos: number): number => this.read(pos, 2, (v, at) => v.getUint16(at, true));
  i32 = (pos: number): number => this.read(pos, 4, (v, at) => v.getInt32(at, true));
  u32 = (pos: number): number => this.read(pos, 4, (v, at) => v.getUint32(at, true));
  f32 = (pos: number): number => this.read(pos, 4, (v, at) => v.getFloat32(at, true));

  /** Where field `index` of the table at `table` lies, or 0 when it is absent (its default applies). */
  field(table: number, index: number): number {
    const vtable = table - this.i32(table);
    const vsize = this.u16(vtable);
    const slot = 4 + 2 * index;
    if (slot >= vsize) return 0;
    const off = this.u16(vtable + slot);
    return off ? table + off : 0;
  }
  /** The object an offset field points to. */
  deref(pos: number): number {
    return pos + this.u32(pos);
  }
  root(): number {
    return this.deref(0);
  }
}

/** A table: typed reads of its fields by index, with the schema's defaults. */
class Table {
  constructor(private readonly fb: FlatBuffer, readonly pos: number) {}
  private at(i: number): number {
    return this.fb.field(this.pos, i);
  }
  int(i: number, dflt = 0): number {
    const p = this.at(i);
    return p ? this.fb.i32(p) : dflt;
  }
  uint(i: number, dflt = 0): number {
    const p = this.at(i);
    return p ? this.fb.u32(p) : dflt;
  }
  byte(i: number, dflt = 0): number {
    const p = this.at(i);
    return p ? this.fb.u8(p) : dflt;
  }
  bool(i: number, dflt = false): boolean {
    const p = this.at(i);
    return p ? this.fb.u8(p) !== 0 : dflt;
  }
  float(i: number, dflt = 0): number {
    const p = this.at(i);
    return p ? this.fb.f32(p) : dflt;
  }
  has(i: number): boolean {
    return this.at(i) !== 0;
  }
  table(i: number): Table | null {
    const p = this.at(i);
    return p ? new Table(this.fb, this.fb.deref(p)) : null;
  }
  /** A vector field's element count and the position of its first element. */
  private vector(i: number): [number, number] {
    const p = this.at(i);
    if (!p) return [0, 0];
    const v = this.fb.deref(p);
    return [this.fb.u32(v), v + 4];
  }
  string(i: number): string {
    const [n, start] = this.vector(i);
    return n ? new TextDecoder().decode(this.fb.bytes.subarray(start, start + n)) : '';
  }
  ints(i: number): number[] {
    const [n, start] = this.vector(i);
    return Array.from({ length: n }, (_, k) => this.fb.i32(start + 4 * k));
  }
  floats(i: number): number[] {
    const [n, start] = this.vector(i);
    return Array.from({ length: n }, (_, k) => this.fb.f32(start + 4 * k));
  }
  bytesOf(i: number): Uint8Array {
    const [n, start] = this.vector(i);
    if (n) this.fb.u8(start + n - 1);
    return this.fb.bytes.subarray(start, start + n);
  }
  tables(i: number): Table[] {
    const [n, start] = this.vector(i);
    return Array.from({ length: n }, (_, k) => new Table(this.fb, this.fb.deref(start + 4 * k)));
  }
}

/** TensorFlow Lite's tensor types (schema.fbs TensorType), by the names errors use. */
const TENSOR_TYPES = ['float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8', 'float64'];

/** The builtin operators this reader knows by name (schema.fbs BuiltinOperator); others are named by number. */
export const BUILTIN_OPS: Record<number, string> = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 6: 'DEQUANTIZE',
  9: 'FULLY_CONNECTED', 11: 'L2_NORMALIZATION', 14: 'LOGISTIC', 17: 'MAX_POOL_2D', 18: 'MUL', 19: 'RELU',
  21: 'RELU6', 22: 'RESHAPE', 25: 'SOFTMAX', 28: 'TANH', 32: 'CUSTOM', 34: 'PAD', 39: 'TRANSPOSE', 40: 'MEAN',
  41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 47: 'EXP', 54: 'PRELU', 55: 'MAXIMUM', 57: 'MINIMUM', 59: 'NEG',
  60: 'PADV2', 74: 'SUM', 75: 'SQRT', 76: 'RSQRT', 92: 'SQUARE', 98: 'LEAKY_RELU', 101: 'ABS', 114: 'QUANTIZE',
  117: 'HARD_SWISH', 126: 'BATCH_MATMUL',
};

export type Padding = 'SAME' | 'VALID';
export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';
const ACTIVATIONS: Activation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

/** The builtin options faceinv reads, decoded per operator (schema.fbs *Options tables). */
export interface TfliteOptions {
  padding?: Padding;
  strideW?: number;
  strideH?: number;
  dilationW?: number;
  dilationH?: number;
  depthMultiplier?: number;
  filterW?: number;
  filterH?: number;
  activation?: Activation;
  keepDims?: boolean;
  keepNumDims?: boolean;
  axis?: number;
  newShape?: number[];
  squeezeDims?: number[];
  beta?: number;
  alpha?: number;
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: string;
  /** The constant's bytes (little-endian), or null for an activation. */
  data: Uint8Array | null;
  quantized: boolean;
}

export interface TfliteOperator {
  op: string;
  inputs: number[];
  outputs: number[];
  options: TfliteOptions;
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

/** Decodes one operator's builtin options by the operator they belong to. */
function optionsOf(op: string, t: Table | null): TfliteOptions {
  if (!t) return {};
  const act = (i: number) => ACTIVATIONS[t.byte(i)] ?? 'NONE';
  const pad = (i: number): Padding => (t.byte(i) === 1 ? 'VALID' : 'SAME');
  switch (op) {
    case 'CONV_2D':
      return { padding: pad(0), strideW: t.int(1), strideH: t.int(2), activation: act(3), dilationW: t.int(4, 1), dilationH: t.int(5, 1) };
    case 'DEPTHWISE_CONV_2D':
      return { padding: pad(0), strideW: t.int(1), strideH: t.int(2), depthMultiplier: t.int(3), activation: act(4), dilationW: t.int(5, 1), dilationH: t.int(6, 1) };
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      return { padding: pad(0), strideW: t.int(1), strideH: t.int(2), filterW: t.int(3), filterH: t.int(4), activation: act(5) };
    case 'FULLY_CONNECTED':
      return { activation: act(0), keepNumDims: t.bool(2) };
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV':
    case 'L2_NORMALIZATION':
      return { activation: act(0) };
    case 'CONCATENATION':
      return { axis: t.int(0), activation: act(1) };
    case 'RESHAPE':
      return { newShape: t.ints(0) };
    case 'MEAN':
    case 'SUM':
      return { keepDims: t.bool(0) };
    case 'SQUEEZE':
      return { squeezeDims: t.ints(0) };
    case 'SOFTMAX':
      return { beta: t.float(0, 1) };
    case 'LEAKY_RELU':
      return { alpha: t.float(0, 0.2) };
    default:
      return {};
  }
}

/** Parses a .tflite file. */
export function readTflite(bytes: Uint8Array): TfliteModel {
  if (bytes.length < 8) throw new TfliteError('not a TensorFlow Lite model: the file is too short');
  const ident = new TextDecoder().decode(bytes.subarray(4, 8));
  if (ident !== 'TFL3') throw new TfliteError(`not a TensorFlow Lite model: its file identifier is '${ident.replace(/[^\x20-\x7e]/g, '?')}', not 'TFL3'`);
  const fb = new FlatBuffer(bytes);
  const m = new Table(fb, fb.root());
  // OperatorCode: deprecated_builtin_code (byte, 0), custom_code (1), version (2), builtin_code (int, 3).
  const codes = m.tables(1).map((c) => {
    const code = Math.max(c.byte(0), c.int(3));
    return code === 32 ? `CUSTOM:${c.string(1)}` : BUILTIN_OPS[code] ?? `builtin ${code}`;
  });
  const subgraphs = m.tables(2);
  if (subgraphs.length !== 1) throw new TfliteError(`the model has ${subgraphs.length} subgraphs; only single-subgraph models are supported`);
  // Buffer: data (0), offset (1) and size (2) for data kept outside the FlatBuffer (models over 2 GB).
  const buffers = m.tables(4).map((b) => {
    if (b.has(1) && !b.has(0)) throw new TfliteError('the model keeps its weights outside the FlatBuffer (over 2 GB); not supported');
    return b.bytesOf(0);
  });
  const sg = subgraphs[0];
  const tensors = sg.tables(0).map((t): TfliteTensor => {
    const q = t.table(4);
    const buffer = buffers[t.uint(2)];
    return {
      shape: t.ints(0),
      type: TENSOR_TYPES[t.byte(1)] ?? `type ${t.byte(1)}`,
      name: t.string(3),
      data: buffer && buffer.length ? buffer : null,
      quantized: !!q && (q.floats(2).length > 0 || q.has(4)),
    };
  });
  const operators = sg.tables(3).map((o): TfliteOperator => {
    const op = codes[o.uint(0)];
    if (op === undefined) throw new TfliteError(`an operator names opcode ${o.uint(0)}, which the model does not declare`);
    return { op, inputs: o.ints(1), outputs: o.ints(2), options: optionsOf(op, o.table(4)) };
  });
  for (const op of operators) {
    for (const i of [...op.inputs, ...op.outputs]) if (i >= tensors.length) throw new TfliteError(`operator ${op.op} names tensor ${i}; the model has ${tensors.length}`);
  }
  return { version: m.uint(0), description: m.string(3), tensors, operators, inputs: sg.ints(1), outputs: sg.ints(2) };
}

/** A float32 constant's values (copied, so they outlive the file's bytes). */
export function floatsOf(t: TfliteTensor): Float32Array {
  if (!t.data) throw new TfliteError(`tensor '${t.name}' is an activation, not a constant`);
  if (t.type !== 'float32') throw new TfliteError(`tensor '${t.name}' is ${t.type}; only float32 weights are supported`);
  const out = new Float32Array(t.data.length / 4);
  new Uint8Array(out.buffer).set(t.data);
  return out;
}

/** An int32 constant's values (shapes, axes, paddings). */
export function intsOf(t: TfliteTensor): number[] {
  if (!t.data) throw new TfliteError(`tensor '${t.name}' is an activation where a constant was expected`);
  if (t.type === 'int64') {
    const v = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return Array.from({ length: t.data.length / 8 }, (_, k) => Number(v.getBigInt64(8 * k, true)));
  }
  if (t.type !== 'int32') throw new TfliteError(`tensor '${t.name}' is ${t.type} where int32 was expected`);
  const v = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Array.from({ length: t.data.length / 4 }, (_, k) => v.getInt32(4 * k, true));
}
