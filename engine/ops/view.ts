/**
 * Movement ops. None of them gets a kernel: each maps output coordinates to input coordinates,
 * and the fused kernel that finally reads the data does the index arithmetic. Backward of a view
 * is the inverse view (reshape ↔ reshape, permute ↔ inverse permute, slice ↔ unslice, pad ↔ slice);
 * expand's backward is the one place broadcasting is undone (sumToShape).
 */
import { raw, type Wgsl } from "../../shaders/wgsl.js";
import { ShapeError } from "../errors.js";
import { normAxis, numel, resolveReshape, sameShape, stridesOf, type Shape } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { makeNode } from "./node.js";
import type { ViewDef } from "./op.js";
import { sum } from "./reduce.js";

const nonOnes = (s: Shape) => s.filter((d) => d !== 1);

export const RESHAPE: ViewDef = {
  name: "reshape",
  kind: "view",
  mapIndex: (idx, out) => {
    const src = out.inputs[0]!.shape;
    // inserting or removing size-1 dims needs no arithmetic
    if (sameShape(nonOnes(src), nonOnes(out.shape))) {
      const kept = idx.filter((_, i) => out.shape[i] !== 1);
      let k = 0;
      return { idx: src.map((d) => (d === 1 ? raw("0u") : kept[k++]!)) };
    }
    const st = stridesOf(out.shape);
    const terms = idx.map((c, i) => (out.shape[i] === 1 ? "" : st[i] === 1 ? `${c}` : `${c} * ${st[i]}u`)).filter(Boolean);
    const lin = `(${terms.join(" + ") || "0u"})`;
    const sst = stridesOf(src);
    return { idx: src.map((d, i) => raw(d === 1 ? "0u" : i === 0 ? `${lin} / ${sst[i]}u` : `(${lin} / ${sst[i]}u) % ${d}u`)) };
  },
  backward: ({ dout, inputs }) => [reshape(dout, inputs[0]!.shape)],
};

export const PERMUTE: ViewDef = {
  name: "permute",
  kind: "view",
  mapIndex: (idx, out) => {
    const perm = out.attrs.perm as number[];
    const src = new Array<Wgsl>(perm.length);
    perm.forEach((p, i) => (src[p] = idx[i]!));
    return { idx: src };
  },
  backward: ({ dout, attrs }) => {
    const perm = attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(dout, inv)];
  },
};

export const EXPAND: ViewDef = {
  name: "expand",
  kind: "view",
  mapIndex: (idx, out) => {
    const src = out.inputs[0]!.shape;
    const r = out.shape.length - src.length;
    return { idx: src.map((d, i) => (d === 1 && out.shape[i + r] !== 1 ? raw("0u") : idx[i + r]!)) };
  },
  backward: ({ dout, inputs }) => [sumToShape(dout, inputs[0]!.shape)],
};

export const SLICE: ViewDef = {
  name: "slice",
  kind: "view",
  mapIndex: (idx, out) => {
    const starts = out.attrs.starts as number[], steps = out.attrs.steps as number[];
    return { idx: idx.map((c, i) => raw(starts[i] === 0 && steps[i] === 1 ? c : `(${starts[i]}u + ${c}${steps[i] === 1 ? "" : ` * ${steps[i]}u`})`)) };
  },
  backward: ({ dout, inputs, attrs }) => [unslice(dout, inputs[0]!.shape, attrs.starts as number[], attrs.steps as number[])],
};

