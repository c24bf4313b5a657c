import { LitElement, css, html, svg } from "lit";
import { customElement, property } from "lit/decorators.js";
import { fractionBelow, histogram, meanStd } from "../lib/stats.js";
import { base } from "../lib/styles.js";

/** A drawing's log-likelihood and the test digits' (same model, same units). */
export interface AnomalyScore {
  logLik: number;
  kind: "exact" | "bound";
  test: Float32Array;
}

/** Verdict from the fraction of test digits the drawing is less likely than. */
export function verdict(below: number): { label: string; tone: "ok" | "warn" | "bad" } {
  if (below < 0.01) return { label: "Anomaly", tone: "bad" };
  if (below < 0.1) return { label: "Unusual", tone: "warn" };
  return { label: "Looks like a digit", tone: "ok" };
}

/**
 * The anomaly score of a drawing: its log-likelihood in nats, where it falls in the histogram of
 * the test digits' log-likelihoods, and the share of test digits that are less likely. Pure view.
 */
@customElement("latent-anomaly-meter")
export class LatentAnomalyMeter extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .big { font-size: 1.5rem; font-weight: 700; letter-spacing: -0.01em; }
      .unit { font-size: 0.85rem; font-weight: 500; }
      .verdict { display: inline-block; font-size: 0.78rem; font-weight: 650; padding: 0.1rem 0.5rem; border-radius: 0.35rem; margin-left: 0.4rem; vertical-align: middle; }
      .ok { background: color-mix(in srgb, var(--lt-ok, #1f9d55) 16%, transparent); color: var(--lt-ok, #1f9d55); }
      .warn { background: color-mix(in srgb, var(--lt-warn, #d97706) 18%, transparent); color: var(--lt-warn, #b45309); }
      .bad { background: color-mix(in srgb, var(--lt-danger, #dc2626) 16%, transparent); color: var(--lt-danger, #dc2626); }
      svg { width: 100%; height: 6.5rem; display: block; margin-top: 0.4rem; overflow: visible; }
      .bar { fill: color-mix(in srgb, var(--lt-accent, #5b4cdb) 45%, transparent); }
      .marker { stroke: var(--lt-danger, #dc2626); stroke-width: 2; }
      .axis { font: 10px var(--lt-mono, ui-monospace, monospace); fill: var(--lt-muted, #6b6f80); }
      .line { font-size: 0.82rem; margin-top: 0.25rem; }
    `,
  ];

  @property({ attribute: false }) score: AnomalyScore | null = null;
  @property({ type: Boolean }) busy = false;
  @property() placeholder = "Draw a digit to see how likely the model finds it.";

  override render() {
    const s = this.score;
    if (!s) return html`<div class="empty">${this.busy ? "Scoring…" : this.placeholder}</div>`;
    const below = fractionBelow(s.test, s.logLik);
    const v = verdict(below);
    const { mean, std } = meanStd(s.test);
    return html`
      <div>
        <span class="big mono" data-loglik=${s.logLik}>${s.kind === "bound" ? "≥ " : ""}${s.logLik.toFixed(1)}</span>
        <span class="unit muted">nats</span>
        <span class="verdict ${v.tone}">${v.label}</span>
      </div>
      <div class="line muted">
        ${s.kind === "bound" ? "log p(drawing), an importance-weighted lower bound (16 samples)" : "log p(drawing), exact"}.
        Less likely than <b>${(100 * (1 - below)).toFixed(0)}%</b> of ${s.test.length} test digits
        (theirs: ${mean.toFixed(1)} ± ${std.toFixed(1)}).
      </div>
      ${this.#plot(s)}
    `;
  }

  #plot(s: AnomalyScore) {
    let lo = Infinity, hi = -Infinity;
    for (const v of s.test) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    if (Number.isFinite(s.logLik)) (lo = Math.min(lo, s.logLik)), (hi = Math.max(hi, s.logLik));
    const h = histogram(s.test, 32, [lo, hi]);
    const W = 320, H = 80, top = Math.max(1, ...h.counts);
    const X = (v: number) => ((v - h.lo) / (h.hi - h.lo || 1)) * W;
    const bw = W / h.counts.length;
    return html`<svg viewBox="0 -4 ${W} ${H + 18}" preserveAspectRatio="none" role="img" aria-label="histogram of test-digit log-likelihoods with the drawing marked">
      ${h.counts.map((c, i) => svg`<rect class="bar" x=${i * bw + 0.5} y=${H - (c / top) * H} width=${Math.max(0.5, bw - 1)} height=${(c / top) * H}></rect>`)}
      ${Number.isFinite(s.logLik) ? svg`<line class="marker" x1=${X(s.logLik)} x2=${X(s.logLik)} y1="-4" y2=${H}></line>` : ""}
      <text class="axis" x="0" y=${H + 13}>${h.lo.toFixed(0)}</text>
      <text class="axis" x=${W} y=${H + 13} text-anchor="end">${h.hi.toFixed(0)} nats</text>
    </svg>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-anomaly-meter": LatentAnomalyMeter;
  }
}
