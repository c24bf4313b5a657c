/**
 * The page's link to the training worker, as a Lit ReactiveController: it spawns the worker when
 * its host connects and terminates it when the host is removed (which stops training and releases
 * the GPU). It holds everything the worker reports — adapter, progress, loss curve, the latest
 * samples or density, scores — and asks the host to re-render when any of it changes. The host
 * reads the fields and passes them down to pure views.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { modelInfo, type DatasetId, type Hyperparams, type ModelId, type RunSettings } from "../lib/catalog.js";
import type { AdapterReport, BenchResult, CheckpointInfo, ConfigureResult, DensityFrame, ImageBatch, Progress, ScoreResult, WorkerEvent } from "../worker/protocol.js";
import { WorkerClient, WorkerError, spawnTrainWorker, type WorkerLike } from "./worker-client.js";

export type DeviceState = { state: "probing" } | { state: "ready"; adapter: AdapterReport } | { state: "unavailable"; reason: string };

/** One point of the loss curve. */
export interface LossPoint {
  step: number;
  loss: number;
}

export interface Selection {
  model: ModelId;
  dataset: DatasetId;
  hp: Hyperparams;
  run: RunSettings;
}

/** Most points the loss curve keeps: past this, every other point is dropped (the curve keeps its shape). */
const MAX_POINTS = 1500;
/** Least time between two automatic refreshes of the explorer or the drawing's score during training. */
const REFRESH_MS = 2500;

export class TrainingController implements ReactiveController {
  device: DeviceState = { state: "probing" };
  /** Set once a model is built; null while (re)configuring or after an error. */
  configured: (ConfigureResult & { model: ModelId; dataset: DatasetId }) | null = null;
  /** A short "Loading MNIST…" style message while the worker is busy, else "". */
  status = "";
  error = "";
  running = false;
  progress: Progress | null = null;
  losses: LossPoint[] = [];
  samples: ImageBatch | null = null;
  density: DensityFrame | null = null;
  /** The training step the shown samples / density were drawn at. */
  frameStep = 0;
  latentGrid: ImageBatch | null = null;
  interpolation: { frames: ImageBatch; endpoints: ImageBatch } | null = null;
  score: ScoreResult | null = null;
  scoring = false;
  /** A sample / density request is on its way. */
  sampling = false;
  bench: BenchResult[] = [];
  benchRunning = false;
  /** A few hundred points of each 2-D toy, for thumbnails. */
  previews: Record<string, Float32Array> | null = null;

