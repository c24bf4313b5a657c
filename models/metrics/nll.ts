/**
 * Likelihood metrics, reported with their standard errors so that differences smaller than the
 * noise are visible as such.
 *
 * - Binarised MNIST: test NLL in nats, −(1/N) Σᵢ log p(xᵢ), or the best bound the model has
 *   (`scoreOf`: exact log p, else the IWAE bound with k samples, else the ELBO).
 * - IWAE estimate (Burda, Grosse & Salakhutdinov 2016, Eq. 8):
 *     log p(x) ≥ L_k(x) = log (1/k) Σⱼ p(x, zⱼ) / q(zⱼ | x),   zⱼ ~ q(z | x),
 *   which increases to log p(x) as k → ∞; the reported NLL is −mean L_k.
 * - Dequantised MNIST in bits/dim (Theis, van den Oord & Bethge 2016): models of the
 *   continuous x = (p + u)/256, or of its logit y = logit(λ + (1 − 2λ)x) (Dinh et al. 2017 §4.1),
 *     log p_x(x) = log p_y(y) + log|det ∂y/∂x|,
 *     bits/dim   = (−log p_x(x) + D·ln 256) / (D·ln 2)            (models/data `bitsPerDim`).
 * - 2-D toys: the exact density on a grid (for plots; its midpoint-rule mass checks normalisation)
 *   and test NLL beside the entropy of the generating distribution, the lowest NLL any model can
 *   reach in expectation (`TOY_BEST_NLL`).
 *
 * Every estimate is a mean over examples with standard error s/√N (s the sample standard
 * deviation): the uncertainty from the finite test set, not from a model's own sampling.
 * Data stay on the GPU; each batch's per-example values are read back once.
 */
import { fromTyped, scope, type Tensor } from "../../engine/index.js";
import { ShapeError } from "../../engine/errors.js";
import { bitsPerDim, sampleToy, type BatchTransform, type GpuDataset, type ToyName } from "../data/index.js";
import { scoreOf, type GenerativeModel } from "../model.js";

/** A mean over examples and its standard error. */
export interface Estimate {
  mean: number;
  /** s / √n with s the sample standard deviation (NaN for n < 2). */
  stdErr: number;
  n: number;
}

/** Mean and standard error of the mean, in float64. */
export function meanAndStdErr(values: ArrayLike<number>): Estimate {
  const n = values.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i]!;
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return { mean, stdErr: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN, n };
}

export interface DatasetEvalOptions {
  /** Examples per batch (default 100). */
  batchSize?: number;
  /** Score only the first `limit` examples. */
  limit?: number;
  /**
   * Seed of the data's randomness (dynamic binarisation, dequantisation noise); fixed for the
   * whole evaluation, so each example gets one draw whatever the batching (default 0).
   */
  seed?: number;
}

/**
 * Per-example scores (nats) of a dataset's first `limit` rows: `score(x, batchIndex)` returns [B]
 * for a [B, D] batch. With `logit`, x is the logit variable y and the log-determinant of the
 * logit transform is added, so the values are log p_x(x) of the dequantised data.
 */
export async function scoreDataset(
  ds: GpuDataset,
  score: (x: Tensor, batch: number) => Tensor,
  opts: DatasetEvalOptions & { transform?: BatchTransform; logit?: boolean; lambda?: number } = {},
): Promise<Float64Array> {
  const n = Math.min(opts.limit ?? ds.n, ds.n), B = opts.batchSize ?? 100;
  const random = opts.transform === "dynamic-binary" || opts.transform === "dequantise";
  const out = new Float64Array(n);
  for (let start = 0, b = 0; start < n; start += B, b++) {
    const end = Math.min(start + B, n);
    const values = await scope(async () => {
      const idx = fromTyped(Int32Array.from({ length: end - start }, (_, i) => start + i), [end - start], "i32");
      const batch = ds.batch(idx, { transform: opts.transform, seed: random ? (opts.seed ?? 0) : undefined, logit: opts.logit, lambda: opts.lambda });
      const s = score(batch.x, b);
      if (s.shape.length !== 1 || s.shape[0] !== end - start) throw new ShapeError("scoreDataset", `score must return one value per example, [${end - start}]`, s.shape);
      return (batch.logDet ? s.add(batch.logDet) : s).toArray();
    });
    out.set(values, start);
  }
  return out;
}

/** NLL (nats per example) with its standard error, and the per-example log-likelihoods. */
export interface NllReport {
  nll: number;
  stdErr: number;
  n: number;
  /** What was averaged: the exact log-likelihood or a lower bound of it. */
  kind: "exact" | "iwae" | "elbo";
  /** Per-example log p(x) (or its bound), nats. */
  values: Float64Array;
}

