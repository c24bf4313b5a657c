/**
 * Probability distributions over tensors: reparameterised Normal (pathwise gradients to loc and
 * scale), Bernoulli and Categorical from logits, and closed-form KL. Everything is Tensor ops, so
 * samples and log-probabilities fuse into the kernels that consume them.
 */
import { ShapeError } from "./errors.js";
import { broadcastShapes } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { add, cmplt, div, mul, sub } from "./ops/binary.js";
import { log, neg } from "./ops/unary.js";
import { softplus } from "./ops/composite.js";
import { logSoftmax } from "./ops/softmax.js";
import { argmax, sum } from "./ops/reduce.js";
import { rand, randn, type RandomOptions } from "./ops/source.js";
import { expand, reshape } from "./ops/view.js";
import { full } from "./ops/node.js";
import { gather } from "./ops/gather.js";
import { castF32, castI32, exp } from "./ops/unary.js";

const LOG_2PI = Math.log(2 * Math.PI);
type Param = Tensor | number;
const asTensor = (p: Param, like: Tensor) => (typeof p === "number" ? full(like.shape, p, { device: like.device }) : p);

/** N(loc, scale²), elementwise. */
export class Normal {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly shape: number[];
  constructor(loc: Param, scale: Param) {
    const ref = typeof loc !== "number" ? loc : typeof scale !== "number" ? scale : null;
    if (!ref) throw new ShapeError("Normal", "loc or scale must be a tensor");
    this.shape = broadcastShapes("Normal", typeof loc === "number" ? [] : loc.shape, typeof scale === "number" ? [] : scale.shape);
    this.loc = expand(asTensor(loc, ref), this.shape);
    this.scale = expand(asTensor(scale, ref), this.shape);
  }
  /** loc + scale·ε with ε ~ N(0, 1): gradients flow to loc and scale (the reparameterisation trick). */
  rsample(opts: RandomOptions & { sampleShape?: readonly number[] } = {}): Tensor {
    const shape = [...(opts.sampleShape ?? []), ...this.shape];
    const eps = randn(shape, { device: this.loc.device, ...opts });
    return add(mul(expand(this.scale, shape), eps), expand(this.loc, shape));
  }
  /** A sample with no gradient path. */
  sample(opts: RandomOptions & { sampleShape?: readonly number[] } = {}): Tensor {
    return this.rsample(opts).detach();
  }
  /** log N(x; loc, scale²) = −(x−μ)²/(2σ²) − log σ − ½ log 2π, elementwise. */
  logProb(x: Tensor): Tensor {
    const z = div(sub(x, this.loc), this.scale);
    return sub(sub(mul(mul(z, z), -0.5), log(this.scale)), 0.5 * LOG_2PI);
  }
  /** ½ log(2πe σ²), elementwise. */
  entropy(): Tensor {
    return add(log(this.scale), 0.5 * (1 + LOG_2PI));
  }
}

/** KL(p ‖ q) for two Normals, elementwise: log(σq/σp) + (σp² + (μp−μq)²)/(2σq²) − ½. */
export function klDivergence(p: Normal, q: Normal): Tensor {
  const vr = div(mul(p.scale, p.scale), mul(q.scale, q.scale));
  const d = div(sub(p.loc, q.loc), q.scale);
  return mul(sub(sub(add(vr, mul(d, d)), 1), log(vr)), 0.5);
}

/** Bernoulli from logits (stable: log σ(l) = −softplus(−l)). */
export class Bernoulli {
  constructor(readonly logits: Tensor) {}
  get probs(): Tensor {
    return div(1, add(exp(neg(this.logits)), 1));
  }
  /** x log σ(l) + (1−x) log σ(−l) = x·l − softplus(l), elementwise. */
  logProb(x: Tensor): Tensor {
    return sub(mul(x, this.logits), softplus(this.logits));
  }
  sample(opts: RandomOptions = {}): Tensor {
    // u < σ(l)  ⇔  logit(u) < l, which avoids computing σ for saturated logits
    const u = rand(this.logits.shape, { device: this.logits.device, ...opts });
    return castF32(cmplt(log(div(u, sub(1, u))), this.logits));
  }
  entropy(): Tensor {
    return sub(softplus(this.logits), mul(this.probs, this.logits));
  }
}

/** Categorical over the last axis, from logits. */
export class Categorical {
  readonly logProbs: Tensor;
  constructor(readonly logits: Tensor) {
    this.logProbs = logSoftmax(logits, -1);
  }
  /** log p(k) for integer k of the batch shape. */
  logProb(k: Tensor): Tensor {
    const idx = reshape(castI32(k), [...k.shape, 1]);
    const lp = expand(this.logProbs, [...k.shape, this.logits.shape.at(-1)!]);
    return reshape(gather(lp, -1, idx), k.shape);
  }
  /** Gumbel-max: argmax(logits + G), G = −log(−log U). Returns i32 of the batch shape. */
  sample(opts: RandomOptions = {}): Tensor {
    const u = rand(this.logits.shape, { device: this.logits.device, ...opts });
    return argmax(sub(this.logits, log(neg(log(u)))), -1);
  }
  entropy(): Tensor {
    return neg(sum(mul(exp(this.logProbs), this.logProbs), -1));
  }
}
