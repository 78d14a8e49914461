/// <reference types="@webgpu/types" />
// The engine: one device, one buffer pool, caches of pipelines / layouts / bind groups, and the command
// encoder that all ops of a step record into. Nothing is submitted until a readback, an upload into a buffer
// the pending work may touch, or an explicit flush().
import { requestDevice, type DeviceHandle, type DeviceOptions, type AdapterSummary } from './device.ts';
import { BufferPool, type PoolStats } from './pool.ts';
import { Profiler, type ProfileRow } from './profiler.ts';

import { PipelineCache, GpuError, type BindingKind, type Pipeline } from './pipelines.ts';
export type { BindingKind, Pipeline };

export interface Launch {
  pipeline: Pipeline;
  /** Storage buffers in binding order (every binding but the uniform one). */
  buffers: GPUBuffer[];
  /** Uniform data (bound last); at most UNIFORM_SLOT_MAX bytes. */
  uniforms?: Uint32Array;
  workgroups: [number, number?, number?];
  /** Op name and shapes; used in error messages. */
  label: string;
}

const UNIFORM_SLOT_MAX = 1024;
const ARENA_BYTES = 1 << 18;
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */
const STAGING_USAGE = 0x1 /* MAP_READ */ | 0x8; /* COPY_DST */
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x8; /* COPY_DST */

export { GpuError };

/** The GPU device, buffer pool, pipeline cache and command encoder every op goes through; get it from init(). */
export class Engine {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  readonly limits: Record<string, number>;
  readonly features: string[];
  readonly pool: BufferPool;
  private readonly staging: BufferPool;
  /** In debug mode every launch is submitted alone inside error scopes, so a failure names its op. */
  debug = false;

  private readonly cache: PipelineCache;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private commands = 0;
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaCpuU32 = new Uint32Array(this.arenaCpu.buffer);
  private arenaGpu: GPUBuffer;
  private arenaUsed = 0;
  private arenaSlots = new Map<string, number>();
  private readonly uniformAlign: number;
  /** A small buffer bound where a kernel needs an input it does not read (e.g. fill). */
  readonly scratch: GPUBuffer;

  private pendingScopes: Promise<string | null>[] = [];
  private uncaptured: string[] = [];
  private lostReason: string | null = null;
  private destroyed = false;
  /** Launches recorded since creation (for tests and benchmarks). */
  launches = 0;
  submits = 0;
  /** GPU → host readbacks since creation. */
  reads = 0;
  private profiler: Profiler | null = null;

