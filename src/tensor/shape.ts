// Shape arithmetic shared by ops and kernels.

export type Shape = readonly number[];

/** Number of elements of a shape (1 for []) */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** A shape as text for messages: `[2,3]`. */
export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Whether two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a RangeError naming `what` unless every dimension is a non-negative integer. */
export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${what}: invalid shape ${fmt(shape)}`);
  }
}

/** NumPy broadcasting of two shapes; throws naming the op when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as if broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

/** Normalises axes (negative allowed) into a sorted unique list; throws naming the op if out of range. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = new Set<number>();
  for (const a of list) {
    const ax = a < 0 ? a + rank : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) throw new RangeError(`${op}: axis ${a} is out of range for rank ${rank}`);
    out.add(ax);
  }
  return [...out].sort((x, y) => x - y);
}

/** The axes along which `shape` was broadcast to produce `outShape` (for summing gradients back). */
export function broadcastAxes(shape: Shape, outShape: Shape): number[] {
  const off = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < off || (shape[i - off] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

export interface SliceSpec {
  /** Start index per listed axis (negative counts from the end; clamped like ONNX Slice). */
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
}

/** ONNX Slice semantics: per-axis first index, step and resulting size. */
export function sliceGeometry(op: string, shape: Shape, s: SliceSpec): { begin: number[]; step: number[]; shape: number[] } {
  const rank = shape.length;
  const axes = s.axes ?? s.starts.map((_, i) => i);
  if (s.ends.length !== s.starts.length || axes.length !== s.starts.length || (s.steps && s.steps.length !== s.starts.length)) {
    throw new RangeError(`${op}: starts, ends, axes and steps must have the same length`);
  }
  const begin = shape.map(() => 0);
  const step = shape.map(() => 1);
  const out = shape.slice();
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    if (a < 0 || a >= rank) throw new RangeError(`${op}: axis ${a0} out of range for ${fmt(shape)}`);
    const d = shape[a];
    const st = s.steps?.[i] ?? 1;
    if (st === 0 || !Number.isInteger(st)) throw new RangeError(`${op}: step must be a non-zero integer`);
    const norm = (v: number) => (v < 0 ? v + d : v);
    // Forward steps clamp to [0, d]; backward steps to [−1, d − 1] (−1 = before the first element).
    const [lo, hi] = st > 0 ? [0, d] : [-1, d - 1];
    const b = Math.min(Math.max(norm(s.starts[i]), lo), hi);
    const e = Math.min(Math.max(norm(s.ends[i]), lo), hi);
    out[a] = Math.max(0, Math.ceil((e - b) / st));
    begin[a] = b;
    step[a] = st;
  });
  return { begin, step, shape: out };
}
