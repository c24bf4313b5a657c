/**
 * The CLI's datasets: MNIST (binarised for binary models, dequantised for continuous ones) and the
 * FFJORD 2-D toys (continuous), as seeded, GPU-resident training batches and a fixed test set.
 *
 * Randomness, all addressed by Philox keys so that a resumed run sees exactly the data it would
 * have seen: the shuffle of epoch e uses key seedToKey(seed) (models/data/loader.ts); the dynamic
 * binarisation / dequantisation noise of epoch e uses the key [seed, e + 1] (never [0, 0], the
 * test set's); the test set's binarisation / noise and the toys' test points use fixed seeds
 * independent of the run's seed, so every run is scored on the same test data.
 */
import { fromTyped, indexSelect, type Device, type Tensor } from "../engine/index.js";
import { DataError } from "../engine/errors.js";
import { BatchSampler, GpuDataset, MNIST_DIM, loadMnist, sampleToy, toyNames, type BatchTransform } from "../models/data/index.js";
import type { DataKind, ModelEntry } from "../models/registry.js";
import type { DataSpec } from "./run-dir.js";
import { UsageError } from "./args.js";

export const DATASETS: readonly string[] = ["mnist", ...toyNames];
export const MNIST_TRAIN_SPLITS = ["train", "train-full"] as const;
/** Training points of a toy run unless --limit says otherwise. */
export const TOY_TRAIN_SIZE = 50_000;
/** Test points of a toy (the fixed test set). */
export const TOY_TEST_SIZE = 10_000;

/** A seed whose Philox key is [lo, hi]: seedToKey splits integers into their low and high words. */
const keySeed = (lo: number, hi: number) => (lo >>> 0) + (hi >>> 0) * 2 ** 32;
/**
 * Seeds of the test data, those of models/metrics/nll.ts (scoreDataset's default data seed, toyNll's
 * default points), so `latent eval` and the metrics functions score the same numbers.
 */
const MNIST_TEST_SEED = 0;
const TOY_TEST_SEED = 0x7e57;

/** Data dimension of a dataset: 784 for MNIST, 2 for the toys. */
export function dimOf(name: string): number {
  checkDataset(name);
  return name === "mnist" ? MNIST_DIM : 2;
}

/** @throws DataError naming the valid datasets. */
export function checkDataset(name: string): void {
  if (!DATASETS.includes(name)) throw new DataError(`unknown dataset '${name}' (valid datasets: ${DATASETS.join(", ")})`);
}

/**
 * The data spec of a run of `entry` on dataset `name`: binary models get binarised MNIST
 * (the model's published protocol unless `binarize` overrides it), continuous models dequantised
 * MNIST (x = (p + u)/256, so bits/dim are honest) or the toys.
 * @throws UsageError when the model cannot model that data (a binary model on a toy).
 */
export function dataSpecFor(name: string, entry: ModelEntry, opts: { binarize?: "static" | "dynamic"; split?: string; limit?: number } = {}): DataSpec {
  checkDataset(name);
  const kind: DataKind = entry.data;
  if (name !== "mnist") {
    if (kind === "binary") {
      throw new UsageError(`model '${entry.name}' is a density over binary vectors and '${name}' is continuous 2-D data; train it on --data mnist (continuous models: ppca)`);
    }
    if (opts.binarize) throw new UsageError(`--binarize applies to MNIST only`);
    if (opts.split) throw new UsageError(`--split applies to MNIST only`);
    return { name, transform: "points", ...(opts.limit !== undefined ? { limit: opts.limit } : {}) };
  }
  if (kind === "continuous" && opts.binarize) throw new UsageError(`model '${entry.name}' models continuous data; --binarize applies to binary models only`);
  const transform = kind === "continuous" ? "dequantise" : `${opts.binarize ?? entry.binarize ?? "dynamic"}-binary`;
  return { name, split: opts.split ?? "train-full", transform, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) };
}

