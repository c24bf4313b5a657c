/**
 * Fused in-place optimizer updates: one dispatch per parameter reads its gradient and rewrites the
 * parameter and all of its optimizer state in a single pass over memory.
 *
 * Every time-varying quantity (learning rate, bias corrections, first-step flags) is a uniform, so
 * the WGSL of each kernel is a constant: changing the learning rate every step, or the parameter
 * size, never compiles a new pipeline. Bias corrections are computed on the JS side in float64.
 *
 * Binding convention (shaders/kernel.ts): params uniform, then the gradient (read-only), then the
 * buffers updated in place (read_write): the parameter first, then its state slots.
 *
 * Indexing follows the 2-D grid split of engine/dispatch.ts `grid1d`: the linear index is
 * gid.x + gid.y · nwg.x · WG, and it is bounds-checked because the grid may overshoot `n` (and
 * pool buffers are rounded up to a size bucket, so the arrays can be longer than `n`).
 */
import { defineKernel } from "./kernel.js";
import { raw, u32, wgsl } from "./wgsl.js";

/** Invocations per workgroup: within SwiftShader's 256 limit, so every adapter can run it. */
export const OPTIM_WG = 256;

const index = raw(`  let i = gid.x + gid.y * nwg.x * ${u32(OPTIM_WG)};\n  if (i >= params.n) { return; }`);

/**
 * Plain SGD with L2 weight decay (no momentum, so no state):
 *
 *   g = ∇ + λ·p,   p ← p − lr·g
 */
export const sgdKernel = defineKernel({
  name: "optim.sgd",
  params: { n: "u32", lr: "f32", l2: "f32" },
  inputs: { grad: "f32" },
  outputs: { param: "f32" },
  workgroupSize: OPTIM_WG,
  body: wgsl`${index}
  let p = param[i];
  let g = grad[i] + params.l2 * p;
  param[i] = p - params.lr * g;`,
});

/**
 * SGD with momentum (PyTorch's formulation, Sutskever et al. 2013 for the Nesterov variant):
 *
 *   g = ∇ + λ·p
 *   b ← keep·b + scale·g          first step: keep = 0, scale = 1   (b₁ = g, no dampening)
 *                                  later:      keep = μ, scale = 1 − dampening
 *   d = g + μ·b  (Nesterov)  or  d = b
 *   p ← p − lr·d
 *
 * Edge case: on the first step `keep` is 0 but b may hold stale bits from a reused pool buffer
 * (even NaN, and 0·NaN = NaN), so the old value is discarded with a select, not multiplied away.
 */
export const sgdMomentumKernel = defineKernel({
  name: "optim.sgd_momentum",
  params: { n: "u32", lr: "f32", l2: "f32", momentum: "f32", keep: "f32", scale: "f32", nesterov: "u32", first: "u32" },
  inputs: { grad: "f32" },
  outputs: { param: "f32", buf: "f32" },
  workgroupSize: OPTIM_WG,
  body: wgsl`${index}
  let p = param[i];
  let g = grad[i] + params.l2 * p;
  let old = select(buf[i], 0.0, params.first != 0u);
  let b = params.keep * old + params.scale * g;
  buf[i] = b;
  let d = select(b, g + params.momentum * b, params.nesterov != 0u);
  param[i] = p - params.lr * d;`,
});

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, in PyTorch's arrangement of the epsilon) and AdamW
 * (Loshchilov & Hutter 2019, Algorithm 2: decay decoupled from the gradient), in one kernel:
 *
 *   g = ∇ + l2·p                       Adam's L2 penalty (l2 = λ for Adam, 0 for AdamW)
 *   p ← decay·p                        AdamW's decoupled decay (decay = 1 − lr·λ, 1 for Adam)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²         (1 − β) arrives as a uniform computed in float64: from
 *                                    the f32-rounded β₂ = 0.999 it would be off by 1.3e-5)
 *   p ← p − (lr / bc1) · m / (√v / bc2Sqrt + ε)
 *
 * with bc1 = 1 − β₁ᵗ and bc2Sqrt = √(1 − β₂ᵗ) for the parameter's step t (computed in JS).
 * The moments start at zero; `first` makes the first step ignore whatever a reused pool buffer
 * held, so the state never needs a separate clearing pass.
 */
export const adamKernel = defineKernel({
  name: "optim.adam",
  params: {
    n: "u32",
    lr: "f32",
    beta1: "f32",
    beta2: "f32",
    oneMinusBeta1: "f32",
    oneMinusBeta2: "f32",
    eps: "f32",
    bc1: "f32",
    bc2Sqrt: "f32",
    l2: "f32",
    decay: "f32",
    first: "u32",
  },
  inputs: { grad: "f32" },
  outputs: { param: "f32", m: "f32", v: "f32" },
  workgroupSize: OPTIM_WG,
  body: wgsl`${index}
  let p0 = param[i];
  let g = grad[i] + params.l2 * p0;
  let fresh = params.first != 0u;
  let m1 = params.beta1 * select(m[i], 0.0, fresh) + params.oneMinusBeta1 * g;
  let v1 = params.beta2 * select(v[i], 0.0, fresh) + params.oneMinusBeta2 * g * g;
  m[i] = m1;
  v[i] = v1;
  let denom = sqrt(v1) / params.bc2Sqrt + params.eps;
  param[i] = params.decay * p0 - (params.lr / params.bc1) * (m1 / denom);`,
});

/**
 * Exponential moving average of a parameter (Polyak averaging with exponential weights):
 *
 *   s ← s + rate·(p − s)   ≡   decay·s + (1 − decay)·p,   rate = 1 − decay (from JS in float64)
 *
 * and s ← p when `first` is set. The lerp form is exact when p = s and keeps s inside
 * [min(s, p), max(s, p)] up to rounding. Edge case: on the first update s holds whatever the
 * pool buffer held (NaN included), which `select` discards rather than multiplies by zero.
 */
export const emaKernel = defineKernel({
  name: "optim.ema",
  params: { n: "u32", rate: "f32", first: "u32" },
  inputs: { param: "f32" },
  outputs: { shadow: "f32" },
  workgroupSize: OPTIM_WG,
  body: wgsl`${index}
  let s = shadow[i];
  let p = param[i];
  shadow[i] = select(s + params.rate * (p - s), p, params.first != 0u);`,
});
