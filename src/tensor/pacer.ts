// Waits on repeated blocks of GPU work without a busy host. Dawn's Node binding (npm `webgpu`) polls its events
// with setImmediate for as long as one of its promises is pending, keeping a core busy (and its allocations the
// garbage collector) for the whole wait; on a CPU adapter (lavapipe) that core is taken from the driver's own
// threads. `node --import tsx bench/pacing.ts` (blocks of ten steps of the default model, awaited at once or
// paced) measured 47 against 34 ms a step at batch 1 and 272 against 167 at batch 8 on 2 cores (BENCHMARKS.md
// § Reconstruction iterations).
const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Learns how long a block of `units` (optimisation steps) takes from its first unit's recording to its
 * readback, and before the next readback sleeps until 85 % of the expected time has passed. The first block is
 * not learnt from (it compiles the pipelines); the estimate rises by at most a tenth a block, so that a slow
 * block does not make the next sleep outlast the work, and falls by a quarter when the work was done on waking.
 */
export class Pacer {
  private msPerUnit = 0;
  private start = -1;
  private blocks = 0;
  private woke = -1;

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
    if (left < 2) return;
    await this.sleep(left);
    this.woke = this.now();
  }

  /** After the readback of a block of `units`. */
  done(units: number): void {
    if (this.start < 0) return;
    const now = this.now();
    const ms = (now - this.start) / Math.max(units, 1);
    // Done at once on waking: the work took less than the sleep, by how much is unknown; a quarter off.
    const overslept = this.woke >= 0 && now - this.woke < 1;
    [this.start, this.woke] = [-1, -1];
    if (this.blocks++ === 0) return;
    this.msPerUnit = !this.msPerUnit ? ms : overslept ? 0.75 * this.msPerUnit : Math.min(ms, this.msPerUnit * 1.1);
  }
}
