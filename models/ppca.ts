/**
 * Probabilistic PCA (Tipping & Bishop 1999, "Probabilistic principal component analysis",
 * JRSS-B 61(3)): x = W z + μ + ε with z ~ N(0, I_q), ε ~ N(0, σ² I_D), so that
 *
 *   p(x) = N(x; μ, C),  C = W Wᵀ + σ² I
 *   p(z | x) = N(z; M⁻¹ Wᵀ (x − μ), σ² M⁻¹),  M = Wᵀ W + σ² I  (q × q)
 *
 * Fitting: μ̂ is the sample mean, and with S = U Λ Uᵀ the sample covariance (eigenvalues
 * descending) the maximum-likelihood W and σ² are (Eq. 7–8, taking the rotation R = I)
 *
 *   σ̂² = (1 / (D − q)) Σ_{j>q} λ_j,   Ŵ = U_q (Λ_q − σ̂² I)^{1/2}.
 *
 * S is accumulated on the GPU (one matmul Xᵀ X per chunk of data, read back and summed in float64
 * on the CPU); the eigen-decomposition and every q × q or D × q computation run on the CPU in
 * float64 (models/linalg.ts). Log-densities, encodings and samples run on the GPU and only ever
 * invert q × q matrices (Woodbury and the matrix determinant lemma, see `logProb`).
 *
 * `trainStep(batch)` is EM, not gradient descent: it adds the batch to running moments (so after a
 * full epoch they are the exact moments of the data), sets μ to their mean, and takes one EM step
 * (Eq. 29–30) on their covariance. EM never lowers the likelihood of the data the moments
 * describe, so repeating a step on one batch can only lower that batch's loss, and a pass over the
 * data followed by further steps converges to the closed-form fit.
 */
import { Rng, cat, eye, fromTyped, randn, realize, scope, type Tensor } from "../engine/index.js";
import { normalArray, seedToKey } from "../engine/random.js";
import { DisposedError, ShapeError } from "../engine/errors.js";
import { LinAlgError, cholesky, choleskySolve, logDetFromCholesky, matmul, matmulTN, symEig, transpose } from "./linalg.js";
import type { GenerativeModel, SampleOptions, TrainStepResult } from "./model.js";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * First and second moments of a stream of [B, D] batches: sums are taken on the GPU and kept in
 * float64 on the CPU. The data are shifted by the first batch's mean before squaring, so that
 * S = E[(x − c)(x − c)ᵀ] − (m − c)(m − c)ᵀ does not cancel catastrophically in f32.
 */
export class MomentAccumulator {
  count = 0;
  #shift: Float64Array | null = null;
  readonly #s1: Float64Array;
  readonly #s2: Float64Array;
  constructor(readonly dim: number) {
    this.#s1 = new Float64Array(dim);
    this.#s2 = new Float64Array(dim * dim);
  }

