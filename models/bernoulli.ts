/**
 * Sanity floors for binarised data x ∈ {0, 1}^D (binarised MNIST):
 *
 * - `FactorisedBernoulli`: p(x) = Π_j σ(l_j)^{x_j} σ(−l_j)^{1−x_j}, one logit per pixel. Fit in
 *   closed form (the Laplace-smoothed frequency) or by gradient steps.
 * - `BernoulliMixture`: p(x) = Σ_k π_k Π_j μ_kj^{x_j} (1 − μ_kj)^{1−x_j}, trained by EM
 *   (Dempster, Laird & Rubin 1977; Bishop, PRML §9.3.3, Eq. 9.56–9.60). Published figure for
 *   context: K = 500 gives 137.64 nats on binarised MNIST (Larochelle & Murray 2011, Table 2).
 *
 * Both log-likelihoods are exact. In logit form log p(x | k) = x · l_k − Σ_j softplus(l_kj), so
 * a whole batch is one matmul X Lᵀ [B, K] plus a per-component constant, and the mixture's
 * log p(x) is a logsumexp over k.
 */
import { Adam, Bernoulli, Categorical, Rng, fromTyped, realize, scope, type Tensor } from "../engine/index.js";
import { ShapeError } from "../engine/errors.js";
import { seedToKey, uniformArray } from "../engine/random.js";
import type { GenerativeModel, SampleOptions, TrainStepResult } from "./model.js";

/** Logits are clipped to ±LOGIT_MAX (p within 1e-11 of 0 or 1) so that an empty count gives no ±∞. */
const LOGIT_MAX = 25;

/** The draws' source: the given generator, a fresh one from `seed`, or (neither) the engine's default. */
const drawOpts = (opts: SampleOptions): { rng?: Rng } => {
  const rng = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : undefined);
  return rng ? { rng } : {};
};

function checkBatch(what: string, x: Tensor, D: number): number {
  if (x.rank !== 2 || x.shape[1] !== D) throw new ShapeError(what, `expects [B, ${D}]`, x.shape);
  return x.shape[0]!;
}

/** A parameter-like tensor owned by a model: f32, named, out of every scope. */
const owned = (values: Float32Array, shape: number[], name: string, requiresGrad = false) =>
  fromTyped(values, shape, "f32", { name, requiresGrad }).keep();

export interface FactorisedBernoulliOptions {
  /** Laplace pseudo-count α of `fit` (default 1): p_j = (n₁ + α) / (N + 2α). */
  alpha?: number;
  /** Adam learning rate of `trainStep` (default 0.05). */
  lr?: number;
}

/** One independent Bernoulli per dimension. */
export class FactorisedBernoulli implements GenerativeModel {
  readonly kind = "bernoulli";
  readonly alpha: number;
  readonly lr: number;
  #logits: Tensor;
  #opt: Adam | null = null;

  constructor(readonly dim: number, opts: FactorisedBernoulliOptions = {}) {
    this.alpha = opts.alpha ?? 1;
    this.lr = opts.lr ?? 0.05;
    this.#logits = owned(new Float32Array(dim), [dim], "logits", true); // p = ½ everywhere
  }

  /** [D] logits l_j = log p_j − log(1 − p_j). */
  get logits(): Tensor {
    return this.#logits;
  }

  /**
   * Closed-form MAP fit under a Beta(1 + α, 1 + α) prior (α = 0: the MLE), from the counts of ones
   * n₁ over the batches: l_j = log(n₁ + α) − log(N − n₁ + α). Counts are summed on the GPU per
   * batch and in float64 across batches (exact: they are integers). Resets the optimizer.
   */
  async fit(batches: Iterable<Tensor> | AsyncIterable<Tensor>): Promise<void> {
    const D = this.dim, ones = new Float64Array(D);
    let N = 0;
    for await (const x of batches) {
      N += checkBatch("FactorisedBernoulli.fit", x, D);
      const c = await scope(() => x.sum(0).toArray());
      for (let j = 0; j < D; j++) ones[j] = ones[j]! + c[j]!;
    }
    const a = this.alpha;
    const l = Float32Array.from(ones, (n1) => Math.min(LOGIT_MAX, Math.max(-LOGIT_MAX, Math.log(n1 + a) - Math.log(N - n1 + a))));
    this.#opt?.dispose();
    this.#opt = null;
    this.#logits.dispose();
    this.#logits = owned(l, [D], "logits", true);
  }

