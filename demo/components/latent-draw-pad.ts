import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { ink, toMnist } from "../lib/digit.js";
import { drawImageGrid } from "../lib/draw.js";
import { base } from "../lib/styles.js";

/** Resolution of the drawing surface (10× MNIST): strokes are anti-aliased by the downsampling. */
const PAD = 280;

/**
 * Draw a digit with the mouse, a finger or a pen. When a stroke ends the drawing is normalised the
 * way MNIST was (fit into 20 × 20, centred by mass in 28 × 28) and reported; the pad shows that
 * 28 × 28 input and, when given one, the model's reconstruction of it.
 * @fires digit-drawn - CustomEvent<Float32Array>: the 28 × 28 digit, values in [0, 1]
 * @fires digit-clear - Event
 */
@customElement("latent-draw-pad")
export class LatentDrawPad extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .wrap { display: grid; grid-template-columns: minmax(0, 1.6fr) minmax(0, 1fr); gap: 0.7rem; align-items: start; }
      .pad { position: relative; aspect-ratio: 1; border-radius: 0.6rem; overflow: hidden; background: #0c0c14; touch-action: none; cursor: crosshair; border: 1px solid var(--lt-border, #d4d6e0); }
      .pad canvas { width: 100%; height: 100%; display: block; }
      .hintover { position: absolute; inset: 0; display: grid; place-items: center; color: #8a8da3; font-size: 0.9rem; pointer-events: none; text-align: center; padding: 1rem; }
      .side { display: grid; gap: 0.5rem; }
      .tile { aspect-ratio: 1; background: #0c0c14; border-radius: 0.45rem; overflow: hidden; }
      .tile canvas { width: 100%; height: 100%; }
      .cap { font-size: 0.72rem; margin-top: 0.15rem; }
      .row { display: flex; gap: 0.4rem; margin-top: 0.5rem; }
      .row button { font-size: 0.8rem; padding: 0.25rem 0.7rem; }
      .none { aspect-ratio: 1; display: grid; place-items: center; font-size: 0.7rem; text-align: center; border: 1px dashed var(--lt-border, #d4d6e0); border-radius: 0.45rem; padding: 0.3rem; }
    `,
  ];

  /** The model's reconstruction of the current digit (28 × 28), or null. */
  @property({ attribute: false }) reconstruction: Float32Array | null = null;
  /** Why there is no reconstruction (e.g. "NADE has no latent space"). */
  @property() reconstructionNote = "";
  @property({ type: Boolean }) disabled = false;
  /** The normalised 28 × 28 digit last reported. */
  @state() private digit: Float32Array | null = null;
  @query(".pad canvas") private pad!: HTMLCanvasElement;
  @query(".tile.input canvas") private inputCanvas?: HTMLCanvasElement;
  @query(".tile.recon canvas") private reconCanvas?: HTMLCanvasElement;
  #last: { x: number; y: number } | null = null;

  protected override updated() {
    if (this.digit && this.inputCanvas) drawImageGrid(this.inputCanvas, { n: 1, width: 28, height: 28, pixels: this.digit }, 1, 0);
    if (this.reconstruction && this.reconCanvas) drawImageGrid(this.reconCanvas, { n: 1, width: 28, height: 28, pixels: this.reconstruction }, 1, 0);
  }

  override render() {
    return html`
      <div class="wrap">
        <div>
          <div class="pad" @pointerdown=${this.#down} @pointermove=${this.#move} @pointerup=${this.#up} @pointercancel=${this.#up} @pointerleave=${this.#up}>
            <canvas width=${PAD} height=${PAD} aria-label="drawing pad: draw a digit"></canvas>
            ${this.digit ? "" : html`<div class="hintover">${this.disabled ? "Train a model on MNIST to score drawings" : "Draw a digit here"}</div>`}
          </div>
          <div class="row"><button @click=${this.clear} ?disabled=${!this.digit}>Clear</button></div>
        </div>
        <div class="side">
          <div>
            ${this.digit ? html`<div class="tile input"><canvas class="pixels"></canvas></div>` : html`<div class="none muted">28 × 28 input</div>`}
            <div class="cap muted">what the model sees</div>
          </div>
          <div>
            ${this.reconstruction && this.digit ? html`<div class="tile recon"><canvas class="pixels"></canvas></div>` : html`<div class="none muted">${this.reconstructionNote || "reconstruction"}</div>`}
            <div class="cap muted">its reconstruction</div>
          </div>
        </div>
      </div>
    `;
  }

  #point(e: PointerEvent): { x: number; y: number } {
    const r = this.pad.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / (r.width || 1)) * PAD, y: ((e.clientY - r.top) / (r.height || 1)) * PAD };
  }

  #down(e: PointerEvent) {
    if (this.disabled) return;
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
    this.#last = this.#point(e);
    this.#stroke(this.#last, this.#last);
  }

  #move(e: PointerEvent) {
    if (!this.#last) return;
    const p = this.#point(e);
    this.#stroke(this.#last, p);
    this.#last = p;
  }

  #up() {
    if (!this.#last) return;
    this.#last = null;
    this.#report();
  }

  #stroke(a: { x: number; y: number }, b: { x: number; y: number }) {
    const g = this.pad.getContext("2d");
    if (!g) return;
    // about 2.5 MNIST pixels wide, like the pen strokes in the data set
    g.strokeStyle = "#fff";
    g.lineWidth = PAD / 11;
    g.lineCap = "round";
    g.lineJoin = "round";
    g.beginPath();
    g.moveTo(a.x, a.y);
    g.lineTo(b.x + 0.01, b.y);
    g.stroke();
  }

  /** Reads the pad's ink (its alpha channel) and submits it. */
  #report() {
    const g = this.pad.getContext("2d");
    if (!g) return;
    const rgba = g.getImageData(0, 0, PAD, PAD).data;
    const v = new Float32Array(PAD * PAD);
    for (let i = 0; i < v.length; i++) v[i] = rgba[4 * i + 3]! / 255;
    this.submitDrawing(v, PAD);
  }

  /**
   * Normalises an n × n drawing (ink in [0, 1]) to an MNIST digit, shows it and reports it; an
   * empty drawing is ignored. The pad calls this when a stroke ends.
   */
  submitDrawing(values: ArrayLike<number>, n: number): void {
    const digit = toMnist(values, n);
    if (ink(digit) === 0) return;
    this.digit = digit;
    this.dispatchEvent(new CustomEvent("digit-drawn", { detail: digit, bubbles: true, composed: true }));
  }

  /** Wipes the pad. */
  clear = () => {
    this.pad?.getContext("2d")?.clearRect(0, 0, PAD, PAD);
    this.digit = null;
    this.dispatchEvent(new Event("digit-clear", { bubbles: true, composed: true }));
  };
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-draw-pad": LatentDrawPad;
  }
  interface HTMLElementEventMap {
    "digit-drawn": CustomEvent<Float32Array>;
    "digit-clear": Event;
  }
}
