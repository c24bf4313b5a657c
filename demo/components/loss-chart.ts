import { LitElement, css, html } from "lit";
import { customElement, property, query } from "lit/decorators.js";

/** Line chart of a loss series, optionally log-scaled. Pure view: give it numbers. */
@customElement("loss-chart")
export class LossChart extends LitElement {
  static override styles = css`
    :host { display: block; }
    canvas { width: 100%; height: 10rem; border: 1px solid #8884; border-radius: 0.4rem; }
    .empty { color: #888; font-size: 0.9rem; }
  `;
  @property({ attribute: false }) values: readonly number[] = [];
  @property({ type: Boolean }) log = false;
  @query("canvas") private canvas!: HTMLCanvasElement;

  protected override updated() {
    const c = this.canvas;
    if (!c) return;
    const w = (c.width = c.clientWidth * devicePixelRatio), h = (c.height = c.clientHeight * devicePixelRatio);
    const g = c.getContext("2d")!;
    g.clearRect(0, 0, w, h);
    const vs = this.values.map((v) => (this.log ? Math.log10(Math.max(v, 1e-12)) : v)).filter(Number.isFinite);
    if (vs.length < 2) return;
    const lo = Math.min(...vs), hi = Math.max(...vs);
    g.strokeStyle = "#37c";
    g.lineWidth = 2 * devicePixelRatio;
    g.beginPath();
    vs.forEach((v, i) => {
      const x = (i / (vs.length - 1)) * w, y = h - ((v - lo) / (hi - lo || 1)) * (h - 8) - 4;
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }

  override render() {
    return html`${this.values.length < 2 ? html`<div class="empty">No training yet.</div>` : ""}<canvas></canvas>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "loss-chart": LossChart;
  }
}
