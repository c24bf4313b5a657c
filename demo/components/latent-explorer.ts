import { LitElement, css, html, type PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { drawImageGrid } from "../lib/draw.js";
import { base } from "../lib/styles.js";
import type { ImageBatch } from "../worker/protocol.js";

export type ExplorerMode = "grid" | "interpolate";

/**
 * A latent-variable model's latent space: a map (digits decoded on a grid of latent points) or an
 * interpolation between two test digits, scrubbed with a slider. Pure view: the frames are
 * computed elsewhere; the slider only picks which one to show.
 * @fires explorer-mode-change - CustomEvent<ExplorerMode>
 * @fires interpolate-shuffle - Event: pick two other digits
 */
@customElement("latent-explorer")
export class LatentExplorer extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .tabs { display: inline-flex; border: 1px solid var(--lt-border, #d4d6e0); border-radius: 0.55rem; overflow: hidden; margin-bottom: 0.6rem; }
      .tabs button { border: none; border-radius: 0; padding: 0.3rem 0.8rem; font-size: 0.82rem; }
      .tabs button.on { background: var(--lt-accent, #5b4cdb); color: var(--lt-accent-fg, #fff); }
      .map { aspect-ratio: 1; max-width: 26rem; margin: 0 auto; background: #0c0c14; border-radius: 0.6rem; overflow: hidden; position: relative; }
      .map canvas { width: 100%; height: 100%; }
      .axis { font-size: 0.72rem; text-align: center; margin-top: 0.3rem; }
      .interp { display: grid; grid-template-columns: 1fr 2.2fr 1fr; gap: 0.6rem; align-items: center; max-width: 28rem; margin: 0 auto; }
      .tile { background: #0c0c14; border-radius: 0.5rem; overflow: hidden; aspect-ratio: 1; }
      .tile canvas { width: 100%; height: 100%; }
      .cap { font-size: 0.72rem; text-align: center; margin-top: 0.2rem; }
      input[type="range"] { width: 100%; accent-color: var(--lt-accent, #5b4cdb); margin-top: 0.6rem; }
      .strip { margin-top: 0.4rem; border-radius: 0.35rem; overflow: hidden; background: #0c0c14; }
      .strip canvas { width: 100%; }
      .row { display: flex; justify-content: space-between; align-items: center; gap: 0.5rem; margin-top: 0.3rem; flex-wrap: wrap; }
      .row button { font-size: 0.8rem; padding: 0.25rem 0.7rem; }
      .empty { min-height: 10rem; }
    `,
  ];

  @property() mode: ExplorerMode = "grid";
  /** size × size decoded images (mode grid). */
  @property({ attribute: false }) grid: ImageBatch | null = null;
  /** Frames from digit A to digit B, and the two digits (mode interpolate). */
  @property({ attribute: false }) interpolation: { frames: ImageBatch; endpoints: ImageBatch } | null = null;
  /** Latent dimensions of the model (the map shows the first two). */
  @property({ type: Number }) latentDim = 0;
  /** Why the explorer cannot run ("" when it can). */
  @property() unavailable = "";
  /** Which interpolation frame is shown. */
  @state() private frame = 0;
  @query(".map canvas") private mapCanvas?: HTMLCanvasElement;
  @query(".tile.mid canvas") private midCanvas?: HTMLCanvasElement;
  @query(".tile.a canvas") private aCanvas?: HTMLCanvasElement;
  @query(".tile.b canvas") private bCanvas?: HTMLCanvasElement;
  @query(".strip canvas") private stripCanvas?: HTMLCanvasElement;

  protected override willUpdate(changed: PropertyValues<this>) {
    // a first interpolation opens at its midpoint; refreshes during training keep the slider where it is
    const n = this.interpolation?.frames.n ?? 0;
    if (changed.has("interpolation") && (!changed.get("interpolation") || this.frame >= n)) this.frame = Math.max(0, Math.floor(n / 2));
  }

  protected override updated() {
    const one = (b: ImageBatch, k: number): ImageBatch => ({ n: 1, width: b.width, height: b.height, pixels: b.pixels.subarray(k * b.width * b.height, (k + 1) * b.width * b.height) });
    if (this.mode === "grid" && this.grid && this.mapCanvas) drawImageGrid(this.mapCanvas, this.grid, Math.round(Math.sqrt(this.grid.n)), 0);
    const it = this.interpolation;
    if (this.mode === "interpolate" && it) {
      if (this.midCanvas) drawImageGrid(this.midCanvas, one(it.frames, Math.min(this.frame, it.frames.n - 1)), 1, 0);
      if (this.aCanvas) drawImageGrid(this.aCanvas, one(it.endpoints, 0), 1, 0);
      if (this.bCanvas) drawImageGrid(this.bCanvas, one(it.endpoints, 1), 1, 0);
      if (this.stripCanvas) drawImageGrid(this.stripCanvas, it.frames, it.frames.n, 0);
    }
  }

  override render() {
    if (this.unavailable) return html`<div class="empty">${this.unavailable}</div>`;
    return html`
      <div class="tabs" role="tablist">
        <button role="tab" class=${this.mode === "grid" ? "on" : ""} aria-selected=${this.mode === "grid"} @click=${() => this.#mode("grid")}>Latent map</button>
        <button role="tab" class=${this.mode === "interpolate" ? "on" : ""} aria-selected=${this.mode === "interpolate"} @click=${() => this.#mode("interpolate")}>Interpolate</button>
      </div>
      ${this.mode === "grid" ? this.#grid() : this.#interp()}
    `;
  }

  #grid() {
    if (!this.grid) return html`<div class="empty">Decoding the latent grid…</div>`;
    return html`<div class="map"><canvas class="pixels" role="img" aria-label="digits decoded over a grid of latent points"></canvas></div>
      <div class="axis muted">
        ${this.latentDim === 1 ? "z₁ from low to high, row by row" : `z₁ → left to right, z₂ → bottom to top${this.latentDim > 2 ? ` (the other ${this.latentDim - 2} dimensions at 0)` : ""}; spaced by normal quantiles`}
      </div>`;
  }

  #interp() {
    const it = this.interpolation;
    if (!it) return html`<div class="empty">Encoding two test digits…</div>`;
    const n = it.frames.n;
    return html`
      <div class="interp">
        <div><div class="tile a"><canvas class="pixels"></canvas></div><div class="cap muted">digit A</div></div>
        <div><div class="tile mid"><canvas class="pixels"></canvas></div><div class="cap muted mono">t = ${(n > 1 ? this.frame / (n - 1) : 0).toFixed(2)}</div></div>
        <div><div class="tile b"><canvas class="pixels"></canvas></div><div class="cap muted">digit B</div></div>
      </div>
      <input type="range" min="0" max=${n - 1} step="1" .value=${String(this.frame)} aria-label="interpolation position" @input=${(e: Event) => (this.frame = Number((e.target as HTMLInputElement).value))} />
      <div class="strip"><canvas class="pixels"></canvas></div>
      <div class="row">
        <span class="muted small">decode((1 − t)·z_A + t·z_B), z = the encoder's mean</span>
        <button @click=${() => this.dispatchEvent(new Event("interpolate-shuffle", { bubbles: true, composed: true }))}>Two other digits</button>
      </div>
    `;
  }

  #mode(m: ExplorerMode) {
    if (m === this.mode) return;
    this.dispatchEvent(new CustomEvent("explorer-mode-change", { detail: m, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-explorer": LatentExplorer;
  }
  interface HTMLElementEventMap {
    "explorer-mode-change": CustomEvent<ExplorerMode>;
    "interpolate-shuffle": Event;
  }
}
