import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";

export interface BadgeInfo {
  name: string;
  software: boolean;
}

/** Shows the adapter, and warns when it is a software fallback. Pure view. */
@customElement("device-badge")
export class DeviceBadge extends LitElement {
  static override styles = css`
    :host { display: inline-block; font-size: 0.85rem; }
    span { padding: 0.2rem 0.6rem; border-radius: 1rem; background: #2a6; color: white; }
    span.soft { background: #c80; }
    span.none { background: #b33; }
  `;
  @property({ attribute: false }) info: BadgeInfo | null = null;
  @property() error = "";

  override render() {
    if (this.error) return html`<span class="none" title=${this.error}>No WebGPU</span>`;
    if (!this.info) return html`<span>Finding a GPU…</span>`;
    return html`<span class=${this.info.software ? "soft" : ""} title=${this.info.software ? "Software rasterizer: expect ~100× slower training" : "Hardware GPU"}
      >${this.info.name}${this.info.software ? " (software)" : ""}</span
    >`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "device-badge": DeviceBadge;
  }
}
