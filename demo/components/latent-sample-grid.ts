import { LitElement, css, html, type PropertyValues } from "lit";
import { customElement, property, query } from "lit/decorators.js";
import type { GenerativeModel } from "../../models/model.js";
import { ModelSamplesController } from "../controllers/model-samples.js";
import { drawImageGrid } from "../lib/draw.js";
import { base } from "../lib/styles.js";
import type { ImageBatch } from "../worker/protocol.js";

/**
 * A grid of generated images drawn to one canvas at native resolution (CSS scales it, pixelated).
 * Give it `images` (the demo page does: samples come from its worker), or give it a `model` living
 * on this thread and it samples it itself (embedding: `<latent-sample-grid .model=${m}>`; call
 * `refresh()` after training more).
 * @fires samples-request - Event: the user asked for new samples (page mode only)
 */
@customElement("latent-sample-grid")
export class LatentSampleGrid extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .frame { position: relative; aspect-ratio: 1; max-width: var(--lt-grid-max, 30rem); margin: 0 auto; border-radius: var(--lt-radius, 0.75rem); overflow: hidden; background: #0c0c14; }
      canvas { width: 100%; height: 100%; }
      .empty { position: absolute; inset: 0; border: none; color: #a0a3b8; border-radius: 0; }
      .bar { display: flex; justify-content: space-between; align-items: center; gap: 0.5rem; margin-top: 0.45rem; font-size: 0.8rem; flex-wrap: wrap; }
      .busy { position: absolute; top: 0.5rem; right: 0.5rem; font-size: 0.7rem; padding: 0.1rem 0.45rem; border-radius: 0.3rem; background: #000a; color: #fff; }
      button { padding: 0.25rem 0.7rem; font-size: 0.8rem; }
    `,
  ];

  /** Images to show (page mode). */
  @property({ attribute: false }) images: ImageBatch | null = null;
  /** A model to sample on this thread (embedding mode). */
  @property({ attribute: false }) model: GenerativeModel | null = null;
  /** Images per row. */
  @property({ type: Number }) cols = 8;
  /** Samples to draw from `model`, and their size. */
  @property({ type: Number }) count = 64;
  @property({ type: Number }) width = 28;
  @property({ type: Number }) height = 28;
  @property({ type: Number }) seed = 0;
  /** A caption under the grid ("after 1,200 steps"). */
  @property() caption = "";
  /** Shown when there is nothing to draw. */
  @property() placeholder = "Press Train: samples appear here as the model learns.";
  @property({ type: Boolean }) loading = false;
  @query("canvas") private canvas!: HTMLCanvasElement;
  readonly #sampler = new ModelSamplesController(this);

  /** Re-samples `model` (after it trained more). */
  refresh(): Promise<void> {
    if (!this.model) return Promise.resolve();
    return this.#sampler.draw(this.model, this.count, this.width, this.height, this.seed);
  }

  protected override willUpdate(changed: PropertyValues<this>) {
    if (this.model && (changed.has("model") || changed.has("count") || changed.has("seed"))) void this.refresh();
  }

  get #shown(): ImageBatch | null {
    return this.model ? this.#sampler.images : this.images;
  }

  protected override updated() {
    const b = this.#shown;
    if (b && this.canvas) drawImageGrid(this.canvas, b, Math.min(this.cols, b.n));
  }

  override render() {
    const b = this.#shown;
    const busy = this.loading || this.#sampler.pending;
    const error = this.model ? this.#sampler.error : "";
    return html`
      <div class="frame">
        <canvas class="pixels" ?hidden=${!b} aria-label=${b ? `${b.n} generated images` : ""} role="img"></canvas>
        ${!b ? html`<div class="empty">${error || (busy ? "Sampling…" : this.placeholder)}</div>` : ""}
        ${b && busy ? html`<span class="busy">updating…</span>` : ""}
      </div>
      <div class="bar">
        <span class="muted">${this.caption}</span>
        ${this.model ? "" : html`<button ?disabled=${busy} @click=${this.#request} title="Draw a new set of samples">New samples</button>`}
      </div>
    `;
  }

  #request() {
    this.dispatchEvent(new Event("samples-request", { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-sample-grid": LatentSampleGrid;
  }
  interface HTMLElementEventMap {
    "samples-request": Event;
  }
}
