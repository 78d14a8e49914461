// Batched matmul with three kernel variants (see shaders/matmul.wgsl): workgroup-shared 64×64 tiles for GPUs;
// on CPU Vulkan drivers, 32×32 blocks shared across an 8-wide subgroup when the device has subgroups, else
// register blocking without barriers. `matmulVariant` picks by adapter unless overridden.
import { engine } from '../tensor/engine.ts';
import { subgroupKernelsSupported, SUBGROUP_WIDTH } from './subgroups.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

export type MatmulVariant = 'shared' | 'subgroup' | 'register';

let override: MatmulVariant | null = null;

/** Forces a variant (tests, benchmarks); null restores the per-adapter choice. */
export function setMatmulVariant(v: MatmulVariant | null): void {
  override = v;
}

/** The matmul kernel variant in use: the forced one, else the one chosen for the adapter. */
export function matmulVariant(): MatmulVariant {
  if (override) return override;
  if (!engine().adapter.isCpu) return 'shared';
  return subgroupKernelsSupported() ? 'subgroup' : 'register';
}

// Register variant: outputs per invocation. On lavapipe, 1024³ (BENCHMARKS.md): 4×4 5.3 GFLOP/s, 4×8 6.8,
// 8×8 9.2–9.9, 8×16 10.5–11.2, 16×16 3.1 (its 256 accumulators spill).
const TM = 8;
const TN = 16;
// Subgroup variant: rows per workgroup and columns per workgroup (4 per invocation).
const SG_ROWS = 32;
const SG_COLS = 4 * SUBGROUP_WIDTH;
// Shared variant: 128×128 tiles from this many tiles of work up (tests lower it to check them on small sizes).
let WIDE_MIN_TILES = 256;

/** Tests: the number of 128×128 tiles from which the shared variant uses them (null restores 256). */
export function setWideMinTiles(n: number | null): void {
  WIDE_MIN_TILES = n ?? 256;
}

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
  const label = `matmul(${fmt(m.a.shape)}${m.transA ? 'ᵀ' : ''}, ${fmt(m.b.shape)}${m.transB ? 'ᵀ' : ''})`;
  const variant = matmulVariant();
  if (variant === 'subgroup' && !subgroupKernelsSupported()) {
    throw new Error(`${label}: the subgroup variant needs the 'subgroups' feature with ${SUBGROUP_WIDTH}-wide subgroups, which this device lacks`);
  }
  const out = Tensor.empty(m.outShape);
  if (out.size === 0) return out;
  if (m.K === 0) {
    e.clearBuffer(out.buffer, out.size * 4);
    return out;
  }
  // 128×128 tiles where there are enough of them to fill a large GPU (256 workgroups), else 64×64.
  const wide = variant === 'shared' && Math.ceil(m.M / 128) * Math.ceil(m.N / 128) * m.batch >= WIDE_MIN_TILES;
  const defines = {
    SHARED: variant === 'shared',
    WIDE: wide,
    SUBGROUP: variant === 'subgroup',
    TRANS_A: m.transA,
    TRANS_B: m.transB,
    // vec4 bindings where the operand's contiguous dimension (and so every row start) is a multiple of 4.
    VEC_A: variant === 'subgroup' && (m.transA ? m.M : m.K) % 4 === 0,
    VEC_B: variant === 'subgroup' && (m.transB ? m.K : m.N) % 4 === 0,
    VEC_C: variant === 'subgroup' && m.N % 4 === 0,
    TM,
    TN,
    TMN: TM * TN,
  };
  const pipe = shaderPipeline('matmul', defines);
  const [bm, bn] = wide ? [128, 128] : variant === 'shared' ? [64, 64] : variant === 'subgroup' ? [SG_ROWS, SG_COLS] : [TM * 8, TN * 8];
  e.dispatch({
    pipeline: pipe,
    buffers: [m.a.buffer, m.b.buffer, out.buffer],
    uniforms: packParams('matmul', { M: m.M, N: m.N, K: m.K, batch: m.batch, aBatch: m.aBatchStride, bBatch: m.bBatchStride, cBatch: m.M * m.N }),
    workgroups: [Math.ceil(m.N / bn), Math.ceil(m.M / bm), m.batch],
    label: `${label} [${variant}${wide ? ' wide' : ''}]`,
  });
  return out;
}
