/**
 * NADE (Larochelle & Murray 2011, "The Neural Autoregressive Distribution Estimator", AISTATS) for
 * binary vectors x ∈ {0, 1}^D in the natural order:
 *
 *   p(x) = Π_d p(x_d | x_<d),   p(x_d = 1 | x_<d) = σ(b_d + V_d · h_d),   h_d = σ(a_d)       (Eq. 3)
 *   a_d = c + W_{:,<d} x_<d,   i.e.  a_1 = c,  a_{d+1} = a_d + W_{:,d} x_d                       (Eq. 4)
 *
 * with W: [H, D], c: [H], V: [D, H], b: [D]. The weight sharing of Eq. 4 makes the exact
 * log-likelihood O(HD) per example, but as a recurrence it is D dependent steps: D tiny kernels.
 *
 * Training and scoring instead compute every a_d at once as an exclusive prefix sum over j of
 * x_j W_{:,j}, composed from matmuls in two levels. D is padded to nb·s (the padding has x_j = 0,
 * so it adds nothing), and position d = k·s + i (block k, offset i):
 *
 *   a_d = c + Σ_{k'<k} T_{k'} + Σ_{i'<i} x_{ks+i'} W_{:,ks+i'},      T_k = Σ_{i'} x_{ks+i'} W_{:,ks+i'}
 *             └ L_nb @ T ┘       └ (L_s ⊙ x_block) @ W_block ┘
 *
 * (L_n the strictly lower-triangular n×n ones). Multiply-adds per example: s·D·H in blocks, D·H
 * for T and nb²·H for its prefix, i.e. (s + 1 + nb²/D)·D·H, smallest near s = (2D)^{1/3}. For
 * MNIST s = 12, nb = 66: ≈ 18.6·D·H, against D·H for the recurrence (which is D dependent steps of
 * tiny kernels) and D·D·H = 784·D·H for one dense triangular matmul. A log-depth scan would need
 * ~log₂D·D·H additions but write log₂D full [B, D, H] tensors. The only [B, D, H]-sized tensors
 * stored are the in-block matmul output (σ and the V product fuse into the reduction over H) and,
 * for the backward pass, tanh's output and its gradient.
 *
 * Sampling does use Eq. 4 literally: the carried state is (x, a), one step costs O(nH + DH)
 * (a one-hot e_d picks W_{:,d}, V_d and b_d by matmuls), see {@link NADE.sampleCompiled}.
 */
import { Adam, Rng, bernoulli, cat, compile, fromTyped, nn, noGrad, realize, scope, zeros, type CompiledStep, type Device, type Tensor } from "../engine/index.js";
import { ShapeError } from "../engine/errors.js";
import type { GenerativeModel, SampleOptions, TrainStepResult } from "./model.js";

export interface NadeOptions {
  /** Data dimension D (784 for MNIST). */
  dim: number;
  /** Hidden units H (default 500, the paper's). */
  hidden?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seeds the weights and the default sampler (default 0). */
  seed?: number;
  /** Wrap trainStep in compile() (default false). */
  compile?: boolean;
  /** Rows per chunk of the prefix sum (default: as many as the device's largest binding holds). */
  chunkRows?: number;
  device?: Device;
}

// ── sequential sampling, shared with MADE ────────────────────────────────────────────────────────

/** One autoregressive step: the carried state with the dimension picked by one-hot `e` ([D]) sampled. */
export type ArStep = (state: readonly Tensor[], e: Tensor) => Tensor[];

/** The one-hot vector e_d of length D, uploaded (a 4·D-byte write, never a readback). */
export function oneHot(D: number, d: number, device?: Device): Tensor {
  const v = new Float32Array(D);
  v[d] = 1;
  return fromTyped(v, [D], "f32", { device });
}

/**
 * Applies `step` once per entry of `order` (the dimensions, in sampling order) as one lazy graph:
 * nothing runs until the result is read, and then all D steps run in one submission with every
 * step's intermediates alive at once. Fine for small D·n; use {@link unrollCompiled} otherwise.
 */
export function unrollLazy(state: readonly Tensor[], order: ArrayLike<number>, step: ArStep): Tensor[] {
  const D = state[0]!.shape[1]!;
  return noGrad(() =>
    scope(() => {
      let s = [...state];
      for (let k = 0; k < order.length; k++) s = step(s, oneHot(D, order[k]!, state[0]!.device));
      return s;
    }),
  );
}

/**
 * The same unrolling as {@link unrollLazy}, with `step` traced once by compile() and replayed for
 * the other dimensions: each replay is one command buffer with fresh random streams, the one-hot
 * is the only per-step input, and nothing is read back, so the CPU never waits for the GPU.
 * The input `state` stays the caller's; the result is new tensors.
 */