  /** What the explorer shows: refreshed with the frames while training. */
  explorer: { mode: "grid"; size: number } | { mode: "interpolate"; a: number; b: number; steps: number } = { mode: "grid", size: 12 };
  #drawing: Float32Array | null = null;
  #client: WorkerClient | null = null;
  #selection: Selection | null = null;
  #configuring: Promise<void> | null = null;
  #lastRefresh = 0;
  #refreshing = false;
  #sampleSeed = 1234;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly spawn: () => WorkerLike = spawnTrainWorker,
  ) {
    host.addController(this);
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────────────
  hostConnected(): void {
    if (this.#client) return;
    const gpu = (globalThis.navigator as Navigator & { gpu?: unknown }).gpu;
    if (!gpu) {
      this.device = { state: "unavailable", reason: "This browser does not expose WebGPU (navigator.gpu is missing)." };
      this.host.requestUpdate();
      return;
    }
    let worker: WorkerLike;
    try {
      worker = this.spawn();
    } catch (e) {
      this.device = { state: "unavailable", reason: `Could not start the training worker: ${message(e)}` };
      this.host.requestUpdate();
      return;
    }
    this.#client = new WorkerClient(worker, (e) => this.#onEvent(e));
    this.device = { state: "probing" };
    this.#client.call("toyPreviews", { n: 400 }).then(
      (p) => ((this.previews = p), this.#update()),
      () => undefined, // thumbnails are decoration
    );
    this.#client.call("init", {}).then(
      (adapter) => {
        this.device = { state: "ready", adapter };
        this.host.requestUpdate();
        if (this.#selection) void this.configure(this.#selection);
      },
      (e) => {
        this.device = { state: "unavailable", reason: message(e) };
        this.host.requestUpdate();
      },
    );
  }

  /** Leaving the page (or removing the app) ends the worker, and with it all GPU work. */
  hostDisconnected(): void {
    this.#client?.terminate();
    this.#client = null;
    this.running = false;
    this.#configuring = null;
  }

  get ready(): boolean {
    return this.device.state === "ready" && !!this.#client;
  }

  #update(): void {
    this.host.requestUpdate();
  }

  #fail(e: unknown): void {
    this.error = message(e);
    this.#update();
  }

  dismissError(): void {
    this.error = "";
    this.#update();
  }

  #onEvent(e: WorkerEvent): void {
    switch (e.type) {
      case "progress": {
        this.progress = e.progress;
        const pts = this.losses.length >= MAX_POINTS ? this.losses.filter((_, i) => i % 2 === 0) : this.losses;
        this.losses = [...pts, { step: e.progress.step, loss: e.progress.loss }]; // a new array: Lit compares by identity
        break;
      }
      case "frame":
        this.frameStep = e.frame.step;
        if (e.frame.kind === "images") this.samples = e.frame.images;
        else this.density = e.frame.density;
        void this.#refreshViews();
        break;
      case "status":
        this.status = e.message;
        break;
      case "bench-result":
        this.bench = [...this.bench, e.result];
        break;
    }
    this.#update();
  }

  // ── configuration and training ─────────────────────────────────────────────────────────────────
  /** Builds a fresh model for the selection (stopping any training) and shows its untrained samples. */
  configure(sel: Selection): Promise<void> {
    this.#selection = sel;
    if (!this.ready) return Promise.resolve();
    const run = async () => {
      const client = this.#client!;
      this.configured = null;
      this.error = "";
      this.losses = [];
      this.progress = null;
      this.samples = null;
      this.density = null;
      this.frameStep = 0;
      this.latentGrid = null;
      this.interpolation = null;
      this.score = null;
      this.#update();
      try {
        const result = await client.call("configure", { model: sel.model, dataset: sel.dataset, hp: sel.hp, run: sel.run, dataUrl: dataUrl() });
        if (this.#selection !== sel) return; // superseded while loading
        this.configured = { ...result, model: sel.model, dataset: sel.dataset };
        this.status = "";
        this.#update();
        // autoregressive sampling is 784 dependent steps: not worth making the user wait for noise
        if (!modelInfo(sel.model).sequentialSampling || sel.dataset !== "mnist") await this.refresh();
      } catch (e) {
        if (this.#selection === sel) {
          this.status = "";
          this.#fail(e);
        }
      }
    };
    const prev = this.#configuring ?? Promise.resolve();
    const p = prev.then(run, run);
    this.#configuring = p;
    return p;
  }

  /** Starts training (until stop(), or `maxSteps` more steps). */
  async start(maxSteps?: number): Promise<void> {
    await this.#configuring;
    if (!this.ready || !this.configured || this.running) return;
    this.running = true;
    this.error = "";
    this.#update();
    try {
      await this.#client!.call("train", maxSteps === undefined ? {} : { maxSteps });
    } catch (e) {
      if (!(e instanceof WorkerError && e.workerName === "WorkerError")) this.#fail(e); // not a terminated worker
    } finally {
      this.running = false;
      this.#update();
    }
  }

  async stop(): Promise<void> {
    if (!this.#client) return;
    await this.#client.call("stop", {}).catch(() => undefined);
  }

  /** New samples (or density) from the current model; `reseed` draws different ones. */
  async refresh(reseed = false): Promise<void> {
    if (!this.configured || !this.#client) return;
    if (reseed) this.#sampleSeed = Math.floor(Math.random() * 1e6);
    this.sampling = true;
    this.#update();
    try {
      const step = this.progress?.step ?? 0;
      const n = modelInfo(this.configured.model).sequentialSampling ? 36 : 64;
      if (this.configured.dataset === "mnist") this.samples = await this.#client.call("sample", { n, seed: this.#sampleSeed });
      else this.density = await this.#client.call("density", { size: 64, seed: this.#sampleSeed });
      this.frameStep = step;
      this.sampling = false;
      this.#update();
      await this.#refreshViews(true);
    } catch (e) {
      this.#fail(e);
    } finally {
      this.sampling = false;
      this.#update();
    }
  }

  /** After a frame: re-run what depends on the weights (explorer, the drawing's score), at most every REFRESH_MS. */
  async #refreshViews(force = false): Promise<void> {
    if (this.#refreshing || !this.configured || this.configured.dataset !== "mnist") return;
    if (!force && performance.now() - this.#lastRefresh < REFRESH_MS) return;
    this.#refreshing = true;
    this.#lastRefresh = performance.now();
    try {
      if (this.configured.latentDim) await this.#explore();
      if (this.#drawing) await this.#score();
    } catch (e) {
      if (!(e instanceof WorkerError && e.workerName === "WorkerError")) this.#fail(e);
    } finally {
      this.#refreshing = false;
    }
  }

  // ── the views' requests ────────────────────────────────────────────────────────────────────────
  async #explore(): Promise<void> {
    const ex = this.explorer;
    if (ex.mode === "grid") this.latentGrid = await this.#client!.call("latentGrid", { size: ex.size });
    else this.interpolation = await this.#client!.call("interpolate", { a: ex.a, b: ex.b, steps: ex.steps });
    this.#update();
  }

  /** Switches the explorer (grid / interpolation between test digits a and b) and fills it. */
  async setExplorer(ex: TrainingController["explorer"]): Promise<void> {
    this.explorer = ex;
    this.#update();
    if (this.configured?.latentDim && this.#client) await this.#explore().catch((e) => this.#fail(e));
  }

  async #score(): Promise<void> {
    if (!this.#drawing) return;
    this.scoring = true;
    this.#update();
    try {
      this.score = await this.#client!.call("score", { pixels: this.#drawing.slice() });
    } finally {
      this.scoring = false;
      this.#update();
    }
  }

  /** Scores a 28 × 28 drawing (null clears it). */
  async setDrawing(pixels: Float32Array | null): Promise<void> {
    this.#drawing = pixels;
    if (!pixels) {
      this.score = null;
      this.#update();
      return;
    }
    if (!this.configured || !this.#client) return;
    await this.#score().catch((e) => this.#fail(e));
  }

  async runBench(quick: boolean): Promise<void> {
    if (!this.#client || this.benchRunning) return;
    this.bench = [];
    this.benchRunning = true;
    this.#update();
    try {
      await this.#client.call("bench", { quick });
    } catch (e) {
      this.#fail(e);
    } finally {
      this.benchRunning = false;
      this.#update();
    }
  }

  /** The current weights as safetensors bytes and a file name. */
  async save(): Promise<{ bytes: Uint8Array; filename: string }> {
    if (!this.#client || !this.configured) throw new Error("Nothing to save yet: no model.");
    return this.#client.call("save", {});
  }

  /** The settings a checkpoint was saved with (null for a foreign file); throws for corrupt bytes. */
  async inspect(bytes: Uint8Array): Promise<CheckpointInfo | null> {
    if (!this.#client) throw new Error("No GPU worker.");
    return this.#client.call("inspectCheckpoint", { bytes: bytes.slice() });
  }

  /** Loads weights into the current model (the caller configured it to match first). */
  async load(bytes: Uint8Array): Promise<void> {
    if (!this.#client) throw new Error("No GPU worker.");
    await this.#configuring;
    const { step } = await this.#client.call("load", { bytes });
    this.losses = [];
    this.progress = { step, epoch: 0, loss: NaN, samplesPerSec: NaN, reportEvery: 0 };
    await this.refresh();
  }
}

/** The MNIST directory next to the page (absolute: the worker resolves URLs against its own script). */
function dataUrl(): string {
  return new URL("data/", document.baseURI).href;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
