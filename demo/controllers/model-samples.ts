/**
 * Samples a GenerativeModel that lives on the page's own thread (the embedding case:
 * `<latent-sample-grid .model=${m}>`), as a ReactiveController: it reads the samples back once,
 * releases every GPU buffer the sampling made, and asks its host to re-render. The engine is
 * imported on first use, so a page that only passes images never loads it on its main thread.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { GenerativeModel } from "../../models/model.js";
import type { ImageBatch } from "../worker/protocol.js";

export class ModelSamplesController implements ReactiveController {
  images: ImageBatch | null = null;
  error = "";
  pending = false;
  #generation = 0;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {}

  /** A host that goes away drops any result still on its way. */
  hostDisconnected(): void {
    this.#generation++;
  }

  /** Draws n samples of a width × height image model (values clamped to [0, 1]). */
  async draw(model: GenerativeModel, n: number, width: number, height: number, seed: number): Promise<void> {
    if (model.dim !== width * height) {
      this.error = `the model makes ${model.dim}-dimensional samples, not ${width}×${height} images`;
      this.host.requestUpdate();
      return;
    }
    const gen = ++this.#generation;
    this.pending = true;
    this.host.requestUpdate();
    try {
      const { noGrad, scope } = await import("../../engine/index.js");
      const values = await scope(async () => Float32Array.from(await noGrad(() => model.sample(n, { seed })).toArray()));
      if (gen !== this.#generation) return;
      this.images = { n, width, height, pixels: values.map((v) => Math.min(1, Math.max(0, v))) };
      this.error = "";
    } catch (e) {
      if (gen === this.#generation) this.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (gen === this.#generation) {
        this.pending = false;
        this.host.requestUpdate();
      }
    }
  }
}
