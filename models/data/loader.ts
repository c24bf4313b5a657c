/**
 * GPU-resident datasets: the pixels are uploaded once, as bytes, and every batch is gathered and
 * transformed by one kernel (shaders/data.ts). Shuffling happens on the CPU once per epoch (a
 * 60 000-entry permutation takes a few milliseconds) and is uploaded once; batch i is then a
 * slice view of it, so no per-batch data crosses from JS to the GPU.
 *
 * @example
 * const train = await loadMnist({ split: "train" });
 * const ds = GpuDataset.upload(train.images, train.labels, dev, { indexBase: train.indexBase });
 * const sampler = new BatchSampler(ds.n, 128, { seed: 1 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const idx of sampler.epoch(epoch)) {
 *     await scope(async () => {
 *       const { x } = ds.batch(idx, { transform: "dynamic-binary", seed: epoch });
 *       ...
 *     });
 *   }
 * }
 */
import { currentDevice, type Device } from "../../engine/device.js";
import { grid1d } from "../../engine/dispatch.js";
import { DataError, DTypeError, ShapeError } from "../../engine/errors.js";
import { fromTyped, indexSelect, slice, softplus, add, neg, sum, type Tensor } from "../../engine/index.js";
import { makeNode } from "../../engine/ops/node.js";
import type { KernelDef, KernelPlan, PlanContext } from "../../engine/ops/op.js";
import { Rng, uniformArray, seedToKey, type PhiloxKey } from "../../engine/random.js";
import { dataBatchKernel, DATA_WG, type PixelTransform } from "../../shaders/data.js";
import type { KernelSource, Params } from "../../shaders/kernel.js";
import { LOGIT_LAMBDA, MNIST_DIM, STATIC_BINARY_SEED } from "./mnist.js";

export type BatchTransform = "float" | "dynamic-binary" | "static-binary" | "dequantise";

export interface BatchOptions {
  /** How bytes become floats (default 'float': p/255). See models/data/mnist.ts for the definitions. */
  transform?: BatchTransform;
  /** Key of the random draws ('dynamic-binary', 'dequantise'): seedToKey(seed), stream 0. Use one seed per epoch. */
  seed?: number;
  /** Or take the key and stream from a generator (one stream per call). */
  rng?: Rng;
  /** 'dequantise' only: return y = logit(λ + (1 − 2λ)x) and its log-determinant. */
  logit?: boolean;
  /** λ of the logit transform (default 1e-6). */
  lambda?: number;
}

export interface Batch {
  /** [B, D] f32 pixels after the transform. */
  readonly x: Tensor;
  /** [B] i32 labels. */
  readonly y: Tensor;
  /** With `logit`: [B] log|det ∂y/∂x| of the logit transform per example, in nats. */
  readonly logDet?: Tensor;
}

interface BatchAttrs {
  transform: PixelTransform;
  logit: boolean;
  n: number;
  D: number;
  lut: number;
  base: number;
  key: PhiloxKey;
  stream: number;
  lambda: number;
}

/** The dataset gather as a kernel-kind op; inputs: [packed pixels (u32), indices (i32)]. */
const DATA_BATCH: KernelDef = {
  name: "dataBatch",
  kind: "kernel",
  plan: (t: Tensor, ctx: PlanContext): KernelPlan => {
    const a = t.attrs as unknown as BatchAttrs;
    const total = t.size;
    const kernel = dataBatchKernel(a.transform, a.logit) as unknown as KernelSource<Params>;
    return {
      steps: [
        {
          kernel,
          bindings: [t.inputs[0]!, t.inputs[1]!, "out"],
          params: { total, D: a.D, n: a.n, lut: a.lut, base: a.base, key0: a.key[0], key1: a.key[1], stream: a.stream, lambda: a.lambda },
          workgroups: grid1d(Math.ceil(total / DATA_WG), ctx.dev.limits.maxComputeWorkgroupsPerDimension),
          label: ctx.label,
        },
      ],
    };
  },
};

/** fround(v / 255) for v = 0 … 255, as f32 bit patterns. */
function divideBy255Table(): Uint32Array {
  const f = new Float32Array(256);
  for (let v = 0; v < 256; v++) f[v] = v / 255;
  return new Uint32Array(f.buffer);
}

export interface UploadOptions {
  /** Pixels per example (default 784). */
  D?: number;
  /** Position of example 0 in its source file; addresses the per-example random draws (default 0). */
  indexBase?: number;
  /** Label of the GPU buffer. */
  name?: string;
}

/**
 * A byte dataset living on the GPU: one buffer of packed pixels (plus a 1 KiB lookup table) and
 * one of labels. The dataset owns both (they count in `liveBuffers()`) until `dispose()`.
 */
export class GpuDataset {
  #pixels: Tensor;
  #labels: Tensor;
  #disposed = false;

  private constructor(
    pixels: Tensor,
    labels: Tensor,
    readonly n: number,
    readonly D: number,
    readonly indexBase: number,
  ) {
    this.#pixels = pixels;
    this.#labels = labels;
  }