/** The adjoint of slice: places x at `starts` with `steps` inside zeros of `shape`. */
export const UNSLICE: ViewDef = {
  name: "unslice",
  kind: "view",
  mapIndex: (idx, out) => {
    const x = out.inputs[0]!.shape;
    const starts = out.attrs.starts as number[], steps = out.attrs.steps as number[];
    const conds: string[] = [];
    const src = idx.map((c, i) => {
      const s = starts[i]!, st = steps[i]!, n = x[i]!;
      if (s === 0 && st === 1 && n === out.shape[i]) return c;
      const rel = s === 0 ? `${c}` : `(${c} - ${s}u)`;
      conds.push(`${c} >= ${s}u`);
      if (st !== 1) conds.push(`${rel} % ${st}u == 0u`);
      conds.push(`${rel} < ${n * st - (st - 1)}u`);
      return raw(st === 1 ? `min(${rel}, ${n - 1}u)` : `min(${rel} / ${st}u, ${n - 1}u)`);
    });
    return { idx: src, valid: conds.length ? raw(conds.map((c) => `(${c})`).join(" && ")) : undefined };
  },
  backward: ({ dout, attrs, inputs }) => [sliceRaw(dout, attrs.starts as number[], inputs[0]!.shape, attrs.steps as number[])],
};

export const PAD: ViewDef = {
  name: "pad",
  kind: "view",
  mapIndex: (idx, out) => {
    const x = out.inputs[0]!.shape;
    const before = out.attrs.before as number[];
    const conds: string[] = [];
    const src = idx.map((c, i) => {
      const b = before[i]!, n = x[i]!;
      if (b === 0 && n === out.shape[i]) return c;
      if (b > 0) conds.push(`${c} >= ${b}u`);
      conds.push(`${c} < ${b + n}u`);
      return raw(b === 0 ? `min(${c}, ${n - 1}u)` : `min(${c} - ${b}u, ${n - 1}u)`);
    });
    return { idx: src, valid: conds.length ? raw(conds.map((c) => `(${c})`).join(" && ")) : undefined };
  },
  backward: ({ dout, attrs, inputs }) => [sliceRaw(dout, attrs.before as number[], inputs[0]!.shape, inputs[0]!.shape.map(() => 1))],
};

// ── user-facing functions ───────────────────────────────────────────────────────────────────────

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = resolveReshape("reshape", x.shape, shape);
  if (sameShape(s, x.shape)) return x;
  return makeNode(RESHAPE, [x], s, x.dtype, {});
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis("permute", a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new ShapeError("permute", `[${perm.join(", ")}] is not a permutation of ${x.rank} axes`, x.shape);
  if (p.every((a, i) => a === i)) return x;
  return makeNode(PERMUTE, [x], p.map((a) => x.shape[a]!), x.dtype, { perm: p });
}

export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const a = normAxis("transpose", d0, x.rank), b = normAxis("transpose", d1, x.rank);
  const perm = [...Array(x.rank).keys()];
  [perm[a], perm[b]] = [perm[b]!, perm[a]!];
  return permute(x, perm);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const r = shape.length - x.rank;
  if (r < 0) throw new ShapeError("expand", "target has fewer dimensions than the tensor", x.shape, shape);
  const out = shape.map((d, i) => (d === -1 && i >= r ? x.shape[i - r]! : d));
  x.shape.forEach((d, i) => {
    if (d !== 1 && d !== out[i + r]) throw new ShapeError("expand", `dimension ${i} of size ${d} cannot expand to ${out[i + r]}`, x.shape, shape);
  });
  if (sameShape(out, x.shape)) return x;
  return makeNode(EXPAND, [x], out, x.dtype, {});
}

/** Broadcasts to `shape` (adding leading dims as needed). */
export const broadcastTo = (x: Tensor, shape: readonly number[]) => expand(x, shape);

function sliceRaw(x: Tensor, starts: readonly number[], sizes: readonly number[], steps: readonly number[]): Tensor {
  if (sameShape(sizes, x.shape) && starts.every((s) => s === 0)) return x;
  return makeNode(SLICE, [x], [...sizes], x.dtype, { starts: [...starts], steps: [...steps] });
}

function unslice(x: Tensor, shape: Shape, starts: readonly number[], steps: readonly number[]): Tensor {
  if (sameShape(shape, x.shape)) return x;
  return makeNode(UNSLICE, [x], [...shape], x.dtype, { starts: [...starts], steps: [...steps], value: 0 });
}

