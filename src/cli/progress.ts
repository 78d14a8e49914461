// A progress line on stderr: redrawn in place on a terminal, one line per report otherwise (logs, CI), so
// that stdout stays free for the command's JSON result.
export class ProgressBar {
  private readonly tty: boolean;
  private lastLen = 0;
  private readonly t0 = Date.now();

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly unit = 'it',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
  }

  update(done: number, fields: Record<string, string | number>, rate?: number): void {
    const width = 24;
    const frac = this.total > 0 ? Math.min(done / this.total, 1) : 1;
    const filled = Math.round(frac * width);
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = rate && rate > 0 ? (this.total - done) / rate : NaN;
    const parts = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`);
    if (rate !== undefined) parts.push(`${rate.toFixed(2)} ${this.unit}/s`);
    parts.push(`${elapsed.toFixed(0)}s${Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : ''}`);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}  ${parts.join('  ')}`;
    if (this.tty) {
      this.stream.write(`\r${line}${' '.repeat(Math.max(0, this.lastLen - line.length))}`);
      this.lastLen = line.length;
    } else this.stream.write(line + '\n');
  }

  /** Ends the in-place line (a terminal) so later output starts on its own line. */
  done(): void {
    if (this.tty && this.lastLen) this.stream.write('\n');
    this.lastLen = 0;
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a < 1 ? 4 : 2);
}
