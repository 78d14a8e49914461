// Sum / max reductions over any set of axes: adjacent axes are merged, then each run of reduced axes is
// reduced as the middle axis of an [outer, R, inner] view, innermost run first.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

/** sumsq: the sum of squares (squared as read: one pass less than square, then sum). */
export type ReduceOp = 'sum' | 'max' | 'sumsq';

/** Merges adjacent axes with the same reduced/kept status: returns [dims, reducedFlags]. */
function mergeAxes(shape: readonly number[], axes: readonly number[]): [number[], boolean[]] {
  const dims: number[] = [];
  const red: boolean[] = [];
  shape.forEach((d, i) => {
    const r = axes.includes(i);
    if (d === 1) return; // size-1 axes change nothing
    if (red.length && red[red.length - 1] === r) dims[dims.length - 1] *= d;
    else {
      dims.push(d);
      red.push(r);
    }
  });
  return [dims, red];
}

function reduceMiddle(op: ReduceOp, src: Tensor, outer: number, r: number, inner: number, scale: number, label: string): Tensor {
  const e = engine();
  const out = Tensor.empty([outer * inner]);
  const outputs = outer * inner;
  const wgPerOutput = outputs < 2048 && r >= 64;
  const pipe = shaderPipeline('reduce', { MAX: op === 'max', SQUARE: op === 'sumsq', WG_PER_OUTPUT: wgPerOutput });
  e.dispatch({
    pipeline: pipe,
    buffers: [src.buffer, out.buffer],
    uniforms: packParams('reduce', { outer, r, inner, scale }),
    workgroups: wgPerOutput ? grid(outputs, 1) : grid(outputs, 256),
    label,
  });
  return out;
}

/**
 * Reduces `x` over sorted unique `axes`; the result has the kept axes' sizes (as a flat view of the right
 * size: callers reshape). `scale` multiplies the final result (mean = sum × 1/count).
 */
export function reduceKernel(op: ReduceOp, x: Tensor, axes: readonly number[], outShape: readonly number[], scale = 1): Tensor {
  const label = `${op}(${fmt(x.shape)}, axes=[${axes.join(',')}])`;
  if (x.size === 0) throw new RangeError(`${label}: cannot reduce an empty tensor`);
  const [dims, red] = mergeAxes(x.shape, axes);
  let cur = x;
  let curDims = dims;
  let curRed = red;
  const owned: Tensor[] = [];
  // Reduce runs from the innermost outwards; only the last dispatch applies `scale`.
  const runs = curRed.filter(Boolean).length;
  if (runs === 0 && op === 'sumsq') {
    const squares = reduceMiddle(op, x, 1, 1, x.size, scale, label);
    const shaped = squares.view(outShape);
    squares.dispose();
    return shaped;
  }
  if (runs === 0) {
    const out = Tensor.empty(outShape);
    engine().copyBuffer(x.buffer, 0, out.buffer, 0, x.size * 4);
    return out;
  }
  let done = 0;
  while (curRed.some(Boolean)) {
    const k = curRed.lastIndexOf(true);
    const outer = curDims.slice(0, k).reduce((a, b) => a * b, 1);
    const inner = curDims.slice(k + 1).reduce((a, b) => a * b, 1);
    done++;
    // A sum of squares squares in its first pass only; later passes add up its partial sums.
    const next = reduceMiddle(op === 'sumsq' && done > 1 ? 'sum' : op, cur, outer, curDims[k], inner, done === runs ? scale : 1, label);
    if (cur !== x) owned.push(cur);
    cur = next;
    curDims = [...curDims.slice(0, k), ...curDims.slice(k + 1)];
    curRed = [...curRed.slice(0, k), ...curRed.slice(k + 1)];
  }
  for (const t of owned) t.dispose();
  const shaped = cur.view(outShape);
  cur.dispose();
  return shaped;
}