/** Per-dimension range: null (all), an index, or [start, end?, step?] with Python semantics. */
export type SliceSpec = null | number | readonly [number?, number?, number?];

/**
 * Basic slicing. `x.slice([null, [1, 3]])` ≡ `x[:, 1:3]`; a number keeps that index and drops
 * the dimension (like `x[:, 2]`). Missing trailing entries mean the whole dimension.
 */
export function slice(x: Tensor, spec: readonly SliceSpec[]): Tensor {
  if (spec.length > x.rank) throw new ShapeError("slice", `${spec.length} ranges for rank ${x.rank}`, x.shape);
  const starts: number[] = [], sizes: number[] = [], steps: number[] = [], drop: number[] = [];
  x.shape.forEach((n, i) => {
    const s = spec[i];
    if (s === null || s === undefined) return (starts.push(0), sizes.push(n), steps.push(1));
    if (typeof s === "number") {
      const j = s < 0 ? s + n : s;
      if (!Number.isInteger(j) || j < 0 || j >= n) throw new ShapeError("slice", `index ${s} out of range for dimension ${i} of size ${n}`, x.shape);
      drop.push(i);
      return (starts.push(j), sizes.push(1), steps.push(1));
    }
    const step = s[2] ?? 1;
    if (!Number.isInteger(step) || step <= 0) throw new ShapeError("slice", `step must be a positive integer, got ${step}`);
    const clamp = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
    const a = clamp(s[0] ?? 0), b = clamp(s[1] ?? n);
    starts.push(a);
    steps.push(step);
    sizes.push(Math.max(0, Math.ceil((b - a) / step)));
  });
  const y = sliceRaw(x, starts, sizes, steps);
  return drop.length ? reshape(y, y.shape.filter((_, i) => !drop.includes(i))) : y;
}

/** torch.narrow */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normAxis("narrow", dim, x.rank);
  if (start < 0 || length < 0 || start + length > x.shape[d]!) throw new ShapeError("narrow", `range [${start}, ${start + length}) out of bounds for dimension ${d}`, x.shape);
  return slice(x, x.shape.map((_, i) => (i === d ? [start, start + length] : null)));
}

/**
 * Constant padding. `pads` lists [before, after] per dimension from the first; missing leading
 * entries mean no padding (so `pad(x, [[1, 1], [2, 2]])` pads the first two dims).
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.length > x.rank) throw new ShapeError("pad", `${pads.length} pad pairs for rank ${x.rank}`, x.shape);
  const before = x.shape.map((_, i) => pads[i]?.[0] ?? 0);
  const after = x.shape.map((_, i) => pads[i]?.[1] ?? 0);
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) throw new ShapeError("pad", "pads must be non-negative integers (use slice to crop)");
  if (before.every((b) => b === 0) && after.every((a) => a === 0)) return x;
  return makeNode(PAD, [x], x.shape.map((d, i) => d + before[i]! + after[i]!), x.dtype, { before, value });
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : (typeof dim === "number" ? [dim] : dim).map((d) => normAxis("squeeze", d, x.rank));
  return reshape(x, x.shape.filter((d, i) => !(dims.includes(i) && d === 1)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis("unsqueeze", dim, x.rank + 1);
  const s = [...x.shape];
  s.splice(d, 0, 1);
  return reshape(x, s);
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const a = normAxis("flatten", start, x.rank), b = normAxis("flatten", end, x.rank);
  return reshape(x, [...x.shape.slice(0, a), numel(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)]);
}

/** Sums `x` down to `shape` (the inverse of broadcasting); the only place it is undone. */
export function sumToShape(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const r = x.rank - shape.length;
  const axes: number[] = [];
  x.shape.forEach((d, i) => {
    if (i < r || (shape[i - r] === 1 && d !== 1)) axes.push(i);
  });
  const s = axes.length ? sum(x, axes, { keepDims: true }) : x;
  return reshape(s, shape);
}
