/**
 * Normalisation layers and friends as compositions of engine ops: the statistics are reductions
 * (which absorb the elementwise prologue such as the centring and squaring), and the normalisation
 * (x − μ)·rsqrt(σ² + ε)·γ + β is one fused elementwise kernel. Gradients come from autograd.
 *
 * In-place state (BatchNorm's running statistics, ActNorm's data-dependent init, spectral norm's
 * u vector) is updated with `assignInPlace`: the new value is built lazily, realized, and copied
 * into the *same* GPU buffer, so Module buffers keep their identity (state dicts, optimizers and
 * EMA hold references to them). The copy is queued behind every realize already requested on the
 * device; `flushInPlace()` awaits all outstanding copies (and rethrows the first failure).
 *
 * Constraint: the value's lazy graph must stay alive until its realize starts, so ops that update
 * state (training-mode batchNorm with running buffers, BatchNorm2d, ActNorm's first batch,
 * SpectralNorm in training) belong in an async `scope` that awaits a realize (the optimizer step,
 * a readback) or `flushInPlace()` before it ends — the usual training-step shape. Updates are
 * not recorded by `compile()` traces.
 */
import type { Device } from "../device.js";
import { DisposedError, ShapeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { add, cmplt, mul, sub } from "./binary.js";
import { cat } from "./composite.js";
import { fromTyped } from "./node.js";
import { mean, sum } from "./reduce.js";
import { rand } from "./source.js";
import { indexSelect } from "./gather.js";
import { cos, detach, rsqrt, sin } from "./unary.js";
import { reshape } from "./view.js";
import { realize } from "../realize.js";
import type { Rng } from "../random.js";

// ── in-place assignment ────────────────────────────────────────────────────────────────────────
const pending = new Set<Promise<void>>();
let firstError: unknown = null;

/**
 * Overwrites `target`'s storage with `value` (same shape, f32) once `value` is realized. The
 * realize is requested immediately, so it runs before any realize requested later on the device.
 * Call it from an async scope (or flush before a synchronous scope closes): the lazy graph of
 * `value` must stay alive until the copy ran.
 * @throws ShapeError if the shapes differ.
 */
export function assignInPlace(target: Tensor, value: Tensor): Promise<void> {
  if (target.shape.join() !== value.shape.join()) throw new ShapeError("assignInPlace", "target and value shapes differ", target.shape, value.shape);
  // a private copy node (fused away into value's kernel): disposing it after the copy leaves
  // `value` itself, which the caller's graph may still read, untouched. `keep` takes it out of
  // any scope so it survives until the copy is done.
  const v = (value.dtype === "f32" ? mul(value, 1) : add(value, 0)).keep();
  const p = realize(v)
    .then(() => {
      if (target.isDisposed || !target.buffer || !v.buffer) return;
      if (target.size > 0) {
        const enc = target.device.gpu.createCommandEncoder({ label: `assign ${target.describe()}` });
        enc.copyBufferToBuffer(v.buffer, 0, target.buffer, 0, target.size * 4);
        target.device.gpu.queue.submit([enc.finish()]);
      }
    })
    .catch((e: unknown) => {
      // typically: a synchronous scope closed (releasing the value's graph) before the update ran
      firstError ??= e instanceof DisposedError ? new DisposedError(`the in-place update of ${target.describe()} (run it inside an async scope, or await flushInPlace() before the scope ends): ${e.message}`) : e;
    })
    .finally(() => {
      v.dispose();
      pending.delete(p);
    });
  pending.add(p);
  return p;
}

/** Awaits every outstanding in-place update (running statistics...); rethrows the first failure. */
export async function flushInPlace(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
  if (firstError !== null) {
    const e = firstError;
    firstError = null;
    throw e;
  }
}

// ── batch norm ─────────────────────────────────────────────────────────────────────────────────
export interface BatchNormOptions {
  /** Use batch statistics (and update the running buffers) rather than the running ones. */
  training: boolean;
  /** running ← (1 − momentum)·running + momentum·batch. Default 0.1 (PyTorch). */
  momentum?: number;
  eps?: number;
}

/** [1, C, 1, …] so a per-channel vector broadcasts over NC… */
const perChannel = (v: Tensor, rank: number) => reshape(v, [1, v.shape[0]!, ...Array<number>(rank - 2).fill(1)]);

/**
 * Batch normalisation over axis 1 of x: [N, C, …] (NCHW), statistics over every other axis.
 * Training: y = (x − μ_B)/√(σ²_B + ε)·γ + β with the biased batch variance, and the running
 * buffers move toward (μ_B, n/(n−1)·σ²_B) — the unbiased variance, as PyTorch keeps it.
 * Evaluation: the running statistics replace the batch ones.
 * Running buffers may be null (training then uses batch statistics only).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null | undefined, bias: Tensor | null | undefined, opts: BatchNormOptions): Tensor {
  if (x.rank < 2) throw new ShapeError("batchNorm", "input must be [N, C, ...]", x.shape);
  const C = x.shape[1]!;
  for (const t of [runningMean, runningVar, weight, bias]) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new ShapeError("batchNorm", `per-channel tensors must be [${C}]`, x.shape, t.shape);
  }
  const { momentum = 0.1, eps = 1e-5 } = opts;
  const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
  let mu: Tensor, v: Tensor;
  if (opts.training || !runningMean || !runningVar) {
    const n = x.size / C;
    if (opts.training && n <= 1) throw new ShapeError("batchNorm", "training needs more than one value per channel", x.shape);
    mu = mean(x, axes, { keepDims: true });
    const d = sub(x, mu);
    v = mean(mul(d, d), axes, { keepDims: true });
    if (opts.training && runningMean && runningVar) {
      const bm = detach(reshape(mu, [C]));
      const bv = mul(detach(reshape(v, [C])), n / (n - 1));
      void assignInPlace(runningMean, add(mul(runningMean, 1 - momentum), mul(bm, momentum)));
      void assignInPlace(runningVar, add(mul(runningVar, 1 - momentum), mul(bv, momentum)));
    }
  } else {
    mu = perChannel(runningMean, x.rank);
    v = perChannel(runningVar, x.rank);
  }
  return affine(mul(sub(x, mu), rsqrt(add(v, eps))), weight, bias, (t) => perChannel(t, x.rank));
}

function affine(y: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined, shape: (t: Tensor) => Tensor): Tensor {
  if (weight) y = mul(y, shape(weight));
  if (bias) y = add(y, shape(bias));
  return y;
}

// ── layer / group norm ─────────────────────────────────────────────────────────────────────────
/**
 * Layer normalisation over the trailing dimensions `normalizedShape` (biased variance, like
 * PyTorch); weight and bias have shape `normalizedShape`.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k > x.rank || ns.some((d, i) => d !== x.shape[x.rank - k + i])) throw new ShapeError("layerNorm", `trailing dimensions must be [${ns}]`, x.shape);
  const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
  const mu = mean(x, axes, { keepDims: true });
  const d = sub(x, mu);
  const v = mean(mul(d, d), axes, { keepDims: true });
  return affine(mul(d, rsqrt(add(v, eps))), weight, bias, (t) => t);
}

/**
 * Group normalisation (Wu & He 2018): channels of x: [N, C, …] split into `groups` groups, each
 * normalised over its channels and spatial positions; per-channel affine weight/bias of shape [C].
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  if (x.rank < 2) throw new ShapeError("groupNorm", "input must be [N, C, ...]", x.shape);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(groups) || groups < 1 || C % groups) throw new ShapeError("groupNorm", `${C} channels do not split into ${groups} groups`, x.shape);
  const g = reshape(x, [N, groups, -1]);
  const mu = mean(g, 2, { keepDims: true });
  const d = sub(g, mu);
  const v = mean(mul(d, d), 2, { keepDims: true });
  const y = reshape(mul(d, rsqrt(add(v, eps))), x.shape);
  return affine(y, weight, bias, (t) => perChannel(t, x.rank));
}

// ── dropout, embeddings ────────────────────────────────────────────────────────────────────────
export interface DropoutOptions {
  training: boolean;
  seed?: number;
  rng?: Rng;
}

/**
 * Inverted dropout: each value is zeroed with probability p and the survivors scaled by 1/(1 − p),
 * so E[y] = x and evaluation is the identity. The mask is drawn from `seed`/`rng` (Philox), so a
 * seed reproduces it exactly.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ShapeError("dropout", `p must be in [0, 1], got ${p}`);
  if (!opts.training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  // keep where u ≥ p, u ~ U(0, 1): P(keep) = 1 − p
  const keep = cmplt(rand(x.shape, { seed: opts.seed, rng: opts.rng, device: x.device }), p);
  return mul(x, mul(sub(1, keep), 1 / (1 - p)));
}

/** Rows of `weight` [V, D] picked by integer `ids` of any shape → [...ids.shape, D]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.rank !== 2) throw new ShapeError("embedding", "weight must be [vocab, dim]", weight.shape);
  const rows = indexSelect(weight, 0, reshape(ids, [-1]));
  return reshape(rows, [...ids.shape, weight.shape[1]!]);
}

/**
 * The sinusoidal timestep embedding of DDPM / Transformers: for t: [B] (f32),
 * out = [sin(t·f_0..f_{h−1}), cos(t·f_0..f_{h−1})] with h = ⌊dim/2⌋ and
 * f_i = exp(−ln(maxPeriod)·i/h); an odd `dim` gets a trailing zero column. → [B, dim].
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000, device?: Device): Tensor {
  if (t.rank !== 1) throw new ShapeError("timestepEmbedding", "t must be 1-D", t.shape);
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / half));
  const f = fromTyped(freqs, [1, half], "f32", { device: device ?? t.device });
  const args = mul(reshape(t, [-1, 1]), f);
  const parts = [sin(args), cos(args)];
  if (dim % 2) parts.push(mul(reshape(t, [-1, 1]), 0));
  return cat(parts, 1);
}

/** Σ or mean of the loss as requested (shared by the losses). */
export function reduceLoss(l: Tensor, reduction: "mean" | "sum" | "none"): Tensor {
  return reduction === "none" ? l : reduction === "sum" ? sum(l) : mean(l);
}
/** 1/‖v‖ over all but the first axis, kept as [O, 1, …] (weight norm). */
export const invRowNorm = (v: Tensor) => rsqrt(sum(mul(v, v), Array.from({ length: v.rank - 1 }, (_, i) => i + 1), { keepDims: true }));