  /** Adds a batch [B, D] (one readback of D² + D floats). */
  async add(x: Tensor): Promise<void> {
    const D = this.dim;
    if (x.rank !== 2 || x.shape[1] !== D) throw new ShapeError("MomentAccumulator.add", `expects [B, ${D}]`, x.shape);
    const B = x.shape[0]!;
    if (B === 0) return;
    await scope(async () => {
      if (!this.#shift) this.#shift = Float64Array.from(await x.mean(0).toArray());
      const xc = x.sub(fromTyped(Float32Array.from(this.#shift), [D], "f32"));
      const [s1, s2] = await Promise.all([xc.sum(0).toArray(), xc.T.matmul(xc).toArray()]);
      for (let i = 0; i < D; i++) this.#s1[i] = this.#s1[i]! + s1[i]!;
      for (let i = 0; i < D * D; i++) this.#s2[i] = this.#s2[i]! + s2[i]!;
    });
    this.count += B;
  }

  /** The sample mean m. */
  mean(): Float64Array {
    const m = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) m[i] = this.#shift![i]! + this.#s1[i]! / this.count;
    return m;
  }

  /** The maximum-likelihood (1/N) covariance about the sample mean, symmetrised. */
  covariance(): Float64Array {
    const D = this.dim, N = this.count;
    if (!N) throw new ShapeError("MomentAccumulator.covariance", "no data was added");
    const S = new Float64Array(D * D);
    for (let i = 0; i < D; i++) {
      const di = this.#s1[i]! / N;
      for (let j = 0; j <= i; j++) {
        const v = (this.#s2[i * D + j]! + this.#s2[j * D + i]!) / (2 * N) - di * (this.#s1[j]! / N);
        S[i * D + j] = v;
        S[j * D + i] = v;
      }
    }
    return S;
  }
}

export interface PPCAOptions {
  /** Latent dimension q (1 ≤ q < D). */
  latentDim: number;
  /** Seed of the random initial W used before any data is seen (default 0). */
  seed?: number;
  /** Lower bound on σ² (default 1e-9): keeps C invertible if the data lie in a q-dim subspace. */
  minVariance?: number;
}

/** Float64 parameters: W (D × q, row-major), μ (D), σ². */
export interface PPCAParams {
  W: ArrayLike<number>;
  mu: ArrayLike<number>;
  sigma2: number;
}

export class PPCA implements GenerativeModel {
  readonly kind = "ppca";
  readonly latentDim: number;
  readonly minVariance: number;
  #W!: Float64Array;
  #mu!: Float64Array;
  #sigma2 = 1;
  /** GPU mirrors: W [D, q], μ [D], σ² [1], and the encoder E = W M⁻¹ [D, q]. */
  #gpu: { W: Tensor; mu: Tensor; sigma2: Tensor; E: Tensor } | null = null;
  /** log det C = (D − q) log σ² + log det M (matrix determinant lemma). */
  #logDetC = 0;
  #moments: MomentAccumulator;

  constructor(readonly dim: number, opts: PPCAOptions) {
    const q = opts.latentDim;
    if (!Number.isInteger(q) || q < 1 || q >= dim) throw new ShapeError("PPCA", `latentDim must be an integer in [1, ${dim - 1}], got ${q}`);
    this.latentDim = q;
    this.minVariance = opts.minVariance ?? 1e-9;
    this.#moments = new MomentAccumulator(dim);
    // Before any data: small random W (scale 0.1 / √q), μ = 0, σ² = 1.
    const W = normalArray(dim * q, seedToKey(opts.seed ?? 0), 0).map((v) => (0.1 * v) / Math.sqrt(q));
    this.setParameters({ W, mu: new Float64Array(dim), sigma2: 1 });
  }

  /** The maximum-likelihood fit (Eq. 7–8) to data with sample mean `mean` and covariance `cov`. */
  static fromMoments(mean: ArrayLike<number>, cov: ArrayLike<number>, opts: PPCAOptions): PPCA {
    const D = mean.length, q = opts.latentDim;
    const m = new PPCA(D, opts);
    const { values, vectors } = symEig(cov, D);
    let tail = 0;
    for (let j = q; j < D; j++) tail += values[j]!;
    const sigma2 = Math.max(tail / (D - q), m.minVariance);
    const W = new Float64Array(D * q);
    for (let j = 0; j < q; j++) {
      const scale = Math.sqrt(Math.max(values[j]! - sigma2, 0));
      for (let i = 0; i < D; i++) W[i * q + j] = vectors[i * D + j]! * scale;
    }
    m.setParameters({ W, mu: mean, sigma2 });
    return m;
  }

  /** Accumulates the moments of `batches` ([B, D] each) on the GPU and fits in closed form. */
  static async fit(batches: Iterable<Tensor> | AsyncIterable<Tensor>, dim: number, opts: PPCAOptions): Promise<PPCA> {
    const acc = new MomentAccumulator(dim);
    for await (const x of batches) await acc.add(x);
    return PPCA.fromMoments(acc.mean(), acc.covariance(), opts);
  }

  /** Fits by EM from the model's random start: `iters` steps of Eq. 29–30 (stops early below `tol`). */
  static fitEM(mean: ArrayLike<number>, cov: ArrayLike<number>, opts: PPCAOptions & { iters?: number; tol?: number }): PPCA {
    const m = new PPCA(mean.length, opts);
    m.setParameters({ W: m.#W, mu: mean, sigma2: m.#sigma2 });
    let prev = -Infinity;
    for (let t = 0; t < (opts.iters ?? 500); t++) {
      m.emStep(cov);
      const ll = m.avgLogLikelihood(mean, cov);
      if (Math.abs(ll - prev) < (opts.tol ?? 0) * Math.abs(ll)) break;
      prev = ll;
    }
    return m;
  }

  /** Rebuilds a model from `stateDict()` tensors (one readback each); q is read from W's shape. */
  static async fromStateDict(state: Record<string, Tensor>, opts: Partial<PPCAOptions> = {}): Promise<PPCA> {
    const { W: w, mu: m0, sigma2: s0 } = state;
    if (!w || !m0 || !s0 || w.rank !== 2) throw new ShapeError("PPCA.fromStateDict", "expects W [D, q], mu [D] and sigma2 [1]");
    const [W, mu, s2] = await Promise.all([w.toArray(), m0.toArray(), s0.toArray()]);
    const m = new PPCA(mu.length, { ...opts, latentDim: w.shape[1]! });
    m.setParameters({ W, mu, sigma2: s2[0]! });
    return m;
  }

  /**
   * Current float64 parameters (copies). Note that every update replaces the GPU tensors of
   * `parameters()` / `stateDict()`: fetch them again after a step.
   */
  get params(): { W: Float64Array; mu: Float64Array; sigma2: number } {
    return { W: this.#W.slice(), mu: this.#mu.slice(), sigma2: this.#sigma2 };
  }

  /** Sets W, μ, σ² (float64) and refreshes the GPU tensors derived from them. */
  setParameters(p: PPCAParams): void {
    const D = this.dim, q = this.latentDim;
    if (p.W.length !== D * q || p.mu.length !== D) throw new ShapeError("PPCA.setParameters", `expects W of ${D}×${q} and μ of ${D} values`, [p.W.length], [p.mu.length]);
    if (!(p.sigma2 > 0)) throw new LinAlgError(`PPCA.setParameters: σ² must be positive, got ${p.sigma2}`);
    this.#W = Float64Array.from(p.W);
    this.#mu = Float64Array.from(p.mu);
    this.#sigma2 = p.sigma2;
    const L = cholesky(this.#mMatrix(), q);
    this.#logDetC = (D - q) * Math.log(p.sigma2) + logDetFromCholesky(L, q);
    const E = transpose(choleskySolve(L, transpose(this.#W, D, q), q, D), q, D); // (M⁻¹ Wᵀ)ᵀ = W M⁻¹
    const f32 = (a: Float64Array, shape: number[], name: string) => fromTyped(Float32Array.from(a), shape, "f32", { name: `ppca.${name}` }).keep();
    this.#disposeGpu();
    this.#gpu = { W: f32(this.#W, [D, q], "W"), mu: f32(this.#mu, [D], "mu"), sigma2: f32(Float64Array.of(p.sigma2), [1], "sigma2"), E: f32(E, [D, q], "E") };
  }

  /** M = Wᵀ W + σ² I (q × q). */
  #mMatrix(): Float64Array {
    const q = this.latentDim;
    const M = matmulTN(this.#W, this.#W, this.dim, q, q);
    for (let i = 0; i < q; i++) M[i * q + i] = M[i * q + i]! + this.#sigma2;
    return M;
  }

  /**
   * One EM step (Eq. 29–30) on data with covariance S about the current μ:
   *   W̃ = S W (σ² I + M⁻¹ Wᵀ S W)⁻¹,   σ̃² = tr(S − S W M⁻¹ W̃ᵀ) / D.
   * The inverse is taken through a symmetric positive definite matrix:
   * σ² I + M⁻¹ Wᵀ S W = M⁻¹ (σ² M + Wᵀ S W), so W̃ = S W (σ² M + Wᵀ S W)⁻¹ M.
   */
  emStep(S: ArrayLike<number>): void {
    const D = this.dim, q = this.latentDim, W = this.#W, s2 = this.#sigma2;
    const M = this.#mMatrix();
    const SW = matmul(S, W, D, D, q);
    const B = matmulTN(W, SW, D, q, q);
    for (let i = 0; i < q * q; i++) B[i] = B[i]! + s2 * M[i]!;
    const Wn = matmul(SW, choleskySolve(cholesky(B, q), M, q, q), D, q, q);
    // tr(S W M⁻¹ W̃ᵀ) = Σ_ij (S W M⁻¹)_ij W̃_ij, with S W M⁻¹ = (M⁻¹ (S W)ᵀ)ᵀ
    const SWMinv = transpose(choleskySolve(cholesky(M, q), transpose(SW, D, q), q, D), q, D);
    let trS = 0, tr = 0;
    for (let i = 0; i < D; i++) trS += S[i * D + i]!;
    for (let i = 0; i < D * q; i++) tr += SWMinv[i]! * Wn[i]!;
    this.setParameters({ W: Wn, mu: this.#mu, sigma2: Math.max((trS - tr) / D, this.minVariance) });
  }

  /**
   * Mean log-likelihood per example (float64, nats) of data with sample mean m and covariance S:
   *   −½ [D log 2π + log det C + tr(C⁻¹ S) + (m − μ)ᵀ C⁻¹ (m − μ)],
   * with C⁻¹ = σ⁻² (I − W M⁻¹ Wᵀ) (Woodbury), so tr(C⁻¹ S) = σ⁻² (tr S − tr(M⁻¹ Wᵀ S W)).
   */
  avgLogLikelihood(mean: ArrayLike<number>, S: ArrayLike<number>): number {
    const D = this.dim, q = this.latentDim, W = this.#W, s2 = this.#sigma2;
    const L = cholesky(this.#mMatrix(), q);
    const WtSW = matmulTN(W, matmul(S, W, D, D, q), D, q, q);
    const X = choleskySolve(L, WtSW, q, q);
    let trS = 0, trX = 0;
    for (let i = 0; i < D; i++) trS += S[i * D + i]!;
    for (let i = 0; i < q; i++) trX += X[i * q + i]!;
    const d = Float64Array.from({ length: D }, (_, i) => mean[i]! - this.#mu[i]!);
    const Wtd = matmulTN(W, d, D, q, 1);
    const y = choleskySolve(L, Wtd, q, 1);
    let dd = 0, dWy = 0;
    for (let i = 0; i < D; i++) dd += d[i]! * d[i]!;
    for (let i = 0; i < q; i++) dWy += Wtd[i]! * y[i]!;
    return -0.5 * (D * LOG_2PI + this.#logDetC + (trS - trX) / s2 + (dd - dWy) / s2);
  }

  get #t(): { W: Tensor; mu: Tensor; sigma2: Tensor; E: Tensor } {
    if (!this.#gpu) throw new DisposedError("a PPCA model");
    return this.#gpu;
  }

  /**
   * Exact log N(x; μ, C) per example, [B]. The quadratic form uses the posterior mean
   * ẑ = M⁻¹ Wᵀ r (r = x − μ) and the identity
   *   rᵀ C⁻¹ r = min_z ‖r − W z‖² / σ² + ‖z‖² = ‖r − W ẑ‖² / σ² + ‖ẑ‖²,
   * a sum of two non-negative terms (the Woodbury form σ⁻²(‖r‖² − rᵀ W M⁻¹ Wᵀ r) cancels in f32).
   */
  logProb(x: Tensor): Tensor {
    const { W, mu, sigma2, E } = this.#t;
    this.#checkX("logProb", x);
    const r = x.sub(mu);
    const z = r.matmul(E);
    const quad = r.sub(z.matmul(W.T)).square().sum(1).div(sigma2).add(z.square().sum(1));
    return quad.add(this.dim * LOG_2PI + this.#logDetC).mul(-0.5);
  }

  /** Posterior mean E[z | x] = M⁻¹ Wᵀ (x − μ), [B, q]. */
  encode(x: Tensor): Tensor {
    this.#checkX("encode", x);
    return x.sub(this.#t.mu).matmul(this.#t.E);
  }

  /** E[x | z] = W z + μ, [B, D]. */
  decode(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) throw new ShapeError("PPCA.decode", `expects [B, ${this.latentDim}]`, z.shape);
    return z.matmul(this.#t.W.T).add(this.#t.mu);
  }

  /**
   * x = W z + μ + σ ε with z ~ N(0, I_q), ε ~ N(0, I_D); [n, D]. Written as one matmul,
   * x = [z ε] [Wᵀ; σ I] + μ: the draws then get a kernel of their own instead of being fused into
   * the matmul's epilogue, which lavapipe compiles ~10× more slowly.
   */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    const rng = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : undefined);
    const shape = [n, this.latentDim + this.dim];
    const ze = rng ? randn(shape, { rng }) : randn(shape);
    const { W, mu, sigma2 } = this.#t;
    return ze.matmul(cat([W.T, eye(this.dim).mul(sigma2.sqrt())], 0)).add(mu);
  }

  /**
   * One EM step on all data seen so far (see the file comment). The returned loss is the batch's
   * mean negative log-likelihood under the parameters *before* the step (realized, not read).
   * Costs a D × D readback per call.
   */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    this.#checkX("trainStep", batch);
    return scope(async () => {
      const loss = this.logProb(batch).mean().neg();
      await realize(loss);
      await this.#moments.add(batch);
      // μ̂ is the mean whatever W and σ² are; emStep re-uploads it with the new W and σ².
      this.#mu = this.#moments.mean();
      this.emStep(this.#moments.covariance());
      return { loss };
    });
  }

  #checkX(what: string, x: Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError(`PPCA.${what}`, `expects [B, ${this.dim}]`, x.shape);
  }

  parameters(): Tensor[] {
    const { W, mu, sigma2 } = this.#t;
    return [W, mu, sigma2];
  }

  stateDict(): Record<string, Tensor> {
    const { W, mu, sigma2 } = this.#t;
    return { W, mu, sigma2 };
  }

  config(): Record<string, unknown> {
    return { kind: this.kind, dim: this.dim, latentDim: this.latentDim, minVariance: this.minVariance };
  }

  #disposeGpu(): void {
    if (!this.#gpu) return;
    for (const t of Object.values(this.#gpu)) t.dispose();
    this.#gpu = null;
  }

  dispose(): void {
    this.#disposeGpu();
  }
}
