/**
 * The training progress line: step, loss, throughput and ETA. On a terminal it is one line redrawn
 * in place (carriage return + erase-line), at most every 100 ms; when stderr is a file or a pipe
 * (CI logs, `2> log.txt`) every report is a plain line of its own, so the log stays readable.
 */

/** Where output goes: process.stderr, or a test's capture. */
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressState {
  /** What is counted (default "step"). */
  unit?: string;
  step: number;
  /** Target step when the budget is in steps or epochs. */
  totalSteps?: number;
  /** Fractional epoch (step / batches per epoch). */
  epoch?: number;
  /** Mean loss of the last read-back window. */
  loss?: number;
  /** What the loss is called (default "loss"). */
  lossName?: string;
  samplesPerSec?: number;
  /** Seconds left, when a budget is known. */
  etaSec?: number;
  /** Budget used so far, 0…1 (drives the bar). */
  fraction?: number;
}

/** 37s, 4m12s, 1h02m. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A loss with 4 significant digits (fixed point in the usual range, exponent outside it). */
export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toPrecision(Math.max(4, Math.ceil(Math.log10(a + 1))));
}

/** One status line, e.g. `step 1200/5000 [###-------] 24% | epoch 2.40 | loss 97.31 | 1520 samples/s | ETA 4m12s`. */
export function formatProgress(s: ProgressState, barWidth = 20): string {
  const parts: string[] = [];
  let head = `${s.unit ?? "step"} ${s.step}${s.totalSteps !== undefined ? `/${s.totalSteps}` : ""}`;
  if (s.fraction !== undefined && barWidth > 0) {
    const f = Math.min(1, Math.max(0, s.fraction));
    const filled = Math.round(f * barWidth);
    head += ` [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${Math.floor(f * 100)}%`;
  }
  parts.push(head);
  if (s.epoch !== undefined) parts.push(`epoch ${s.epoch.toFixed(2)}`);
  if (s.loss !== undefined) parts.push(`${s.lossName ?? "loss"} ${formatLoss(s.loss)}`);
  if (s.samplesPerSec !== undefined) parts.push(`${s.samplesPerSec >= 100 ? Math.round(s.samplesPerSec) : s.samplesPerSec.toFixed(1)} samples/s`);
  if (s.etaSec !== undefined) parts.push(`ETA ${formatDuration(s.etaSec)}`);
  return parts.join(" | ");
}

export class Progress {
  readonly #out: OutStream;
  readonly #tty: boolean;
  readonly #minIntervalMs: number;
  readonly #minLineMs: number;
  #last = 0;
  #lastLine = -Infinity;
  /** A report held back by the line throttle (printed by done()). */
  #pending: string | null = null;
  #shown = false;
  #line = "";

  /**
   * @param opts.minIntervalMs terminal redraws at most this often (default 100 ms)
   * @param opts.minLineMs without a terminal, report lines at most this often (default 5 s; the
   *   last one is always written by done()), so fast runs do not flood a log file
   */
  constructor(out: OutStream, opts: { minIntervalMs?: number; minLineMs?: number } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#minIntervalMs = opts.minIntervalMs ?? 100;
    this.#minLineMs = opts.minLineMs ?? 5000;
  }

  /**
   * Reports progress. On a terminal the line is redrawn (throttled unless `report`); otherwise a
   * line is written only for reports (`report: true`, i.e. when a fresh loss was read back).
   */
  update(s: ProgressState, { report = false } = {}): void {
    if (!this.#tty) {
      if (!report) return;
      const line = formatProgress(s, 0), now = Date.now();
      if (now - this.#lastLine >= this.#minLineMs) {
        this.#out.write(`${line}\n`);
        this.#lastLine = now;
        this.#pending = null;
      } else this.#pending = line;
      return;
    }
    const now = Date.now();
    if (!report && now - this.#last < this.#minIntervalMs) return;
    this.#last = now;
    const cols = this.#out.columns ?? 100;
    let line = formatProgress(s);
    if (line.length > cols - 1) line = formatProgress(s, 0);
    this.#line = line.slice(0, Math.max(10, cols - 1));
    this.#out.write(`\r\x1b[2K${this.#line}`);
    this.#shown = true;
  }

  /** A message on a line of its own (the progress line is redrawn under it on a terminal). */
  log(msg: string): void {
    if (this.#tty && this.#shown) this.#out.write(`\r\x1b[2K${msg}\n${this.#line}`);
    else this.#out.write(`${msg}\n`);
  }

  /** Ends the progress line (a newline on a terminal; the last held-back report otherwise). */
  done(): void {
    if (this.#tty && this.#shown) this.#out.write("\n");
    if (this.#pending !== null) this.#out.write(`${this.#pending}\n`);
    this.#pending = null;
    this.#shown = false;
  }
}