  /** log p(x) = x · l − Σ_j softplus(l_j), [B]. */
  logProb(x: Tensor): Tensor {
    checkBatch("FactorisedBernoulli.logProb", x, this.dim);
    return x.matmul(this.#logits).sub(this.#logits.softplus().sum());
  }

  sample(n: number, opts: SampleOptions = {}): Tensor {
    return new Bernoulli(this.#logits.expand([n, this.dim])).sample(drawOpts(opts));
  }

  /** One Adam step on the mean negative log-likelihood of the batch (returned, lazy). */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    checkBatch("FactorisedBernoulli.trainStep", batch, this.dim);
    this.#opt ??= new Adam([this.#logits], { lr: this.lr });
    const opt = this.#opt;
    const loss = await scope(async () => {
      const l = this.logProb(batch).mean().neg();
      l.backward();
      await opt.step({ realize: [l] });
      opt.zeroGrad();
      return l;
    });
    return { loss };
  }

  parameters(): Tensor[] {
    return [this.#logits];
  }
  stateDict(): Record<string, Tensor> {
    return { logits: this.#logits };
  }
  config(): Record<string, unknown> {
    return { kind: this.kind, dim: this.dim, alpha: this.alpha, lr: this.lr };
  }
  dispose(): void {
    this.#opt?.dispose();
    this.#opt = null;
    this.#logits.dispose();
  }
}

export interface BernoulliMixtureOptions {
  /** Number of components K. */
  components: number;
  /** Beta pseudo-count α per pixel and outcome in the M-step (default 1; 0 gives maximum likelihood). */
  alpha?: number;
  /** Dirichlet pseudo-count β per component for the weights (default 1e-3; 0 gives maximum likelihood). */
  beta?: number;
  /** Step-size exponent κ of stepwise EM in `trainStep`: η_t = (t + 2)^−κ (default 0.6). */
  kappa?: number;
  /** Seeds the initial means μ_kj ~ U(0.25, 0.75) (default 0). */
  seed?: number;
}

/** Expected sufficient statistics: counts n_k = Σ_b r_bk and c_kj = Σ_b r_bk x_bj, over `total` examples. */
interface Stats {
  n: Tensor;
  c: Tensor;
  total: number;
}

/**
 * Mixture of K factorised Bernoullis, trained by EM. The model's state is its expected sufficient
 * statistics; the parameters are always their M-step, and every update replaces the parameter
 * tensors (fetch `parameters()` / `stateDict()` again after a step).
 */
export class BernoulliMixture implements GenerativeModel {
  readonly kind = "bernoulli-mixture";
  readonly components: number;
  readonly alpha: number;
  readonly beta: number;
  readonly kappa: number;
  /** [K, D] component logits and [K] log mixing weights. */
  #logits!: Tensor;
  #logWeights!: Tensor;
  #stats: Stats;
  #steps = 0;

  constructor(readonly dim: number, opts: BernoulliMixtureOptions) {
    const K = opts.components;
    if (!Number.isInteger(K) || K < 1) throw new ShapeError("BernoulliMixture", `components must be a positive integer, got ${K}`);
    this.components = K;
    this.alpha = opts.alpha ?? 1;
    this.beta = opts.beta ?? 1e-3;
    this.kappa = opts.kappa ?? 0.6;
    // The starting point, as statistics of K pseudo-examples: one per component with x = u_k,
    // u_kj ~ U(0.25, 0.75). Parameters are always the M-step of the statistics.
    const u = uniformArray(K * dim, seedToKey(opts.seed ?? 0), 0);
    this.#stats = {
      n: owned(new Float32Array(K).fill(1), [K], "mixture.n"),
      c: owned(Float32Array.from(u, (v) => 0.25 + 0.5 * v), [K, dim], "mixture.c"),
      total: K,
    };
    this.#mStep();
  }

  /** [K, D] logits of the component means. */
  get logits(): Tensor {
    return this.#logits;
  }
  /** [K] log π_k. */
  get logWeights(): Tensor {
    return this.#logWeights;
  }

  /**
   * M-step (Eq. 9.59–9.60 with conjugate pseudo-counts): μ_kj = (c_kj + α) / (n_k + 2α), so
   * l_kj = log(c_kj + α) − log(n_k − c_kj + α); π_k = (n_k + β) / (N + Kβ). Sets new (lazy,
   * kept) parameter tensors; the caller disposes the old ones.
   */
  #mStep(): void {
    const { n, c, total } = this.#stats, K = this.components, a = this.alpha, b = this.beta;
    const next = scope(() => {
      // n_k − c_kj ≥ 0 in exact arithmetic; relu absorbs rounding. Floors keep log() finite at α = 0.
      const zeros = n.unsqueeze(1).sub(c).relu();
      const logits = c.add(a).maximum(1e-30).log().sub(zeros.add(a).maximum(1e-30).log()).clamp(-LOGIT_MAX, LOGIT_MAX);
      const logWeights = n.add(b).maximum(1e-30).log().sub(Math.log(total + K * b));
      return { logits, logWeights };
    });
    this.#logits = next.logits.keep();
    this.#logWeights = next.logWeights.keep();
    this.#logits.name = "logits";
    this.#logWeights.name = "log_weights";
  }

  /** log π_k + log p(x | k), [B, K]. */
  #logJoint(x: Tensor): Tensor {
    const bias = this.#logWeights.sub(this.#logits.softplus().sum(1));
    return x.matmul(this.#logits.T).add(bias);
  }

  /** E-step on one batch: statistics under the current parameters, and Σ_b log p(x_b) (lazy). */
  #eStep(x: Tensor): { n: Tensor; c: Tensor; logLik: Tensor } {
    const joint = this.#logJoint(x);
    const r = joint.softmax(1); // responsibilities r_bk = p(k | x_b)
    return { n: r.sum(0), c: r.T.matmul(x), logLik: joint.logsumexp(1).sum() };
  }

