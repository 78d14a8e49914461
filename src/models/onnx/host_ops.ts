// Host-side evaluation of the ops exporters use for shape arithmetic and constants (torch.onnx.export and
// tf2onnx emit Shape → Gather → Unsqueeze → Concat → Reshape/Pad chains). These never reach the GPU.
import { OnnxError, type HostTensor, type Attr } from './load.ts';
import { sliceGeometry } from '../../tensor/shape.ts';

export const HOST_OPS = new Set([
  'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'ConstantOfShape', 'Slice', 'Reshape', 'Range',
  'Expand', 'Identity', 'Add', 'Sub', 'Mul', 'Div', 'Neg',
]);

const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

function strides(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

function make(shape: number[], data: number[] | Float32Array, kind: 'float' | 'int'): HostTensor {
  return { shape, data: kind === 'float' ? Float32Array.from(data) : Array.from(data), kind };
}

function broadcast(where: string, a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new OnnxError(`${where}: shapes [${a}] and [${b}] do not broadcast`);
    return Math.max(x, y) === 1 ? Math.min(x, y) : Math.max(x, y);
  });
}

/** Reads `t` broadcast to `shape`. */
function expandTo(t: HostTensor, shape: number[]): number[] {
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

function normAxes(where: string, axes: number[], rank: number): number[] {
  return axes.map((a) => {
    const x = a < 0 ? a + rank : a;
    if (x < 0 || x >= rank) throw new OnnxError(`${where}: axis ${a} is out of range for rank ${rank}`);
    return x;
  });
}

/**
 * Evaluates one host op. `ins` may carry a shape with no data (a run-time tensor seen only through Shape, or
 * a shape-only Squeeze/Unsqueeze when `shapeOnly`).
 */
export function hostOp(op: string, a: Map<string, Attr>, ins: (HostTensor | undefined)[], opset: number, where: string, shapeOnly = false): HostTensor[] {
  const need = (i: number) => {
    const t = ins[i];
    if (!t) throw new OnnxError(`${where}: input ${i} is missing`);
    return t;
  };
  const ints = (t: HostTensor | undefined) => (t ? Array.from(t.data, Number) : undefined);
  switch (op) {
    case 'Constant': {
      const v = a.get('value');
      if (v && typeof v === 'object' && !Array.isArray(v)) return [v];
      if (a.has('value_float')) return [make([], [a.get('value_float') as number], 'float')];
      if (a.has('value_int')) return [make([], [a.get('value_int') as number], 'int')];
      if (a.has('value_floats')) return [make([(a.get('value_floats') as number[]).length], a.get('value_floats') as number[], 'float')];
      if (a.has('value_ints')) return [make([(a.get('value_ints') as number[]).length], a.get('value_ints') as number[], 'int')];
      throw new OnnxError(`${where}: Constant without a supported value attribute`);
    }
    case 'Shape': {
      const s = need(0).shape;
      const rank = s.length;
      const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
      const start = clampAxis((a.get('start') as number | undefined) ?? 0);
      const end = clampAxis((a.get('end') as number | undefined) ?? rank);
      const dims = s.slice(start, end);
      return [make([dims.length], dims, 'int')];
    }
    case 'Identity':
      return [need(0)];
    case 'Cast': {
      const to = (a.get('to') as number | undefined) ?? 1;
      const float = to === 1 || to === 10 || to === 11 || to === 16;
      const t = need(0);
      return [make(t.shape, float ? Array.from(t.data, Number) : Array.from(t.data, (v) => Math.trunc(Number(v))), float ? 'float' : 'int')];
    }
    case 'Neg': {
      const t = need(0);
      return [make(t.shape, Array.from(t.data, (v) => -Number(v)), t.kind)];
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const [p, q] = [need(0), need(1)];
      const shape = broadcast(where, p.shape, q.shape);
      const [u, v] = [expandTo(p, shape), expandTo(q, shape)];
      const isInt = p.kind === 'int' && q.kind === 'int';
      const f = { Add: (m: number, n: number) => m + n, Sub: (m: number, n: number) => m - n, Mul: (m: number, n: number) => m * n, Div: (m: number, n: number) => (isInt ? Math.trunc(m / n) : m / n) }[op];
      return [make(shape, u.map((m, i) => f(m, v[i])), isInt ? 'int' : 'float')];
    }
    case 'Gather': {
      const [data, idx] = [need(0), need(1)];
      const axis = normAxes(where, [(a.get('axis') as number | undefined) ?? 0], data.shape.length)[0];
      const outer = sizeOf(data.shape.slice(0, axis));
      const inner = sizeOf(data.shape.slice(axis + 1));
      const dim = data.shape[axis];
      const out: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const i0 of Array.from(idx.data, Number)) {
          const i = i0 < 0 ? i0 + dim : i0;
          if (i < 0 || i >= dim) throw new OnnxError(`${where}: index ${i0} out of range for axis of size ${dim}`);
          for (let k = 0; k < inner; k++) out.push(Number(data.data[(o * dim + i) * inner + k]));
        }
      return [make([...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)], out, data.kind)];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const t = need(0);
      const axes = opset >= 13 && !shapeOnly ? ints(ins[1]) : (a.get('axes') as number[] | undefined);
      let shape: number[];
      if (op === 'Unsqueeze') {
        if (!axes) throw new OnnxError(`${where}: Unsqueeze needs axes`);
        const rank = t.shape.length + axes.length;
        const ax = normAxes(where, axes, rank).sort((m, n) => m - n);
        shape = [...t.shape];
        for (const d of ax) shape.splice(d, 0, 1);
      } else {
        const ax = axes ? normAxes(where, axes, t.shape.length) : t.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        for (const d of ax) if (t.shape[d] !== 1) throw new OnnxError(`${where}: cannot squeeze axis ${d} of size ${t.shape[d]}`);
        shape = t.shape.filter((_, i) => !ax.includes(i));
      }
      return [{ shape, data: t.data, kind: t.kind }];
    }
    case 'Concat': {
      const ts = ins.filter((t): t is HostTensor => !!t);
      const rank = ts[0].shape.length;
      const axis = normAxes(where, [(a.get('axis') as number | undefined) ?? 0], rank)[0];
      const outer = sizeOf(ts[0].shape.slice(0, axis));
      const out: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const t of ts) {
          const chunk = sizeOf(t.shape.slice(axis));
          for (let k = 0; k < chunk; k++) out.push(Number(t.data[o * chunk + k]));
        }
      const shape = [...ts[0].shape];
      shape[axis] = ts.reduce((s, t) => s + t.shape[axis], 0);
      return [make(shape, out, ts.every((t) => t.kind === 'int') ? 'int' : 'float')];
    }
    case 'ConstantOfShape': {
      const shape = ints(need(0))!;
      const v = a.get('value') as HostTensor | undefined;
      const fill = v ? Number(v.data[0]) : 0;
      return [make(shape, new Array(sizeOf(shape)).fill(fill), v?.kind ?? 'float')];
    }
    case 'Range': {
      const [s, l, d] = [0, 1, 2].map((i) => Number(need(i).data[0]));
      const n = Math.max(Math.ceil((l - s) / d), 0);
      return [make([n], Array.from({ length: n }, (_, i) => s + i * d), need(0).kind)];
    }
    case 'Reshape': {
      const t = need(0);
      const spec = ints(need(1))!;
      const shape = spec.map((d, i) => (d === 0 && (a.get('allowzero') ?? 0) === 0 ? t.shape[i] : d));
      const inferred = shape.indexOf(-1);
      if (inferred >= 0) shape[inferred] = sizeOf(t.shape) / shape.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
      if (sizeOf(shape) !== sizeOf(t.shape)) throw new OnnxError(`${where}: cannot reshape [${t.shape}] to [${spec}]`);
      return [{ shape, data: t.data, kind: t.kind }];
    }
    case 'Expand': {
      const t = need(0);
      const shape = broadcast(where, t.shape, ints(need(1))!);
      return [make(shape, expandTo(t, shape), t.kind)];
    }
    case 'Slice': {
      const t = need(0);
      const starts = ints(ins[1])!;
      const ends = ints(ins[2])!;
      const { begin, step, shape } = sliceGeometry(where, t.shape, { starts, ends, axes: ints(ins[3]), steps: ints(ins[4]) });
      const rank = t.shape.length;
      const st = strides(t.shape);
      const out: number[] = [];
      for (let i = 0; i < sizeOf(shape); i++) {
        let rem = i;
        let j = 0;
        for (let dd = rank - 1; dd >= 0; dd--) {
          const c = rem % shape[dd];
          rem = Math.floor(rem / shape[dd]);
          j += (begin[dd] + c * step[dd]) * st[dd];
        }
        out.push(Number(t.data[j]));
      }
      return [make(shape, out, t.kind)];
    }
    default:
      throw new OnnxError(`${where}: '${op}' cannot be evaluated on the host`);
  }
}
