/**
 * MADE (Germain, Gregor, Murray & Larochelle 2015, "MADE: Masked Autoencoder for Distribution
 * Estimation", ICML) for binary vectors: an MLP whose weights are multiplied by binary masks so
 * that output d sees only the inputs before d in an ordering, which makes
 *
 *   p(x) = Π_d p(x_{o(d)} | x_{o(<d)}),   p(x_d = 1 | ·) = σ(ℓ_d(x))
 *
 * an exact, normalised likelihood computed in one forward pass (a single [B, D] → [B, D] MLP).
 *
 * Masks from connectivity numbers (§4.2): inputs get m⁰(d) = position of d in the ordering
 * (0 … D−1 here, the paper counts from 1); hidden unit k of layer l draws m^l(k) uniformly from
 * {min_k' m^{l−1}(k'), …, D − 2}; then
 *
 *   M^{W^l}[k, k'] = 1[m^l(k) ≥ m^{l−1}(k')]                                              (Eq. 12)
 *   M^V[d, k]      = 1[m⁰(d) > m^L(k)]                                                     (Eq. 13)
 *
 * so any path from input j to output d passes degrees m⁰(j) ≤ m¹ ≤ … ≤ m^L < m⁰(d). Masks are
 * applied as W ⊙ M (an elementwise product the engine fuses into one kernel per layer).
 *
 * Connectivity-agnostic training (§4.3): a set of `nMasks` mask sets is drawn once, and each
 * minibatch uses one of them at random; order-agnostic training also gives each set its own random
 * ordering. At test time the ensemble averages probabilities over the sets,
 * log p(x) = log (1/M) Σ_m p_m(x) = logsumexp_m log p_m(x) − log M, which is itself a normalised
 * mixture, sampled by drawing a set per sample.
 */
import { Adam, Rng, bernoulli, cat, compile, fromTyped, nn, noGrad, realize, scope, stack, zeros, type CompiledStep, type Device, type Tensor } from "../engine/index.js";
import { ShapeError } from "../engine/errors.js";
import { uniformArray, uniformAt } from "../engine/random.js";
import type { GenerativeModel, SampleOptions, TrainStepResult } from "./model.js";
import { unrollCompiled, unrollLazy, type ArStep } from "./nade.js";

export interface MadeOptions {
  /** Data dimension D (784 for MNIST), at least 2. */
  dim: number;
  /** Hidden layer sizes (default [500], the paper's single-layer MNIST model). */
  hidden?: number[];
  /** Mask sets to train over and average at test time (default 1: a fixed connectivity). */
  nMasks?: number;
  /** Give every mask set its own random input ordering (default false: the natural order). */
  orderAgnostic?: boolean;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seeds weights, masks, the mask schedule and the default sampler (default 0). */
  seed?: number;
  /** Wrap trainStep in compile() (default false); the mask set is then a per-call input. */
  compile?: boolean;
  device?: Device;
}

/** Sampling options: `mask` samples from one mask set's model instead of the ensemble. */
export type MadeSampleOptions = SampleOptions & { mask?: number };

