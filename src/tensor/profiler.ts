// The engine's profiler: a timestamp query pair around every dispatch while a profile runs, resolved and read
// back once at the end, summed per op (or per dispatch label).
import type { Engine } from './engine.ts';

export interface ProfileRow {
  op: string;
  calls: number;
  ms: number;
}

/** Timestamp pairs around each dispatch; read back once at the end. */
export class Profiler {
  private readonly set: GPUQuerySet;
  private readonly labels: string[] = [];
  dropped = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity: number,
  ) {
    this.set = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
  }

  slot(label: string): GPUComputePassTimestampWrites | null {
    const i = this.labels.length;
    if (i >= this.capacity) {
      this.dropped++;
      return null;
    }
    this.labels.push(label);
    return { querySet: this.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  async report(e: Engine, byLabel: boolean): Promise<ProfileRow[]> {
    const n = this.labels.length;
    if (n === 0) return [];
    const resolved = this.device.createBuffer({ size: 16 * n, usage: 0x200 /* QUERY_RESOLVE */ | 0x4 /* COPY_SRC */ });
    try {
      const enc = this.device.createCommandEncoder();
      enc.resolveQuerySet(this.set, 0, 2 * n, resolved, 0);
      this.device.queue.submit([enc.finish()]);
      const ticks = new BigUint64Array(await e.read(resolved, 16 * n));
      const rows = new Map<string, ProfileRow>();
      this.labels.forEach((label, i) => {
        const op = byLabel ? label : label.split('(')[0];
        const row = rows.get(op) ?? { op, calls: 0, ms: 0 };
        row.calls++;
        row.ms += Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6;
        rows.set(op, row);
      });
      if (this.dropped) rows.set('(not timed: profile full)', { op: '(not timed: profile full)', calls: this.dropped, ms: NaN });
      return [...rows.values()].sort((a, b) => b.ms - a.ms);
    } finally {
      resolved.destroy();
    }
  }

  destroy(): void {
    this.set.destroy();
  }
}
