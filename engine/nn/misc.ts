/** Dropout, Embedding, and the spectral-norm / weight-norm reparameterisations. */
import type { Device } from "../device.js";
import { ShapeError } from "../errors.js";
import { Rng } from "../random.js";
import { noGrad, type Tensor } from "../tensor.js";
import { div, maximum, mul } from "../ops/binary.js";
import { fromTyped } from "../ops/node.js";
import { matmul } from "../ops/matmul.js";
import { sum } from "../ops/reduce.js";
import { detach, sqrt } from "../ops/unary.js";
import { reshape, transpose } from "../ops/view.js";
import { assignInPlace, dropout, embedding, invRowNorm } from "../ops/norm.js";
import { Module } from "./module.js";
import { normalInit } from "./init.js";

/** Inverted dropout with its own Rng (seeded), active only in training. */
export class Dropout extends Module {
  readonly rng: Rng;
  constructor(
    readonly p = 0.5,
    opts: { seed?: number; rng?: Rng } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ShapeError("Dropout", `p must be in [0, 1], got ${p}`);
    this.rng = opts.rng ?? new Rng(opts.seed ?? 0);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this.rng });
  }
}

/** A lookup table weight [num, dim] initialised N(0, 1) like PyTorch; forward(ids) → [...ids, dim]. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { seed?: number; rng?: Rng; device?: Device } = {},
  ) {
    super();
    this.weight = this.param("weight", normalInit([numEmbeddings, embeddingDim], 1, { rng: opts.rng ?? new Rng(opts.seed ?? 0), device: opts.device }));
  }
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

/** v/max(‖v‖, 1e−12) for a 1-D v. */
const normalize = (v: Tensor) => div(v, maximum(sqrt(sum(mul(v, v))), 1e-12));

/** Temporarily replaces `module[name]` (a readonly field at compile time only) while `fn` runs. */
function withField<T>(module: Module, name: string, value: Tensor, fn: () => T): T {
  const m = module as unknown as Record<string, unknown>;
  const saved = m[name];
  m[name] = value;
  try {
    return fn();
  } finally {
    m[name] = saved;
  }
}

/**
 * Spectral normalisation (Miyato et al. 2018) of `module.weight` for GAN discriminators: the
 * forward uses W / σ(W), σ estimated by power iteration on W viewed as [out, rest]:
 *   v ← normalize(Wᵀu),  u ← normalize(W v),  σ = uᵀ W v
 * with u a persistent buffer (`weight_u`) refined by `nPowerIterations` steps per training forward,
 * so σ converges to the largest singular value over training. u and v are constants to autograd
 * (as in the paper); σ carries the gradient through W. The wrapped module keeps its own parameter
 * name, so keys read "module.weight", "weight_u".
 */
export class SpectralNorm extends Module {
  readonly u: Tensor;
  /** σ of the last forward (lazy). */
  sigma: Tensor | null = null;
  constructor(
    readonly module: Module,
    readonly name = "weight",
    readonly nPowerIterations = 1,
    seed = 0,
  ) {
    super();
    this.child("module", module);
    const w = this.#weight();
    // a random unit start vector (PyTorch: normalize(N(0, 1)))
    const u0 = normalInit([w.shape[0]!], 1, { rng: new Rng(seed), device: w.device });
    this.u = this.buffer(`${name}_u`, u0);
  }
  #weight(): Tensor {
    const w = (this.module as unknown as Record<string, unknown>)[this.name] as Tensor | undefined;
    if (!w || typeof w !== "object" || !("shape" in w)) throw new ShapeError("spectralNorm", `module has no tensor '${this.name}'`);
    return w;
  }
  forward(...xs: Tensor[]): Tensor {
    const w = this.#weight();
    const wm = reshape(w, [w.shape[0]!, -1]);
    let u = this.u;
    let v: Tensor | null = null;
    noGrad(() => {
      const wd = detach(wm);
      const vOf = (uu: Tensor) => normalize(reshape(matmul(transpose(wd), reshape(uu, [-1, 1])), [-1]));
      v = vOf(u);
      // evaluation reuses u as it stands (no refinement, like PyTorch)
      for (let i = 0; this.training && i < this.nPowerIterations; i++) {
        u = normalize(reshape(matmul(wd, reshape(v, [-1, 1])), [-1]));
        v = vOf(u);
      }
    });
    if (this.training) void assignInPlace(this.u, u);
    const sigma = sum(mul(u, reshape(matmul(wm, reshape(v!, [-1, 1])), [-1])));
    this.sigma = sigma;
    return withField(this.module, this.name, div(w, sigma), () => this.module.forward(...xs));
  }
}

/** Wraps `module` so its `name` weight is spectrally normalised (see SpectralNorm). */
export function spectralNorm(module: Module, { name = "weight", nPowerIterations = 1, seed = 0 }: { name?: string; nPowerIterations?: number; seed?: number } = {}): SpectralNorm {
  return new SpectralNorm(module, name, nPowerIterations, seed);
}

/**
 * Weight normalisation (Salimans & Kingma 2016): w = g · v/‖v‖, ‖·‖ over every axis but the
 * first. v is the wrapped module's own weight parameter ("module.weight"); g ("weight_g",
 * shape [out, 1, …]) starts at ‖v‖ so the initial function is unchanged.
 */
export class WeightNorm extends Module {
  readonly g: Tensor;
  constructor(
    readonly module: Module,
    readonly name: string,
    g: Tensor,
  ) {
    super();
    this.child("module", module);
    this.g = this.param(`${name}_g`, g);
  }
  forward(...xs: Tensor[]): Tensor {
    const v = (this.module as unknown as Record<string, unknown>)[this.name] as Tensor;
    const w = mul(mul(v, invRowNorm(v)), this.g);
    return withField(this.module, this.name, w, () => this.module.forward(...xs));
  }
}

/** Wraps `module` with weight normalisation; async because g's initial value is read back from v. */
export async function weightNorm(module: Module, { name = "weight" }: { name?: string } = {}): Promise<WeightNorm> {
  const v = (module as unknown as Record<string, unknown>)[name] as Tensor | undefined;
  if (!v || typeof v !== "object" || !("shape" in v)) throw new ShapeError("weightNorm", `module has no tensor '${name}'`);
  const vals = await v.toArray();
  const O = v.shape[0]!;
  const per = v.size / O;
  const g = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += vals[o * per + j]! ** 2;
    g[o] = Math.sqrt(s);
  }
  return new WeightNorm(module, name, fromTyped(g, [O, ...Array<number>(v.rank - 1).fill(1)], "f32", { device: v.device }));
}
