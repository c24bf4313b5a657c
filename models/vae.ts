/**
 * Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes") and the
 * importance-weighted bound (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").
 *
 *   prior    p(z) = N(0, I)
 *   decoder  p(x | z) = Π_d Bernoulli(x_d; σ(ℓ_d(z)))        (logits ℓ from an MLP or transposed convs)
 *   encoder  q(z | x) = N(μ(x), diag σ²(x)),  z = μ + σ ⊙ ε, ε ~ N(0, I)   (the reparameterisation, K&W §2.4)
 *
 * ELBO (K&W Eq. 10, the SGVB estimator with the KL in closed form, K&W Appendix B):
 *   L(x) = log p(x | z) − KL(q(z|x) ‖ p(z)),   −KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²).
 * β-ELBO (Higgins et al. 2017) weighs the KL by β. IWAE (Burda Eq. 8), with k samples z_i ~ q(z|x):
 *   L_k(x) = log (1/k) Σ_i w_i,  log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x),
 * computed as logsumexp_i(log w_i) − log k. Burda's Theorem 1: E L_1 = ELBO ≤ E L_k ≤ E L_{k+1} ≤ log p(x).
 * Large k (5000 in Burda's tables) is evaluated in chunks of samples joined by a streaming logsumexp.
 */
import {
  Adam, Bernoulli, Normal, Rng, compile, conv2d, convTranspose2d, klDivergence, linspace, logsumexp, maximum, nn, noGrad,
  randn, realize, scope, zerosLike, type CompiledStep, type Device, type Tensor,
} from "../engine/index.js";
import { ShapeError } from "../engine/errors.js";
import type { GenerativeModel, SampleOptions, TrainStepResult } from "./model.js";

export type VaeObjective = "elbo" | "beta-elbo" | "iwae";
export type VaeActivation = "tanh" | "softplus" | "relu";

export interface VaeOptions {
  /** Data dimension D (784 for MNIST). */
  dim: number;
  /** Latent dimension (default 50, Burda's). */
  zDim?: number;
  /** MLP hidden sizes of the encoder; the decoder mirrors them (default [500, 500]). */
  hidden?: number[];
  /** Hidden nonlinearity (default tanh, as in both papers). */
  activation?: VaeActivation;
  /** "mlp" (default) or "conv": two 4×4 stride-2 convs down, two transposed convs up. */
  arch?: "mlp" | "conv";
  /** conv: image [H, W] with H·W = dim, both divisible by 4 (default square). */
  image?: [number, number];
  /** conv: channels of the two conv layers (default [32, 64]). */
  channels?: [number, number];
  /** What trainStep minimises (default "elbo"). */
  objective?: VaeObjective;
  /** KL weight of "beta-elbo" (default 1). */
  beta?: number;
  /** Samples per example of the "iwae" objective (default 5). */
  k?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seeds the weights and the sampler (default 0). */
  seed?: number;
  /** Wrap trainStep in compile() (default false). */
  compile?: boolean;
  device?: Device;
}

/** Options of the IWAE estimators: `chunk` = samples per example evaluated at once. */
export type IwaeOptions = SampleOptions & { chunk?: number };

/** The encoder's output: q(z|x)'s mean, log-variance and standard deviation, each [B, Z]. */
interface Posterior {
  mu: Tensor;
  logvar: Tensor;
  sigma: Tensor;
}

/** log(eᵃ + eᵇ), shifted by max(a, b): the streaming step that joins two logsumexps. */
const logAddExp = (a: Tensor, b: Tensor) => {
  const m = maximum(a, b).detach();
  return a.sub(m).exp().add(b.sub(m).exp()).log().add(m);
};

/** Mean of per-example values and its standard error s/√n (s with Bessel's correction). */
export function meanAndStdErr(values: ArrayLike<number>): { mean: number; stdErr: number } {
  const n = values.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i]!;
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return { mean, stdErr: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN };
}

/** A 4×4, stride-2, padding-1 convolution (or its transpose): halves (doubles) H and W. */
class StridedConv extends nn.Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(cin: number, cout: number, readonly transposed: boolean, o: { rng: Rng; device?: Device }) {
    super();
    // PyTorch's init, U(±1/√fanIn); ConvTranspose2d's weight is [Cin, Cout, k, k] and PyTorch takes its fan-in from dim 1
    const shape = transposed ? [cin, cout, 4, 4] : [cout, cin, 4, 4];
    const fanIn = shape[1]! * 16;
    this.weight = this.param("weight", nn.kaimingUniform(shape, fanIn, o));
    this.bias = this.param("bias", nn.uniformInit([cout], 1 / Math.sqrt(fanIn), o));
  }
  forward(x: Tensor): Tensor {
    const opts = { stride: 2, padding: 1 };
    return this.transposed ? convTranspose2d(x, this.weight, this.bias, opts) : conv2d(x, this.weight, this.bias, opts);
  }
}

