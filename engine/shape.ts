/** Pure shape arithmetic: broadcasting, strides, axes. No GPU, no tensors. */
import { ShapeError } from "./errors.js";

export type Shape = readonly number[];

export const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Row-major (C-contiguous) strides. */
export function stridesOf(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

export const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** NumPy/PyTorch broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!, o = out[j]!;
      if (d === o || d === 1) continue;
      if (o === 1) out[j] = d;
      else throw new ShapeError(op, `shapes cannot be broadcast (dimension ${j} is ${o} vs ${d})`, ...shapes);
    }
  }
  return out;
}

/** Normalises a possibly negative axis; throws ShapeError when out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === "number" ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((a, b) => a - b);
  if (out.length !== list.length) throw new ShapeError(op, `repeated axis in [${list.join(", ")}]`);
  return out;
}

/** Resolves a reshape target with at most one -1. */
export function resolveReshape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  const neg = to.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError(op, "only one dimension may be -1", to);
  if (to.some((d) => !Number.isInteger(d) || d < -1)) throw new ShapeError(op, "dimensions must be integers ≥ 0 (or one -1)", to);
  if (neg === 1) {
    const rest = to.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (rest === 0 || n % rest !== 0) throw new ShapeError(op, `cannot infer -1 for ${n} elements`, from, to);
    return to.map((d) => (d === -1 ? n / rest : d));
  }
  if (numel(to) !== n) throw new ShapeError(op, `element count differs (${n} vs ${numel(to)})`, from, to);
  return [...to];
}

export const shapeStr = (s: Shape) => `[${s.join(", ")}]`;
