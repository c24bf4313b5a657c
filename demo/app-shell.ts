import { LitElement, css, html } from "lit";
import { customElement, state } from "lit/decorators.js";
import { init, scope, tensor, nn, Adam, type Device } from "../engine/index.js";
import "./components/device-badge.js";
import "./components/loss-chart.js";

/** The page shell: owns the device and the training state; children are pure views. */
@customElement("latent-app")
export class LatentApp extends LitElement {
  static override styles = css`
    :host { display: block; max-width: 60rem; margin: 0 auto; padding: 1rem; }
    header { display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
    h1 { font-size: 1.4rem; margin: 0; }
    button { font: inherit; padding: 0.4rem 1rem; }
    .err { color: #b33; }
  `;
  @state() private dev: Device | null = null;
  @state() private error = "";
  @state() private losses: number[] = [];
  @state() private running = false;
  #stop = false;

  override async connectedCallback() {
    super.connectedCallback();
    try {
      this.dev = await init();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }
  override disconnectedCallback() {
    super.disconnectedCallback();
    this.#stop = true;
  }

  async #train() {
    if (this.running) return void (this.#stop = true);
    this.running = true;
    this.#stop = false;
    this.losses = [];
    // toy regression: y = sin(3x) on 128 points, a 1-32-1 tanh MLP trained with Adam
    const xs = Array.from({ length: 128 }, (_, i) => -1 + (2 * i) / 127);
    const x = tensor(xs, [128, 1]);
    const y = tensor(xs.map((v) => Math.sin(3 * v)), [128, 1]);
    const model = new nn.Sequential(new nn.Linear(1, 32, { seed: 1 }), new nn.Tanh(), new nn.Linear(32, 1, { seed: 2 }));
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    try {
      for (let step = 0; step < 2000 && !this.#stop; step++) {
        const loss = await scope(async () => {
          const l = model.forward(x).sub(y).square().mean();
          l.backward();
          await opt.step();
          opt.zeroGrad();
          return step % 20 === 0 ? await l.item() : null;
        });
        if (loss !== null) this.losses = [...this.losses, loss];
      }
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
      this.running = false;
    }
  }

  override render() {
    const badge = this.dev ? { name: this.dev.info.description || this.dev.info.vendor || "WebGPU adapter", software: this.dev.info.isSoftware } : null;
    return html`
      <header>
        <h1>latent</h1>
        <device-badge .info=${badge} .error=${this.error && !this.dev ? this.error : ""}></device-badge>
      </header>
      ${this.error ? html`<p class="err">${this.error}</p>` : ""}
      <p>Fit sin(3x) with a small MLP, trained on your GPU through WebGPU compute shaders.</p>
      <button ?disabled=${!this.dev} @click=${this.#train}>${this.running ? "Stop" : "Train"}</button>
      <loss-chart .values=${this.losses} log></loss-chart>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-app": LatentApp;
  }
}
