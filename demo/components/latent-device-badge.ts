import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** What the badge shows about the GPU (a subset of the worker's AdapterReport). */
export interface BadgeInfo {
  name: string;
  software: boolean;
}

/**
 * The adapter the page trains on: green for a hardware GPU, amber with a warning for a software
 * fallback (SwiftShader, WARP, lavapipe: ~100× slower), red when there is no WebGPU. Pure view.
 */
@customElement("latent-device-badge")
export class LatentDeviceBadge extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: inline-flex; font-size: 0.82rem; max-width: 100%; }
      .badge { display: inline-flex; align-items: center; gap: 0.45rem; padding: 0.3rem 0.75rem; border-radius: 999px; border: 1px solid var(--lt-border, #d4d6e0); background: var(--lt-card, #fff); max-width: 100%; }
      .dot { width: 0.55rem; height: 0.55rem; border-radius: 50%; flex: none; background: var(--lt-ok, #1f9d55); }
      .soft .dot { background: var(--lt-warn, #d97706); }
      .none .dot { background: var(--lt-danger, #dc2626); }
      .probing .dot { background: var(--lt-muted, #6b6f80); animation: pulse 1s infinite alternate; }
      .name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
      .tag { font-size: 0.72rem; padding: 0.05rem 0.4rem; border-radius: 0.3rem; background: color-mix(in srgb, var(--lt-warn, #d97706) 18%, transparent); color: var(--lt-warn, #b45309); font-weight: 600; }
      @keyframes pulse { to { opacity: 0.3; } }
    `,
  ];

  /** The adapter, or null while probing / when unavailable. */
  @property({ attribute: false }) info: BadgeInfo | null = null;
  /** Why there is no WebGPU ("" when there is, or while probing). */
  @property() error = "";

  override render() {
    if (this.error) return html`<span class="badge none" role="status" title=${this.error}><span class="dot"></span><span class="name">No WebGPU</span></span>`;
    if (!this.info) return html`<span class="badge probing" role="status"><span class="dot"></span><span class="name">Finding a GPU…</span></span>`;
    const soft = this.info.software;
    return html`<span class="badge ${soft ? "soft" : "hard"}" role="status" title=${soft ? "A software rasterizer runs WebGPU on the CPU: training works, about 100× slower than on a GPU. Check chrome://gpu for why the GPU is not used." : "Training on your GPU through WebGPU"}>
      <span class="dot"></span><span class="name">${this.info.name}</span>${soft ? html`<span class="tag">software · slow</span>` : ""}
    </span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-device-badge": LatentDeviceBadge;
  }
}