/** A random permutation of 0 … D−1 (Fisher–Yates on Philox uniforms). */
function permutation(D: number, rng: Rng): Int32Array {
  const { key, stream } = rng.next();
  const u = uniformArray(D, key, stream);
  const p = Int32Array.from({ length: D }, (_, i) => i);
  for (let i = D - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The masks ([out, in] like the weights) of Eq. 12–13 for one ordering. */
function buildMasks(order: Int32Array, hidden: readonly number[], rng: Rng): Float32Array[] {
  const D = order.length;
  const m0 = new Int32Array(D);
  order.forEach((d, k) => (m0[d] = k));
  const masks: Float32Array[] = [];
  let prev = m0;
  for (const H of hidden) {
    const lo = prev.reduce((a, b) => Math.min(a, b), D), span = D - 1 - lo; // degrees lo … D − 2
    const { key, stream } = rng.next();
    const u = uniformArray(H, key, stream);
    const m = Int32Array.from(u, (v) => lo + Math.min(span - 1, Math.floor(v * span)));
    const M = new Float32Array(H * prev.length);
    for (let k = 0; k < H; k++) for (let j = 0; j < prev.length; j++) M[k * prev.length + j] = m[k]! >= prev[j]! ? 1 : 0;
    masks.push(M);
    prev = m;
  }
  const V = new Float32Array(D * prev.length);
  for (let d = 0; d < D; d++) for (let k = 0; k < prev.length; k++) V[d * prev.length + k] = m0[d]! > prev[k]! ? 1 : 0;
  masks.push(V);
  return masks;
}

export class MADE extends nn.Module implements GenerativeModel {
  readonly kind = "made";
  readonly dim: number;
  readonly nMasks: number;
  /** Linear layers D → H₁ → … → D (PyTorch layout and init), named net.0, net.1, … */
  readonly net: nn.Sequential;
  readonly #layers: nn.Linear[];
  /** Per mask set: its ordering (order[k] = the k-th dimension) and one mask tensor per layer. */
  readonly #orders: Int32Array[];
  readonly #masks: Tensor[][];
  readonly #cfg: Required<Omit<MadeOptions, "device">>;
  readonly #opt: Adam;
  readonly #maskRng: Rng;
  readonly #sampler: Rng;
  #step: CompiledStep<[Tensor, ...Tensor[]], Tensor> | null = null;

  constructor(opts: MadeOptions) {
    super();
    const D = opts.dim, hidden = opts.hidden ?? [500], nMasks = opts.nMasks ?? 1;
    if (!(Number.isInteger(D) && D >= 2)) throw new ShapeError("MADE", `dim must be an integer ≥ 2, got ${D}`);
    if (!(Number.isInteger(nMasks) && nMasks >= 1) || !hidden.length || hidden.some((h) => !(Number.isInteger(h) && h >= 1))) {
      throw new ShapeError("MADE", `needs nMasks ≥ 1 and at least one positive hidden size, got ${nMasks} and [${hidden.join(", ")}]`);
    }
    this.#cfg = { dim: D, hidden: [...hidden], nMasks, orderAgnostic: opts.orderAgnostic ?? false, lr: opts.lr ?? 1e-3, seed: opts.seed ?? 0, compile: opts.compile ?? false };
    this.dim = D;
    this.nMasks = nMasks;
    const rng = new Rng(this.#cfg.seed);
    const sizes = [D, ...hidden, D];
    this.#layers = sizes.slice(1).map((out, i) => new nn.Linear(sizes[i]!, out, { rng, device: opts.device }));
    this.net = this.child("net", new nn.Sequential(...this.#layers));
    const maskRng = rng.fork();
    const natural = Int32Array.from({ length: D }, (_, i) => i);
    this.#orders = Array.from({ length: nMasks }, () => (this.#cfg.orderAgnostic ? permutation(D, maskRng) : natural));
    this.#masks = this.#orders.map((order) =>
      buildMasks(order, hidden, maskRng).map((M, l) => fromTyped(M, this.#layers[l]!.weight.shape, "f32", { device: opts.device })),
    );
    this.#maskRng = rng.fork();
    this.#sampler = rng.fork();
    this.#opt = new Adam(Object.fromEntries(this.namedParameters()), { lr: this.#cfg.lr });
  }

  /** Mask set m's ordering: entry k is the dimension generated k-th (a copy). */
  ordering(m = 0): Int32Array {
    return this.#orders[this.#check(m)]!.slice();
  }

  #check(m: number): number {
    if (!(Number.isInteger(m) && m >= 0 && m < this.nMasks)) throw new RangeError(`MADE: mask index must be an integer in [0, ${this.nMasks}), got ${m}`);
    return m;
  }

  #checkX(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError("MADE", `expects x of shape [B, ${this.dim}]`, x.shape);
    return x;
  }

  /** W ⊙ M for every layer under mask set `masks`. */
  #masked(masks: readonly Tensor[]): Tensor[] {
    return this.#layers.map((L, l) => L.weight.mul(masks[l]!));
  }

  /** The MLP on already-masked weights, ReLU between layers: logits [B, D]. */
  #mlp(x: Tensor, weights: readonly Tensor[]): Tensor {
    const last = this.#layers.length - 1;
    return this.#layers.reduce((h, L, l) => {
      const y = h.matmul(weights[l]!.T).add(L.bias!);
      return l < last ? y.relu() : y;
    }, x);
  }

  /** Logits of p(x_d = 1 | x before d in ordering m) for every d, [B, D]. */
  logits(x: Tensor, m = 0): Tensor {
    return this.#mlp(this.#checkX(x), this.#masked(this.#masks[this.#check(m)]!));
  }
  forward(x: Tensor): Tensor {
    return this.logits(x);
  }

  /** Σ_d x_d ℓ_d − softplus(ℓ_d) = log p(x) under one set of masks, [B]. */
  #logProbWith(x: Tensor, masks: readonly Tensor[]): Tensor {
    const l = this.#mlp(x, this.#masked(masks));
    return x.mul(l).sub(l.softplus()).sum(-1);
  }

  /** log p_m(x) in nats under mask set m alone, [B]. */
  logProbMask(x: Tensor, m: number): Tensor {
    return this.#logProbWith(this.#checkX(x), this.#masks[this.#check(m)]!);
  }

  /** log p(x) in nats, [B]: the ensemble log (1/M) Σ_m p_m(x) over all mask sets. */
  logProb(x: Tensor): Tensor {
    if (this.nMasks === 1) return this.logProbMask(x, 0);
    return stack(this.#masks.map((_, m) => this.logProbMask(x, m))).logsumexp(0).sub(Math.log(this.nMasks));
  }

  /** The mask set of the next minibatch, uniform over the set (seeded). */
  #nextMask(): number {
    if (this.nMasks === 1) return 0;
    const { key, stream } = this.#maskRng.next();
    return Math.min(this.nMasks - 1, Math.floor(uniformAt(key, 0, stream) * this.nMasks));
  }

  /** One Adam step on the mean NLL of the batch under a freshly drawn mask set. */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    const masks = this.#masks[this.#nextMask()]!;
    const step = async (x: Tensor, ...ms: Tensor[]) => {
      const loss = this.#logProbWith(x, ms).mean().neg();
      loss.backward();
      await this.#opt.step({ realize: [loss] });
      this.#opt.zeroGrad();
      return loss;
    };
    if (!this.#cfg.compile) return { loss: await scope(() => step(batch, ...masks)) };
    this.#step ??= compile(step, { label: "made.step" });
    return { loss: await this.#step(batch, ...masks) };
  }

  /** The optimizer (its lr can be scheduled). */
  get optimizer(): Adam {
    return this.#opt;
  }

  /**
   * Step for mask set m: the full MLP on x except the last layer, of which only row d is needed
   * (picked by the one-hot e), then x_d ~ Bernoulli(σ(ℓ_d)).
   */
  #sampleStep(weights: readonly Tensor[], rng: Rng): ArStep {
    const last = this.#layers.length - 1, out = this.#layers[last]!;
    return ([x], e) => {
      let h = x!;
      for (let l = 0; l < last; l++) h = h.matmul(weights[l]!.T).add(this.#layers[l]!.bias!).relu();
      const logit = h.matmul(e.matmul(weights[last]!)).add(out.bias!.mul(e).sum()); // [n]
      return [x!.add(bernoulli(logit.sigmoid(), undefined, { rng }).unsqueeze(1).mul(e))];
    };
  }

  /**
   * Which mask set generates each of the n samples: `mask`, or a uniform draw per sample for the
   * ensemble. Returns the batch size to sample under each set (0: unused) and, for the ensemble,
   * `back`: where sample i sits in the concatenation of the per-set batches. Ensemble batches are
   * rounded up to a power of two (the extra rows are dropped by `back`), so that different draws
   * reuse the same few kernel shapes at a cost below 2× the work.
   */
  #assign(n: number, rng: Rng, mask?: number): { sizes: number[]; back: Int32Array | null } {
    const sizes = new Array<number>(this.nMasks).fill(0);
    if (mask !== undefined || this.nMasks === 1) {
      sizes[mask === undefined ? 0 : this.#check(mask)] = n;
      return { sizes, back: null };
    }
    const { key, stream } = rng.next();
    const which = Array.from(uniformArray(n, key, stream), (u) => Math.min(this.nMasks - 1, Math.floor(u * this.nMasks)));
    const counts = new Array<number>(this.nMasks).fill(0);
    which.forEach((m) => counts[m]!++);
    const offsets: number[] = [];
    let total = 0;
    counts.forEach((c, m) => {
      sizes[m] = c && 2 ** Math.ceil(Math.log2(c));
      offsets.push(total);
      total += sizes[m]!;
    });
    const back = Int32Array.from(which, (m) => offsets[m]!++);
    return { sizes, back };
  }

  #rng(opts: SampleOptions): Rng {
    return opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : this.#sampler);
  }

  /** Joins the per-set batches and puts sample i at row i. */
  #gather(parts: Tensor[], back: Int32Array | null): Tensor {
    const all = cat(parts, 0);
    return back ? all.indexSelect(0, fromTyped(back, [back.length], "i32", { device: all.device })) : all;
  }

  /**
   * n samples, [n, D], from the ensemble (each sample from a uniformly drawn mask set) or from set
   * `opts.mask`. One lazy graph of D steps per set used, since the interface is synchronous: no
   * readback, but every step's intermediates are allocated together and scheduling the graph
   * costs JavaScript time that grows faster than D. For large D use {@link sampleCompiled}.
   */
  sample(n: number, opts: MadeSampleOptions = {}): Tensor {
    const rng = this.#rng(opts);
    const { sizes, back } = this.#assign(n, rng, opts.mask);
    return noGrad(() => {
      const parts = sizes.flatMap((size, m) => {
        if (!size) return [];
        const step = this.#sampleStep(this.#masked(this.#masks[m]!), rng);
        return unrollLazy([zeros([size, this.dim], { device: this.#masks[m]![0]!.device })], this.#orders[m]!, step);
      });
      return this.#gather(parts, back);
    });
  }

  /** As {@link sample}, with each set's step compiled once and replayed D times (no readback). */
  async sampleCompiled(n: number, opts: MadeSampleOptions = {}): Promise<Tensor> {
    const rng = this.#rng(opts);
    const { sizes, back } = this.#assign(n, rng, opts.mask);
    const parts: Tensor[] = [];
    try {
      for (const [m, size] of sizes.entries()) {
        if (!size) continue;
        const part = await scope(async () => {
          const weights = noGrad(() => this.#masked(this.#masks[m]!));
          const x0 = zeros([size, this.dim], { device: weights[0]!.device });
          await realize(...weights, x0);
          return (await unrollCompiled([x0], this.#orders[m]!, this.#sampleStep(weights, rng), "made.sample"))[0]!;
        });
        parts.push(part);
      }
      if (!back) return parts.pop()!;
      return await scope(async () => {
        const x = this.#gather(parts, back);
        await realize(x);
        return x;
      });
    } finally {
      parts.forEach((t) => t.dispose());
    }
  }

  config(): Record<string, unknown> {
    return { kind: this.kind, ...this.#cfg };
  }

  override dispose(): void {
    this.#step?.dispose();
    this.#opt.dispose();
    this.#masks.flat().forEach((t) => t.dispose());
    super.dispose();
  }
}
