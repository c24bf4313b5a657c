import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** Numbers shown next to the buttons (all optional: absent before training). */
export interface TrainStats {
  step: number;
  epoch: number;
  loss: number;
  samplesPerSec: number;
  params: number;
}

const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");

/**
 * Train / pause and reset, with the step, epoch, loss and throughput. Pure view.
 * @fires train-toggle - Event: start or pause
 * @fires train-reset - Event: a fresh model with the same settings
 */
@customElement("latent-train-controls")
export class LatentTrainControls extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      button.primary { min-width: 8.5rem; font-size: 1rem; padding: 0.6rem 1.2rem; display: inline-flex; gap: 0.5rem; align-items: center; justify-content: center; }
      .stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 0.4rem; margin-top: 0.7rem; }
      .stat { background: var(--lt-chip, #eef0f6); border-radius: 0.5rem; padding: 0.35rem 0.5rem; min-width: 0; }
      .k { font-size: 0.68rem; text-transform: uppercase; letter-spacing: 0.05em; }
      .v { font-size: 0.98rem; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
      .status { font-size: 0.82rem; margin-top: 0.5rem; }
      .spin { width: 0.8rem; height: 0.8rem; border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%; animation: spin 0.8s linear infinite; }
      @keyframes spin { to { transform: rotate(360deg); } }
      @media (max-width: 30rem) { .stats { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
    `,
  ];

  @property({ type: Boolean }) running = false;
  @property({ type: Boolean }) disabled = false;
  @property({ attribute: false }) stats: TrainStats | null = null;
  /** A line under the buttons: "Loading MNIST…", "Fresh model: press Train". */
  @property() status = "";

  override render() {
    const s = this.stats;
    return html`
      <div class="row">
        <button class="primary" data-action="toggle" ?disabled=${this.disabled} @click=${() => this.#fire("train-toggle")} aria-pressed=${this.running}>
          ${this.running ? html`<span class="spin" aria-hidden="true"></span> Pause` : s && s.step > 0 ? "▶ Resume" : "▶ Train"}
        </button>
        <button data-action="reset" ?disabled=${this.disabled || (!s?.step && !this.running)} @click=${() => this.#fire("train-reset")} title="Start again from fresh random weights">Reset</button>
      </div>
      <div class="stats">
        <div class="stat"><div class="k muted">Step</div><div class="v mono" data-stat="step">${s ? fmt(s.step) : "0"}</div></div>
        <div class="stat"><div class="k muted">Loss (nats)</div><div class="v mono" data-stat="loss">${s && s.step ? fmt(s.loss, 2) : "–"}</div></div>
        <div class="stat"><div class="k muted">Samples/s</div><div class="v mono">${s && s.step ? fmt(s.samplesPerSec) : "–"}</div></div>
        <div class="stat"><div class="k muted">Parameters</div><div class="v mono">${s ? fmt(s.params) : "–"}</div></div>
      </div>
      <div class="status muted" role="status" ?hidden=${!this.status}>${this.status}</div>
    `;
  }

  #fire(type: "train-toggle" | "train-reset") {
    this.dispatchEvent(new Event(type, { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-train-controls": LatentTrainControls;
  }
  interface HTMLElementEventMap {
    "train-toggle": Event;
    "train-reset": Event;
  }
}
