import { LitElement, css, html, type PropertyValues } from "lit";
import { customElement, property, queryAll } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** One dataset. `preview` ([n × 2] points) draws a thumbnail; `unavailable` disables it with a reason. */
export interface DatasetChoice {
  id: string;
  label: string;
  kind: "images" | "points";
  preview?: Float32Array;
  unavailable?: string;
}

/**
 * MNIST and the 2-D toys as a row of thumbnails. Pure view.
 * @fires dataset-change - CustomEvent<string>: the id the user picked
 */
@customElement("latent-dataset-picker")
export class LatentDatasetPicker extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .list { display: grid; grid-template-columns: repeat(auto-fill, minmax(4.6rem, 1fr)); gap: 0.4rem; }
      button { display: flex; flex-direction: column; align-items: center; gap: 0.25rem; padding: 0.35rem 0.25rem 0.3rem; border-radius: 0.6rem; font-size: 0.72rem; line-height: 1.1; }
      button.on { border-color: var(--lt-accent, #5b4cdb); box-shadow: 0 0 0 1px var(--lt-accent, #5b4cdb) inset; background: color-mix(in srgb, var(--lt-accent, #5b4cdb) 6%, var(--lt-card, #fff)); }
      canvas, .digits { width: 3.2rem; height: 3.2rem; border-radius: 0.35rem; background: var(--lt-plot-bg, #101018); }
      .digits { display: grid; place-items: center; color: #e8e8f0; font: 600 1.05rem/1 var(--lt-mono, ui-monospace, monospace); letter-spacing: -0.02em; }
    `,
  ];

  @property({ attribute: false }) datasets: readonly DatasetChoice[] = [];
  @property() selected = "";
  @property({ type: Boolean }) disabled = false;
  @queryAll("canvas") private canvases!: NodeListOf<HTMLCanvasElement>;

  protected override updated(changed: PropertyValues<this>) {
    if (!changed.has("datasets")) return;
    for (const c of this.canvases) {
      const d = this.datasets.find((x) => x.id === c.dataset.id);
      if (d?.preview) drawPoints(c, d.preview);
    }
  }

  override render() {
    return html`<div class="list" role="radiogroup" aria-label="Dataset">
      ${this.datasets.map(
        (d) => html`<button role="radio" aria-checked=${d.id === this.selected} class=${d.id === this.selected ? "on" : ""} ?disabled=${!!d.unavailable || this.disabled} title=${d.unavailable ?? d.label} data-id=${d.id} @click=${() => this.#pick(d.id)}>
          ${d.kind === "images" ? html`<span class="digits">0–9</span>` : html`<canvas width="64" height="64" data-id=${d.id}></canvas>`}
          <span>${d.label}</span>
        </button>`,
      )}
    </div>`;
  }

  #pick(id: string) {
    if (id === this.selected) return;
    this.dispatchEvent(new CustomEvent("dataset-change", { detail: id, bubbles: true, composed: true }));
  }
}

/** Points in [−4, 4]² as soft dots on a 64 × 64 canvas. */
function drawPoints(c: HTMLCanvasElement, pts: Float32Array) {
  const g = c.getContext("2d");
  if (!g) return;
  g.fillStyle = "#101018";
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = "rgba(120, 200, 255, 0.55)";
  for (let i = 0; i + 1 < pts.length; i += 2) {
    const x = ((pts[i]! + 4) / 8) * c.width, y = ((4 - pts[i + 1]!) / 8) * c.height;
    g.fillRect(x - 0.6, y - 0.6, 1.2, 1.2);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-dataset-picker": LatentDatasetPicker;
  }
  interface HTMLElementEventMap {
    "dataset-change": CustomEvent<string>;
  }
}
