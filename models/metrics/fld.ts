/**
 * The Fréchet LeNet Distance: FID (Heusel et al. 2017, "GANs trained by a two time-scale update
 * rule converge to a local Nash equilibrium", §3) with the trained LeNet-5 of lenet.ts in place of
 * Inception, for MNIST-like 28×28 digits. Each sample set is summarised by a Gaussian fit of its
 * 84-d penultimate features, N(μ, Σ), and two fits are compared with the Fréchet (2-Wasserstein)
 * distance between Gaussians (Dowson & Landau 1982):
 *
 *   d²(N₁, N₂) = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^{1/2}.
 *
 * Σ₁Σ₂ is not symmetric, but it is similar to the symmetric PSD M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}
 * (Σ₁Σ₂ = Σ₁^{1/2} M Σ₁^{−1/2} when Σ₁ is invertible, and by continuity otherwise), so
 * Tr (Σ₁Σ₂)^{1/2} = Σᵢ √λᵢ(M). Both square roots come from the symmetric eigensolver of
 * models/linalg.ts, in float64; eigenvalues that rounding pushed below zero are clamped to 0.
 *
 * Features are computed on the GPU in batches; their first and second moments (84 and 84×84 per
 * batch, via one matmul Fᵀ F on features centred by the first batch's mean) are read back and
 * summed in float64 (ppca.ts `MomentAccumulator`). Σ is the unbiased covariance (1/(N − 1)),
 * as numpy.cov in the reference FID code.
 *
 * A score alone means little, so `fldCalibration` gives the yardsticks to report beside it: two
 * halves of real data, real data with pixel noise, and (optionally) a mixture of Bernoullis.
 */
import { fromTyped, randn, scope, type Tensor } from "../../engine/index.js";
import { ShapeError } from "../../engine/errors.js";
import type { BatchTransform, GpuDataset } from "../data/index.js";
import { symEig } from "../linalg.js";
import { MomentAccumulator } from "../ppca.js";
import type { SampleOptions } from "../model.js";
import { LENET_FEATURES, type LeNet5 } from "./lenet.js";

/** A Gaussian fit N(mean, cov) of n feature vectors of dimension dim (float64, cov row-major). */
export interface GaussianStats {
  mean: Float64Array;
  cov: Float64Array;
  dim: number;
  n: number;
}

/**
 * Images [B, 784] with values in [0, 1], produced in row ranges: a dataset split, model samples,
 * or one tensor (`tensorImages`).
 */
export interface ImageSource {
  readonly n: number;
  /** Rows start … end − 1, [end − start, 784] (created inside the caller's scope). */
  rows(start: number, end: number): Tensor;
}

/** The rows of one [N, 784] tensor. */
export function tensorImages(x: Tensor): ImageSource {
  if (x.rank !== 2) throw new ShapeError("tensorImages", "expects [N, 784]", x.shape);
  return { n: x.shape[0]!, rows: (s, e) => x.slice([[s, e]]) };
}

/** The first `limit` images of a GPU dataset, as p/255 by default (pass a transform and seed for binarised data). */
export function datasetImages(ds: GpuDataset, opts: { limit?: number; transform?: BatchTransform; seed?: number } = {}): ImageSource {
  const n = Math.min(opts.limit ?? ds.n, ds.n);
  return {
    n,
    rows: (s, e) => ds.batch(fromTyped(Int32Array.from({ length: e - s }, (_, i) => s + i), [e - s], "i32"), { transform: opts.transform, seed: opts.seed }).x,
  };
}

/** Anything that draws [n, 784] images in [0, 1]: a GenerativeModel, a BernoulliMixture... */
export interface ImageSampler {
  sample(n: number, opts?: SampleOptions): Tensor;
}

/** n samples of a model, drawn in chunks; chunk starting at row s uses seed `seed + s`. */
export function modelImages(model: ImageSampler, n: number, opts: { seed?: number } = {}): ImageSource {
  const seed = opts.seed ?? 0;
  return { n, rows: (s, e) => model.sample(e - s, { seed: seed + s }) };
}

