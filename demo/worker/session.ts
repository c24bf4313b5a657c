/**
 * Everything the demo does on the GPU, in one object that the worker drives: it owns the device,
 * the model, the GPU-resident training data and the training loop. It never touches the DOM, so
 * the same code runs in a browser worker and in Node (tests/demo/session.test.ts).
 *
 * Concurrency: the engine's scopes are a stack, so two async tasks must never interleave GPU work.
 * Every GPU task goes through one lock; the training loop takes it for one step at a time, which
 * lets a score or a sample request slip in between two steps.
 */
import {
  CheckpointError, GpuAccumulator, fromTyped, indexSelect, init, noGrad, saveSafetensors, scope, type Device, type InitOptions, type Tensor,
} from "../../engine/index.js";
import { decodeSafetensors } from "../../engine/safetensors.js";
import { BatchSampler, GpuDataset, mnistFromIdx, sampleToy, type BatchTransform } from "../../models/data/index.js";
import {
  AVAILABLE, datasetInfo, fieldsFor, incompatibility, isDatasetId, isModelId, modelInfo, sanitizeHyperparams, type DatasetId, type Hyperparams, type ModelId,
} from "../lib/catalog.js";
import { probit } from "../lib/stats.js";
import { runBenchmarks } from "./bench.js";
import { buildModel, parameterCount, type DemoModel } from "./factories.js";
import type {
  AdapterReport, BenchResult, CheckpointInfo, ConfigureArgs, ConfigureResult, DensityFrame, Frame, ImageBatch, Progress, ScoreResult,
} from "./protocol.js";

/** Reads a file of the MNIST directory (the worker fetches it; Node tests read node_modules). */
export type Fetcher = (name: string) => Promise<Uint8Array>;

export interface SessionHooks {
  progress(p: Progress): void;
  frame(f: Frame): void;
  status(message: string): void;
  benchResult(r: BenchResult): void;
}

/** Runs GPU tasks one at a time, in arrival order. */
class Lock {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.#tail.then(fn);
    this.#tail = r.catch(() => undefined);
    return r;
  }
}

/** Training data on the GPU: a batch of indices in, a [B, D] batch out. */
interface TrainData {
  key: string;
  n: number;
  dim: number;
  /** Lazy [B, D] batch; `epoch` seeds the random binarisation of binary models. */
  batch(idx: Tensor, epoch: number, transform: BatchTransform | "points"): Tensor;
  /** A few training points for the density view (2-D only). */
  preview: Float32Array;
  dispose(): void;
}

/** The test digits the page scores drawings against and interpolates between (CPU copies). */
interface TestImages {
  n: number;
  /** n × 784 bytes. */
  images: Uint8Array;
}

/** What the current model was built from. */
interface RunConfig {
  model: ModelId;
  dataset: DatasetId;
  hp: Hyperparams;
  batch: number;
}

const FRAME_SEED = 1234;
/** Metadata `format` of the demo's checkpoints, and of the CLI's run checkpoints (cli/checkpoint.ts). */
const DEMO_FORMAT = "latent-demo/1";
const RUN_FORMAT = "latent-checkpoint/1";
const GRID_EXTENT: [number, number, number, number] = [-4, 4, -4, 4];
/** Wall-clock time between two progress reports the loop aims for. */
const REPORT_SECONDS = 0.4;

