/**
 * The one interface every generative model in latent implements. Exact-likelihood models give
 * `logProb`; latent-variable models give bounds (`elbo`, `iwae`) and `encode`/`decode`. All of them
 * train through `trainStep` and expose their parameters and state dict.
 *
 * Conventions: a batch x is [B, D] (flattened; image models reshape internally); log-densities
 * are per example, in nats, shape [B]; `trainStep` returns the (lazy) scalar loss it minimised.
 */
import type { Tensor, nn } from "../engine/index.js";
import type { Rng } from "../engine/random.js";

export interface SampleOptions {
  seed?: number;
  rng?: Rng;
}

export interface TrainStepResult {
  /** The scalar loss minimised this step (lazy; read it every N steps). */
  loss: Tensor;
}

export interface GenerativeModel {
  /** Short identifier: "ppca", "vae", "made"... */
  readonly kind: string;
  /** Data dimension D. */
  readonly dim: number;
  /** n samples, [n, D]. */
  sample(n: number, opts?: SampleOptions): Tensor;
  /** Exact log p(x) per example, [B], where the model has one. */
  logProb?(x: Tensor): Tensor;
  /** Evidence lower bound per example, [B]. */
  elbo?(x: Tensor, opts?: SampleOptions): Tensor;
  /** Importance-weighted bound with k samples per example, [B] (Burda et al. 2016). */
  iwae?(x: Tensor, k: number, opts?: SampleOptions): Tensor;
  /** Posterior mean (or a sample) of z given x, [B, Z]. */
  encode?(x: Tensor, opts?: SampleOptions): Tensor;
  /** Mean of p(x | z), [B, D]. */
  decode?(z: Tensor): Tensor;
  /** One optimisation step on a batch (includes the optimizer update). */
  trainStep(batch: Tensor): Promise<TrainStepResult>;
  parameters(): Tensor[];
  stateDict(): Record<string, Tensor>;
  /** JSON-serialisable hyper-parameters (written next to checkpoints). */
  config(): Record<string, unknown>;
  dispose(): void;
}

/** log-likelihood or, failing that, its best bound: what evaluation reports. */
export function scoreOf(m: GenerativeModel, x: Tensor, opts: { k?: number } & SampleOptions = {}): Tensor {
  if (m.logProb) return m.logProb(x);
  if (m.iwae && opts.k && opts.k > 1) return m.iwae(x, opts.k, opts);
  if (m.elbo) return m.elbo(x, opts);
  throw new Error(`model '${m.kind}' has neither logProb nor a bound`);
}

export type { nn };