/** A source with x + N(0, σ²) noise, clamped to [0, 1] (the noise of rows s… uses seed `seed + s`). */
export function noisyImages(src: ImageSource, sigma: number, opts: { seed?: number } = {}): ImageSource {
  const seed = opts.seed ?? 0x4015e;
  return {
    n: src.n,
    rows: (s, e) => {
      const x = src.rows(s, e);
      return x.add(randn(x.shape, { seed: seed + s }).mul(sigma)).clamp(0, 1);
    },
  };
}

/**
 * Gaussian fit of the LeNet penultimate features of a source (batches of `batchSize`, default
 * 500; one 84 + 84² readback per batch).
 */
export async function featureStats(net: LeNet5, src: ImageSource, opts: { batchSize?: number } = {}): Promise<GaussianStats> {
  if (src.n < 2) throw new ShapeError("featureStats", `needs at least 2 images, got ${src.n}`);
  const B = opts.batchSize ?? 500, acc = new MomentAccumulator(LENET_FEATURES);
  for (let s = 0; s < src.n; s += B) await scope(() => acc.add(net.penultimate(src.rows(s, Math.min(s + B, src.n)))));
  const n = acc.count, cov = acc.covariance();
  for (let i = 0; i < cov.length; i++) cov[i] = (cov[i]! * n) / (n - 1);
  return { mean: acc.mean(), cov, dim: LENET_FEATURES, n };
}

/** A^{1/2} of a symmetric PSD matrix: V diag(√max(λ, 0)) Vᵀ. */
function sqrtPSD(a: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors } = symEig(a, d);
  const r = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = vectors[i * d + k]! * s;
      for (let j = 0; j < d; j++) r[i * d + j] = r[i * d + j]! + vi * vectors[j * d + k]!;
    }
  }
  return r;
}

/**
 * Tr (Σ₁ Σ₂)^{1/2} for symmetric PSD d × d matrices, as Σᵢ √λᵢ(Σ₁^{1/2} Σ₂ Σ₁^{1/2}) (float64).
 */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, d: number): number {
  const r = sqrtPSD(s1, d);
  // M = R Σ₂ R, symmetrised so that rounding does not make the eigensolver see an asymmetric matrix
  const t = new Float64Array(d * d), m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
    const rik = r[i * d + k]!;
    if (rik !== 0) for (let j = 0; j < d; j++) t[i * d + j] = t[i * d + j]! + rik * s2[k * d + j]!;
  }
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
    const tik = t[i * d + k]!;
    if (tik !== 0) for (let j = 0; j < d; j++) m[i * d + j] = m[i * d + j]! + tik * r[k * d + j]!;
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j]! + m[j * d + i]!) / 2;
  let tr = 0;
  for (const l of symEig(m, d).values) tr += Math.sqrt(Math.max(l, 0));
  return tr;
}

/** The squared Fréchet distance between two Gaussian fits (see the file comment); ≥ 0. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  const d = a.dim;
  if (b.dim !== d || a.mean.length !== d || b.mean.length !== d || a.cov.length !== d * d || b.cov.length !== d * d) {
    throw new ShapeError("frechetDistance", `statistics of different dimensions (${a.dim}, ${b.dim})`);
  }
  let dist = 0;
  for (let i = 0; i < d; i++) dist += (a.mean[i]! - b.mean[i]!) ** 2 + a.cov[i * d + i]! + b.cov[i * d + i]!;
  // the distance is ≥ 0 in exact arithmetic; a slightly negative result is rounding
  return Math.max(0, dist - 2 * traceSqrtProduct(a.cov, b.cov, d));
}

/** FLD between two sample sets (either given as statistics already fitted). */
export async function fld(net: LeNet5, a: ImageSource | GaussianStats, b: ImageSource | GaussianStats, opts: { batchSize?: number } = {}): Promise<number> {
  const stats = (s: ImageSource | GaussianStats) => ("cov" in s ? s : featureStats(net, s, opts));
  return frechetDistance(await stats(a), await stats(b));
}