const readF32 = async (t: Tensor): Promise<Float32Array> => Float32Array.from(await t.toArray());
const clamp01 = (a: Float32Array) => a.map((v) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0));
const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Session {
  readonly #lock = new Lock();
  readonly #files = new Map<string, Promise<Uint8Array>>();
  #model: DemoModel | null = null;
  #data: TrainData | null = null;
  #test: TestImages | null = null;
  #sampler: BatchSampler | null = null;
  #config: RunConfig | null = null;
  #step = 0;
  #training: Promise<{ step: number }> | null = null;
  #stopRequested = false;

  private constructor(
    readonly dev: Device,
    readonly hooks: SessionHooks,
  ) {}

  /** Finds the GPU. Throws WebGPUUnavailableError (with advice) when there is none. */
  static async create(hooks: SessionHooks, opts: InitOptions = {}): Promise<Session> {
    return new Session(await init(opts), hooks);
  }

  adapter(): AdapterReport {
    const i = this.dev.info;
    const name = i.description || [i.vendor, i.architecture].filter(Boolean).join(" ") || "WebGPU adapter";
    return { name, vendor: i.vendor, architecture: i.architecture, software: i.isSoftware, features: i.features, maxStorageBufferBindingSize: this.dev.limits.maxStorageBufferBindingSize };
  }

  get step(): number {
    return this.#step;
  }

  // ── configuration ──────────────────────────────────────────────────────────────────────────────
  /** Builds the model and (re)loads the data it trains on. Stops training first. */
  async configure(args: ConfigureArgs, fetcher: Fetcher): Promise<ConfigureResult> {
    await this.stop();
    const info = modelInfo(args.model), ds = datasetInfo(args.dataset);
    if (!AVAILABLE.has(args.model)) throw new Error(`${info.label} is not in this build of latent yet.`);
    const why = incompatibility(info, ds);
    if (why) throw new Error(why);
    const hp = sanitizeHyperparams(fieldsFor(info, ds), args.hp);
    return this.#lock.run(async () => {
      this.hooks.status(ds.kind === "images" ? "Loading MNIST…" : `Sampling ${ds.label}…`);
      this.#disposeModel();
      const dataKey = `${args.dataset}:${args.run.trainSize}`;
      if (this.#data?.key !== dataKey) {
        this.#data?.dispose();
        this.#data = null;
        this.#data = args.dataset === "mnist" ? await this.#loadMnist(args.run.trainSize, fetcher) : this.#loadToy(args.dataset, args.run.trainSize);
      }
      if (args.dataset === "mnist" && (!this.#test || this.#test.n < args.run.testSize)) this.#test = await this.#loadTest(args.run.testSize, fetcher);
      this.hooks.status(`Building ${info.label}…`);
      this.#model = buildModel(args.model, hp, ds.dim);
      const batch = Math.min(Number(hp.batch ?? 64), this.#data.n);
      this.#sampler = new BatchSampler(this.#data.n, batch, { seed: Number(hp.seed ?? 0), device: this.dev });
      this.#config = { model: args.model, dataset: args.dataset, hp, batch };
      this.#step = 0;
      this.hooks.status("");
      return { params: parameterCount(this.#model.model), trainExamples: this.#data.n, latentDim: this.#model.latentDim, published: ds.kind === "images" ? this.#model.published : null };
    });
  }

  async #file(name: string, fetcher: Fetcher): Promise<Uint8Array> {
    let p = this.#files.get(name);
    if (!p) {
      p = fetcher(name);
      this.#files.set(name, p);
      p.catch(() => this.#files.delete(name)); // a failed download may be retried
    }
    return p;
  }

  async #loadMnist(limit: number, fetcher: Fetcher): Promise<TrainData> {
    const [img, lab] = await Promise.all([this.#file("train-images-idx3-ubyte", fetcher), this.#file("train-labels-idx1-ubyte", fetcher)]);
    const split = mnistFromIdx(img, lab, { split: "train", limit });
    const ds = GpuDataset.fromMnist(split, this.dev);
    return {
      key: `mnist:${limit}`,
      n: ds.n,
      dim: 784,
      preview: new Float32Array(0),
      batch: (idx, epoch, transform) => ds.batch(idx, transform === "dynamic-binary" ? { transform, seed: epoch } : { transform: "float" }).x,
      dispose: () => ds.dispose(),
    };
  }

  async #loadTest(n: number, fetcher: Fetcher): Promise<TestImages> {
    const [img, lab] = await Promise.all([this.#file("t10k-images-idx3-ubyte", fetcher), this.#file("t10k-labels-idx1-ubyte", fetcher)]);
    const split = mnistFromIdx(img, lab, { split: "test" });
    return { n: Math.min(split.n, Math.max(n, 2)), images: split.images };
  }

  #loadToy(name: DatasetId, n: number): TrainData {
    const pts = sampleToy(name, n, 0);
    const t = fromTyped(pts, [n, 2], "f32", { device: this.dev, name: `toy.${name}` }).keep();
    return {
      key: `${name}:${n}`,
      n,
      dim: 2,
      preview: pts.slice(0, 2 * Math.min(n, 1500)),
      batch: (idx) => indexSelect(t, 0, idx),
      dispose: () => t.dispose(),
    };
  }

  #need(): { model: DemoModel; data: TrainData; sampler: BatchSampler; config: RunConfig } {
    if (!this.#model || !this.#data || !this.#sampler || !this.#config) throw new Error("No model yet: pick a model and a dataset.");
    return { model: this.#model, data: this.#data, sampler: this.#sampler, config: this.#config };
  }

  /** Binary models see stochastically binarised digits; continuous ones intensities or points. */
  #transform(m: DemoModel, data: TrainData): BatchTransform | "points" {
    return data.dim === 2 ? "points" : m.info.data === "binary" ? "dynamic-binary" : "float";
  }

  // ── training ───────────────────────────────────────────────────────────────────────────────────
  /**
   * Trains until stop() or `maxSteps` more steps, reporting every N steps. N adapts so that a
   * report (one readback of the GPU-summed loss) comes about every 0.4 s: on a fast GPU that is
   * dozens of steps, on a software rasterizer a few. Frames (samples or the density) follow at
   * most every `frameSeconds`, and less often when making one is slow.
   */
  train(maxSteps?: number): Promise<{ step: number }> {
    if (this.#training) return Promise.reject(new Error("Already training."));
    const { model, data, sampler, config } = this.#need();
    this.#stopRequested = false;
    const transform = this.#transform(model, data);
    const frameSeconds = model.info.sequentialSampling ? 8 : data.dim === 2 ? 0.8 : 1.2;
    const run = async (): Promise<{ step: number }> => {
      const acc = new GpuAccumulator(this.dev);
      let reportEvery = 4, since = 0, done = 0, frameCost = 0;
      // autoregressive sampling is D sequential steps: their first frame waits a full interval
      let t0 = performance.now(), lastFrame = model.info.sequentialSampling ? t0 : -Infinity;
      try {
        while (!this.#stopRequested && (maxSteps === undefined || done < maxSteps)) {
          await this.#lock.run(() => this.#trainStep(model, data, sampler, transform, acc));
          since++;
          done++;
          const last = this.#stopRequested || done === maxSteps;
          // the first step of a run is reported at once: the curve starts from the untrained loss
          if (since < reportEvery && !last && done > 1) continue;
          const { mean } = await this.#lock.run(() => acc.read());
          const dt = Math.max((performance.now() - t0) / 1000, 1e-6);
          const epoch = Math.floor(this.#step / sampler.batchesPerEpoch);
          this.hooks.progress({ step: this.#step, epoch, loss: mean, samplesPerSec: (since * config.batch) / dt, reportEvery });
          if (!Number.isFinite(mean)) throw new Error(`The loss became ${mean} at step ${this.#step}: lower the learning rate and reset.`);
          // Aim at REPORT_SECONDS per report, moving at most ×2 at a time.
          reportEvery = Math.max(2, Math.min(200, Math.round(Math.min(2 * reportEvery, Math.max(reportEvery / 2, (since * REPORT_SECONDS) / dt)))));
          since = 0;
          // frames never take more than a fifth of the time: on a slow device they come less often
          if (performance.now() - lastFrame > Math.max(frameSeconds * 1000, 4 * frameCost) || last) {
            const f0 = performance.now();
            this.hooks.frame(await this.#frame());
            lastFrame = performance.now();
            frameCost = lastFrame - f0;
          }
          t0 = performance.now();
        }
        return { step: this.#step };
      } finally {
        acc.dispose();
        this.#training = null;
      }
    };
    this.#training = run();
    return this.#training;
  }

  async #trainStep(model: DemoModel, data: TrainData, sampler: BatchSampler, transform: BatchTransform | "points", acc: GpuAccumulator): Promise<void> {
    const per = sampler.batchesPerEpoch;
    const epoch = Math.floor(this.#step / per), i = this.#step % per;
    if (sampler.currentEpoch !== epoch) sampler.setEpoch(epoch);
    await scope(async () => {
      const x = data.batch(sampler.batch(i), epoch, transform);
      const { loss } = await model.model.trainStep(x);
      await acc.add(loss);
    });
    this.#step++;
  }

  /** Asks the loop to stop after the current step and waits for it. */
  async stop(): Promise<{ step: number }> {
    this.#stopRequested = true;
    const t = this.#training;
    if (t) await t.catch(() => undefined);
    return { step: this.#step };
  }

  get training(): boolean {
    return this.#training !== null;
  }

  /** What the page shows while training: samples for images, the density for points. */
  async #frame(): Promise<Frame> {
    const { data } = this.#need();
    if (data.dim === 2) return { kind: "density", step: this.#step, density: await this.density(64, FRAME_SEED) };
    const n = this.#model!.info.sequentialSampling ? 36 : 64;
    return { kind: "images", step: this.#step, images: await this.sample(n, FRAME_SEED) };
  }

  // ── using the model ────────────────────────────────────────────────────────────────────────────
  /** n samples as 28 × 28 images (values clamped to [0, 1]). */
  async sample(n: number, seed: number): Promise<ImageBatch> {
    const { model, data } = this.#need();
    if (data.dim !== 784) throw new Error("Samples are images only for MNIST; the 2-D toys show the density view.");
    return this.#lock.run(() =>
      scope(async () => {
        const x = await model.sample(n, seed);
        const pixels = clamp01(await readF32(x));
        x.dispose();
        return { n, width: 28, height: 28, pixels };
      }),
    );
  }

  /** log p on a size × size grid over [−4, 4]², with 1000 samples and the training points. */
  async density(size: number, seed: number): Promise<DensityFrame> {
    const { model, data } = this.#need();
    if (data.dim !== 2) throw new Error("The density view is for the 2-D toys.");
    const [x0, x1, y0, y1] = GRID_EXTENT;
    const grid = new Float32Array(2 * size * size);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        grid[2 * (r * size + c)] = x0 + ((c + 0.5) / size) * (x1 - x0);
        grid[2 * (r * size + c) + 1] = y1 - ((r + 0.5) / size) * (y1 - y0); // row 0 is the top
      }
    }
    return this.#lock.run(() =>
      scope(async (): Promise<DensityFrame> => {
        const g = fromTyped(grid, [size * size, 2], "f32", { device: this.dev });
        const logDensity = await model.score(g);
        const s = await model.sample(1000, seed);
        const samples = await readF32(s);
        s.dispose();
        return { size, extent: [x0, x1, y0, y1], logDensity, samples, data: data.preview.slice() }; // a copy: frames are transferred
      }),
    );
  }

  /** The test digits as model input: thresholded for binary models, intensities otherwise. */
  #testInput(binary: boolean, indices: readonly number[]): Float32Array {
    const t = this.#test!;
    const out = new Float32Array(indices.length * 784);
    indices.forEach((k, i) => {
      for (let j = 0; j < 784; j++) {
        const p = t.images[k * 784 + j]! / 255;
        out[i * 784 + j] = binary ? (p > 0.5 ? 1 : 0) : p;
      }
    });
    return out;
  }

  /**
   * The drawing's log-likelihood next to the test digits': an anomaly score. Binary models score
   * the drawing thresholded at ½, like the test digits, so both are points of {0,1}^784.
   */
  async score(pixels: Float32Array): Promise<ScoreResult> {
    const { model } = this.#need();
    if (!this.#test || pixels.length !== 784) throw new Error("Drawings are scored against MNIST: train a model on MNIST first.");
    const input = model.info.data === "binary" ? pixels.map((v) => (v > 0.5 ? 1 : 0)) : pixels;
    const testIdx = Array.from({ length: this.#test.n }, (_, i) => i);
    const testX = this.#testInput(model.info.data === "binary", testIdx);
    return this.#lock.run(() =>
      scope(async () => {
        const x = fromTyped(input, [1, 784], "f32", { device: this.dev });
        const tx = fromTyped(testX, [testIdx.length, 784], "f32", { device: this.dev });
        // one after the other: the engine's scopes must not interleave
        const logLik = await model.score(x);
        const test = await model.score(tx);
        let reconstruction: Float32Array | null = null;
        const m = model.model;
        if (m.encode && m.decode) reconstruction = clamp01(await readF32(noGrad(() => m.decode!(m.encode!(x)))));
        return { logLik: logLik[0]!, kind: model.info.likelihood, test, reconstruction };
      }),
    );
  }

  /**
   * Decoded images on a size × size grid of latent points: the first two latent dimensions run
   * over Φ⁻¹ of evenly spaced probabilities (Kingma & Welling's Fig. 4), the others stay at 0.
   * With one latent dimension the grid reads as one line, row by row.
   */
  async latentGrid(size: number): Promise<ImageBatch> {
    const { model } = this.#need();
    const Z = model.latentDim;
    if (!Z || !model.model.decode) throw new Error(`${model.info.label} has no latent space to explore.`);
    const n = size * size;
    const z = new Float32Array(n * Z);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const i = r * size + c;
        if (Z === 1) z[i] = probit((i + 0.5) / n);
        else {
          z[i * Z] = probit((c + 0.5) / size);
          z[i * Z + 1] = probit(1 - (r + 0.5) / size);
        }
      }
    }
    return this.#lock.run(() =>
      scope(async () => {
        const zt = fromTyped(z, [n, Z], "f32", { device: this.dev });
        const pixels = clamp01(await readF32(noGrad(() => model.model.decode!(zt))));
        return { n, width: 28, height: 28, pixels };
      }),
    );
  }

  /** decode((1 − t)·z_a + t·z_b) for `steps` values of t, z = the posterior means of test digits a and b. */
  async interpolate(a: number, b: number, steps: number): Promise<{ frames: ImageBatch; endpoints: ImageBatch }> {
    const { model } = this.#need();
    const m = model.model;
    if (!model.latentDim || !m.encode || !m.decode) throw new Error(`${model.info.label} has no latent space to explore.`);
    if (!this.#test) throw new Error("Interpolation needs MNIST.");
    const n = this.#test.images.length / 784;
    const ia = ((a % n) + n) % n, ib = ((b % n) + n) % n;
    const ends = this.#testInput(model.info.data === "binary", [ia, ib]);
    const ts = Float32Array.from({ length: steps }, (_, i) => (steps === 1 ? 0 : i / (steps - 1)));
    return this.#lock.run(() =>
      scope(async () => {
        const x = fromTyped(ends, [2, 784], "f32", { device: this.dev });
        const t = fromTyped(ts, [steps, 1], "f32", { device: this.dev });
        const out = noGrad(() => {
          const z = m.encode!(x);
          const za = z.narrow(0, 0, 1), zb = z.narrow(0, 1, 1);
          return m.decode!(za.add(zb.sub(za).mul(t)));
        });
        const pixels = clamp01(await readF32(out));
        const endPixels = this.#testInput(false, [ia, ib]);
        return { frames: { n: steps, width: 28, height: 28, pixels }, endpoints: { n: 2, width: 28, height: 28, pixels: endPixels } };
      }),
    );
  }

  // ── benchmarks and checkpoints ─────────────────────────────────────────────────────────────────
  /** Kernel micro-benchmarks; refused while training (they would measure the trainer too). */
  async bench(quick: boolean): Promise<BenchResult[]> {
    if (this.#training) throw new Error("Stop training to run the benchmarks: they would share the GPU with it.");
    return this.#lock.run(() => runBenchmarks(this.dev, quick, (r) => this.hooks.benchResult(r)));
  }

  /**
   * The model's weights as safetensors bytes (keys `model.<name>`, as the CLI writes them), with
   * the demo's model, dataset and settings in the metadata.
   */
  async save(): Promise<{ bytes: Uint8Array; filename: string }> {
    const { model, config } = this.#need();
    return this.#lock.run(async () => {
      const bytes = await saveSafetensors(model.checkpointTensors(), {
        format: DEMO_FORMAT,
        model: config.model,
        registry: model.info.registry,
        dataset: config.dataset,
        hyperparams: JSON.stringify(config.hp),
        step: String(this.#step),
      });
      return { bytes, filename: `latent-${config.model}-${config.dataset}-step${this.#step}.safetensors` };
    });
  }

  /**
   * Reads a checkpoint's header: the settings of a demo checkpoint, the model family of a CLI run
   * checkpoint, or null for any other safetensors file (it may still fit the current model).
   * @throws CheckpointError for bytes that are not safetensors, or unusable demo metadata.
   */
  inspectCheckpoint(bytes: Uint8Array): CheckpointInfo | null {
    const { metadata: meta } = decodeSafetensors(bytes);
    const step = Number(meta.step) || 0;
    if (meta.format === RUN_FORMAT && meta.model) return { kind: "run", registry: meta.model, step };
    if (meta.format !== DEMO_FORMAT) return null;
    const { model, dataset } = meta;
    let hp: unknown = null;
    try {
      hp = JSON.parse(meta.hyperparams ?? "null");
    } catch {
      // reported below
    }
    if (!model || !dataset || !isModelId(model) || !isDatasetId(dataset) || !hp || typeof hp !== "object") {
      throw new CheckpointError(`its metadata names an unknown model or dataset (${model ?? "?"} on ${dataset ?? "?"})`);
    }
    return { kind: "demo", model, dataset, hp: sanitizeHyperparams(fieldsFor(modelInfo(model), datasetInfo(dataset)), hp as Record<string, unknown>), step };
  }

  /** Copies checkpoint weights into the current model (validated first: nothing changes on error). */
  async load(bytes: Uint8Array): Promise<{ step: number }> {
    const { model, config } = this.#need();
    if (this.#training) throw new Error("Stop training before loading a checkpoint.");
    const info = this.inspectCheckpoint(bytes);
    const here = `${model.info.label} on ${datasetInfo(config.dataset).label}`;
    if (info?.kind === "demo" && (info.model !== config.model || info.dataset !== config.dataset)) {
      throw new CheckpointError(`it holds ${modelInfo(info.model).label} trained on ${datasetInfo(info.dataset).label}, but the page has ${here}`);
    }
    if (info?.kind === "run" && info.registry !== model.info.registry) {
      throw new CheckpointError(`it is a CLI checkpoint of a '${info.registry}' model, but the page has ${here} ('${model.info.registry}')`);
    }
    await this.#lock.run(async () => {
      try {
        await model.load(bytes);
      } catch (e) {
        throw new CheckpointError(`it does not fit ${here} with these settings: ${errorMessage(e).replace(/^loadInto: /, "")}`);
      }
    });
    if (info) this.#step = info.step;
    return { step: this.#step };
  }

  #disposeModel(): void {
    this.#sampler?.dispose();
    this.#sampler = null;
    this.#model?.dispose();
    this.#model = null;
    this.#config = null;
  }

  /** Releases the model, the data and the device. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.#lock.run(async () => {
      this.#disposeModel();
      this.#data?.dispose();
      this.#data = null;
    });
    this.dev.destroy();
  }
}

