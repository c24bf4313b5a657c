import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** The result of the last save or load, shown under the buttons. */
export interface CheckpointMessage {
  tone: "ok" | "error";
  text: string;
}

/**
 * Download the model's weights as a .safetensors file, or load one (button or drag and drop).
 * Pure view: reading the file is the only work it does.
 * @fires checkpoint-save - Event
 * @fires checkpoint-load - CustomEvent<{ name: string; bytes: Uint8Array }>
 */
@customElement("latent-checkpoint-panel")
export class LatentCheckpointPanel extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .drop { border: 1.5px dashed var(--lt-border, #d4d6e0); border-radius: 0.6rem; padding: 0.8rem; display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; transition: border-color 0.15s, background 0.15s; }
      .drop.over { border-color: var(--lt-accent, #5b4cdb); background: color-mix(in srgb, var(--lt-accent, #5b4cdb) 6%, transparent); }
      input[type="file"] { display: none; }
      .msg { margin-top: 0.5rem; font-size: 0.82rem; padding: 0.45rem 0.6rem; border-radius: 0.45rem; overflow-wrap: anywhere; }
      .ok { background: color-mix(in srgb, var(--lt-ok, #1f9d55) 12%, transparent); }
      .error { background: color-mix(in srgb, var(--lt-danger, #dc2626) 10%, transparent); color: var(--lt-danger, #b91c1c); }
    `,
  ];

  @property({ type: Boolean }) canSave = false;
  @property({ type: Boolean }) canLoad = false;
  @property({ type: Boolean }) busy = false;
  @property({ attribute: false }) message: CheckpointMessage | null = null;
  @state() private over = false;
  @query("input[type=file]") private input!: HTMLInputElement;

  override render() {
    return html`
      <div class="drop ${this.over ? "over" : ""}" @dragover=${this.#dragOver} @dragleave=${() => (this.over = false)} @drop=${this.#drop}>
        <button class="primary" ?disabled=${!this.canSave || this.busy} @click=${() => this.dispatchEvent(new Event("checkpoint-save", { bubbles: true, composed: true }))}>Download weights</button>
        <button ?disabled=${!this.canLoad || this.busy} @click=${() => this.input.click()}>Load .safetensors…</button>
        <span class="muted small">or drop a file here</span>
        <input type="file" accept=".safetensors,application/octet-stream" @change=${this.#picked} />
      </div>
      ${this.message ? html`<div class="msg ${this.message.tone}" role=${this.message.tone === "error" ? "alert" : "status"}>${this.message.text}</div>` : ""}
    `;
  }

  #dragOver(e: DragEvent) {
    if (!this.canLoad) return;
    e.preventDefault();
    this.over = true;
  }

  #drop(e: DragEvent) {
    e.preventDefault();
    this.over = false;
    const f = e.dataTransfer?.files?.[0];
    if (f && this.canLoad) void this.#read(f);
  }

  #picked() {
    const f = this.input.files?.[0];
    if (f) void this.#read(f);
    this.input.value = ""; // the same file can be picked again
  }

  async #read(f: File) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    this.dispatchEvent(new CustomEvent("checkpoint-load", { detail: { name: f.name, bytes }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-checkpoint-panel": LatentCheckpointPanel;
  }
  interface HTMLElementEventMap {
    "checkpoint-save": Event;
    "checkpoint-load": CustomEvent<{ name: string; bytes: Uint8Array }>;
  }
}