const report = (values: Float64Array, kind: NllReport["kind"]): NllReport => {
  const { mean, stdErr, n } = meanAndStdErr(values);
  return { nll: -mean, stdErr, n, kind, values };
};

/**
 * Test NLL on binarised MNIST (nats per image): exact where the model has `logProb`, else the
 * IWAE bound with `k` samples (k > 1), else the ELBO — so a bound is an upper bound on the NLL.
 * Default binarisation is the static one (the fixed, reproducible draw of models/data).
 */
export async function binarisedNll(model: GenerativeModel, ds: GpuDataset, opts: DatasetEvalOptions & { binarisation?: "static" | "dynamic"; k?: number } = {}): Promise<NllReport> {
  const transform = opts.binarisation === "dynamic" ? "dynamic-binary" : "static-binary";
  const seed = opts.seed ?? 0;
  const kind = model.logProb ? "exact" : model.iwae && opts.k && opts.k > 1 ? "iwae" : "elbo";
  // the model's sampling seed is distinct per batch and from the data seed
  const values = await scoreDataset(ds, (x, b) => scoreOf(model, x, { k: opts.k, seed: 1_000_003 * (seed + 1) + b }), { ...opts, transform });
  return report(values, kind);
}

/** The IWAE estimate −mean L_k (nats) and its standard error over the test examples. */
export async function iwaeNll(model: GenerativeModel, ds: GpuDataset, opts: DatasetEvalOptions & { k: number; binarisation?: "static" | "dynamic" }): Promise<NllReport & { k: number }> {
  const iwae = model.iwae?.bind(model);
  if (!iwae) throw new TypeError(`iwaeNll: model '${model.kind}' has no iwae bound`);
  const transform = opts.binarisation === "dynamic" ? "dynamic-binary" : "static-binary";
  const seed = opts.seed ?? 0;
  const values = await scoreDataset(ds, (x, b) => iwae(x, opts.k, { seed: 1_000_003 * (seed + 1) + b }), { ...opts, transform });
  return { ...report(values, "iwae"), k: opts.k };
}

/** Bits per dimension of dequantised data, with its standard error and the NLL it comes from. */
export interface BitsPerDimReport {
  bitsPerDim: number;
  /** In bits/dim (the NLL's standard error over D·ln 2). */
  stdErr: number;
  /** −mean log p_x(x) in nats, x ∈ [0, 1)^D (before the D·ln 256 term). */
  nll: number;
  n: number;
}

/**
 * Bits/dim from per-example log p_x(x) (nats; x = (p + u)/256 on [0, 1)^D): bits/dim is affine
 * in the NLL, so its mean is bitsPerDim(mean NLL) and its standard error is the NLL's over D·ln 2.
 */
export function bitsPerDimEstimate(logPx: ArrayLike<number>, D: number, levels = 256): BitsPerDimReport {
  const { mean, stdErr, n } = meanAndStdErr(logPx);
  return { bitsPerDim: bitsPerDim(-mean, D, { levels }), stdErr: stdErr / (D * Math.LN2), nll: -mean, n };
}

/**
 * Test bits/dim of a density model of dequantised MNIST, x = (p + u)/256 (u drawn once with
 * `seed`). With `logit`, the model's logProb is of y = logit(λ + (1 − 2λ)x) and the transform's
 * log-determinant is added back (Theis et al. 2016; Dinh et al. 2017).
 */
export async function dequantisedBitsPerDim(model: GenerativeModel, ds: GpuDataset, opts: DatasetEvalOptions & { logit?: boolean; lambda?: number } = {}): Promise<BitsPerDimReport> {
  const logProb = model.logProb?.bind(model);
  if (!logProb) throw new TypeError(`dequantisedBitsPerDim: model '${model.kind}' has no exact logProb`);
  const values = await scoreDataset(ds, (x) => logProb(x), { ...opts, transform: "dequantise" });
  return bitsPerDimEstimate(values, ds.D);
}

// ── 2-D toy densities ──────────────────────────────────────────────────────────────────────────

/**
 * Entropy H(p) = −E_p[log p(x)] of each toy's generating distribution (nats), the NLL a perfect
 * model reaches on average: checkerboard is uniform on 8 cells of area 4 (ln 32); 8gaussians is
 * ln 8 + 1 + ln(2πσ²) with σ = 0.5/1.414, less a little overlap; the curves (moons, circles,
 * swissroll, 2spirals, pinwheel) are Gaussian-blurred curves whose entropies were computed
 * numerically from the generators. An independent Monte Carlo check (exact mixture density for
 * 8gaussians, 10⁶ points; quadrature along the curve for the others, 5 000 points) gave
 * 8gaussians 2.831 ± 0.001, moons 2.408 ± 0.011, circles 3.288 ± 0.011, swissroll 2.674 ± 0.011,
 * 2spirals 2.638 ± 0.012 — within two standard errors of the table (pinwheel was not rechecked).
 */