/** How the classifier labels a sample set: a well-trained model covers the ten digits evenly. */
export interface ClassHistogram {
  /** Images predicted as each digit 0 … 9. */
  counts: number[];
  fractions: number[];
  n: number;
  /** KL(histogram ‖ uniform) = ln 10 − H(fractions), nats: 0 for perfectly balanced classes. */
  klFromUniform: number;
}

/** Per-class histogram of LeNet's predictions over a source (one readback of [B] labels per batch). */
export async function classHistogram(net: LeNet5, src: ImageSource, opts: { batchSize?: number } = {}): Promise<ClassHistogram> {
  const B = opts.batchSize ?? 500, counts = new Array<number>(10).fill(0);
  for (let s = 0; s < src.n; s += B) {
    const pred = await scope(() => net.predict(src.rows(s, Math.min(s + B, src.n))).toArray());
    for (const c of pred) counts[c] = counts[c]! + 1;
  }
  const fractions = counts.map((c) => c / src.n);
  const kl = fractions.reduce((acc, p) => acc + (p > 0 ? p * Math.log(10 * p) : 0), 0);
  return { counts, fractions, n: src.n, klFromUniform: kl };
}

/** Reference points to print with every FLD (all against the same test statistics). */
export interface FldCalibration {
  /** Statistics of the reference: the first n test images; score samples against these. */
  reference: GaussianStats;
  /** FLD(first n training images, reference): the floor set by finite samples and the train/test shift. */
  trainVsTest: number;
  /** FLD(reference images + N(0, 0.1²) noise, clamped to [0, 1], reference). */
  testNoise01: number;
  /** The same with σ = 0.3. */
  testNoise03: number;
  /** FLD(the reference images statically binarised, reference): where a perfect model of binarised MNIST lands. */
  testBinarised: number;
  /** FLD(n samples of the caller's mixture of Bernoullis, reference), if one was given. */
  mixture?: number;
  n: number;
}

/**
 * The calibration figures: FLD(train n, test n), FLD(test + 0.1 noise), FLD(test + 0.3 noise),
 * FLD(binarised test), and FLD of a mixture-of-Bernoulli baseline if `mixture` is given
 * (n = 10 000 by default). Noise and binarisation are applied to the very reference images, so
 * those figures isolate the effect of the corruption.
 * @example
 * const cal = await fldCalibration(net, { train, test });
 * const score = await fld(net, modelImages(vae, 10_000), cal.reference);
 */
export async function fldCalibration(net: LeNet5, opts: { train: GpuDataset; test: GpuDataset; n?: number; mixture?: ImageSampler; seed?: number; batchSize?: number }): Promise<FldCalibration> {
  const n = Math.min(opts.n ?? 10_000, opts.train.n, opts.test.n), seed = opts.seed ?? 0, o = { batchSize: opts.batchSize };
  const test = datasetImages(opts.test, { limit: n });
  const reference = await featureStats(net, test, o);
  const vs = async (src: ImageSource) => frechetDistance(await featureStats(net, src, o), reference);
  return {
    reference,
    trainVsTest: await vs(datasetImages(opts.train, { limit: n })),
    testNoise01: await vs(noisyImages(test, 0.1, { seed: seed + 0x4015e })),
    testNoise03: await vs(noisyImages(test, 0.3, { seed: seed + 0x4015e + 2 ** 20 })),
    testBinarised: await vs(datasetImages(opts.test, { limit: n, transform: "static-binary" })),
    mixture: opts.mixture ? await vs(modelImages(opts.mixture, n, { seed })) : undefined,
    n,
  };
}

/** One line per calibration figure, for logs and reports. */
export function describeCalibration(c: FldCalibration): string {
  const f = (v: number) => v.toFixed(3);
  return [
    `FLD calibration (n = ${c.n}, against the test set):`,
    `  train vs test          ${f(c.trainVsTest)}`,
    `  test + N(0, 0.1²)      ${f(c.testNoise01)}`,
    `  test + N(0, 0.3²)      ${f(c.testNoise03)}`,
    `  test, binarised        ${f(c.testBinarised)}`,
    ...(c.mixture === undefined ? [] : [`  mixture of Bernoullis  ${f(c.mixture)}`]),
  ].join("\n");
}
