/** Linear, Sequential and activation modules. */
import { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import { add } from "../ops/binary.js";
import { matmul } from "../ops/matmul.js";
import { transpose } from "../ops/view.js";
import * as A from "../ops/composite.js";
import { tanh } from "../ops/unary.js";
import { Module } from "./module.js";
import { kaimingUniform, uniformInit, zerosInit } from "./init.js";
import type { Device } from "../device.js";

export interface LayerOptions {
  bias?: boolean;
  /** Seed or generator for the initial weights. */
  seed?: number;
  rng?: Rng;
  device?: Device;
  /** Zero-initialise the weight and bias (e.g. a last layer). */
  zeroInit?: boolean;
}

/**
 * y = x Wᵀ + b with W: [out, in] (PyTorch layout). PyTorch's init: W ~ kaiming_uniform(a=√5),
 * i.e. U(±1/√in), and b ~ U(±1/√in).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LayerOptions = {},
  ) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    const o = { rng, device: opts.device };
    this.weight = this.param("weight", opts.zeroInit ? zerosInit([outFeatures, inFeatures], o) : kaimingUniform([outFeatures, inFeatures], inFeatures, o));
    this.bias = opts.bias === false ? null : this.param("bias", opts.zeroInit ? zerosInit([outFeatures], o) : uniformInit([outFeatures], 1 / Math.sqrt(inFeatures), o));
  }
  forward(x: Tensor): Tensor {
    const y = matmul(x, transpose(this.weight));
    return this.bias ? add(y, this.bias) : y;
  }
}

/** Children named "0", "1", … as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}

/** An activation as a module (no parameters). */
export class Activation extends Module {
  constructor(
    readonly activationName: string,
    readonly fn: (x: Tensor) => Tensor,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
export class ReLU extends Activation { constructor() { super("ReLU", A.relu); } }
export class Tanh extends Activation { constructor() { super("Tanh", tanh); } }
export class Sigmoid extends Activation { constructor() { super("Sigmoid", A.sigmoid); } }
export class SiLU extends Activation { constructor() { super("SiLU", A.silu); } }
export class GELU extends Activation { constructor() { super("GELU", A.gelu); } }
export class Softplus extends Activation { constructor() { super("Softplus", A.softplus); } }
export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return A.leakyRelu(x, this.slope);
  }
}
