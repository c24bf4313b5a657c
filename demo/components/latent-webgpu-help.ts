import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../lib/styles.js";

/** Shown instead of the trainer when there is no WebGPU: what happened and how to enable it. Pure view. */
@customElement("latent-webgpu-help")
export class LatentWebgpuHelp extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; }
      .box { border: 1px solid color-mix(in srgb, var(--lt-danger, #dc2626) 40%, transparent); background: color-mix(in srgb, var(--lt-danger, #dc2626) 6%, var(--lt-card, #fff)); border-radius: var(--lt-radius, 0.75rem); padding: 1.1rem 1.3rem; }
      h2 { margin: 0 0 0.4rem; font-size: 1.1rem; }
      ul { margin: 0.6rem 0 0; padding-left: 1.2rem; }
      li { margin: 0.3rem 0; }
      code { font-family: var(--lt-mono, ui-monospace, monospace); font-size: 0.85em; background: var(--lt-code-bg, #0000000d); padding: 0.05rem 0.3rem; border-radius: 0.25rem; }
      .why { font-size: 0.85rem; margin-top: 0.8rem; }
    `,
  ];

  /** The error the browser or the worker gave. */
  @property() reason = "";

  override render() {
    return html`<div class="box" role="alert">
      <h2>This page needs WebGPU</h2>
      <div>latent trains its models with WebGPU compute shaders, and this browser did not give it a GPU adapter. To enable it:</div>
      <ul>
        <li><b>Chrome or Edge 113+</b> (Windows, macOS, ChromeOS, Android 121+): WebGPU is on by default. Update the browser, and check <code>chrome://gpu</code> for “WebGPU: Hardware accelerated”.</li>
        <li><b>Chrome on Linux</b>: open <code>chrome://flags/#enable-unsafe-webgpu</code>, enable it (and <code>#enable-vulkan</code>), then restart. Without a GPU driver, add <code>--enable-unsafe-swiftshader</code> to run on the CPU (slowly).</li>
        <li><b>Firefox</b>: WebGPU is on in Firefox 141+ on Windows; elsewhere use Nightly with <code>dom.webgpu.enabled</code> in <code>about:config</code>.</li>
        <li><b>Safari</b>: Safari 26 has WebGPU; on older versions enable it under Develop → Feature Flags.</li>
      </ul>
      ${this.reason ? html`<div class="why muted">Details: ${this.reason}</div>` : ""}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-webgpu-help": LatentWebgpuHelp;
  }
}
