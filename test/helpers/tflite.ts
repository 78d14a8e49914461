// Writes TensorFlow Lite files for the tests: a FlatBuffer writer (tables, vectors, strings; every offset
// points forward, as the format requires) and a model builder over it, with TFLite's own layouts and codes
// (schema.fbs), written here independently of src/models/tflite.ts's reader.

type Scalar = { kind: 'i32' | 'u32' | 'f32' | 'u8'; v: number };
type Ref = { kind: 'ref'; v: FbObject };
type Field = Scalar | Ref | undefined;
export type FbObject =
  | { t: 'table'; fields: Field[] }
  | { t: 'vector'; elem: 'i32' | 'f32' | 'u8' | 'i64'; values: ArrayLike<number> }
  | { t: 'tables'; items: FbObject[] }
  | { t: 'string'; s: string };

export const i32 = (v: number): Scalar => ({ kind: 'i32', v });
export const u32 = (v: number): Scalar => ({ kind: 'u32', v });
export const f32 = (v: number): Scalar => ({ kind: 'f32', v });
export const u8 = (v: number): Scalar => ({ kind: 'u8', v });
export const ref = (v: FbObject): Ref => ({ kind: 'ref', v });
export const table = (...fields: Field[]): FbObject => ({ t: 'table', fields });
export const vec = (elem: 'i32' | 'f32' | 'u8' | 'i64', values: ArrayLike<number>): FbObject => ({ t: 'vector', elem, values });
export const tables = (items: FbObject[]): FbObject => ({ t: 'tables', items });
export const str = (s: string): FbObject => ({ t: 'string', s });

class Writer {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  end = 0;
  grow(n: number): number {
    while (this.end + n > this.bytes.length) {
      const b = new Uint8Array(this.bytes.length * 2);
      b.set(this.bytes);
      this.bytes = b;
      this.view = new DataView(b.buffer);
    }
    const at = this.end;
    this.end += n;
    return at;
  }
  align(k: number): void {
    this.grow((k - (this.end % k)) % k);
  }
  /** Appends an object and returns its position; children go after it, their offsets patched in. */
  place(o: FbObject): number {
    const patch: [number, FbObject][] = [];
    let at: number;
    if (o.t === 'string') {
      this.align(4);
      const s = new TextEncoder().encode(o.s);
      at = this.grow(4 + s.length + 1);
      this.view.setUint32(at, s.length, true);
      this.bytes.set(s, at + 4);
    } else if (o.t === 'vector') {
      const size = o.elem === 'u8' ? 1 : o.elem === 'i64' ? 8 : 4;
      this.align(Math.max(4, size));
      if (size === 8 && this.end % 8 === 0) this.grow(4);
      at = this.grow(4 + size * o.values.length);
      this.view.setUint32(at, o.values.length, true);
      for (let k = 0; k < o.values.length; k++) {
        const p = at + 4 + size * k;
        const v = o.values[k];
        if (o.elem === 'u8') this.view.setUint8(p, v);
        else if (o.elem === 'i32') this.view.setInt32(p, v, true);
        else if (o.elem === 'f32') this.view.setFloat32(p, v, true);
        else this.view.setBigInt64(p, BigInt(v), true);
      }
    } else if (o.t === 'tables') {
      this.align(4);
      at = this.grow(4 + 4 * o.items.length);
      this.view.setUint32(at, o.items.length, true);
      o.items.forEach((item, k) => patch.push([at + 4 + 4 * k, item]));
    } else {
      // vtable first (the table's soffset points back to it), then the table: one 4-byte slot per field.
      this.align(4);
      const present = o.fields.length;
      const vt = this.grow(4 + 2 * present + (present % 2 ? 2 : 0));
      at = this.grow(4 + 4 * present);
      this.view.setUint16(vt, 4 + 2 * present, true);
      this.view.setUint16(vt + 2, 4 + 4 * present, true);
      this.view.setInt32(at, at - vt, true);
      o.fields.forEach((f, i) => {
        if (!f) return;
        const slot = at + 4 + 4 * i;
        this.view.setUint16(vt + 4 + 2 * i, slot - at, true);
        if (f.kind === 'ref') patch.push([slot, f.v]);
        else if (f.kind === 'u8') this.view.setUint8(slot, f.v);
        else if (f.kind === 'i32') this.view.setInt32(slot, f.v, true);
        else if (f.kind === 'u32') this.view.setUint32(slot, f.v, true);
        else this.view.setFloat32(slot, f.v, true);
      });
    }
    for (const [slot, child] of patch) {
      const c = this.place(child);
      this.view.setUint32(slot, c - slot, true);
    }
    return at;
  }
}