export async function unrollCompiled(state: readonly Tensor[], order: ArrayLike<number>, step: ArStep, label: string): Promise<Tensor[]> {
  const D = state[0]!.shape[1]!, ns = state.length;
  if (order.length === 0) throw new ShapeError("unrollCompiled", "needs at least one step");
  const run = compile((...args: Tensor[]) => noGrad(() => step(args.slice(0, ns), args[ns]!)), { label });
  let s = [...state];
  const dropOwned = () => s.forEach((t) => state.includes(t) || t.dispose());
  try {
    for (let k = 0; k < order.length; k++) {
      const e = oneHot(D, order[k]!, state[0]!.device);
      const next = await run(...s, e).finally(() => e.dispose());
      dropOwned();
      s = next;
    }
    return s;
  } catch (err) {
    dropOwned();
    throw err;
  } finally {
    run.dispose();
  }
}

// ── the model ────────────────────────────────────────────────────────────────────────────────────

/** Strictly lower-triangular n×n ones: L[i, j] = 1 iff j < i. */
function strictLower(n: number, device?: Device): Tensor {
  const v = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) v[i * n + j] = 1;
  return fromTyped(v, [n, n], "f32", { device });
}

export class NADE extends nn.Module implements GenerativeModel {
  readonly kind = "nade";
  readonly dim: number;
  readonly hidden: number;
  /** [H, D]: column d feeds x_d into every later a (Eq. 4). */
  readonly W: Tensor;
  /** [H]: a_1. */
  readonly c: Tensor;
  /** [D, H]: row d reads h_d. */
  readonly V: Tensor;
  /** [D]. */
  readonly b: Tensor;
  /** Block size s ≈ (2D)^{1/3} and block count nb of the prefix sum. */
  readonly #s: number;
  readonly #nb: number;
  readonly #Ls: Tensor;
  readonly #Lnb: Tensor;
  readonly #cfg: Required<Omit<NadeOptions, "device">>;
  readonly #opt: Adam;
  readonly #sampler: Rng;
  #step: CompiledStep<[Tensor], Tensor> | null = null;

