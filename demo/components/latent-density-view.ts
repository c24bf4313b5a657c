import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { normaliseLogDensity, viridis } from "../lib/draw.js";
import { base } from "../lib/styles.js";
import type { DensityFrame } from "../worker/protocol.js";

/**
 * A 2-D model's density as a heatmap over the plane, with its samples (white) and the training
 * points (pink) overlaid. Pure view; the toggles only change how the frame is drawn.
 */
@customElement("latent-density-view")
export class LatentDensityView extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .frame { position: relative; aspect-ratio: 1; max-width: var(--lt-grid-max, 30rem); margin: 0 auto; border-radius: var(--lt-radius, 0.75rem); overflow: hidden; background: #0c0c14; }
      canvas { width: 100%; height: 100%; display: block; }
      .empty { position: absolute; inset: 0; border: none; color: #a0a3b8; border-radius: 0; }
      .bar { display: flex; flex-wrap: wrap; gap: 0.35rem 0.9rem; align-items: center; margin-top: 0.45rem; font-size: 0.8rem; }
      label { display: inline-flex; gap: 0.3rem; align-items: center; cursor: pointer; }
      input { accent-color: var(--lt-accent, #5b4cdb); }
      .key { display: inline-block; width: 0.65rem; height: 0.65rem; border-radius: 50%; border: 1px solid var(--lt-muted, #6b6f80); }
      .caption { margin-left: auto; }
    `,
  ];

  @property({ attribute: false }) density: DensityFrame | null = null;
  @property() caption = "";
  @property() placeholder = "Press Train: the model's density appears here.";
  @state() private scale: "density" | "log" = "log";
  @state() private showSamples = true;
  /** The data are shown by default: how the model's density differs from them is the point. */
  @state() private showData = true;
  @query("canvas") private canvas!: HTMLCanvasElement;

  protected override updated() {
    if (this.density && this.canvas) this.#draw(this.density);
  }

  override render() {
    return html`
      <div class="frame">
        <canvas ?hidden=${!this.density} role="img" aria-label="model density heatmap"></canvas>
        ${this.density ? "" : html`<div class="empty">${this.placeholder}</div>`}
      </div>
      <div class="bar">
        <label><input type="checkbox" .checked=${this.scale === "log"} @change=${(e: Event) => (this.scale = (e.target as HTMLInputElement).checked ? "log" : "density")} /> log p</label>
        <label><input type="checkbox" .checked=${this.showSamples} @change=${(e: Event) => (this.showSamples = (e.target as HTMLInputElement).checked)} /><span class="key" style="background:#fff"></span> samples</label>
        <label><input type="checkbox" .checked=${this.showData} @change=${(e: Event) => (this.showData = (e.target as HTMLInputElement).checked)} /><span class="key" style="background:#ff5fa2"></span> data</label>
        <span class="caption muted">${this.caption}</span>
      </div>
    `;
  }

  #draw(d: DensityFrame) {
    const c = this.canvas, g = c.getContext?.("2d");
    if (!g) return;
    const px = 480;
    if (c.width !== px) (c.width = px), (c.height = px);
    // the heatmap at grid resolution, scaled up smoothly
    const heat = document.createElement("canvas");
    heat.width = heat.height = d.size;
    const hg = heat.getContext("2d");
    if (!hg) return;
    const img = hg.createImageData(d.size, d.size);
    const v = normaliseLogDensity(d.logDensity, this.scale);
    for (let i = 0; i < v.length; i++) {
      const [r, gg, b] = viridis(v[i]!);
      img.data.set([r, gg, b, 255], 4 * i);
    }
    hg.putImageData(img, 0, 0);
    g.imageSmoothingEnabled = true;
    g.drawImage(heat, 0, 0, px, px);
    const [x0, x1, y0, y1] = d.extent;
    const dot = (pts: Float32Array, color: string, r: number) => {
      g.fillStyle = color;
      for (let i = 0; i + 1 < pts.length; i += 2) {
        const x = ((pts[i]! - x0) / (x1 - x0)) * px, y = ((y1 - pts[i + 1]!) / (y1 - y0)) * px;
        if (x < 0 || y < 0 || x > px || y > px) continue;
        g.beginPath();
        g.arc(x, y, r, 0, 2 * Math.PI);
        g.fill();
      }
    };
    if (this.showData) dot(d.data, "rgba(255, 95, 162, 0.5)", 1.4);
    if (this.showSamples) dot(d.samples, "rgba(255, 255, 255, 0.8)", 1.4);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-density-view": LatentDensityView;
  }
}
