import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/**
 * A one-line banner for loading and error states. Pure view.
 * @fires notice-dismiss - Event: the user closed an error
 */
@customElement("latent-notice")
export class LatentNotice extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .n { display: flex; gap: 0.6rem; align-items: center; padding: 0.55rem 0.8rem; border-radius: 0.6rem; font-size: 0.88rem; }
      .info, .loading { background: color-mix(in srgb, var(--lt-accent, #5b4cdb) 8%, var(--lt-card, #fff)); }
      .error { background: color-mix(in srgb, var(--lt-danger, #dc2626) 10%, var(--lt-card, #fff)); color: var(--lt-danger, #b91c1c); border: 1px solid color-mix(in srgb, var(--lt-danger, #dc2626) 30%, transparent); }
      .text { flex: 1; overflow-wrap: anywhere; }
      .spin { width: 0.9rem; height: 0.9rem; flex: none; border: 2px solid var(--lt-accent, #5b4cdb); border-right-color: transparent; border-radius: 50%; animation: spin 0.8s linear infinite; }
      @keyframes spin { to { transform: rotate(360deg); } }
      button { padding: 0.1rem 0.55rem; font-size: 0.8rem; }
    `,
  ];

  @property() tone: "info" | "loading" | "error" = "info";
  @property() text = "";

  override render() {
    if (!this.text) return html``;
    return html`<div class="n ${this.tone}" role=${this.tone === "error" ? "alert" : "status"}>
      ${this.tone === "loading" ? html`<span class="spin" aria-hidden="true"></span>` : ""}
      <span class="text">${this.text}</span>
      ${this.tone === "error" ? html`<button aria-label="dismiss" @click=${() => this.dispatchEvent(new Event("notice-dismiss", { bubbles: true, composed: true }))}>✕</button>` : ""}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-notice": LatentNotice;
  }
  interface HTMLElementEventMap {
    "notice-dismiss": Event;
  }
}