const reshapeTo = (name: string, tail: number[]) => new nn.Activation(name, (h) => h.reshape([h.shape[0]!, ...tail]));

export class VAE implements GenerativeModel {
  readonly kind = "vae";
  readonly dim: number;
  readonly zDim: number;
  readonly encoder: nn.Sequential;
  readonly decoder: nn.Sequential;
  // fixed at construction: a compiled step bakes them into its recorded kernels
  readonly objective: VaeObjective;
  readonly beta: number;
  readonly k: number;
  readonly #cfg: Required<Omit<VaeOptions, "device">>;
  readonly #opt: Adam;
  readonly #sampler: Rng;
  #step: CompiledStep<[Tensor], Tensor> | null = null;

  constructor(opts: VaeOptions) {
    const D = opts.dim, Z = opts.zDim ?? 50;
    const side = Math.round(Math.sqrt(D));
    this.#cfg = {
      dim: D, zDim: Z, hidden: opts.hidden ?? [500, 500], activation: opts.activation ?? "tanh", arch: opts.arch ?? "mlp",
      image: opts.image ?? [side, side], channels: opts.channels ?? [32, 64], objective: opts.objective ?? "elbo",
      beta: opts.beta ?? 1, k: opts.k ?? 5, lr: opts.lr ?? 1e-3, seed: opts.seed ?? 0, compile: opts.compile ?? false,
    };
    const c = this.#cfg;
    this.dim = D;
    this.zDim = Z;
    this.objective = c.objective;
    this.beta = c.beta;
    this.k = c.k;
    const rng = new Rng(c.seed);
    const o = { rng, device: opts.device };
    const act = () => (c.activation === "tanh" ? new nn.Tanh() : c.activation === "softplus" ? new nn.Softplus() : new nn.ReLU());
    if (c.arch === "mlp") {
      const enc: nn.Module[] = [], dec: nn.Module[] = [];
      const sizes = [D, ...c.hidden];
      for (let i = 0; i < c.hidden.length; i++) enc.push(new nn.Linear(sizes[i]!, sizes[i + 1]!, o), act());
      enc.push(new nn.Linear(sizes.at(-1)!, 2 * Z, o)); // [μ | log σ²]
      const back = [Z, ...[...c.hidden].reverse()];
      for (let i = 0; i < c.hidden.length; i++) dec.push(new nn.Linear(back[i]!, back[i + 1]!, o), act());
      dec.push(new nn.Linear(back.at(-1)!, D, o)); // Bernoulli logits
      this.encoder = new nn.Sequential(...enc);
      this.decoder = new nn.Sequential(...dec);
    } else {
      const [H, W] = c.image, [c1, c2] = c.channels;
      if (H * W !== D || H % 4 || W % 4) throw new ShapeError("VAE", `conv needs image [H, W] with H·W = ${D} and H, W divisible by 4, got [${H}, ${W}]`);
      const flat = c2 * (H / 4) * (W / 4);
      this.encoder = new nn.Sequential(
        reshapeTo("Unflatten", [1, H, W]),
        new StridedConv(1, c1, false, o), act(),
        new StridedConv(c1, c2, false, o), act(),
        reshapeTo("Flatten", [flat]),
        new nn.Linear(flat, 2 * Z, o),
      );
      this.decoder = new nn.Sequential(
        new nn.Linear(Z, flat, o), act(),
        reshapeTo("Unflatten", [c2, H / 4, W / 4]),
        new StridedConv(c2, c1, true, o), act(),
        new StridedConv(c1, 1, true, o),
        reshapeTo("Flatten", [D]),
      );
    }
    this.#sampler = rng.fork();
    this.#opt = new Adam(this.parameters(), { lr: c.lr });
  }

  // ── the model's pieces ────────────────────────────────────────────────────────────────────────
  #posterior(x: Tensor): Posterior {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError("VAE", `expects x of shape [B, ${this.dim}]`, x.shape);
    const h = this.encoder.forward(x);
    const mu = h.narrow(1, 0, this.zDim), logvar = h.narrow(1, this.zDim, this.zDim);
    return { mu, logvar, sigma: logvar.mul(0.5).exp() };
  }
  /** q(z | x) as a distribution ([B, Z]). */
  posterior(x: Tensor): Normal {
    const q = this.#posterior(x);
    return new Normal(q.mu, q.sigma);
  }
  /** Bernoulli logits ℓ(z), [N, D] for z [N, Z]. */
  logits(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }
  #rng(opts: SampleOptions): Rng {
    return opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : this.#sampler);
  }

  /** KL(q(z|x) ‖ N(0, I)) in closed form (K&W Eq. 10), summed over z: [B]. */
  kl(x: Tensor): Tensor {
    return this.#kl(this.#posterior(x));
  }
  #kl(q: Posterior): Tensor {
    return klDivergence(new Normal(q.mu, q.sigma), new Normal(zerosLike(q.mu), 1)).sum(-1);
  }

  /** log p(x|z) − β·KL for one z ~ q(z|x); KL closed-form, or `log q(z|x) − log p(z)` at that z with `sampledKl`. */
  #bound(x: Tensor, beta: number, rng: Rng, sampledKl = false): Tensor {
    const q = this.#posterior(x);
    const eps = randn(q.mu.shape, { rng, device: x.device });
    const z = q.mu.add(q.sigma.mul(eps));
    const rec = new Bernoulli(this.logits(z)).logProb(x).sum(-1);
    // log q(z|x) − log p(z) at z = μ + σε: −½ε² − ½log σ² + ½z² per dim (the ½log 2π cancel)
    const kl = sampledKl ? z.square().sub(eps.square()).sub(q.logvar).sum(-1).mul(0.5) : this.#kl(q);
    return rec.sub(beta === 1 ? kl : kl.mul(beta));
  }

  /**
   * One-sample ELBO per example, [B] (K&W Eq. 10). `sampledKl: true` gives the K&W Eq. 7
   * estimator instead (the KL evaluated at the same z), which is exactly IWAE with k = 1.
   */
  elbo(x: Tensor, opts: SampleOptions & { sampledKl?: boolean } = {}): Tensor {
    return this.#bound(x, 1, this.#rng(opts), opts.sampledKl ?? false);
  }

  /** log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for k samples per example: [B, k]. */
  #logWeights(x: Tensor, q: Posterior, k: number, rng: Rng): Tensor {
    const [B, Z] = q.mu.shape as [number, number];
    const eps = randn([B, k, Z], { rng, device: x.device });
    const z = q.mu.unsqueeze(1).add(q.sigma.unsqueeze(1).mul(eps)); // [B, k, Z]
    const logits = this.logits(z.reshape([B * k, Z])).reshape([B, k, this.dim]);
    const logPx = new Bernoulli(logits).logProb(x.unsqueeze(1)).sum(-1);
    // log p(z) − log q(z|x) = −½Σz² + ½Σε² + ½Σ log σ²   (both ½Z·log 2π cancel)
    const logRatio = eps.square().sub(z.square()).sum(-1).add(q.logvar.sum(-1, { keepDims: true })).mul(0.5);
    return logPx.add(logRatio);
  }

  /**
   * Samples per chunk: about 2²⁵ floats (128 MiB) of intermediates per chunk, counting per sample
   * row z and ε, the decoder's activations (pre and post nonlinearity) and the logits' terms.
   */
  #chunkFor(B: number, opts: IwaeOptions): number {
    if (opts.chunk !== undefined) return Math.max(1, Math.floor(opts.chunk));
    const c = this.#cfg, D = this.dim;
    const acts = c.arch === "mlp" ? c.hidden.reduce((a, b) => a + b, 0) : (c.channels[1] * D) / 16 + (c.channels[0] * D) / 4;
    return Math.max(1, Math.floor(2 ** 25 / (3 * this.zDim + 2 * acts + 3 * D) / B));
  }

  /**
   * The IWAE bound with k samples per example, [B] (Burda Eq. 8), as one lazy graph: chunks of
   * samples are joined by a streaming logsumexp, but nothing runs until it is realized, so every
   * chunk's intermediates are alive at once. Use {@link iwaeStreaming} for large k.
   */
  iwae(x: Tensor, k: number, opts: IwaeOptions = {}): Tensor {
    if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`VAE.iwae: k must be a positive integer, got ${k}`);
    const rng = this.#rng(opts), q = this.#posterior(x), chunk = this.#chunkFor(x.shape[0]!, opts);
    let acc: Tensor | null = null;
    for (let done = 0; done < k; done += chunk) {
      const l = logsumexp(this.#logWeights(x, q, Math.min(chunk, k - done), rng), -1);
      acc = acc ? logAddExp(acc, l) : l;
    }
    return acc!.sub(Math.log(k));
  }

  /**
   * The IWAE bound, [B], with memory bounded by one chunk: each chunk is realized in its own scope
   * and folded into a running logsumexp. No gradients. The result is realized and the caller's.
   */
  async iwaeStreaming(x: Tensor, k: number, opts: IwaeOptions = {}): Promise<Tensor> {
    if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`VAE.iwaeStreaming: k must be a positive integer, got ${k}`);
    const rng = this.#rng(opts), chunk = this.#chunkFor(x.shape[0]!, opts);
    // noGrad wraps only the synchronous graph building: grad mode is global, and holding it off
    // across an await would switch gradients off for any training step interleaved with this one
    return scope(async () => {
      const q = noGrad(() => this.#posterior(x));
      await realize(q.mu, q.logvar, q.sigma);
      let acc: Tensor | null = null;
      for (let done = 0; done < k; done += chunk) {
        const prev: Tensor | null = acc;
        acc = await scope(async (): Promise<Tensor> => {
          const next = noGrad(() => {
            const l = logsumexp(this.#logWeights(x, q, Math.min(chunk, k - done), rng), -1);
            return prev ? logAddExp(prev, l) : l;
          });
          await realize(next);
          return next;
        });
        prev?.dispose();
      }
      const out = acc!.sub(Math.log(k));
      await realize(out);
      return out;
    });
  }

  /** IWAE estimates per example (streamed), their mean and its standard error over the examples. */
  async iwaeStats(x: Tensor, k: number, opts: IwaeOptions = {}): Promise<{ mean: number; stdErr: number; values: Float32Array }> {
    const t = await this.iwaeStreaming(x, k, opts);
    const values = (await t.toArray()) as Float32Array;
    t.dispose();
    return { ...meanAndStdErr(values), values };
  }

  /** The scalar training loss of the current objective: −mean over the batch of its bound. */
  loss(x: Tensor, opts: SampleOptions = {}): Tensor {
    const rng = this.#rng(opts);
    if (this.objective === "iwae") return this.#logWeights(x, this.#posterior(x), this.k, rng).logsumexp(-1).sub(Math.log(this.k)).mean().neg();
    return this.#bound(x, this.objective === "beta-elbo" ? this.beta : 1, rng).mean().neg();
  }

  /** One Adam step on the current objective (optionally a compiled, replayed step). */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    const step = async (x: Tensor) => {
      const loss = this.loss(x);
      loss.backward();
      await this.#opt.step({ realize: [loss] });
      this.#opt.zeroGrad();
      return loss;
    };
    if (!this.#cfg.compile) return { loss: await scope(() => step(batch)) };
    this.#step ??= compile(step, { label: "vae.step" });
    return { loss: await this.#step(batch) };
  }

  /** The optimizer (its lr can be scheduled). */
  get optimizer(): Adam {
    return this.#opt;
  }

  // ── using the model ───────────────────────────────────────────────────────────────────────────
  /** Posterior mean μ(x) ([B, Z]), or a draw from q(z|x) with `sample: true`. */
  encode(x: Tensor, opts: SampleOptions & { sample?: boolean } = {}): Tensor {
    return opts.sample ? this.posterior(x).sample({ rng: this.#rng(opts) }) : this.#posterior(x).mu;
  }
  /** Bernoulli means σ(ℓ(z)), [N, D]. */
  decode(z: Tensor): Tensor {
    return this.logits(z).sigmoid();
  }
  /** decode(encode(x)): the mean reconstruction at the posterior mean. */
  reconstruct(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }
  /** n draws from the model: Bernoulli means at z ~ N(0, I), or binary x with `binary: true`. */
  sample(n: number, opts: SampleOptions & { binary?: boolean } = {}): Tensor {
    const rng = this.#rng(opts);
    const logits = this.logits(randn([n, this.zDim], { rng, device: this.#opt.params[0]!.device }));
    return opts.binary ? new Bernoulli(logits).sample({ rng }) : logits.sigmoid();
  }
  /** Decoded means along the straight line between the posterior means of x1 and x2 ([D] or [1, D]): [steps, D]. */
  interpolate(x1: Tensor, x2: Tensor, steps: number): Tensor {
    const z1 = this.encode(x1.reshape([1, this.dim])), z2 = this.encode(x2.reshape([1, this.dim]));
    const t = linspace(0, 1, steps, { device: x1.device }).reshape([steps, 1]);
    return this.decode(z1.add(z2.sub(z1).mul(t)));
  }
  /**
   * Active units (Burda et al. 2016): dimension u is active when A_u = Cov_x(E_q[z_u]) > threshold,
   * the variance over the examples x of the posterior mean.
   */
  async activeUnits(x: Tensor, threshold = 0.01): Promise<{ count: number; variances: Float32Array }> {
    const variances = (await scope(() => noGrad(() => this.encode(x).var(0, { correction: 0 })).toArray())) as Float32Array;
    return { count: variances.filter((v) => v > threshold).length, variances };
  }

  parameters(): Tensor[] {
    return [...this.encoder.parameters(), ...this.decoder.parameters()];
  }
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.encoder.namedParameters("encoder."), ...this.decoder.namedParameters("decoder.")]);
  }
  config(): Record<string, unknown> {
    return { kind: this.kind, ...this.#cfg };
  }
  dispose(): void {
    this.#step?.dispose();
    this.#opt.dispose();
    this.encoder.dispose();
    this.decoder.dispose();
  }
}
