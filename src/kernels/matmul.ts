// Batched matmul with two kernel variants: workgroup-shared 64×64 tiles for GPUs, register blocking
// without barriers for CPU Vulkan drivers. `matmulVariant` picks by adapter unless overridden.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { Params } from './params.ts';

export type MatmulVariant = 'shared' | 'register';

let override: MatmulVariant | null = null;

/** Forces a variant (tests, benchmarks); null restores the per-adapter choice. */
export function setMatmulVariant(v: MatmulVariant | null): void {
  override = v;
}

export function matmulVariant(): MatmulVariant {
  return override ?? (engine().adapter.isCpu ? 'register' : 'shared');
}

const TM = 8;
const TN = 8;

export interface MatmulArgs {
  a: Tensor;
  b: Tensor;
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Elements between consecutive batch matrices; 0 broadcasts one matrix over the batch. */
  aBatchStride: number;
  bBatchStride: number;
  outShape: readonly number[];
}

export function matmulKernel(m: MatmulArgs): Tensor {
  const e = engine();
  const out = Tensor.empty(m.outShape);
  if (out.size === 0) return out;
  if (m.K === 0) {
    e.clearBuffer(out.buffer, out.size * 4);
    return out;
  }
  const variant = matmulVariant();
  const shared = variant === 'shared';
  const pipe = e.pipeline(
    'matmul',
    { SHARED: shared, TRANS_A: m.transA, TRANS_B: m.transB, TM, TN, TMN: TM * TN },
    ['read', 'read', 'write', 'uniform'],
  );
  const wx = shared ? Math.ceil(m.N / 64) : Math.ceil(m.N / (TN * 8));
  const wy = shared ? Math.ceil(m.M / 64) : Math.ceil(m.M / (TM * 8));
  e.dispatch({
    pipeline: pipe,
    buffers: [m.a.buffer, m.b.buffer, out.buffer],
    uniforms: new Params().u(m.M, m.N, m.K, m.batch, m.aBatchStride, m.bBatchStride, m.M * m.N, 0).build(),
    workgroups: [wx, wy, m.batch],
    label: `matmul(${fmt(m.a.shape)}${m.transA ? 'ᵀ' : ''}, ${fmt(m.b.shape)}${m.transB ? 'ᵀ' : ''}) [${variant}]`,
  });
  return out;
}