export const TOY_BEST_NLL: Readonly<Record<ToyName, number>> = {
  "8gaussians": 2.831,
  checkerboard: 3.466,
  moons: 2.39,
  circles: 3.27,
  swissroll: 2.67,
  pinwheel: 2.32,
  "2spirals": 2.65,
};

/** Log-density of a batch of 2-D points [B, 2] → [B]: a model with logProb (or a bound), or a function. */
export type LogDensity2d = GenerativeModel | ((x: Tensor) => Tensor);
const asFn = (m: LogDensity2d, k?: number): ((x: Tensor) => Tensor) => (typeof m === "function" ? m : (x) => scoreOf(m, x, { k }));

export interface GridOptions {
  /** Plot range (default [−4, 4] on both axes, which holds every toy). */
  xlim?: readonly [number, number];
  ylim?: readonly [number, number];
  /** Cells per axis (default 100), or [nx, ny]. */
  resolution?: number | readonly [number, number];
  /** Points per GPU batch (default 4096). */
  batchSize?: number;
  /** IWAE samples for a latent-variable model without logProb. */
  k?: number;
}

/** A density on a grid of cell centres: value (j, i) at x = xs[i], y = ys[j], index j·nx + i. */
export interface DensityGrid {
  nx: number;
  ny: number;
  xs: Float64Array;
  ys: Float64Array;
  logDensity: Float32Array;
  density: Float32Array;
  /** Area of one cell. */
  cellArea: number;
  /** Σ p·cellArea: the midpoint-rule mass inside the window (≈ 1 for a normalised density that fits in it). */
  mass: number;
}

/** Evaluates a 2-D density at the centres of an nx × ny grid (rows are y, increasing with j; flip them to draw). */
export async function densityGrid(model: LogDensity2d, opts: GridOptions = {}): Promise<DensityGrid> {
  const [x0, x1] = opts.xlim ?? [-4, 4], [y0, y1] = opts.ylim ?? [-4, 4];
  const [nx, ny] = typeof opts.resolution === "number" || opts.resolution === undefined ? [opts.resolution ?? 100, opts.resolution ?? 100] : opts.resolution;
  const hx = (x1 - x0) / nx, hy = (y1 - y0) / ny;
  const xs = Float64Array.from({ length: nx }, (_, i) => x0 + (i + 0.5) * hx);
  const ys = Float64Array.from({ length: ny }, (_, j) => y0 + (j + 0.5) * hy);
  const total = nx * ny, B = opts.batchSize ?? 4096, f = asFn(model, opts.k);
  const logDensity = new Float32Array(total);
  for (let start = 0; start < total; start += B) {
    const end = Math.min(start + B, total);
    const pts = new Float32Array(2 * (end - start));
    for (let p = start; p < end; p++) {
      pts[2 * (p - start)] = xs[p % nx]!;
      pts[2 * (p - start) + 1] = ys[Math.floor(p / nx)]!;
    }
    logDensity.set(await scope(() => f(fromTyped(pts, [end - start, 2], "f32")).toArray()), start);
  }
  const density = logDensity.map(Math.exp);
  let mass = 0;
  for (const v of density) mass += v;
  return { nx, ny, xs, ys, logDensity, density, cellArea: hx * hy, mass: mass * hx * hy };
}

/** Test NLL of a 2-D model on a fresh sample of a toy, beside the best achievable figure. */
export interface ToyNllReport {
  /** −mean log p(x) (nats). */
  nll: number;
  stdErr: number;
  n: number;
  /** The generating distribution's entropy (TOY_BEST_NLL). */
  best: number;
  /** nll − best: ≥ 0 up to the standard error for any model. */
  gap: number;
}

/**
 * NLL of `n` fresh points of a toy (default 10 000, drawn with `seed`; use a seed the model was not
 * trained on — default 0x7e57).
 */
export async function toyNll(model: LogDensity2d, name: ToyName, opts: { n?: number; seed?: number; batchSize?: number; k?: number } = {}): Promise<ToyNllReport> {
  const n = opts.n ?? 10_000, B = opts.batchSize ?? 4096, f = asFn(model, opts.k);
  const pts = sampleToy(name, n, opts.seed ?? 0x7e57);
  const values = new Float64Array(n);
  for (let start = 0; start < n; start += B) {
    const end = Math.min(start + B, n);
    values.set(await scope(() => f(fromTyped(pts.subarray(2 * start, 2 * end), [end - start, 2], "f32")).toArray()), start);
  }
  const { mean, stdErr } = meanAndStdErr(values);
  const best = TOY_BEST_NLL[name];
  return { nll: -mean, stdErr, n, best, gap: -mean - best };
}
