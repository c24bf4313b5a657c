import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** One entry of the picker. `unavailable` (a reason) disables it. */
export interface ModelChoice {
  id: string;
  label: string;
  blurb: string;
  cite: string;
  /** Short tags: "exact likelihood", "latent space"… */
  tags: readonly string[];
  unavailable?: string;
}

/**
 * The models, as a radio group of cards; a model that cannot run (not in this build, or not on
 * this dataset) is shown disabled with its reason. Pure view.
 * @fires model-change - CustomEvent<string>: the id the user picked
 */
@customElement("latent-model-picker")
export class LatentModelPicker extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .list { display: grid; gap: 0.45rem; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr)); }
      label { display: block; position: relative; border: 1px solid var(--lt-border, #d4d6e0); border-radius: 0.65rem; padding: 0.55rem 0.7rem 0.55rem 2rem; cursor: pointer; background: var(--lt-card, #fff); transition: border-color 0.15s, box-shadow 0.15s; }
      label:hover { border-color: var(--lt-accent, #5b4cdb); }
      label.on { border-color: var(--lt-accent, #5b4cdb); box-shadow: 0 0 0 1px var(--lt-accent, #5b4cdb) inset; background: color-mix(in srgb, var(--lt-accent, #5b4cdb) 6%, var(--lt-card, #fff)); }
      label.off { cursor: not-allowed; opacity: 0.55; }
      input { position: absolute; left: 0.7rem; top: 0.75rem; margin: 0; accent-color: var(--lt-accent, #5b4cdb); }
      .name { font-weight: 650; }
      .cite { font-size: 0.75rem; margin-left: 0.3rem; }
      .blurb { font-size: 0.8rem; line-height: 1.3; margin-top: 0.15rem; }
      .tags { display: flex; flex-wrap: wrap; gap: 0.25rem; margin-top: 0.35rem; }
      .tag { font-size: 0.68rem; padding: 0.05rem 0.4rem; border-radius: 0.3rem; background: var(--lt-chip, #eef0f6); color: var(--lt-muted, #6b6f80); }
      .why { font-size: 0.75rem; margin-top: 0.3rem; color: var(--lt-warn, #b45309); }
    `,
  ];

  @property({ attribute: false }) models: readonly ModelChoice[] = [];
  @property() selected = "";
  @property({ type: Boolean }) disabled = false;

  override render() {
    if (!this.models.length) return html`<div class="empty">No models.</div>`;
    return html`<div class="list" role="radiogroup" aria-label="Model">
      ${this.models.map((m) => {
        const off = !!m.unavailable || this.disabled;
        return html`<label class="${m.id === this.selected ? "on" : ""} ${m.unavailable ? "off" : ""}" title=${m.unavailable ?? ""}>
          <input type="radio" name="model" .value=${m.id} .checked=${m.id === this.selected} ?disabled=${off} @change=${() => this.#pick(m.id)} />
          <span class="name">${m.label}</span><span class="cite muted">${m.cite}</span>
          <div class="blurb muted">${m.blurb}</div>
          ${m.tags.length ? html`<div class="tags">${m.tags.map((t) => html`<span class="tag">${t}</span>`)}</div>` : ""}
          ${m.unavailable ? html`<div class="why">${m.unavailable}</div>` : ""}
        </label>`;
      })}
    </div>`;
  }

  #pick(id: string) {
    this.dispatchEvent(new CustomEvent("model-change", { detail: id, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-model-picker": LatentModelPicker;
  }
  interface HTMLElementEventMap {
    "model-change": CustomEvent<string>;
  }
}