  /**
   * Uploads n examples of D bytes each (n·D ≈ 47 MB for the MNIST training file).
   * @throws DataError when the sizes disagree or the data exceeds the device's binding size.
   */
  static upload(images: Uint8Array, labels: Uint8Array | ArrayLike<number>, dev: Device = currentDevice(), opts: UploadOptions = {}): GpuDataset {
    const D = opts.D ?? MNIST_DIM;
    const base = opts.indexBase ?? 0;
    if (!Number.isInteger(D) || D <= 0) throw new DataError(`GpuDataset.upload: D must be a positive integer, got ${D}`);
    const n = images.length / D;
    if (!Number.isInteger(n)) throw new DataError(`GpuDataset.upload: ${images.length} bytes are not a whole number of ${D}-pixel examples`);
    if (labels.length !== n) throw new DataError(`GpuDataset.upload: ${n} examples but ${labels.length} labels`);
    // Counters (base + e)·D + j are u32 on the GPU.
    if ((base + n) * D > 2 ** 32) throw new DataError(`GpuDataset.upload: (indexBase + n)·D = ${(base + n) * D} exceeds 2^32 random counters`);
    const words = Math.ceil((n * D) / 4);
    const bytes = (words + 256) * 4;
    const max = dev.limits.maxStorageBufferBindingSize;
    if (bytes > max) throw new DataError(`GpuDataset.upload: ${bytes} bytes exceed the device's maxStorageBufferBindingSize (${max})`);
    const packed = new Uint32Array(words + 256);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (le) new Uint8Array(packed.buffer, 0, images.length).set(images);
    else for (let q = 0; q < images.length; q++) packed[q >> 2] = (packed[q >> 2]! | (images[q]! << ((q & 3) * 8))) >>> 0;
    packed.set(divideBy255Table(), words);
    const name = opts.name ?? "dataset";
    const px = fromTyped(packed, [packed.length], "u32", { device: dev, name: `${name}.pixels` }).keep();
    const lab = fromTyped(Int32Array.from(labels), [n], "i32", { device: dev, name: `${name}.labels` }).keep();
    return new GpuDataset(px, lab, n, D, base);
  }

