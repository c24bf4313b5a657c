import { LitElement, css, html } from "lit";
import { customElement, state } from "lit/decorators.js";
import "./components/latent-anomaly-meter.js";
import "./components/latent-bench-panel.js";
import "./components/latent-checkpoint-panel.js";
import type { CheckpointMessage } from "./components/latent-checkpoint-panel.js";
import "./components/latent-dataset-picker.js";
import type { DatasetChoice } from "./components/latent-dataset-picker.js";
import "./components/latent-density-view.js";
import "./components/latent-device-badge.js";
import "./components/latent-draw-pad.js";
import "./components/latent-explorer.js";
import "./components/latent-hyperparam-panel.js";
import "./components/latent-loss-chart.js";
import "./components/latent-model-picker.js";
import type { ModelChoice } from "./components/latent-model-picker.js";
import "./components/latent-notice.js";
import "./components/latent-sample-grid.js";
import "./components/latent-train-controls.js";
import "./components/latent-webgpu-help.js";
import { TrainingController, type Selection } from "./controllers/training-controller.js";
import { spawnTrainWorker, type WorkerLike } from "./controllers/worker-client.js";
import {
  AVAILABLE, DATASETS, DEFAULT_RUN, MODELS, datasetInfo, defaultHyperparams, fieldsFor, incompatibility, isDatasetId, isModelId, modelInfo, sanitizeHyperparams,
  type DatasetId, type HyperField, type Hyperparams, type ModelId, type ModelInfo, type RunSettings,
} from "./lib/catalog.js";
import { base } from "./lib/styles.js";

/** The run setting the panel shows under the model's own fields. */
const TRAIN_SIZE = (points: boolean): HyperField => ({
  key: "trainSize",
  label: points ? "Training points" : "Training digits",
  kind: "int",
  min: 1000,
  max: 50_000,
  step: 1000,
  default: DEFAULT_RUN.trainSize,
  hint: points ? "drawn from the toy density" : "of MNIST's 50 000",
});

/** Tags under a model's name in the picker. */
function tags(m: ModelInfo): string[] {
  return [m.likelihood === "exact" ? "exact likelihood" : "likelihood bound", ...(m.latent ? ["latent space"] : []), m.data === "binary" ? "binary pixels" : "real-valued"];
}

/**
 * The demo page. It owns the state — what is selected, the URL that mirrors it — and a
 * TrainingController that talks to the GPU worker; every child is a pure view that gets
 * properties and answers with events.
 */
@customElement("latent-app")
export class LatentApp extends LitElement {
  static override styles = [
    base,
    css`
      :host { display: block; max-width: 76rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
      header { display: flex; gap: 0.8rem 1.2rem; align-items: center; justify-content: space-between; flex-wrap: wrap; padding: 0.4rem 0 1rem; }
      .brand { display: flex; align-items: baseline; gap: 0.7rem; flex-wrap: wrap; }
      h1 { font-size: 1.7rem; margin: 0; letter-spacing: -0.03em; font-weight: 800; }
      h1 span { background: linear-gradient(90deg, var(--lt-accent, #5b4cdb), #c04cdb); -webkit-background-clip: text; background-clip: text; color: transparent; }
      .tagline { font-size: 0.95rem; }
      .intro { margin: 0 0 1rem; max-width: 52rem; font-size: 0.95rem; line-height: 1.5; }
      .card { background: var(--lt-card, #fff); border: 1px solid var(--lt-border, #d4d6e0); border-radius: var(--lt-radius, 0.75rem); padding: 1rem 1.1rem; min-width: 0; box-shadow: var(--lt-shadow, 0 1px 2px #0000000a); }
      h2 { font-size: 1.02rem; margin: 0 0 0.6rem; font-weight: 700; display: flex; align-items: baseline; gap: 0.5rem; flex-wrap: wrap; }
      h2 .step { font-size: 0.8rem; font-weight: 500; }
      .hero { display: grid; grid-template-columns: minmax(0, 1.05fr) minmax(0, 1fr); gap: 1rem; align-items: start; }
      .controls > * + * { margin-top: 1rem; }
      .pair { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; margin-top: 1rem; align-items: start; }
      details { border-top: 1px solid var(--lt-border, #d4d6e0); padding-top: 0.7rem; }
      summary { cursor: pointer; font-weight: 650; font-size: 0.92rem; margin-bottom: 0.5rem; }
      .note { font-size: 0.75rem; margin-top: 0.5rem; }
      latent-loss-chart { margin-top: 1rem; }
      latent-train-controls { margin-bottom: 1rem; padding-bottom: 1rem; border-bottom: 1px solid var(--lt-border, #d4d6e0); }
      latent-anomaly-meter { margin-top: 0.9rem; }
      latent-notice { margin-bottom: 1rem; }
      footer { margin-top: 2rem; font-size: 0.8rem; text-align: center; }
      @media (max-width: 56rem) {
        .hero, .pair { grid-template-columns: minmax(0, 1fr); }
        .visual { order: -1; }
      }
      @media (max-width: 30rem) {
        :host { padding: 0.6rem 0.6rem 2rem; }
        .card { padding: 0.8rem; }
        h1 { font-size: 1.45rem; }
      }
    `,
  ];

