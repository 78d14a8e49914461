// Shared by the benches: tfjs-webgpu built on the engine's own device (same adapter, same process),
// timing with a full GPU sync, and the result line every bench prints last.
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { engine } from '../src/index.ts';
import { Pacer } from '../src/tensor/pacer.ts';

export { tf };

/** Registers tfjs-webgpu on the engine's GPUDevice and makes it the active tfjs backend. */
export async function useTfjsOnEngineDevice(): Promise<WebGPUBackend> {
  const e = engine();
  const g = globalThis as { navigator?: { gpu?: unknown } };
  // tfjs-webgpu only checks that navigator.gpu exists; the device it uses is the one passed in.
  if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: {} }, configurable: true });
  const backend = new WebGPUBackend(e.device, { vendor: e.adapter.vendor, architecture: e.adapter.architecture } as GPUAdapterInfo);
  // Kernels are registered under the name 'webgpu'; the package's own registration is skipped in Node (no navigator.gpu at import).
  tf.registerBackend('webgpu', () => backend);
  await tf.setBackend('webgpu');
  await tf.ready();
  return backend;
}

/** Submits the GPU work recorded so far by the engine and by tfjs (same device). */
export function submitAll(backend?: WebGPUBackend): void {
  if (backend) {
    // tfjs keeps its pass open between ops; end it and submit (as its own readback path does).
    const b = backend as unknown as { commandEncoder: GPUCommandEncoder | null; endComputePassEncoder(): void };
    if (b.commandEncoder) {
      b.endComputePassEncoder();
      backend.submitQueue();
    }
  }
  engine().flush();
}

/** Waits until all GPU work of both the engine and tfjs (same device) has finished. */
export async function gpuIdle(backend?: WebGPUBackend): Promise<void> {
  submitAll(backend);
  await engine().sync();
}

/**
 * Median seconds per call of `fn` (which only queues GPU work), over `reps` timed batches of `inner` calls,
 * each batch ending with a full GPU sync (paced); `warmup` untimed calls first. Where one call is much shorter than
 * `minBatchMs` (a GPU's microsecond kernels), batches grow until a sync's latency is a small part of them.
 */
export async function timeGpu(
  fn: () => void,
  opts: { reps?: number; inner?: number; warmup?: number; backend?: WebGPUBackend; minBatchMs?: number } = {},
): Promise<number> {
  const { reps = 5, warmup = 2, minBatchMs = 20 } = opts;
  let inner = opts.inner ?? 3;
  for (let i = 0; i < warmup; i++) fn();
  await gpuIdle(opts.backend);
  // Each batch's wait sleeps through most of its expected time first (the pacer learns it from the batches
  // before), as the engine's own loops do: Dawn's binding polls the whole wait otherwise, on the cores a CPU
  // adapter computes with (bench/pacing.ts). Ours and the peer are timed alike.
  const pacer = new Pacer();
  const batch = async (calls: number) => {
    const t1 = performance.now();
    pacer.unit();
    for (let i = 0; i < calls; i++) fn();
    submitAll(opts.backend);
    await pacer.beforeWait(calls);
    await gpuIdle(opts.backend);
    pacer.done(calls);
    return performance.now() - t1;
  };
  inner = Math.max(inner, Math.min(1000, Math.ceil(minBatchMs / Math.max(await batch(1), 1e-3))));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push((await batch(inner)) / 1000 / inner);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

export interface BenchResult {
  name: string;
  unit: string;
  ours: number;
  peer: number;
  peer_name: string;
  speedup: number;
  [k: string]: unknown;
}

/** The last line of every bench: one JSON object. */
export function printResult(r: BenchResult): void {
  console.log(JSON.stringify(r));
}
