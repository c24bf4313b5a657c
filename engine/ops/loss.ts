/**
 * Losses as compositions of engine ops, written so value and gradient stay finite for extreme
 * inputs (logits at ±80 and beyond): every exp sees a non-positive argument.
 */
import { ShapeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { add, cmplt, maximum, mul, sub, where } from "./binary.js";
import { softplus, sigmoid } from "./composite.js";
import { gather } from "./gather.js";
import { reduceLoss } from "./norm.js";
import { logSoftmax } from "./softmax.js";
import { abs, exp, log, log1p, neg } from "./unary.js";
import { reshape } from "./view.js";

export type Reduction = "mean" | "sum" | "none";
export interface LossOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
}

/**
 * −[t·log σ(l) + (1 − t)·log(1 − σ(l))] = max(l, 0) − l·t + log1p(e^{−|l|}), which never
 * overflows; its gradient σ(l) − t is exact at any |l|.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, { reduction = "mean" }: LossOptions = {}): Tensor {
  const l = add(sub(maximum(logits, 0), mul(logits, target)), log1p(exp(neg(abs(logits)))));
  return reduceLoss(l, reduction);
}

/**
 * Cross entropy of logits [N, C] against integer class ids target [N] (i32): −log softmax(l)[t],
 * through logSoftmax (max-shifted) and a gather.
 */
export function crossEntropy(logits: Tensor, target: Tensor, { reduction = "mean" }: LossOptions = {}): Tensor {
  if (logits.rank !== 2 || target.rank !== 1 || target.shape[0] !== logits.shape[0]) {
    throw new ShapeError("crossEntropy", "expects logits [N, C] and class ids [N]", logits.shape, target.shape);
  }
  const lp = gather(logSoftmax(logits, 1), 1, reshape(target, [-1, 1]));
  return reduceLoss(neg(reshape(lp, [-1])), reduction);
}

/** (x − y)². */
export function mseLoss(x: Tensor, y: Tensor, { reduction = "mean" }: LossOptions = {}): Tensor {
  const d = sub(x, y);
  return reduceLoss(mul(d, d), reduction);
}

/**
 * Gaussian negative log-likelihood, parameterised by the LOG-variance (not the variance, unlike
 * torch's gaussian_nll_loss): ½·[log 2π + logVar + (x − μ)²·e^{−logVar}], the full density
 * including the constant. Pass `log(var)` if you hold a variance.
 */
export function gaussianNll(x: Tensor, mean: Tensor, logVar: Tensor, { reduction = "mean" }: LossOptions = {}): Tensor {
  const d = sub(x, mean);
  const l = mul(add(add(logVar, Math.log(2 * Math.PI)), mul(mul(d, d), exp(neg(logVar)))), 0.5);
  return reduceLoss(l, reduction);
}

/**
 * Per-element log-likelihood of 8-bit data x ∈ [−1, 1] (256 bins of width 2/255) under a
 * discretized logistic with location `mean` and log-scale `logScale` (Salimans et al. 2017,
 * PixelCNN++, one mixture component). With c = x − μ and s⁻¹ = e^{−logScale}:
 *   x = −1 (first bin):  log σ(s⁻¹(c + 1/255))          = a − softplus(a)
 *   x =  1 (last bin):   log(1 − σ(s⁻¹(c − 1/255)))     = −softplus(b)
 *   otherwise:           log[σ(s⁻¹(c + 1/255)) − σ(s⁻¹(c − 1/255))]
 * and where that difference underflows (< 1e−5) the mid-bin density times the bin width,
 * log pdf(c) + log(2/255) with log pdf = m − logScale − 2·softplus(m), m = s⁻¹c.
 * Returns log-likelihoods (negate and reduce for a loss), same shape as x.
 */
export function discretizedLogisticLogLikelihood(x: Tensor, mean: Tensor, logScale: Tensor): Tensor {
  const c = sub(x, mean);
  const invS = exp(neg(logScale));
  const a = mul(invS, add(c, 1 / 255));
  const b = mul(invS, sub(c, 1 / 255));
  const logCdfPlus = sub(a, softplus(a));
  const logOneMinusCdfMin = neg(softplus(b));
  const delta = sub(sigmoid(a), sigmoid(b));
  const m = mul(invS, c);
  const logPdfMid = sub(sub(m, logScale), mul(softplus(m), 2));
  // clamping inside the log keeps the unused branch's gradient finite (where() multiplies it by 0)
  const interior = where(cmplt(1e-5, delta), log(maximum(delta, 1e-12)), add(logPdfMid, Math.log(2 / 255)));
  return where(cmplt(x, -0.999), logCdfPlus, where(cmplt(0.999, x), logOneMinusCdfMin, interior));
}
