/**
 * Reductions. The node's shape keeps reduced dims as 1 (keepDims); the user-facing functions
 * squeeze them when asked. The kernel is a workgroup tree reduction in a fixed order
 * (shaders/reduce.ts), with the elementwise chain feeding it fused in as a prologue.
 */
import { ShapeError } from "../errors.js";
import { normAxes, normAxis, numel } from "../shape.js";
import type { DType, Tensor } from "../tensor.js";
import { makeNode } from "./node.js";
import type { ReduceDef } from "./op.js";
import { add, cmplt, div, eq, mul, sub, where } from "./binary.js";
import { abs, castI32, detach, exp, log } from "./unary.js";
import { expand, reshape } from "./view.js";

export interface ReduceOptions {
  keepDims?: boolean;
}

const expandBack = (dout: Tensor, x: Tensor) => expand(dout, x.shape);

export const SUM: ReduceDef = {
  name: "sum",
  kind: "reduce",
  reduce: "sum",
  backward: ({ dout, inputs: [x] }) => [expandBack(dout, x!)],
};

/** Gradient of max/min: shared equally among tied extremes (as PyTorch's amax does). */
const extremeBackward: ReduceDef["backward"] = ({ out, dout, inputs: [x], attrs }) => {
  const mask = eq(x!, expand(out, x!.shape));
  const count = reduceNode(SUM, mask, attrs.axes as number[], "f32");
  return [mul(expand(div(dout, count), x!.shape), mask)];
};

export const AMAX: ReduceDef = { name: "amax", kind: "reduce", reduce: "max", backward: extremeBackward };
export const AMIN: ReduceDef = { name: "amin", kind: "reduce", reduce: "min", backward: extremeBackward };
export const PROD: ReduceDef = {
  name: "prod",
  kind: "reduce",
  reduce: "prod",
  // d Πx / dx_i = Πx / x_i (undefined where x_i = 0, as the naive rule always is)
  backward: ({ out, dout, inputs: [x] }) => [div(mul(expand(dout, x!.shape), expand(out, x!.shape)), x!)],
};
export const ARGMAX: ReduceDef = { name: "argmax", kind: "reduce", reduce: "argmax" };
export const ARGMIN: ReduceDef = { name: "argmin", kind: "reduce", reduce: "argmin" };

function reduceNode(def: ReduceDef, x: Tensor, axes: number[], dtype: DType): Tensor {
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return makeNode(def, [x], shape, dtype, { axes });
}

function reduce(def: ReduceDef, x: Tensor, axis: number | readonly number[] | undefined, opts: ReduceOptions, dtype: DType = x.dtype): Tensor {
  const axes = normAxes(def.name, axis, x.rank);
  if ((def.reduce === "max" || def.reduce === "min") && axes.some((a) => x.shape[a] === 0)) throw new ShapeError(def.name, "cannot reduce an empty dimension", x.shape);
  const isArg = def.reduce === "argmax" || def.reduce === "argmin";
  // the row-reduction kernel accumulates and stores f32; integer results are converted back
  const y = !axes.length ? x : dtype === "f32" || isArg ? reduceNode(def, x, axes, dtype) : castI32(reduceNode(def, x, axes, "f32"));
  return opts.keepDims ? y : reshape(y, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Sum over `axis` (all axes when omitted). */
export const sum = (x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}) => reduce(SUM, x, axis, opts, x.dtype === "f32" ? "f32" : x.dtype);
export const amax = (x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}) => reduce(AMAX, x, axis, opts);
export const amin = (x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}) => reduce(AMIN, x, axis, opts);
export const prod = (x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}) => reduce(PROD, x, axis, opts);

/** Index of the first maximum along `axis` (flattened when omitted), as i32. */
export function argmax(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  if (axis === undefined) return reduce(ARGMAX, reshape(x, [-1]), 0, {}, "i32");
  return reduce(ARGMAX, x, normAxis("argmax", axis, x.rank), opts, "i32");
}
export function argmin(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  if (axis === undefined) return reduce(ARGMIN, reshape(x, [-1]), 0, {}, "i32");
  return reduce(ARGMIN, x, normAxis("argmin", axis, x.rank), opts, "i32");
}

const countOf = (x: Tensor, axis?: number | readonly number[]) => numel(normAxes("mean", axis, x.rank).map((a) => x.shape[a]!));

export function mean(x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  return div(sum(x, axis, opts), countOf(x, axis));
}

/** Variance with Bessel's correction by default (`correction: 1`), like torch.var. */
export function variance(x: Tensor, axis?: number | readonly number[], opts: ReduceOptions & { correction?: number } = {}): Tensor {
  const m = mean(x, axis, { keepDims: true });
  const d = sub(x, m);
  return div(sum(mul(d, d), axis, opts), Math.max(0, countOf(x, axis) - (opts.correction ?? 1)));
}

/** log Σ exp(x), shifted by the (detached) max so it never overflows; its gradient is softmax. */
export function logsumexp(x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const m = detach(amax(x, axis, { keepDims: true }));
  // an all −inf row has max −inf; shift by 0 there so the result is −inf, not NaN
  const shift = where(cmplt(abs(m), Infinity), m, 0);
  // a row whose max is ±∞ is ±∞ (log 0 is not −∞ on every driver: SwiftShader gives −88.03)
  const y = where(cmplt(abs(m), Infinity), add(log(sum(exp(sub(x, shift)), axis, { keepDims: true })), shift), m);
  return opts.keepDims ? y : reshape(y, x.shape.filter((_, i) => !normAxes("logsumexp", axis, x.rank).includes(i)));
}