  /** Starts the GPU worker; replaceable (tests put a fake worker here). */
  static spawnWorker: () => WorkerLike = spawnTrainWorker;
  readonly trainer = new TrainingController(this, () => LatentApp.spawnWorker());
  @state() private modelId: ModelId = "vae-mlp";
  @state() private datasetId: DatasetId = "mnist";
  /** Hyperparameters per model, so switching back and forth keeps your settings. */
  @state() private hp: Partial<Record<ModelId, Hyperparams>> = {};
  @state() private run: RunSettings = { ...DEFAULT_RUN };
  @state() private logScale = true;
  @state() private checkpointMsg: CheckpointMessage | null = null;
  @state() private checkpointBusy = false;

  override connectedCallback() {
    super.connectedCallback();
    this.#readUrl();
    void this.trainer.configure(this.#selection());
  }

  // ── state ──────────────────────────────────────────────────────────────────────────────────────
  /** The model's own fields on the current dataset. */
  get #modelFields(): HyperField[] {
    return fieldsFor(modelInfo(this.modelId), datasetInfo(this.datasetId));
  }

  get #hp(): Hyperparams {
    const fields = this.#modelFields;
    return sanitizeHyperparams(fields, this.hp[this.modelId] ?? defaultHyperparams(fields));
  }

  #selection(): Selection {
    return { model: this.modelId, dataset: this.datasetId, hp: this.#hp, run: this.run };
  }

  /** ?model=vae-mlp&dataset=mnist&zDim=2&trainSize=20000: links share a setup. */
  #readUrl() {
    const q = new URLSearchParams(location.search);
    const m = q.get("model"), d = q.get("dataset");
    if (m && isModelId(m) && AVAILABLE.has(m)) this.modelId = m;
    if (d && isDatasetId(d) && !incompatibility(modelInfo(this.modelId), datasetInfo(d))) this.datasetId = d;
    const fields = this.#modelFields;
    this.hp = { [this.modelId]: sanitizeHyperparams(fields, { ...defaultHyperparams(fields), ...Object.fromEntries(q) }) };
    const n = Number(q.get("trainSize"));
    if (Number.isFinite(n) && n > 0) this.run = { ...this.run, trainSize: Math.min(50_000, Math.max(64, Math.round(n))) };
  }

  #writeUrl() {
    const q = new URLSearchParams({ model: this.modelId, dataset: this.datasetId });
    for (const [k, v] of Object.entries(this.#hp)) q.set(k, String(v));
    q.set("trainSize", String(this.run.trainSize));
    history.replaceState(null, "", `${location.pathname}?${q}`);
  }

  /** A fresh model for the current selection; `resume` starts training it if training was on. */
  #reconfigure(resume = false) {
    this.#writeUrl();
    this.checkpointMsg = null;
    const wasRunning = this.trainer.running;
    void this.trainer.configure(this.#selection()).then(() => {
      if (resume && wasRunning && this.trainer.configured) void this.trainer.start();
    });
  }

  /** The model's fields, adjusted to the dataset, plus the amount of training data. */
  #fields(): HyperField[] {
    return [...this.#modelFields, TRAIN_SIZE(datasetInfo(this.datasetId).kind === "points")];
  }

  // ── events from the views ──────────────────────────────────────────────────────────────────────
  #onModel = (e: CustomEvent<string>) => {
    const id = e.detail;
    if (!isModelId(id) || id === this.modelId) return;
    this.modelId = id;
    if (incompatibility(modelInfo(id), datasetInfo(this.datasetId))) this.datasetId = "mnist";
    this.#reconfigure();
  };

  #onDataset = (e: CustomEvent<string>) => {
    const id = e.detail;
    if (!isDatasetId(id) || id === this.datasetId) return;
    this.datasetId = id;
    if (datasetInfo(id).kind === "points") void this.trainer.setDrawing(null); // the pad goes away with MNIST
    if (incompatibility(modelInfo(this.modelId), datasetInfo(id))) {
      const fit = MODELS.find((m) => AVAILABLE.has(m.id) && !incompatibility(m, datasetInfo(id)));
      if (fit) this.modelId = fit.id;
    }
    this.#reconfigure();
  };

  #onHyper = (e: CustomEvent<Hyperparams>) => {
    const { trainSize, ...rest } = e.detail;
    if (typeof trainSize === "number") this.run = { ...this.run, trainSize };
    this.hp = { ...this.hp, [this.modelId]: sanitizeHyperparams(this.#modelFields, rest) };
    this.#reconfigure(true); // play with a setting mid-training: the new model trains at once
  };

  #onToggle = () => void (this.trainer.running ? this.trainer.stop() : this.trainer.start());
  #onReset = () => this.#reconfigure();

  #onSave = async () => {
    this.checkpointBusy = true;
    try {
      const { bytes, filename } = await this.trainer.save();
      const url = URL.createObjectURL(new Blob([bytes.slice()], { type: "application/octet-stream" }));
      const a = Object.assign(document.createElement("a"), { href: url, download: filename });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.checkpointMsg = { tone: "ok", text: `Saved ${filename} (${(bytes.byteLength / 1024).toFixed(0)} KiB).` };
    } catch (e) {
      this.checkpointMsg = { tone: "error", text: `Could not save: ${e instanceof Error ? e.message : String(e)}` };
    } finally {
      this.checkpointBusy = false;
    }
  };

  /**
   * A checkpoint saved by this page names its model, dataset and settings: switch to them first,
   * then load. A foreign file is loaded into the current model if (and only if) every tensor fits.
   */
  #onLoad = async (e: CustomEvent<{ name: string; bytes: Uint8Array }>) => {
    const { name, bytes } = e.detail;
    this.checkpointBusy = true;
    this.checkpointMsg = null;
    try {
      await this.trainer.stop();
      const info = await this.trainer.inspect(bytes);
      let switched = "";
      if (info?.kind === "demo") {
        if (!AVAILABLE.has(info.model)) throw new Error(`it holds ${modelInfo(info.model).label}, which is not in this build`);
        const same = info.model === this.modelId && info.dataset === this.datasetId && JSON.stringify(info.hp) === JSON.stringify(this.#hp);
        if (!same) {
          this.modelId = info.model;
          this.datasetId = info.dataset;
          this.hp = { ...this.hp, [info.model]: info.hp };
          this.#writeUrl();
          await this.trainer.configure(this.#selection());
          switched = ` Switched to ${modelInfo(info.model).label} on ${datasetInfo(info.dataset).label} with the checkpoint's settings.`;
        }
      }
      await this.trainer.load(bytes);
      this.checkpointMsg = { tone: "ok", text: `Loaded ${name}${info ? ` (step ${info.step.toLocaleString("en-US")})` : ""}.${switched}${info?.kind === "run" ? " (a CLI run checkpoint: its optimizer state is not used)" : ""}` };
    } catch (err) {
      this.checkpointMsg = { tone: "error", text: `Rejected ${name}: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      this.checkpointBusy = false;
    }
  };

  // ── rendering ──────────────────────────────────────────────────────────────────────────────────
  override render() {
    const t = this.trainer;
    const dev = t.device;
    return html`
      <header>
        <div class="brand">
          <h1><span>latent</span></h1>
          <span class="tagline muted">generative models, trained live on your GPU</span>
        </div>
        <latent-device-badge
          .info=${dev.state === "ready" ? { name: dev.adapter.name, software: dev.adapter.software } : null}
          .error=${dev.state === "unavailable" ? dev.reason : ""}
        ></latent-device-badge>
      </header>
      <p class="intro muted">
        Pick a model and a dataset and press <b>Train</b>. Training, sampling and scoring all run in this tab, in WebGPU compute
        shaders on a background thread; nothing leaves your machine. Then walk the latent space, draw a digit to see how likely
        the model finds it, and download the weights.
      </p>
      ${dev.state === "unavailable" ? html`<latent-webgpu-help .reason=${dev.reason}></latent-webgpu-help>` : this.#main()}
      <footer class="muted">latent · WebGPU compute shaders in TypeScript · MNIST from LeCun et al. 1998, 2-D toys from FFJORD</footer>
    `;
  }

  #main() {
    const t = this.trainer;
    const info = modelInfo(this.modelId), ds = datasetInfo(this.datasetId);
    const ready = t.device.state === "ready";
    const busy = ready && !t.configured && !t.error;
    const images = ds.kind === "images";
    const stepText = t.frameStep ? `after ${t.frameStep.toLocaleString("en-US")} step${t.frameStep === 1 ? "" : "s"}` : t.configured ? "untrained: random weights" : "";
    const models: ModelChoice[] = MODELS.map((m) => ({
      id: m.id,
      label: m.label,
      blurb: m.blurb,
      cite: m.cite,
      tags: tags(m),
      unavailable: !AVAILABLE.has(m.id) ? "Not in this build of latent yet." : undefined,
    }));
    const datasets: DatasetChoice[] = DATASETS.map((d) => ({
      id: d.id,
      label: d.label,
      kind: d.kind,
      preview: t.previews?.[d.id],
    }));
    const status = !ready ? "Finding a GPU…" : t.status || (busy ? "Preparing…" : t.running ? "" : t.configured && !t.progress ? "Fresh model with random weights: press Train." : "");
    return html`
      <latent-notice
        tone=${t.error ? "error" : "loading"}
        .text=${t.error || (busy && t.status ? t.status : "")}
        @notice-dismiss=${() => t.dismissError()}
      ></latent-notice>
      <section class="hero">
        <div class="card controls">
          <div>
            <h2>Model</h2>
            <latent-model-picker .models=${models} selected=${this.modelId} @model-change=${this.#onModel}></latent-model-picker>
          </div>
          <div>
            <h2>Data</h2>
            <latent-dataset-picker .datasets=${datasets} selected=${this.datasetId} @dataset-change=${this.#onDataset}></latent-dataset-picker>
            ${incompatibility(info, ds) ? "" : html`<div class="note muted">${images ? (info.data === "binary" ? "Digits are binarised at random each epoch (pixel intensity = probability of ink)." : "Pixels are intensities in [0, 1].") : "10 000 points drawn from the toy density; the view shows the square [−4, 4]²."}</div>`}
          </div>
          <details open>
            <summary>Settings</summary>
            <latent-hyperparam-panel .fields=${this.#fields()} .values=${{ ...this.#hp, trainSize: this.run.trainSize }} @hyperparams-change=${this.#onHyper}></latent-hyperparam-panel>
            <div class="note muted">Changing a setting starts a fresh model (and keeps training if it was).</div>
          </details>

        </div>
        <div class="card visual">
          <latent-train-controls
            ?running=${t.running}
            ?disabled=${!t.configured}
            .stats=${t.configured ? { step: t.progress?.step ?? 0, epoch: t.progress?.epoch ?? 0, loss: t.progress?.loss ?? NaN, samplesPerSec: t.progress?.samplesPerSec ?? NaN, params: t.configured.params } : null}
            .status=${status}
            @train-toggle=${this.#onToggle}
            @train-reset=${this.#onReset}
          ></latent-train-controls>
          <h2>${images ? "Samples" : "Density"} <span class="step muted">${info.label} · ${ds.label}</span></h2>
          ${images
            ? html`<latent-sample-grid
                .images=${t.samples}
                cols=${t.samples && t.samples.n === 36 ? 6 : 8}
                caption=${stepText}
                ?loading=${busy || t.sampling}
                placeholder=${busy ? "Loading…" : info.sequentialSampling ? "An autoregressive model draws its 784 pixels one after another: samples appear a few seconds into training, or press New samples." : "Samples appear here."}
                @samples-request=${() => t.refresh(true)}
              ></latent-sample-grid>`
            : html`<latent-density-view .density=${t.density} caption=${stepText} placeholder=${busy ? "Loading…" : "The density appears here."}></latent-density-view>`}
          <latent-loss-chart
            .points=${t.losses}
            ?log=${this.logScale}
            .reference=${t.configured?.published ? { value: t.configured.published.nats, label: `paper, full-size model: ${t.configured.published.nats} nats (test)` } : null}
            label=${`Training loss (${info.likelihood === "bound" ? "negative ELBO" : "negative log-likelihood"}, nats)`}
            @log-scale-change=${(e: CustomEvent<boolean>) => (this.logScale = e.detail)}
          ></latent-loss-chart>
        </div>
      </section>
      ${images ? this.#explore(info) : ""}
      <section class="pair">
        <div class="card">
          <h2>Checkpoints</h2>
          <latent-checkpoint-panel
            ?canSave=${!!t.configured}
            ?canLoad=${ready}
            ?busy=${this.checkpointBusy}
            .message=${this.checkpointMsg}
            @checkpoint-save=${this.#onSave}
            @checkpoint-load=${this.#onLoad}
          ></latent-checkpoint-panel>
          <div class="note muted">Weights as <a href="https://huggingface.co/docs/safetensors">safetensors</a>, with the model and its settings in the header.</div>
        </div>
        <div class="card">
          <h2>Kernel benchmarks</h2>
          <latent-bench-panel
            .results=${t.bench}
            ?running=${t.benchRunning}
            blocked=${!ready ? "needs WebGPU" : t.running ? "pause training first" : ""}
            @bench-run=${(e: CustomEvent<{ quick: boolean }>) => t.runBench(e.detail.quick)}
          ></latent-bench-panel>
        </div>
      </section>
    `;
  }

  #explore(info: ModelInfo) {
    const t = this.trainer;
    const ex = t.explorer;
    const latent = t.configured?.latentDim ?? null;
    return html`<section class="pair">
      <div class="card">
        <h2>Latent space</h2>
        <latent-explorer
          mode=${ex.mode}
          .grid=${t.latentGrid}
          .interpolation=${t.interpolation}
          latentDim=${latent ?? 0}
          unavailable=${info.latent ? (t.configured ? "" : "Waiting for the model…") : `${info.label} has no latent space: it models p(x) directly. Pick a VAE or PPCA to explore one.`}
          @explorer-mode-change=${(e: CustomEvent<"grid" | "interpolate">) =>
            t.setExplorer(e.detail === "grid" ? { mode: "grid", size: 12 } : { mode: "interpolate", a: 3, b: 0, steps: 11 })}
          @interpolate-shuffle=${() => t.setExplorer({ mode: "interpolate", a: Math.floor(Math.random() * 10_000), b: Math.floor(Math.random() * 10_000), steps: 11 })}
        ></latent-explorer>
      </div>
      <div class="card">
        <h2>Draw a digit</h2>
        <latent-draw-pad
          .reconstruction=${t.score?.reconstruction ?? null}
          reconstructionNote=${info.latent ? "" : "no latent space"}
          ?disabled=${!t.configured}
          @digit-drawn=${(e: CustomEvent<Float32Array>) => t.setDrawing(e.detail)}
          @digit-clear=${() => t.setDrawing(null)}
        ></latent-draw-pad>
        <latent-anomaly-meter .score=${t.score} ?busy=${t.scoring}></latent-anomaly-meter>
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "latent-app": LatentApp;
  }
}
