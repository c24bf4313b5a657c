import { LitElement, css, html, type PropertyValues } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import type { HyperField, HyperValue, Hyperparams } from "../lib/catalog.js";
import { base } from "../lib/styles.js";

/** How a value reads next to its slider: learning rates in scientific notation, big counts grouped. */
export function formatValue(f: HyperField, v: HyperValue): string {
  if (f.kind === "log") return Number(v).toExponential(1).replace("e-", "e−");
  if (f.kind === "int") return Number(v).toLocaleString("en-US");
  if (f.kind === "bool") return v ? "on" : "off";
  return String(v);
}

/**
 * Sliders, switches and choices for a model's hyperparameters. Sliders update their readout as
 * they move and report when released, so a drag rebuilds the model once. Pure view.
 * @fires hyperparams-change - CustomEvent<Hyperparams>: all values, after one changed
 */
@customElement("latent-hyperparam-panel")
export class LatentHyperparamPanel extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0.55rem 1rem; }
      .field { display: grid; grid-template-columns: 1fr auto; align-items: center; gap: 0.1rem 0.5rem; }
      .label { font-size: 0.8rem; }
      .value { font-size: 0.8rem; color: var(--lt-accent, #5b4cdb); font-weight: 600; }
      input[type="range"] { grid-column: 1 / -1; width: 100%; margin: 0.1rem 0; accent-color: var(--lt-accent, #5b4cdb); }
      .hint { grid-column: 1 / -1; font-size: 0.7rem; }
      .seg { grid-column: 1 / -1; display: flex; gap: 0.25rem; }
      .seg button { flex: 1; padding: 0.2rem 0.4rem; font-size: 0.78rem; }
      .seg button.on { background: var(--lt-accent, #5b4cdb); color: var(--lt-accent-fg, #fff); border-color: var(--lt-accent, #5b4cdb); }
      input[type="checkbox"] { accent-color: var(--lt-accent, #5b4cdb); width: 1rem; height: 1rem; }
    `,
  ];

  @property({ attribute: false }) fields: readonly HyperField[] = [];
  @property({ attribute: false }) values: Hyperparams = {};
  @property({ type: Boolean }) disabled = false;
  /** Slider positions while dragging (shown, not yet reported). */
  @state() private draft: Hyperparams = {};

  protected override willUpdate(changed: PropertyValues<this>) {
    if (changed.has("values")) this.draft = { ...this.values };
  }

  override render() {
    if (!this.fields.length) return html`<div class="muted small">This model has no settings.</div>`;
    return html`<div class="grid">${this.fields.map((f) => this.#field(f))}</div>`;
  }

  #field(f: HyperField) {
    const v = this.draft[f.key] ?? f.default;
    const id = `hp-${f.key}`;
    const hint = f.hint ? html`<span class="hint muted">${f.hint}</span>` : "";
    switch (f.kind) {
      case "int":
        return html`<div class="field">
          <label class="label" for=${id}>${f.label}</label><span class="value mono">${formatValue(f, v)}</span>
          <input id=${id} type="range" min=${f.min} max=${f.max} step=${f.step ?? 1} .value=${String(v)} ?disabled=${this.disabled}
            @input=${(e: Event) => this.#move(f.key, Number((e.target as HTMLInputElement).value))} @change=${() => this.#commit()} />${hint}
        </div>`;
      case "log":
        return html`<div class="field">
          <label class="label" for=${id}>${f.label}</label><span class="value mono">${formatValue(f, v)}</span>
          <input id=${id} type="range" min=${Math.log10(f.min)} max=${Math.log10(f.max)} step="0.05" .value=${String(Math.log10(Number(v)))} ?disabled=${this.disabled}
            @input=${(e: Event) => this.#move(f.key, Number((10 ** Number((e.target as HTMLInputElement).value)).toPrecision(2)))} @change=${() => this.#commit()} />${hint}
        </div>`;
      case "choice":
        return html`<div class="field">
          <span class="label">${f.label}</span><span></span>
          <div class="seg" role="radiogroup" aria-label=${f.label}>
            ${f.options.map((o) => html`<button class=${o === v ? "on" : ""} role="radio" aria-checked=${o === v} ?disabled=${this.disabled} @click=${() => (this.#move(f.key, o), this.#commit())}>${o}</button>`)}
          </div>${hint}
        </div>`;
      case "bool":
        return html`<div class="field">
          <label class="label" for=${id}>${f.label}</label>
          <input id=${id} type="checkbox" .checked=${Boolean(v)} ?disabled=${this.disabled} @change=${(e: Event) => (this.#move(f.key, (e.target as HTMLInputElement).checked), this.#commit())} />${hint}
        </div>`;
    }
  }

  #move(key: string, v: HyperValue) {
    this.draft = { ...this.draft, [key]: v };
  }

  #commit() {
    const changed = this.fields.some((f) => this.draft[f.key] !== this.values[f.key]);
    if (!changed) return;
    this.dispatchEvent(new CustomEvent("hyperparams-change", { detail: { ...this.draft }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-hyperparam-panel": LatentHyperparamPanel;
  }
  interface HTMLElementEventMap {
    "hyperparams-change": CustomEvent<Hyperparams>;
  }
}
