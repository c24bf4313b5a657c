/**
 * Composites: no kernels and no backward rules of their own, only math on primitives. Each one
 * is written to stay finite in value and gradient at ±80 (tests/engine/ops.test.ts checks it):
 * in every `where`, both branches are finite, so no 0·∞ reaches a gradient.
 */
import { ShapeError } from "../errors.js";
import { normAxis } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { add, cmple, cmplt, div, mul, sub, where } from "./binary.js";
import { abs, erf, exp, expm1, log1p, neg } from "./unary.js";
import { narrow, pad, unsqueeze } from "./view.js";

export const square = (x: Tensor) => mul(x, x);

/** relu(x) = where(x > 0, x, 0): gradient 0 at exactly 0 (maximum(x, 0) would pass half). */
export const relu = (x: Tensor) => where(cmplt(0, x), x, 0);

export const leakyRelu = (x: Tensor, slope = 0.01) => where(cmplt(0, x), x, mul(x, slope));

/** elu: the negative branch sees min(x, 0), so e^x never overflows where it is not chosen. */
export const elu = (x: Tensor, alpha = 1) => where(cmplt(0, x), x, mul(expm1(where(cmple(x, 0), x, 0)), alpha));

/** −|x| written so that x = 0 takes the x ≥ 0 side's derivative (−1), not sign(0) = 0. */
const negAbs = (x: Tensor) => where(cmplt(x, 0), x, neg(x));

/** σ(x) with e = e^{−|x|} ∈ (0, 1]: neither branch can overflow. */
export function sigmoid(x: Tensor): Tensor {
  const e = exp(negAbs(x));
  return where(cmplt(x, 0), div(e, add(e, 1)), div(1, add(e, 1)));
}

/** softplus(x) = max(x, 0) + log1p(e^{−|x|}). */
export const softplus = (x: Tensor) => add(where(cmplt(x, 0), 0, x), log1p(exp(negAbs(x))));

/** log σ(x) = −softplus(−x). */
export const logSigmoid = (x: Tensor) => neg(softplus(neg(x)));

/** x σ(x). */
export const silu = (x: Tensor) => mul(x, sigmoid(x));

/** Exact GELU: x Φ(x) = ½ x (1 + erf(x/√2)) (PyTorch's default). */
export const gelu = (x: Tensor) => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));

/** clamp(x, lo, hi); either bound may be omitted. */
export function clamp(x: Tensor, lo?: number | Tensor, hi?: number | Tensor): Tensor {
  let y = x;
  if (lo !== undefined) y = where(cmplt(y, lo), lo, y);
  if (hi !== undefined) y = where(cmplt(hi, y), hi, y);
  return y;
}

/** Concatenation along `axis`: each part padded to full size, then summed (one fused kernel). */
export function cat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new ShapeError("cat", "needs at least one tensor");
  const first = xs[0]!;
  const a = normAxis("cat", axis, first.rank);
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) throw new ShapeError("cat", `shapes differ outside axis ${a}`, first.shape, x.shape);
  }
  if (xs.length === 1) return first;
  const total = xs.reduce((s, x) => s + x.shape[a]!, 0);
  let off = 0;
  const parts = xs.map((x) => {
    const p = pad(x, x.shape.map((_, i) => (i === a ? [off, total - off - x.shape[a]!] : [0, 0]) as [number, number]));
    off += x.shape[a]!;
    return p;
  });
  // a balanced tree keeps the expression shallow
  let level = parts;
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new ShapeError("stack", "needs at least one tensor");
  const a = normAxis("stack", axis, xs[0]!.rank + 1);
  return cat(
    xs.map((x) => unsqueeze(x, a)),
    a,
  );
}

/** Splits into pieces of `size` along `axis` (the last may be smaller), like torch.split. */
export function split(x: Tensor, size: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis("split", axis, x.rank);
  const n = x.shape[a]!;
  const sizes = typeof size === "number" ? Array.from({ length: Math.ceil(n / size) }, (_, i) => Math.min(size, n - i * size)) : [...size];
  if (sizes.reduce((s, v) => s + v, 0) !== n) throw new ShapeError("split", `sizes [${sizes.join(", ")}] do not add up to ${n}`, x.shape);
  let off = 0;
  return sizes.map((s) => {
    const p = narrow(x, a, off, s);
    off += s;
    return p;
  });
}

/** Splits into `chunks` nearly equal pieces along `axis`, like torch.chunk. */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  const a = normAxis("chunk", axis, x.rank);
  return split(x, Math.ceil(x.shape[a]! / chunks), a);
}

/** 1 where x is finite, else 0 (u32). */
export const isFinite = (x: Tensor) => cmplt(abs(x), Infinity);

export { sub };
