/** Convolution modules (NCHW, PyTorch weight layouts, names and default inits). */
import type { Device } from "../device.js";
import { ShapeError } from "../errors.js";
import { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import { conv2d, convTranspose2d, maskedConv2d, type Padding, type Pair } from "../ops/conv.js";
import { Module } from "./module.js";
import { kaimingUniform, uniformInit } from "./init.js";

export interface ConvModuleOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  /** Default true. */
  bias?: boolean;
  seed?: number;
  rng?: Rng;
  device?: Device;
}

const pair = (k: Pair): [number, number] => (typeof k === "number" ? [k, k] : [k[0], k[1]]);

/**
 * PyTorch's conv init: weight ~ kaiming_uniform(a = √5), i.e. U(±1/√fanIn), bias ~ U(±1/√fanIn),
 * with fanIn = weight.shape[1]·kh·kw (for Conv2d that is in/groups·kh·kw; for ConvTranspose2d
 * PyTorch also reads shape[1], which there is out/groups).
 */
function convParams(m: Module & { register(n: string, t: Tensor): Tensor }, shape: [number, number, number, number], outChannels: number, opts: ConvModuleOptions): [Tensor, Tensor | null] {
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const o = { rng, device: opts.device };
  const fanIn = shape[1] * shape[2] * shape[3];
  const w = m.register("weight", kaimingUniform(shape, fanIn, o));
  const b = opts.bias === false ? null : m.register("bias", uniformInit([outChannels], fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0, o));
  return [w, b];
}

/** 2-D convolution: weight [out, in/groups, kh, kw], bias [out]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly opts: ConvModuleOptions = {},
  ) {
    super();
    const g = opts.groups ?? 1;
    if (inChannels % g || outChannels % g) throw new ShapeError("Conv2d", `groups=${g} must divide in (${inChannels}) and out (${outChannels}) channels`);
    this.kernelSize = pair(kernelSize);
    [this.weight, this.bias] = convParams(this, [outChannels, inChannels / g, ...this.kernelSize], outChannels, opts);
  }
  /** @internal registration hook for the shared init */
  register(n: string, t: Tensor): Tensor {
    return this.param(n, t);
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.opts;
    return conv2d(x, this.weight, this.bias ?? undefined, { stride, padding, dilation, groups });
  }
}

export interface ConvTransposeModuleOptions extends Omit<ConvModuleOptions, "padding"> {
  padding?: Pair;
  outputPadding?: Pair;
}

/** Transposed convolution: weight [in, out/groups, kh, kw] (PyTorch layout), bias [out]. */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly opts: ConvTransposeModuleOptions = {},
  ) {
    super();
    const g = opts.groups ?? 1;
    if (inChannels % g || outChannels % g) throw new ShapeError("ConvTranspose2d", `groups=${g} must divide in (${inChannels}) and out (${outChannels}) channels`);
    this.kernelSize = pair(kernelSize);
    [this.weight, this.bias] = convParams(this, [inChannels, outChannels / g, ...this.kernelSize], outChannels, opts as ConvModuleOptions);
  }
  /** @internal */
  register(n: string, t: Tensor): Tensor {
    return this.param(n, t);
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding, dilation, groups } = this.opts;
    return convTranspose2d(x, this.weight, this.bias ?? undefined, { stride, padding, outputPadding, dilation, groups });
  }
}

/** The PixelCNN masked convolution ('A': first layer, excludes the centre; 'B': includes it); 'same' padding. */
export class MaskedConv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly opts: Omit<ConvModuleOptions, "stride" | "dilation" | "groups"> & { mask: "A" | "B" },
  ) {
    super();
    [this.weight, this.bias] = convParams(this, [outChannels, inChannels, ...pair(kernelSize)], outChannels, opts);
  }
  /** @internal */
  register(n: string, t: Tensor): Tensor {
    return this.param(n, t);
  }
  forward(x: Tensor): Tensor {
    return maskedConv2d(x, this.weight, this.bias ?? undefined, { mask: this.opts.mask, padding: this.opts.padding });
  }
}
