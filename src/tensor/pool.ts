/// <reference types="@webgpu/types" />
// Storage-buffer pool with size classes: buffers are recycled, never destroyed while the engine lives,
// so a loop that frees what it allocates reaches a steady state with no new GPU allocations.

export interface PoolStats {
  /** Bytes of buffers currently handed out (by size class). */
  bytesInUse: number;
  /** Bytes of all buffers the pool has created (in use + free). */
  bytesAllocated: number;
  buffersInUse: number;
  buffersAllocated: number;
}

/** Rounds a byte size up to its class: multiples of 256 B below 4 KiB, then 2^k × {1, 1.25, 1.5, 1.75}. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const k = Math.floor(Math.log2(b));
  const base = 2 ** k;
  const quarter = base / 4;
  return base + Math.ceil((b - base) / quarter) * quarter;
}

let nextBufferId = 1;
const bufferIds = new WeakMap<GPUBuffer, number>();

/** A stable small integer per GPUBuffer, used in bind-group cache keys. */
export function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(buffer, id);
  }
  return id;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private inUse = new Set<GPUBuffer>();
  private classOf = new Map<GPUBuffer, number>();
  private allocated = 0;
  private used = 0;

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
    readonly maxBufferSize: number,
    private label: string,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const cls = sizeClass(bytes);
    if (cls > this.maxBufferSize) {
      throw new RangeError(
        `${this.label}: a buffer of ${bytes} bytes exceeds the device's maxBufferSize (${this.maxBufferSize})`,
      );
    }
    let buf = this.free.get(cls)?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size: cls, usage: this.usage, label: `${this.label}#${cls}` });
      this.classOf.set(buf, cls);
      this.allocated += cls;
    }
    this.inUse.add(buf);
    this.used += cls;
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.inUse.delete(buf)) throw new Error(`${this.label}: released a buffer that is not in use`);
    const cls = this.classOf.get(buf)!;
    this.used -= cls;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buf);
  }

  stats(): PoolStats {
    return {
      bytesInUse: this.used,
      bytesAllocated: this.allocated,
      buffersInUse: this.inUse.size,
      buffersAllocated: this.classOf.size,
    };
  }

  /** Destroys free buffers (e.g. after a large one-off job). Buffers in use are untouched. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= this.classOf.get(b)!;
        this.classOf.delete(b);
        b.destroy();
      }
    }
    this.free.clear();
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.classOf.clear();
    this.allocated = 0;
    this.used = 0;
  }
}
