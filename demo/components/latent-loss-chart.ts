import { LitElement, css, html } from "lit";
import { customElement, property, query } from "lit/decorators.js";
import { base } from "../lib/styles.js";

export interface LossPoint {
  step: number;
  loss: number;
}

/** 1, 2, 5 × 10^k ticks covering [lo, hi], about `n` of them. */
export function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * Ticks of a log axis spanning 10^lo … 10^hi: the powers of ten, filled in with 2× and 5× (or
 * every integer multiple, over less than a decade) until there are at least three.
 */
export function logTicks(lo: number, hi: number): number[] {
  for (const ms of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out: number[] = [];
    for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) for (const m of ms) {
      const v = m * 10 ** k;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) out.push(v);
    }
    if (out.length >= 3) return out.length > 8 ? out.filter((_, i) => i % Math.ceil(out.length / 6) === 0) : out;
  }
  return niceTicks(10 ** lo, 10 ** hi, 3).filter((v) => v > 0);
}

const fmtTick = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(0) : v.toLocaleString("en-US", { maximumFractionDigits: 2 }));

/**
 * The training loss against the step, on a linear or log axis (log needs positive losses). Pure
 * view: give it points, it draws them; resizing redraws.
 * @fires log-scale-change - CustomEvent<boolean>: the user toggled the log axis
 */
@customElement("latent-loss-chart")
export class LatentLossChart extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .head { display: flex; align-items: baseline; justify-content: space-between; gap: 0.5rem; flex-wrap: wrap; }
      .last { font-size: 0.85rem; }
      label { font-size: 0.8rem; display: inline-flex; gap: 0.3rem; align-items: center; cursor: pointer; }
      input { accent-color: var(--lt-accent, #5b4cdb); }
      .plot { position: relative; height: var(--lt-chart-height, 11rem); margin-top: 0.3rem; }
      canvas { width: 100%; height: 100%; display: block; }
      .empty { position: absolute; inset: 0; }
    `,
  ];

  @property({ attribute: false }) points: readonly LossPoint[] = [];
  @property({ type: Boolean }) log = false;
  @property() label = "Training loss";
  /** A horizontal reference (e.g. the published test NLL), drawn dashed. */
  @property({ attribute: false }) reference: { value: number; label: string } | null = null;
  @query("canvas") private canvas!: HTMLCanvasElement;
  #resize?: ResizeObserver;

  override connectedCallback() {
    super.connectedCallback();
    if (typeof ResizeObserver !== "undefined") {
      this.#resize = new ResizeObserver(() => this.#draw());
      this.#resize.observe(this);
    }
  }
  override disconnectedCallback() {
    super.disconnectedCallback();
    this.#resize?.disconnect();
  }

  /** Log scale is possible only when every loss is positive. */
  get canLog(): boolean {
    return this.points.every((p) => p.loss > 0 || !Number.isFinite(p.loss));
  }

  protected override updated() {
    this.#draw();
  }

  override render() {
    const last = this.points.at(-1);
    return html`
      <div class="head">
        <h3>${this.label}</h3>
        <span class="last mono muted">${last ? `step ${last.step.toLocaleString("en-US")}: ${last.loss.toFixed(2)} nats` : ""}</span>
        <label title=${this.canLog ? "" : "the loss is negative (a density on continuous data): no log axis"}>
          <input type="checkbox" .checked=${this.log && this.canLog} ?disabled=${!this.canLog} @change=${this.#toggle} /> log scale
        </label>
      </div>
      <div class="plot">
        <canvas aria-label="loss curve" role="img"></canvas>
        ${this.points.length < 2 ? html`<div class="empty">The loss appears here once training starts.</div>` : ""}
      </div>
    `;
  }

  #toggle(e: Event) {
    this.dispatchEvent(new CustomEvent("log-scale-change", { detail: (e.target as HTMLInputElement).checked, bubbles: true, composed: true }));
  }

  #draw() {
    const c = this.canvas;
    const g = c?.getContext?.("2d");
    if (!c || !g) return;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    g.clearRect(0, 0, w, h);
    const pts = this.points.filter((p) => Number.isFinite(p.loss));
    if (pts.length < 2) return;
    const log = this.log && this.canLog;
    const y = (v: number) => (log ? Math.log10(v) : v);
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) (lo = Math.min(lo, y(p.loss))), (hi = Math.max(hi, y(p.loss)));
    const ref = this.reference && (this.reference.value > 0 || !log) ? this.reference : null;
    if (ref) (lo = Math.min(lo, y(ref.value))), (hi = Math.max(hi, y(ref.value)));
    if (hi - lo < 1e-9) (lo -= 0.5), (hi += 0.5);
    const pad = (hi - lo) * 0.06;
    (lo -= pad), (hi += pad);
    const s0 = pts[0]!.step, s1 = pts.at(-1)!.step;
    const left = 46 * dpr, right = 8 * dpr, top = 6 * dpr, bottom = 18 * dpr;
    const X = (s: number) => left + ((s - s0) / (s1 - s0 || 1)) * (w - left - right);
    const Y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom);
    const style = getComputedStyle(this);
    const muted = style.getPropertyValue("--lt-muted").trim() || "#6b6f80";
    const grid = style.getPropertyValue("--lt-grid").trim() || "rgba(128,128,140,0.18)";
    const accent = style.getPropertyValue("--lt-accent").trim() || "#5b4cdb";
    g.font = `${11 * dpr}px ui-monospace, monospace`;
    g.fillStyle = muted;
    g.strokeStyle = grid;
    g.lineWidth = dpr;
    // y grid: nice ticks on the shown scale (powers of ten on a log axis)
    const yt = log ? logTicks(lo, hi).map(Math.log10) : niceTicks(lo, hi, 4);
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const t of yt) {
      const py = Y(t);
      g.beginPath();
      g.moveTo(left, py);
      g.lineTo(w - right, py);
      g.stroke();
      g.fillText(fmtTick(log ? 10 ** t : t), left - 5 * dpr, py);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const t of niceTicks(s0, s1, 4).filter(Number.isInteger)) g.fillText(t.toLocaleString("en-US"), X(t), h - bottom + 4 * dpr); // steps are whole
    if (ref) {
      const py = Y(y(ref.value));
      g.save();
      g.setLineDash([5 * dpr, 4 * dpr]);
      g.strokeStyle = style.getPropertyValue("--lt-ok").trim() || "#14804a";
      g.lineWidth = 1.5 * dpr;
      g.beginPath();
      g.moveTo(left, py);
      g.lineTo(w - right, py);
      g.stroke();
      g.fillStyle = g.strokeStyle;
      g.textAlign = "right";
      g.textBaseline = "bottom";
      g.fillText(ref.label, w - right - 2 * dpr, py - 3 * dpr);
      g.restore();
    }
    // the curve, with a soft fill underneath
    g.beginPath();
    pts.forEach((p, i) => (i ? g.lineTo(X(p.step), Y(y(p.loss))) : g.moveTo(X(p.step), Y(y(p.loss)))));
    g.strokeStyle = accent;
    g.lineWidth = 2 * dpr;
    g.lineJoin = "round";
    g.stroke();
    g.lineTo(X(s1), h - bottom);
    g.lineTo(X(s0), h - bottom);
    g.closePath();
    g.globalAlpha = 0.12;
    g.fillStyle = accent;
    g.fill();
    g.globalAlpha = 1;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-loss-chart": LatentLossChart;
  }
  interface HTMLElementEventMap {
    "log-scale-change": CustomEvent<boolean>;
  }
}
