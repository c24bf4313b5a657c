import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";
import type { BenchResult } from "../worker/protocol.js";

/**
 * Kernel micro-benchmarks (matmul, conv2d, softmax) run on this device, as a table with bars.
 * Pure view.
 * @fires bench-run - CustomEvent<{ quick: boolean }>
 */
@customElement("latent-bench-panel")
export class LatentBenchPanel extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .row { display: flex; gap: 0.4rem; align-items: center; flex-wrap: wrap; }
      table { width: 100%; border-collapse: collapse; margin-top: 0.6rem; font-size: 0.82rem; }
      th { text-align: left; font-weight: 600; font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--lt-muted, #6b6f80); padding: 0.2rem 0.3rem; }
      td { padding: 0.3rem; border-top: 1px solid var(--lt-border, #d4d6e0); vertical-align: middle; }
      td.num { text-align: right; white-space: nowrap; }
      .barcell { width: 35%; }
      .bar { height: 0.5rem; border-radius: 0.25rem; background: var(--lt-accent, #5b4cdb); min-width: 2px; }
      .gb .bar { background: var(--lt-ok, #1f9d55); }
      .note { font-size: 0.75rem; margin-top: 0.5rem; }
    `,
  ];

  @property({ attribute: false }) results: readonly BenchResult[] = [];
  @property({ type: Boolean }) running = false;
  /** Why the benchmarks cannot run now (e.g. "pause training first"), or "". */
  @property() blocked = "";

  override render() {
    const max = (unit: string) => Math.max(1e-9, ...this.results.filter((r) => r.unit === unit).map((r) => r.rate));
    return html`
      <div class="row">
        <button class="primary" ?disabled=${this.running || !!this.blocked} @click=${() => this.#run(true)}>${this.running ? "Running…" : "Run quick benchmark"}</button>
        <button ?disabled=${this.running || !!this.blocked} @click=${() => this.#run(false)}>Full (larger sizes)</button>
        ${this.blocked ? html`<span class="muted small">${this.blocked}</span>` : ""}
      </div>
      ${this.results.length
        ? html`<table>
            <thead><tr><th>Kernel</th><th>Size</th><th class="num">ms</th><th class="num">Rate</th><th class="barcell"></th></tr></thead>
            <tbody>
              ${this.results.map(
                (r) => html`<tr class=${r.unit === "GB/s" ? "gb" : ""}>
                  <td>${r.name}</td><td class="mono small">${r.shape}</td><td class="num mono">${r.ms.toFixed(2)}</td>
                  <td class="num mono" data-rate=${r.rate}>${r.rate.toFixed(r.rate < 10 ? 2 : 1)} ${r.unit}</td>
                  <td class="barcell"><div class="bar" style="width:${(100 * r.rate) / max(r.unit)}%"></div></td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : html`<div class="note muted">Times latent's WGSL kernels on this GPU: the median of several runs after two warm-ups, waiting on the queue rather than reading back.</div>`}
    `;
  }

  #run(quick: boolean) {
    this.dispatchEvent(new CustomEvent("bench-run", { detail: { quick }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-bench-panel": LatentBenchPanel;
  }
  interface HTMLElementEventMap {
    "bench-run": CustomEvent<{ quick: boolean }>;
  }
}
