/** softmax / logSoftmax along one axis: one kernel per call, stable (max-shifted). */
import { normAxis } from "../shape.js";
import { DTypeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { makeNode } from "./node.js";
import type { SoftmaxDef } from "./op.js";
import { mul, sub } from "./binary.js";
import { exp } from "./unary.js";
import { sum } from "./reduce.js";
import { expand, permute } from "./view.js";

export const SOFTMAX: SoftmaxDef = {
  name: "softmax",
  kind: "softmax",
  backward: ({ out, dout, attrs }) => {
    const keep = { keepDims: true };
    if (attrs.log) {
      // y = x − lse(x): dx = dy − softmax(x) Σ dy
      return [sub(dout, mul(exp(out), expand(sum(dout, -1, keep), out.shape)))];
    }
    // y = softmax(x): dx = y ⊙ (dy − Σ dy ⊙ y)
    return [mul(out, sub(dout, expand(sum(mul(dout, out), -1, keep), out.shape)))];
  },
};

function softmaxAlong(x: Tensor, axis: number, log: boolean): Tensor {
  if (x.dtype !== "f32") throw new DTypeError(log ? "logSoftmax" : "softmax", "f32", x.dtype);
  if (x.rank === 0) return makeNode(SOFTMAX, [x], [], "f32", { log });
  const a = normAxis(log ? "logSoftmax" : "softmax", axis, x.rank);
  const last = x.rank - 1;
  if (a === last) return makeNode(SOFTMAX, [x], x.shape, "f32", { log });
  // move the axis last, run, move it back (views only)
  const perm = [...Array(x.rank).keys()].filter((i) => i !== a).concat(a);
  const xp = permute(x, perm);
  const y = makeNode(SOFTMAX, [xp], xp.shape, "f32", { log });
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return permute(y, inv);
}

export const softmax = (x: Tensor, axis = -1) => softmaxAlong(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1) => softmaxAlong(x, axis, true);