  constructor(opts: NadeOptions) {
    super();
    const D = opts.dim, H = opts.hidden ?? 500;
    if (!(Number.isInteger(D) && D >= 1 && Number.isInteger(H) && H >= 1)) throw new ShapeError("NADE", `dim and hidden must be positive integers, got ${D} and ${H}`);
    this.#cfg = { dim: D, hidden: H, lr: opts.lr ?? 1e-3, seed: opts.seed ?? 0, compile: opts.compile ?? false, chunkRows: opts.chunkRows ?? 0 };
    this.dim = D;
    this.hidden = H;
    const rng = new Rng(this.#cfg.seed);
    const o = { rng, device: opts.device };
    // PyTorch-Linear-style U(±1/√fanIn) for the weights (fan-in D for W, H for V); zero biases
    this.W = this.param("W", nn.kaimingUniform([H, D], D, o));
    this.c = this.param("c", nn.zerosInit([H], o));
    this.V = this.param("V", nn.kaimingUniform([D, H], H, o));
    this.b = this.param("b", nn.zerosInit([D], o));
    this.#s = Math.max(1, Math.round(Math.cbrt(2 * D)));
    this.#nb = Math.ceil(D / this.#s);
    this.#Ls = strictLower(this.#s, opts.device);
    this.#Lnb = strictLower(this.#nb, opts.device);
    this.#sampler = rng.fork();
    this.#opt = new Adam(Object.fromEntries(this.namedParameters()), { lr: this.#cfg.lr });
  }

  /**
   * Logits of p(x_d = 1 | x_<d) for every d at once, [B, D] (the prefix sum in the file comment).
   * The in-block term is a [B, D, H] tensor (157 MB for B = 100, H = 500 on MNIST); the engine does
   * not split buffers above the device's maxStorageBufferBindingSize (128 MiB on lavapipe), so
   * larger batches are processed in equal row chunks that fit, then concatenated.
   */
  logits(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError("NADE", `expects x of shape [B, ${this.dim}]`, x.shape);
    const B = x.shape[0]!, bytesPerRow = this.#nb * this.#s * this.hidden * 4;
    const maxRows = this.#cfg.chunkRows || Math.max(1, Math.floor(x.device.limits.maxStorageBufferBindingSize / bytesPerRow));
    if (B <= maxRows) return this.#logits(x);
    const rows = Math.ceil(B / Math.ceil(B / maxRows));
    const parts: Tensor[] = [];
    for (let start = 0; start < B; start += rows) parts.push(this.#logits(x.narrow(0, start, Math.min(rows, B - start))));
    return cat(parts, 0);
  }

  #logits(x: Tensor): Tensor {
    const B = x.shape[0]!, D = this.dim, H = this.hidden, s = this.#s, nb = this.#nb, pad = nb * s - D;
    const xb = x.pad([[0, 0], [0, pad]]).reshape([B, nb, s]).permute([1, 0, 2]); // [nb, B, s]
    const Wb = this.W.pad([[0, 0], [0, pad]]).reshape([H, nb, s]).permute([1, 2, 0]); // [nb, s, H]
    // in-block prefix: (L_s ⊙ x_block)[k, b, i, j] = [j < i] x[b, ks+j], times W's block k
    const inBlock = this.#Ls.mul(xb.unsqueeze(2)).reshape([nb, B * s, s]).matmul(Wb).reshape([nb, B, s, H]);
    // block totals T[k, b] and their exclusive prefix over blocks
    const totals = xb.matmul(Wb).reshape([nb, B * H]);
    // c joins the small per-block term, so its gradient is a sum over [nb, B, H], not [nb, B, s, H]
    const before = this.#Lnb.matmul(totals).reshape([nb, B, 1, H]).add(this.c);
    // h_d = σ(a_d) = ½ + ½ tanh(a_d / 2), so V_d · h_d = ½ V_d · tanh(a_d / 2) + ½ Σ_h V_dh. tanh is one
    // primitive whose backward reuses its output: the [nb, B, s, H] activations are one stored
    // tensor, the matmul's epilogue (the where-based σ composite would store about six).
    const t = inBlock.add(before).mul(0.5).tanh(); // [nb, B, s, H]
    const Vb = this.V.pad([[0, pad], [0, 0]]).reshape([nb, 1, s, H]);
    const l = t.mul(Vb).sum(-1).add(Vb.sum(-1)).mul(0.5); // V_d · h_d, [nb, B, s]
    return l.permute([1, 0, 2]).reshape([B, nb * s]).slice([null, [0, D]]).add(this.b);
  }
  forward(x: Tensor): Tensor {
    return this.logits(x);
  }

  /** log p(x) in nats, [B]: Σ_d x_d log σ(ℓ_d) + (1 − x_d) log σ(−ℓ_d) = Σ_d x_d ℓ_d − softplus(ℓ_d). */
  logProb(x: Tensor): Tensor {
    const l = this.logits(x);
    return x.mul(l).sub(l.softplus()).sum(-1);
  }

  /** One Adam step on the mean negative log-likelihood of the batch. */
  async trainStep(batch: Tensor): Promise<TrainStepResult> {
    const step = async (x: Tensor) => {
      const loss = this.logProb(x).mean().neg();
      loss.backward();
      await this.#opt.step({ realize: [loss] });
      this.#opt.zeroGrad();
      return loss;
    };
    if (!this.#cfg.compile) return { loss: await scope(() => step(batch)) };
    this.#step ??= compile(step, { label: "nade.step" });
    return { loss: await this.#step(batch) };
  }

  /** The optimizer (its lr can be scheduled). */
  get optimizer(): Adam {
    return this.#opt;
  }

  #rng(opts: SampleOptions): Rng {
    return opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : this.#sampler);
  }

  /** Start state of Eq. 4 for n chains: x = 0, a = c. */
  #init(n: number): Tensor[] {
    return [zeros([n, this.dim], { device: this.W.device }), this.c.reshape([1, this.hidden]).expand([n, this.hidden])];
  }

  /** Eq. 3–4 for the dimension d picked by the one-hot e: draw x_d, then a ← a + W_{:,d} x_d. */
  #sampleStep(rng: Rng): ArStep {
    return ([x, a], e) => {
      const logit = a!.sigmoid().matmul(e.matmul(this.V)).add(this.b.mul(e).sum()); // b_d + V_d·σ(a), [n]
      const xd = bernoulli(logit.sigmoid(), undefined, { rng }).unsqueeze(1); // [n, 1]
      return [x!.add(xd.mul(e)), a!.add(xd.mul(this.W.matmul(e)))];
    };
  }

  /**
   * n samples, [n, D], as one lazy graph of D steps (the interface is synchronous, so the steps
   * cannot be separate submissions): no readback, but all steps' intermediates are allocated
   * together when the result is realized, and scheduling that graph costs JavaScript time that
   * grows faster than D (about 9 s for D = 100 on lavapipe). For MNIST-sized D use
   * {@link sampleCompiled} (2 s for 16 samples at D = 784).
   */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    const order = Array.from({ length: this.dim }, (_, d) => d);
    return unrollLazy(noGrad(() => this.#init(n)), order, this.#sampleStep(this.#rng(opts)))[0]!;
  }

  /**
   * n samples, [n, D]: the step of Eq. 3–4 compiled once and replayed D times, O(nH + DH) each,
   * no readback. With the same seed it draws what {@link sample} draws.
   */
  async sampleCompiled(n: number, opts: SampleOptions = {}): Promise<Tensor> {
    const rng = this.#rng(opts);
    const init = noGrad(() => this.#init(n));
    await realize(...init);
    const order = Array.from({ length: this.dim }, (_, d) => d);
    try {
      const [x, a] = await unrollCompiled(init, order, this.#sampleStep(rng), "nade.sample");
      a!.dispose();
      return x!;
    } finally {
      init.forEach((t) => t.dispose());
    }
  }

  config(): Record<string, unknown> {
    return { kind: this.kind, ...this.#cfg };
  }

  override dispose(): void {
    this.#step?.dispose();
    this.#opt.dispose();
    this.#Ls.dispose();
    this.#Lnb.dispose();
    super.dispose();
  }
}
