// Host-side tensor arithmetic for the values exporters compute from shapes and constants (torch.onnx.export and
// tf2onnx emit Shape → Gather → Unsqueeze → Concat → Reshape/Pad chains). The op table (op_table.ts) calls
// these; nothing here reaches the GPU.
import { OnnxError, type HostTensor } from './load.ts';

export const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function strides(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

export function make(shape: number[], data: ArrayLike<number>, kind: 'float' | 'int'): HostTensor {
  return { shape, data: kind === 'float' ? Float32Array.from(data) : Array.from(data), kind };
}

/** Numpy-style (multidirectional) broadcast of two shapes. */
export function broadcast(where: string, a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new OnnxError(`${where}: shapes [${a}] and [${b}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

/** Reads `t` broadcast to `shape`. */
export function expandTo(t: HostTensor, shape: number[]): number[] {
  const off = shape.length - t.shape.length;
  const st = strides(t.shape);
  const out = new Array<number>(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let j = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (d >= off && t.shape[d - off] !== 1) j += c * st[d - off];
    }
    out[i] = Number(t.data[j]);
  }
  return out;
}

export function normAxes(where: string, axes: number[], rank: number): number[] {
  return axes.map((a) => {
    const x = a < 0 ? a + rank : a;
    if (!Number.isInteger(x) || x < 0 || x >= rank) throw new OnnxError(`${where}: axis ${a} is out of range for rank ${rank}`);
    return x;
  });
}

/** Element-wise op over broadcast inputs; the result is int when every input is. */
export function elementwise(where: string, ts: HostTensor[], f: (...v: number[]) => number, kind?: 'float' | 'int'): HostTensor {
  const shape = ts.reduce((s, t) => broadcast(where, s, t.shape), [] as number[]);
  const vals = ts.map((t) => expandTo(t, shape));
  const out = Array.from({ length: sizeOf(shape) }, (_, i) => f(...vals.map((v) => v[i])));
  return make(shape, out, kind ?? (ts.every((t) => t.kind === 'int') ? 'int' : 'float'));
}

/** Gathers elements at `coord(i)` (a flat index into `t`) for every flat output index i. */
export function remap(t: HostTensor, shape: number[], index: (outCoord: number[]) => number): HostTensor {
  const out = new Array<number>(sizeOf(shape));
  const c = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(t.data[index(c)]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
  return make(shape, out, t.kind);
}

/** A run-time tensor seen only through its shape (Shape, Size): no data. */
export function shapeOnly(shape: readonly number[]): HostTensor {
  return { shape: [...shape], data: [], kind: 'float' };
}
