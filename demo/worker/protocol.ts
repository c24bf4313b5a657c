/**
 * The messages between the page and the training worker. The worker owns the GPU device; the page
 * sends requests (each with an id, answered once) and receives events (training progress and
 * frames) that the worker pushes on its own. Types only: both sides import this file.
 *
 * Big arrays travel as transferable Float32Arrays (zero-copy), never as JSON.
 */
import type { DatasetId, Hyperparams, ModelId, RunSettings } from "../lib/catalog.js";

/** What the page shows about the GPU. */
export interface AdapterReport {
  /** Best human-readable name: the description, else "vendor architecture". */
  name: string;
  vendor: string;
  architecture: string;
  /** A software rasterizer (SwiftShader, lavapipe, WARP): expect ~100× slower training. */
  software: boolean;
  features: string[];
  /** Largest storage buffer binding, in bytes. */
  maxStorageBufferBindingSize: number;
}

/** Row-major images, values in [0, 1]: n × height × width. */
export interface ImageBatch {
  n: number;
  width: number;
  height: number;
  pixels: Float32Array;
}

/** The density of a 2-D model on a size × size grid, with samples and training points overlaid. */
export interface DensityFrame {
  size: number;
  /** [xMin, xMax, yMin, yMax] of the grid. */
  extent: [number, number, number, number];
  /** log p (or its bound) at the cell centres, row-major from the top row (y = yMax) down. */
  logDensity: Float32Array;
  /** Model samples, [n × 2]. */
  samples: Float32Array;
  /** A subset of the training points, [m × 2]. */
  data: Float32Array;
}

/** Training progress, sent every `reportEvery` steps (never every step: each report is a GPU readback). */
export interface Progress {
  step: number;
  epoch: number;
  /** Mean training loss over the steps since the last report (nats per example). */
  loss: number;
  /** Training examples per second over the same steps. */
  samplesPerSec: number;
  /** Steps per report at this point (adapted to keep reports a few per second). */
  reportEvery: number;
}

/** One snapshot of what the model generates, sent during training a few times a second at most. */
export type Frame = { kind: "images"; step: number; images: ImageBatch } | { kind: "density"; step: number; density: DensityFrame };

export interface BenchResult {
  name: string;
  /** e.g. "512×512×512". */
  shape: string;
  /** Median milliseconds per run. */
  ms: number;
  /** Throughput: GFLOP/s for matmul / conv, GB/s for softmax. */
  rate: number;
  unit: "GFLOP/s" | "GB/s";
}

export interface ConfigureArgs {
  model: ModelId;
  dataset: DatasetId;
  hp: Hyperparams;
  run: RunSettings;
  /** Absolute URL of the directory holding the MNIST IDX files (workers resolve relative URLs against their own script). */
  dataUrl: string;
}

export interface ConfigureResult {
  /** Number of trainable scalars. */
  params: number;
  trainExamples: number;
  /** Latent dimensions (encode/decode), or null for models without a latent space. */
  latentDim: number | null;
  /** The literature's test NLL for this configuration on binarised MNIST, if there is one. */
  published: { nats: number; note: string } | null;
}

/** The log-likelihood of a drawing next to the test set's: the anomaly score. */
export interface ScoreResult {
  /** log p(x) in nats (or its importance-weighted lower bound for a VAE). */
  logLik: number;
  kind: "exact" | "bound";
  /** The same quantity for test digits (the reference distribution). */
  test: Float32Array;
  /** decode(encode(x)) for latent models, 28 × 28, else null. */
  reconstruction: Float32Array | null;
}

/**
 * What a checkpoint's header (safetensors `__metadata__`) says: a demo checkpoint names its model,
 * dataset and settings; a CLI run checkpoint (cli/checkpoint.ts) names its registry family.
 */
export type CheckpointInfo = { kind: "demo"; model: ModelId; dataset: DatasetId; hp: Hyperparams; step: number } | { kind: "run"; registry: string; step: number };

/** Request name → its arguments and result. */
export interface Api {
  init: { args: Record<string, never>; result: AdapterReport };
  configure: { args: ConfigureArgs; result: ConfigureResult };
  /** Trains until `stop` (or `maxSteps` more steps); resolves with the step reached. */
  train: { args: { maxSteps?: number }; result: { step: number } };
  stop: { args: Record<string, never>; result: { step: number } };
  sample: { args: { n: number; seed: number }; result: ImageBatch };
  density: { args: { size: number; seed: number }; result: DensityFrame };
  score: { args: { pixels: Float32Array }; result: ScoreResult };
  latentGrid: { args: { size: number }; result: ImageBatch };
  interpolate: { args: { a: number; b: number; steps: number }; result: { frames: ImageBatch; endpoints: ImageBatch } };
  bench: { args: { quick: boolean }; result: BenchResult[] };
  save: { args: Record<string, never>; result: { bytes: Uint8Array; filename: string } };
  inspectCheckpoint: { args: { bytes: Uint8Array }; result: CheckpointInfo | null };
  load: { args: { bytes: Uint8Array }; result: { step: number } };
  /** n points of every 2-D toy, for the dataset picker's thumbnails (CPU only: works without a GPU). */
  toyPreviews: { args: { n: number }; result: Record<string, Float32Array> };
}
export type RequestName = keyof Api;

export type Request = { [K in RequestName]: { id: number; type: K; args: Api[K]["args"] } }[RequestName];

/** Events the worker pushes without being asked. */
export type WorkerEvent =
  | { type: "progress"; progress: Progress }
  | { type: "frame"; frame: Frame }
  | { type: "status"; message: string }
  | { type: "bench-result"; result: BenchResult };

export type Response =
  | { type: "result"; id: number; ok: true; result: unknown }
  | { type: "result"; id: number; ok: false; error: { name: string; message: string } }
  | { type: "event"; event: WorkerEvent };