  /** Exact log p(x) = logsumexp_k (log π_k + log p(x | k)), [B]. */
  logProb(x: Tensor): Tensor {
    checkBatch("BernoulliMixture.logProb", x, this.dim);
    return this.#logJoint(x).logsumexp(1);
  }

  /** Draws k ~ Categorical(π), then x ~ Π_j Bernoulli(μ_kj). */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    const o = drawOpts(opts);
    const k = new Categorical(this.#logWeights.expand([n, this.components])).sample(o);
    return new Bernoulli(this.#logits.indexSelect(0, k)).sample(o);
  }

  /** Replaces the statistics and runs the M-step; the old tensors go once the new ones exist. */
  async #update(s: Stats): Promise<void> {
    const old = [this.#stats.n, this.#stats.c, this.#logits, this.#logWeights];
    this.#stats = { n: s.n.keep(), c: s.c.keep(), total: s.total };
    this.#mStep();
    await realize(this.#logits, this.#logWeights);
    for (const t of old) t.dispose();
  }

  /**
   * One full EM iteration over a pass of the data (`batches`, e.g. chunks of the training set):
   * E-step statistics are summed over the batches on the GPU, then the M-step sets the
   * parameters. Returns the mean log-likelihood per example under the parameters *before* the
   * step; EM guarantees it never decreases from one call to the next (at α = β = 0).
   */
  async emStep(batches: Iterable<Tensor> | AsyncIterable<Tensor>): Promise<number> {
    type Acc = { n: Tensor; c: Tensor; logLik: Tensor };
    let acc: Acc | null = null;
    let total = 0;
    for await (const x of batches) {
      total += checkBatch("BernoulliMixture.emStep", x, this.dim);
      const prev: Acc | null = acc;
      const s = scope((): Acc => {
        const e = this.#eStep(x);
        return prev ? { n: prev.n.add(e.n), c: prev.c.add(e.c), logLik: prev.logLik.add(e.logLik) } : e;
      });
      await realize(s.n, s.c, s.logLik);
      if (prev) for (const t of Object.values(prev)) t.dispose();
      acc = { n: s.n.keep(), c: s.c.keep(), logLik: s.logLik.keep() };
    }
    if (!acc) throw new ShapeError("BernoulliMixture.emStep", "no batches were given");
    const logLik = await acc.logLik.item();
    acc.logLik.dispose();
    await this.#update({ n: acc.n, c: acc.c, total });
    return logLik / total;
  }

  /**
   * Stepwise EM (Sato & Ishii 2000; Liang & Klein 2009): the running statistics, rescaled to the
   * batch size B, move towards the batch's, s ← (1 − η) s·B/N_s + η ŝ_batch with η_t = (t + 2)^−κ,
   * then the M-step. Because the parameters are always the M-step of s, a step never lowers the
   * log-likelihood of its batch (at α = β = 0). Returns the batch's mean negative log-likelihood
   * under the parameters before the step (realized, not read).
   */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    const B = checkBatch("BernoulliMixture.trainStep", batch, this.dim);
    const eta = (this.#steps + 2) ** -this.kappa;
    const keep = ((1 - eta) * B) / this.#stats.total;
    const { n, c, loss } = scope(() => {
      const e = this.#eStep(batch);
      return { n: this.#stats.n.mul(keep).add(e.n.mul(eta)), c: this.#stats.c.mul(keep).add(e.c.mul(eta)), loss: e.logLik.div(-B) };
    });
    await realize(n, c, loss);
    await this.#update({ n, c, total: B });
    this.#steps++;
    return { loss };
  }

  parameters(): Tensor[] {
    return [this.#logits, this.#logWeights];
  }
  stateDict(): Record<string, Tensor> {
    return { logits: this.#logits, log_weights: this.#logWeights };
  }
  config(): Record<string, unknown> {
    return { kind: this.kind, dim: this.dim, components: this.components, alpha: this.alpha, beta: this.beta, kappa: this.kappa };
  }
  dispose(): void {
    for (const t of [this.#logits, this.#logWeights, this.#stats.n, this.#stats.c]) t.dispose();
  }
}
