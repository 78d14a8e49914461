// Waits on repeated blocks of GPU work without a busy host. Dawn's Node binding (npm `webgpu`) polls its events
// with setImmediate for as long as one of its promises is pending, keeping a core busy (and its allocations the
// garbage collector) for the whole wait; on a CPU adapter (lavapipe) that core is taken from the driver's own
// threads. Recording ten steps of the default model and then awaiting their completion took 15 % longer than
// sleeping on a timer through most of the expected time first (47–49 against 40–41 ms a step at batch 1,
// 279–290 against 238–247 at batch 8, 2 cores; see BENCHMARKS.md § Reconstruction iterations).
const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Learns how long a block of `units` (optimisation steps) takes from its first unit's recording to its
 * readback, and before the next readback sleeps until 85 % of the expected time has passed. The first block is
 * not learnt from (it compiles the pipelines), and the estimate rises by at most a tenth a block, so that a
 * slow block does not make the next sleep outlast the work.
 */
export class Pacer {
  private msPerUnit = 0;
  private start = -1;
  private blocks = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = sleepFor,
  ) {}

  /** A unit of the current block was recorded (the first starts its clock). */
  unit(): void {
    if (this.start < 0) this.start = this.now();
  }

  /** Before the readback of a block of `units`: sleeps while most of its expected time is still ahead. */
  async beforeWait(units: number): Promise<void> {
    if (this.start < 0 || !this.msPerUnit) return;
    const left = this.start + 0.85 * this.msPerUnit * units - this.now();
    if (left >= 2) await this.sleep(left);
  }

  /** After the readback of a block of `units`. */
  done(units: number): void {
    if (this.start < 0) return;
    const ms = (this.now() - this.start) / Math.max(units, 1);
    this.start = -1;
    if (this.blocks++ === 0) return;
    this.msPerUnit = this.msPerUnit ? Math.min(ms, this.msPerUnit * 1.1) : ms;
  }
}
