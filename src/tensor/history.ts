// Loss values kept on the GPU between readbacks: each step copies its values into the next row of a block
// (a buffer copy in the step's command encoder, no readback), and the block is read every k steps — which is
// also when a non-finite value is caught. Used by reconstruction and decoder training alike. The wait for a
// block sleeps through most of its expected time first (Pacer): Dawn's Node binding would poll meanwhile.
import { Tensor, keep } from './tensor.ts';
import { engine } from './engine.ts';
import { Pacer } from './pacer.ts';

export interface HistoryBlock {
  /** The rows recorded since the previous read, in order, each `width` values. */
  rows: Float32Array[];
  /** Index (into rows) of the first row holding a non-finite value, or −1. */
  bad: number;
}

export class LossHistory {
  private readonly block: Tensor;
  private filled = 0;
  private readonly pacer = new Pacer();

  /** Room for `capacity` rows of `width` values. */
  constructor(readonly capacity: number, readonly width: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1 && Number.isInteger(width) && width >= 1)) {
      throw new RangeError(`LossHistory: capacity and width must be whole numbers ≥ 1, got ${capacity} × ${width}`);
    }
    // Lives until dispose(), whatever scope creates it.
    this.block = keep(Tensor.empty([capacity, width]));
  }

  /** Rows recorded since the last read. */
  get count(): number {
    return this.filled;
  }

  /** True when the block has no room left: read it before the next record. */
  get full(): boolean {
    return this.filled === this.capacity;
  }

  /** Copies `values` (`width` floats) into the next row, in the pending command encoder. */
  record(values: Tensor): void {
    if (values.size !== this.width) throw new RangeError(`LossHistory: a row holds ${this.width} values, got ${values.size}`);
    if (this.full) throw new RangeError('LossHistory: the block is full; read() it first');
    engine().copyBuffer(values.buffer, 0, this.block.buffer, this.filled * this.width * 4, this.width * 4);
    this.pacer.unit();
    this.filled++;
  }

  /** Reads the recorded rows back (one readback) and starts a new block. */
  async read(): Promise<HistoryBlock> {
    engine().flush();
    await this.pacer.beforeWait(this.filled);
    const data = await this.block.data();
    this.pacer.done(this.filled);
    const rows = Array.from({ length: this.filled }, (_, r) => data.slice(r * this.width, (r + 1) * this.width));
    this.filled = 0;
    return { rows, bad: rows.findIndex((row) => row.some((v) => !Number.isFinite(v))) };
  }

  dispose(): void {
    this.block.dispose();
  }
}