  constructor(private handle: DeviceHandle) {
    this.device = handle.device;
    this.adapter = handle.adapter;
    this.limits = handle.limits;
    this.features = handle.features;
    const maxBuf = Math.min(handle.limits.maxBufferSize ?? 2 ** 28, handle.limits.maxStorageBufferBindingSize ?? 2 ** 27);
    this.pool = new BufferPool(this.device, STORAGE_USAGE, maxBuf, 'storage');
    this.staging = new BufferPool(this.device, STAGING_USAGE, handle.limits.maxBufferSize ?? 2 ** 28, 'staging');
    this.uniformAlign = Math.max(256, handle.limits.minUniformBufferOffsetAlignment ?? 256);
    this.arenaGpu = this.device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM_USAGE, label: 'uniform-arena' });
    this.scratch = this.device.createBuffer({ size: 256, usage: STORAGE_USAGE, label: 'scratch' });
    this.cache = new PipelineCache(this.device, this.limits, this.arenaGpu);
    this.device.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message}`;
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
    });
  }

  // ---------------------------------------------------------------- pipelines and bind groups

  /**
   * A compute pipeline, cached by everything that makes it: `source` (a name for the WGSL `code` returns: the
   * shader and its specialisation), the binding kinds and the entry point. `code` runs on a cache miss only.
   * Kernels reach this through shaderPipeline() (src/kernels/preprocess.ts), which specialises shaders/*.wgsl.
   */
  pipeline(source: string, code: () => string, kinds: readonly BindingKind[], entryPoint = 'main'): Pipeline {
    return this.cache.pipeline(source, code, kinds, entryPoint, this.debug ? (label) => this.trackScope(label) : null);
  }

  // ---------------------------------------------------------------- recording and submission

  private ensureEncoder(): GPUCommandEncoder {
    this.checkAlive();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniformSlot(data: Uint32Array): [number, number] {
    const bytes = data.byteLength;
    if (bytes > UNIFORM_SLOT_MAX) throw new GpuError(`uniform block of ${bytes} bytes exceeds ${UNIFORM_SLOT_MAX}`);
    // Bind whole aligned slots: a binding may be larger than the shader's struct, never smaller.
    const size = Math.ceil(bytes / this.uniformAlign) * this.uniformAlign;
    const key = data.join(',');
    const hit = this.arenaSlots.get(key);
    if (hit !== undefined) return [hit, size];
    if (this.arenaUsed + size > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    this.arenaCpuU32.set(data, offset / 4);
    this.arenaCpuU32.fill(0, offset / 4 + data.length, (offset + size) / 4);
    this.arenaUsed = Math.ceil((offset + size) / this.uniformAlign) * this.uniformAlign;
    this.arenaSlots.set(key, offset);
    return [offset, size];
  }

  /** Records one compute dispatch into the pending command encoder. */
  dispatch(l: Launch): void {
    const [x, y = 1, z = 1] = l.workgroups;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new GpuError(`${l.label}: ${x}×${y}×${z} workgroups exceed the device limit of ${maxDim} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const hasUniform = l.pipeline.kinds[l.pipeline.kinds.length - 1] === 'uniform';
    if (hasUniform !== !!l.uniforms) throw new GpuError(`${l.label}: uniform data does not match the pipeline layout`);
    if (l.buffers.length !== l.pipeline.kinds.length - (hasUniform ? 1 : 0)) {
      throw new GpuError(`${l.label}: ${l.buffers.length} buffers given, pipeline ${l.pipeline.key} binds ${l.pipeline.kinds.length}`);
    }
    if (this.debug) this.flush();
    const [offset, size] = l.uniforms ? this.uniformSlot(l.uniforms) : [0, 0];
    const bg = this.cache.bindGroup(l.pipeline, l.buffers, offset, size);
    const enc = this.ensureEncoder();
    const timed = this.profiler?.slot(l.label);
    if (timed) {
      this.endPass();
      this.pass = enc.beginComputePass({ timestampWrites: timed });
    } else if (!this.pass) this.pass = enc.beginComputePass();
    this.pass.setPipeline(l.pipeline.gpu);
    this.pass.setBindGroup(0, bg);
    this.pass.dispatchWorkgroups(x, y, z);
    if (timed) this.endPass();
    this.commands++;
    this.launches++;
    if (this.debug) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.flush();
      this.trackScope(l.label);
      this.trackScope(l.label);
    }
  }

  /** Zero-fills `bytes` of a buffer (a multiple of 4) in the pending encoder. */
  clearBuffer(buf: GPUBuffer, bytes: number, byteOffset = 0): void {
    if (bytes === 0) return;
    const enc = this.ensureEncoder();
    this.endPass();
    enc.clearBuffer(buf, byteOffset, Math.ceil(bytes / 4) * 4);
    this.commands++;
  }

  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    const enc = this.ensureEncoder();
    this.endPass();
    enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.commands++;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arenaCpu, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    this.commands = 0;
    this.arenaUsed = 0;
    this.arenaSlots.clear();
  }

  // ---------------------------------------------------------------- profiling

  /**
   * Starts timing every dispatch on the GPU (each in its own compute pass with timestamp writes; needs the
   * 'timestamp-query' feature). Costs a pass per dispatch: for benchmarks and tuning, not for production runs.
   */
  startProfile(capacity = 2048): void {
    if (!this.features.includes('timestamp-query')) throw new GpuError("profiling needs the device feature 'timestamp-query', which this adapter lacks");
    this.flush();
    this.profiler?.destroy();
    this.profiler = new Profiler(this.device, capacity);
  }

  /**
   * Stops profiling and returns GPU milliseconds per op name (the label up to its first '('), largest first;
   * `byLabel` keeps whole labels (op and shapes) apart.
   */
  async stopProfile(opts: { byLabel?: boolean } = {}): Promise<ProfileRow[]> {
    const p = this.profiler;
    if (!p) throw new GpuError('stopProfile: no profile was started');
    this.profiler = null;
    this.flush();
    try {
      return await p.report(this, opts.byLabel ?? false);
    } finally {
      p.destroy();
    }
  }

  // ---------------------------------------------------------------- buffers, upload, readback

  createBuffer(bytes: number): GPUBuffer {
    this.checkAlive();
    return this.pool.acquire(bytes);
  }

  releaseBuffer(buf: GPUBuffer): void {
    this.pool.release(buf);
  }

  /** Writes host data into a buffer. Pending GPU work is submitted first: it may still read this buffer. */
  write(buf: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.checkAlive();
    if (this.commands) this.flush();
    this.device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `bytes` from a buffer to the host (submits pending work). */
  async read(buf: GPUBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    this.reads++;
    const staging = this.staging.acquire(size);
    try {
      this.copyBuffer(buf, byteOffset, staging, 0, size);
      this.flush();
      await staging.mapAsync(1 /* READ */, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      await this.checkErrors();
      return out;
    } finally {
      this.staging.release(staging);
    }
  }

  /** Waits for submitted work and throws the first GPU error seen (debug scopes, uncaptured errors, device loss). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  private trackScope(label: string): void {
    this.pendingScopes.push(this.device.popErrorScope().then((e) => (e ? `${label}: ${e.message}` : null)));
  }

  private async checkErrors(): Promise<void> {
    const scopes = this.pendingScopes;
    this.pendingScopes = [];
    const found = (await Promise.all(scopes)).filter((m): m is string => m !== null);
    const all = [...found, ...this.uncaptured];
    this.uncaptured = [];
    if (all.length) throw new GpuError(`WebGPU error in ${all[0]}${all.length > 1 ? ` (and ${all.length - 1} more)` : ''}`);
    this.checkAlive();
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GpuError('the engine was destroyed');
    if (this.lostReason) throw new GpuError(`GPU device lost (${this.lostReason})`);
  }

  stats(): PoolStats & { pipelines: number; bindGroups: number } {
    return { ...this.pool.stats(), ...this.cache.sizes() };
  }

  /** Frees pooled buffers that are not in use and the bind groups that referenced them. */
  trim(): void {
    this.flush();
    this.pool.trim();
    this.staging.trim();
    this.cache.clearBindGroups();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.pool.destroyAll();
    this.staging.destroyAll();
    this.arenaGpu.destroy();
    this.scratch.destroy();
    this.handle.destroy();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

export type { ProfileRow };

let current: Engine | null = null;
let pending: Promise<Engine> | null = null;

/** Creates (once) and returns the engine. Every op needs it: call `await init()` before using tensors. */
export async function init(opts: DeviceOptions & { debug?: boolean } = {}): Promise<Engine> {
  if (current && !current.isDestroyed) return current;
  if (!pending) {
    pending = requestDevice(opts).then((h) => {
      current = new Engine(h);
      current.debug = opts.debug ?? false;
      return current;
    });
    pending.finally(() => (pending = null)).catch(() => {});
  }
  return pending;
}

/** The engine init() created; throws when init() has not been awaited. */
export function engine(): Engine {
  if (!current || current.isDestroyed) throw new GpuError('faceinv is not initialised: call `await init()` first');
  return current;
}

/** Destroys the engine's device (Node: needed for the process to exit). */
export function shutdown(): void {
  current?.destroy();
  current = null;
}
