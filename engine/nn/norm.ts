/** Normalisation modules: BatchNorm2d, LayerNorm, GroupNorm and Glow's ActNorm. */
import type { Device } from "../device.js";
import { ShapeError } from "../errors.js";
import { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import { add, cmplt, mul, sub, where } from "../ops/binary.js";
import { fromTyped } from "../ops/node.js";
import { mean } from "../ops/reduce.js";
import { detach, exp, log, sqrt } from "../ops/unary.js";
import { reshape } from "../ops/view.js";
import { assignInPlace, batchNorm, groupNorm, layerNorm } from "../ops/norm.js";
import { Module } from "./module.js";
import { onesInit, zerosInit } from "./init.js";

export interface NormOptions {
  eps?: number;
  /** Learnable per-channel scale and shift (default true). */
  affine?: boolean;
  device?: Device;
}

// norms draw no random numbers; the Rng only satisfies the init helpers' signature
const initOpts = (device?: Device) => ({ rng: new Rng(0), device });

/**
 * Batch normalisation over [N, C, H, W] (or [N, C]). Parameters weight (1) and bias (0); buffers
 * running_mean (0), running_var (1) and num_batches_tracked (i32) — PyTorch's names, so state
 * dicts interoperate. In training the running buffers are updated in place (see ops/norm.ts
 * `assignInPlace`; `await flushInPlace()` before reading them).
 */
export class BatchNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    opts: NormOptions & { momentum?: number } = {},
  ) {
    super();
    const o = initOpts(opts.device);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine !== false;
    this.weight = affine ? this.param("weight", onesInit([numFeatures], o)) : null;
    this.bias = affine ? this.param("bias", zerosInit([numFeatures], o)) : null;
    this.runningMean = this.buffer("running_mean", zerosInit([numFeatures], o));
    this.runningVar = this.buffer("running_var", onesInit([numFeatures], o));
    this.numBatchesTracked = this.buffer("num_batches_tracked", fromTyped(new Int32Array([0]), [], "i32", { device: opts.device }));
  }
  forward(x: Tensor): Tensor {
    if (this.training) void assignInPlace(this.numBatchesTracked, add(this.numBatchesTracked, 1));
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, { training: this.training, momentum: this.momentum, eps: this.eps });
  }
}

/** Layer normalisation over the trailing `normalizedShape`; weight 1 and bias 0 of that shape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  constructor(normalizedShape: number | readonly number[], opts: NormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const o = initOpts(opts.device);
    const affine = opts.affine !== false;
    this.weight = affine ? this.param("weight", onesInit(this.normalizedShape, o)) : null;
    this.bias = affine ? this.param("bias", zerosInit(this.normalizedShape, o)) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** Group normalisation with per-channel weight 1 and bias 0. */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: NormOptions = {},
  ) {
    super();
    if (numChannels % numGroups) throw new ShapeError("GroupNorm", `${numChannels} channels do not split into ${numGroups} groups`);
    this.eps = opts.eps ?? 1e-5;
    const o = initOpts(opts.device);
    const affine = opts.affine !== false;
    this.weight = affine ? this.param("weight", onesInit([numChannels], o)) : null;
    this.bias = affine ? this.param("bias", zerosInit([numChannels], o)) : null;
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

/**
 * Glow's activation normalisation (Kingma & Dhariwal 2018, §3.1): y = (x + bias)·exp(logs) per
 * channel of [N, C, …]. Data-dependent init: the first training batch sets bias = −μ_c and
 * logs = −log(σ_c + 1e−6), so that batch comes out with zero mean and unit variance per channel.
 * The choice between data statistics and parameters is a GPU-side select on the `initialized`
 * buffer, so a model restored from a state dict (initialized = 1) is never re-initialised.
 * `logDet(x)` gives the flow's log|det J| = H·W·Σ logs per example.
 */
export class ActNorm extends Module {
  readonly bias: Tensor;
  readonly logs: Tensor;
  readonly initialized: Tensor;
  #scheduled = false;
  constructor(
    readonly numChannels: number,
    opts: { device?: Device } = {},
  ) {
    super();
    const o = initOpts(opts.device);
    this.bias = this.param("bias", zerosInit([numChannels], o));
    this.logs = this.param("logs", zerosInit([numChannels], o));
    this.initialized = this.buffer("initialized", zerosInit([1], o));
  }
  /** Effective (bias, logs): the parameters once initialised, else this batch's statistics. */
  #effective(x: Tensor): [Tensor, Tensor] {
    if (this.#scheduled || !this.training) return [this.bias, this.logs];
    const C = this.numChannels;
    const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
    const xd = detach(x);
    const mu = mean(xd, axes, { keepDims: true });
    const d = sub(xd, mu);
    const sd = sqrt(mean(mul(d, d), axes, { keepDims: true }));
    const isInit = cmplt(0.5, this.initialized);
    const b = where(isInit, this.bias, mul(reshape(mu, [C]), -1));
    const l = where(isInit, this.logs, mul(log(add(reshape(sd, [C]), 1e-6)), -1));
    void assignInPlace(this.bias, b);
    void assignInPlace(this.logs, l);
    void assignInPlace(this.initialized, add(mul(this.initialized, 0), 1));
    this.#scheduled = true;
    // the first batch uses the data statistics directly (no gradient to the parameters then)
    return [b, l];
  }
  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) throw new ShapeError("ActNorm", `input must be [N, ${this.numChannels}, ...]`, x.shape);
    const [b, l] = this.#effective(x);
    const shape = [1, this.numChannels, ...Array<number>(x.rank - 2).fill(1)];
    return mul(add(x, reshape(b, shape)), exp(reshape(l, shape)));
  }
}