/** A FlatBuffer with `root` as its root table and a file identifier. */
export function flatbuffer(root: FbObject, ident = 'TFL3'): Uint8Array {
  const w = new Writer();
  w.grow(8);
  w.bytes.set(new TextEncoder().encode(ident).subarray(0, 4), 4);
  const r = w.place(root);
  w.view.setUint32(0, r, true);
  return w.bytes.slice(0, w.end);
}

/** TFLite's builtin operator codes and the options table each one takes (schema.fbs). */
export const OPS = {
  ADD: [0, 11], CONV_2D: [3, 1], DEPTHWISE_CONV_2D: [4, 2], FULLY_CONNECTED: [9, 8], L2_NORMALIZATION: [11, 12],
  MUL: [18, 21], RELU: [19, 0], RESHAPE: [22, 17], SUB: [41, 28], MEAN: [40, 27], PAD: [34, 22], ABS: [101, 0],
  TANH: [28, 0],
} as const;
export type OpName = keyof typeof OPS;

export interface TensorSpec {
  name: string;
  shape: number[];
  /** float32 values (or int32 with `int`), for a constant. */
  data?: ArrayLike<number>;
  int?: boolean;
  /** Quantisation scales, to make a quantised tensor. */
  scale?: number[];
}
export interface OpSpec {
  op: OpName;
  inputs: number[];
  outputs: number[];
  /** The options table's fields in schema order (undefined: absent, the default). */
  options?: Field[];
}

/** A single-subgraph TFLite model: tensors, operators in order, the input and output tensor indices. */
export function tfliteModel(tensors: TensorSpec[], ops: OpSpec[], inputs: number[], outputs: number[]): Uint8Array {
  const used = [...new Set(ops.map((o) => o.op))];
  // Buffer 0 is the empty buffer by convention; each constant gets its own.
  const buffers: FbObject[] = [table()];
  const tensorTables = tensors.map((t) => {
    let buffer = 0;
    if (t.data) {
      const raw = t.int ? new Uint8Array(Int32Array.from(t.data).buffer) : new Uint8Array(Float32Array.from(t.data).buffer);
      buffers.push(table(ref(vec('u8', raw))));
      buffer = buffers.length - 1;
    }
    const quant = t.scale ? table(undefined, undefined, ref(vec('f32', t.scale)), ref(vec('i64', t.scale.map(() => 0)))) : undefined;
    return table(ref(vec('i32', t.shape)), u8(t.int ? 2 : 0), u32(buffer), ref(str(t.name)), quant ? ref(quant) : undefined);
  });
  const opTables = ops.map((o) => {
    const [, optType] = OPS[o.op];
    const opts = o.options ? table(...o.options) : undefined;
    return table(u32(used.indexOf(o.op)), ref(vec('i32', o.inputs)), ref(vec('i32', o.outputs)), opts ? u8(optType) : undefined, opts ? ref(opts) : undefined);
  });
  const subgraph = table(ref(tables(tensorTables)), ref(vec('i32', inputs)), ref(vec('i32', outputs)), ref(tables(opTables)), ref(str('main')));
  // OperatorCode: deprecated_builtin_code (byte), custom_code, version, builtin_code (int).
  const codes = used.map((op) => table(u8(Math.min(OPS[op][0], 127)), undefined, i32(1), i32(OPS[op][0])));
  return flatbuffer(table(u32(3), ref(tables(codes)), ref(tables([subgraph])), ref(str('test')), ref(tables(buffers))));
}