  /** Uploads a split from loadMnist (keeps its indexBase). */
  static fromMnist(data: { images: Uint8Array; labels: Uint8Array; indexBase: number; split?: string }, dev: Device = currentDevice()): GpuDataset {
    return GpuDataset.upload(data.images, data.labels, dev, { indexBase: data.indexBase, name: `mnist.${data.split ?? "data"}` });
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /**
   * Gathers examples `indices` (i32 or u32, 1-D, e.g. a BatchSampler batch) and transforms them.
   * Lazy like every op: nothing runs until the batch is used.
   * @example const { x, y } = ds.batch(idx, { transform: "dequantise", seed: epoch, logit: true });
   */
  batch(indices: Tensor, opts: BatchOptions = {}): Batch {
    if (this.#disposed) throw new DataError("GpuDataset.batch: the dataset was disposed");
    if (indices.dtype === "f32") throw new DTypeError("GpuDataset.batch", "i32 | u32 indices", indices.dtype);
    if (indices.rank !== 1) throw new ShapeError("GpuDataset.batch", "indices must be 1-D", indices.shape);
    const transform = opts.transform ?? "float";
    if (opts.logit && transform !== "dequantise") throw new DataError(`GpuDataset.batch: logit needs transform 'dequantise', got '${transform}'`);
    let key: PhiloxKey = [0, 0], stream = 0;
    if (transform === "static-binary") key = seedToKey(STATIC_BINARY_SEED);
    else if (transform !== "float") {
      if (opts.rng) ({ key, stream } = opts.rng.next());
      else if (opts.seed !== undefined) key = seedToKey(opts.seed);
      else throw new DataError(`GpuDataset.batch: transform '${transform}' is random — pass { seed } (one per epoch) or { rng }`);
    }
    const kernelTransform: PixelTransform = transform === "float" ? "float" : transform === "dequantise" ? "dequantise" : "binary";
    const lambda = opts.lambda ?? LOGIT_LAMBDA;
    if (!(lambda > 0 && lambda < 0.5)) throw new DataError(`GpuDataset.batch: lambda must lie in (0, 0.5), got ${lambda}`);
    const attrs: BatchAttrs = {
      transform: kernelTransform,
      logit: opts.logit ?? false,
      n: this.n,
      D: this.D,
      lut: Math.ceil((this.n * this.D) / 4),
      base: this.indexBase,
      key: [key[0], key[1]],
      stream,
      lambda,
    };
    const B = indices.shape[0]!;
    const x = makeNode(DATA_BATCH, [this.#pixels, indices], [B, this.D], "f32", attrs as unknown as Record<string, unknown>);
    const y = indexSelect(this.#labels, 0, indices);
    if (!opts.logit) return { x, y };
    // log|det ∂y/∂x| from y itself: s = σ(y), so −log s − log(1 − s) = softplus(−y) + softplus(y).
    const logDet = add(sum(add(softplus(x), softplus(neg(x))), -1), this.D * Math.log(1 - 2 * lambda));
    return { x, y, logDet };
  }

  /** Releases the GPU buffers. Batches not yet realized can no longer be computed. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pixels.dispose();
    this.#labels.dispose();
  }
}

const TWO_POW_23 = 2 ** 23;

/**
 * A uniformly random permutation of 0 … n−1 (Fisher–Yates), drawn from Philox: step i of the
 * shuffle uses element i of streams `stream` and `stream + 1`, combined into a 46-bit uniform
 * u = (k₁·2^23 + k₂ + ½)·2^-46 (k the 23-bit cells of the two draws), so j = ⌊u·(i+1)⌋ is uniform on
 * 0 … i to within (i+1)·2^-46 — a 23-bit uniform alone would bias j by up to (i+1)·2^-23 ≈ 0.7 %
 * for i = 60 000.
 */
export function shuffledIndices(n: number, key: PhiloxKey, stream: number): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw new DataError(`shuffledIndices: n must be an integer in [0, 2^31], got ${n}`);
  const hi = uniformArray(n, key, stream);
  const lo = uniformArray(n, key, stream + 1);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    // uniformArray gives (k + ½)·2^-23, so k = u·2^23 − ½ exactly
    const u = ((hi[i]! * TWO_POW_23 - 0.5) * TWO_POW_23 + lo[i]! * TWO_POW_23) * 2 ** -46;
    const j = Math.min(Math.floor(u * (i + 1)), i);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export interface SamplerOptions {
  /** The permutation of epoch e uses key seedToKey(seed), streams 2e and 2e + 1. */
  seed?: number;
  /** Or a generator: the sampler forks it once and uses the fork's key. */
  rng?: Rng;
  /** Drop the last incomplete batch (default true: every batch has the same shape). */
  dropLast?: boolean;
  device?: Device;
}

/**
 * Seeded shuffled index batches. Per epoch, one permutation is computed on the CPU and uploaded
 * once; `batch(i)` is a slice view of it (i32 [B]) that the batch kernel reads directly.
 *
 * Epoch e's permutation depends only on (seed, e), so a run resumed at epoch e sees the same
 * order. Starting an epoch releases the previous epoch's permutation: realize (use) the batches
 * of an epoch before moving to the next.
 */
export class BatchSampler {
  readonly #key: PhiloxKey;
  readonly #dev: Device;
  #perm: Tensor | null = null;
  #epoch = -1;
  readonly dropLast: boolean;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    opts: SamplerOptions = {},
  ) {
    if (!Number.isInteger(n) || n <= 0) throw new DataError(`BatchSampler: n must be a positive integer, got ${n}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new DataError(`BatchSampler: batchSize must be a positive integer, got ${batchSize}`);
    if (opts.rng === undefined && opts.seed === undefined) throw new DataError("BatchSampler: pass { seed } or { rng } — shuffling must be reproducible");
    this.#key = opts.rng ? opts.rng.fork().next().key : seedToKey(opts.seed!);
    this.#dev = opts.device ?? currentDevice();
    this.dropLast = opts.dropLast ?? true;
    if (this.dropLast && batchSize > n) throw new DataError(`BatchSampler: batchSize ${batchSize} > n ${n} with dropLast leaves no batches`);
  }

  /** Batches per epoch: ⌊n/B⌋ with dropLast, else ⌈n/B⌉. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** The epoch whose permutation is on the GPU (−1 before the first). */
  get currentEpoch(): number {
    return this.#epoch;
  }

  /** Epoch e's permutation on the CPU (what setEpoch uploads). */
  permutation(epoch: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= 2 ** 31) throw new DataError(`BatchSampler: epoch must be an integer in [0, 2^31), got ${epoch}`);
    return shuffledIndices(this.n, this.#key, 2 * epoch);
  }

  /** Uploads epoch e's permutation (releasing the previous one). */
  setEpoch(epoch: number): void {
    if (epoch === this.#epoch && this.#perm) return;
    const p = this.permutation(epoch);
    this.#perm?.dispose();
    this.#perm = fromTyped(p, [this.n], "i32", { device: this.#dev, name: `sampler.perm(epoch ${epoch})` }).keep();
    this.#epoch = epoch;
  }

  /** Indices of batch i of the current epoch: an i32 [B] view (the last one shorter without dropLast). */
  batch(i: number): Tensor {
    if (!this.#perm) throw new DataError("BatchSampler.batch: call setEpoch(e) (or iterate epoch(e)) first");
    if (!Number.isInteger(i) || i < 0 || i >= this.batchesPerEpoch) throw new DataError(`BatchSampler.batch: batch ${i} out of range [0, ${this.batchesPerEpoch})`);
    const start = i * this.batchSize;
    return slice(this.#perm, [[start, Math.min(start + this.batchSize, this.n)]]);
  }

  /** Sets epoch e and yields its batches in order. */
  *epoch(e: number): Generator<Tensor, void, undefined> {
    this.setEpoch(e);
    for (let i = 0; i < this.batchesPerEpoch; i++) yield this.batch(i);
  }

  /** Releases the permutation buffer. */
  dispose(): void {
    this.#perm?.dispose();
    this.#perm = null;
    this.#epoch = -1;
  }
}