/** Seeded training batches, all on the GPU. */
export interface TrainData {
  readonly dim: number;
  readonly n: number;
  readonly batchesPerEpoch: number;
  /** Batch i of epoch e, [B, D] (lazy). Epochs must be visited in order, batches within one. */
  batch(epoch: number, i: number): Tensor;
  dispose(): void;
}

/** Loads the training data of a run. */
export async function openTrainData(spec: DataSpec, batchSize: number, seed: number, dev: Device): Promise<TrainData> {
  checkDataset(spec.name);
  if (spec.name === "mnist") {
    const split = spec.split ?? "train-full";
    if (!(MNIST_TRAIN_SPLITS as readonly string[]).includes(split)) throw new UsageError(`--split: expected one of ${MNIST_TRAIN_SPLITS.join(", ")}, got '${split}'`);
    const data = await loadMnist({ split: split as (typeof MNIST_TRAIN_SPLITS)[number], limit: spec.limit });
    const ds = GpuDataset.fromMnist(data, dev);
    return wrap(ds.n, MNIST_DIM, batchSize, seed, dev, () => ds.dispose(), (idx, epoch) =>
      ds.batch(idx, { transform: spec.transform as BatchTransform, seed: keySeed(seed, epoch + 1) }).x,
    );
  }
  const n = spec.limit ?? TOY_TRAIN_SIZE;
  // key [seed, 1]: never the test points' key, whatever the seed
  const points = fromTyped(sampleToy(spec.name, n, keySeed(seed, 1)), [n, 2], "f32", { device: dev, name: `${spec.name}.train` }).keep();
  return wrap(n, 2, batchSize, seed, dev, () => points.dispose(), (idx) => indexSelect(points, 0, idx));
}

function wrap(n: number, dim: number, batchSize: number, seed: number, dev: Device, release: () => void, gather: (idx: Tensor, epoch: number) => Tensor): TrainData {
  if (batchSize > n) throw new UsageError(`--batch ${batchSize} is larger than the ${n} training examples`);
  const sampler = new BatchSampler(n, batchSize, { seed, device: dev });
  return {
    dim,
    n,
    batchesPerEpoch: sampler.batchesPerEpoch,
    batch(epoch, i) {
      sampler.setEpoch(epoch);
      return gather(sampler.batch(i), epoch);
    },
    dispose() {
      sampler.dispose();
      release();
    },
  };
}

/** The fixed test set, served in slices. */
export interface TestData {
  readonly dim: number;
  readonly n: number;
  /** What the numbers are ("10000 MNIST test images, static binarisation"). */
  readonly description: string;
  /** Examples [start, end), [end − start, D] (lazy). */
  rows(start: number, end: number): Tensor;
  dispose(): void;
}

/** The test set of a run's data (the first `limit` examples). */
export async function openTestData(spec: DataSpec, dev: Device, limit?: number): Promise<TestData> {
  checkDataset(spec.name);
  if (spec.name === "mnist") {
    const data = await loadMnist({ split: "test", limit });
    const ds = GpuDataset.fromMnist(data, dev);
    const transform = spec.transform as BatchTransform;
    const how = transform === "dequantise" ? "dequantised with fixed noise" : transform === "static-binary" ? "static binarisation" : "binarised once with a fixed seed";
    return {
      dim: MNIST_DIM,
      n: ds.n,
      description: `${ds.n} MNIST test images, ${how}`,
      rows: (start, end) => {
        const idx = fromTyped(Int32Array.from({ length: end - start }, (_, i) => start + i), [end - start], "i32", { device: dev });
        return ds.batch(idx, { transform, seed: MNIST_TEST_SEED }).x;
      },
      dispose: () => ds.dispose(),
    };
  }
  const n = limit ?? TOY_TEST_SIZE;
  const pts = sampleToy(spec.name, n, TOY_TEST_SEED);
  return {
    dim: 2,
    n,
    description: `${n} fresh ${spec.name} points (fixed seed)`,
    rows: (start, end) => fromTyped(pts.subarray(2 * start, 2 * end), [end - start, 2], "f32", { device: dev }),
    dispose: () => undefined,
  };
}
