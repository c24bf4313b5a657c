/**
 * The float64 CPU reference ("the oracle").
 *
 * Every GPU op in latent is tested against these functions, so they are written to be obviously
 * right rather than fast: row-major `Float64Array`s, nested loops, and no code shared with the
 * WGSL side (a reference derived from the GPU code would inherit its bugs). Semantics follow
 * PyTorch: numpy broadcasting, negative axes count from the end, views come back materialised.
 *
 * @example
 * const a = NdArray.from([[1, 2], [3, 4]]);
 * matmul(a, a).toNested();        // [[7, 10], [15, 22]]
 * sum(a, 1).toNested();           // [3, 7]
 */
import { ShapeError } from "./errors.js";

/** A number or an arbitrarily nested array of numbers, e.g. `[[1, 2], [3, 4]]`. */
export type Nested = number | readonly Nested[];
/** One axis or a list of axes; negative values count from the end. */
export type Axes = number | readonly number[];
/** Python slice for one dimension: `[start, stop, step]`; a missing or null bound means "to the end". */
export type SliceSpec = readonly [start?: number | null, stop?: number | null, step?: number];
type Pair = number | readonly [number, number];

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** Row-major strides: the last axis is contiguous, so stride[d] = Π shape[d+1..]. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  return strides;
}

/** Python-style axis: -1 is the last axis. */
function normAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(op, `axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** `undefined` means every axis. */
function normAxes(axes: Axes | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = (typeof axes === "number" ? [axes] : axes).map((a) => normAxis(a, rank, op));
  if (new Set(list).size !== list.length) throw new ShapeError(op, `axis repeated in [${list.join(", ")}]`);
  return list;
}

/** Calls `fn` with every multi-index of `shape` in row-major order (`idx` is reused between calls). */
function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const idx = new Array<number>(shape.length).fill(0);
  const n = sizeOf(shape);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    // odometer: bump the last axis, carrying into earlier axes when one wraps around
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Offset into an array of `shape` read at a multi-index `idx` of the (larger) broadcast shape:
 * missing leading axes are ignored and size-1 axes always read index 0.
 */
function broadcastOffset(shape: readonly number[], strides: readonly number[], idx: readonly number[]): number {
  const lead = idx.length - shape.length;
  let off = 0;
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) off += idx[lead + d] * strides[d];
  return off;
}

/** Index values (gather, indexSelect) must be integers in [0, n). */
function checkIndex(k: number, n: number, op: string): number {
  if (!Number.isInteger(k) || k < 0 || k >= n) throw new RangeError(`${op}: index ${k} is out of range [0, ${n})`);
  return k;
}

/** Reads a nested array into `out` and returns its shape; rejects ragged input. */
function flattenNested(v: Nested, out: number[]): number[] {
  if (typeof v === "number") {
    out.push(v);
    return [];
  }
  let inner: number[] | undefined;
  for (const child of v) {
    const s = flattenNested(child, out);
    if (inner === undefined) inner = s;
    else if (!sameShape(s, inner)) throw new ShapeError("NdArray.from", "ragged nested array", inner, s);
  }
  return [v.length, ...(inner ?? [])];
}

/** A dense, row-major float64 array with a shape. Rank 0 (shape `[]`) holds one number. */
export class NdArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;

  /** Wraps `data` without copying it (row-major, length = Π shape). */
  constructor(data: Float64Array, shape: readonly number[]) {
    if (!shape.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new ShapeError("NdArray", "dimensions must be non-negative integers", shape);
    }
    if (data.length !== sizeOf(shape)) throw new ShapeError("NdArray", `${data.length} values do not fill the shape`, shape);
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /**
   * From nested arrays (shape inferred) or a flat array-like plus a shape.
   * @example NdArray.from([[1, 2], [3, 4]]); NdArray.from(new Float32Array(6), [2, 3]);
   */
  static from(values: ArrayLike<number> | Nested, shape?: readonly number[]): NdArray {
    const flat: number[] = [];
    let inferred: number[];
    if (typeof values === "number" || Array.isArray(values)) inferred = flattenNested(values as Nested, flat);
    else {
      const like = values as ArrayLike<number>;
      for (let i = 0; i < like.length; i++) flat.push(like[i]);
      inferred = [flat.length];
    }
    const target = shape ?? inferred;
    if (sizeOf(target) !== flat.length) throw new ShapeError("NdArray.from", `${flat.length} values do not fill the shape`, target);
    return new NdArray(Float64Array.from(flat), target);
  }

  static zeros(shape: readonly number[]): NdArray {
    return new NdArray(new Float64Array(sizeOf(shape)), shape);
  }

  static full(shape: readonly number[], value: number): NdArray {
    return new NdArray(new Float64Array(sizeOf(shape)).fill(value), shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** Flat offset of a full multi-index (no negative indices). */
  #offset(idx: readonly number[]): number {
    if (idx.length !== this.shape.length) throw new ShapeError("NdArray.get", `expected ${this.shape.length} indices`, idx, this.shape);
    let off = 0;
    const strides = stridesOf(this.shape);
    for (let d = 0; d < idx.length; d++) off += checkIndex(idx[d], this.shape[d], "NdArray.get") * strides[d];
    return off;
  }

  get(...idx: number[]): number {
    return this.data[this.#offset(idx)];
  }

  set(value: number, ...idx: number[]): void {
    this.data[this.#offset(idx)] = value;
  }

  clone(): NdArray {
    return new NdArray(this.data.slice(), this.shape);
  }

  /** The values rounded to float32, ready for upload to the GPU. */
  toFloat32(): Float32Array {
    return Float32Array.from(this.data);
  }

  /** Nested plain arrays (a bare number for rank 0), handy in `toEqual` assertions. */
  toNested(): Nested {
    const strides = stridesOf(this.shape);
    const build = (d: number, off: number): Nested => {
      if (d === this.shape.length) return this.data[off];
      return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, off + i * strides[d]));
    };
    return build(0, 0);
  }
}

// ─── elementwise ────────────────────────────────────────────────────────────────────────────────

/**
 * Numpy broadcasting: align shapes on the right; each axis must agree or be 1.
 * @throws ShapeError when two sizes differ and neither is 1.
 */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = rank - s.length + i;
      if (s[i] === out[d] || s[i] === 1) continue;
      if (out[d] !== 1) throw new ShapeError("broadcast", `axis ${d - rank} has sizes ${out[d]} and ${s[i]}`, ...shapes);
      out[d] = s[i];
    }
  }
  return out;
}

/** Applies `f` elementwise over the broadcast of all inputs. */
function broadcastMap(xs: readonly NdArray[], f: (...v: number[]) => number): NdArray {
  const shape = broadcastShapes(...xs.map((x) => x.shape));
  const strides = xs.map((x) => stridesOf(x.shape));
  const out = NdArray.zeros(shape);
  forEachIndex(shape, (idx, i) => {
    out.data[i] = f(...xs.map((x, k) => x.data[broadcastOffset(x.shape, strides[k], idx)]));
  });
  return out;
}

export const map = (x: NdArray, f: (v: number) => number): NdArray => new NdArray(x.data.map(f), x.shape);
export const zip = (a: NdArray, b: NdArray, f: (a: number, b: number) => number): NdArray => broadcastMap([a, b], f);
export const zip3 = (a: NdArray, b: NdArray, c: NdArray, f: (a: number, b: number, c: number) => number): NdArray =>
  broadcastMap([a, b, c], f);

/** `c ? a : b` elementwise with broadcasting; any non-zero condition (NaN too, as in torch) picks `a`. */
export const where = (c: NdArray, a: NdArray, b: NdArray): NdArray => zip3(c, a, b, (ci, ai, bi) => (ci !== 0 ? ai : bi));

/** Σ a·b over all elements of two same-shaped arrays. */
export function dot(a: NdArray, b: NdArray): number {
  if (!sameShape(a.shape, b.shape)) throw new ShapeError("dot", "shapes differ", a.shape, b.shape);
  let acc = 0;
  for (let i = 0; i < a.size; i++) acc += a.data[i] * b.data[i];
  return acc;
}

// ─── reductions ─────────────────────────────────────────────────────────────────────────────────

const dropAxes = (shape: readonly number[], axes: readonly number[]) => shape.filter((_, d) => !axes.includes(d));

/**
 * Folds `combine` over `axes`. The result is first built with the reduced axes kept at size 1,
 * which makes the output slot of an input element its broadcast offset.
 */
function reduce(x: NdArray, axes: Axes | undefined, keepDims: boolean, op: string, init: number, combine: (acc: number, v: number) => number): NdArray {
  const ax = normAxes(axes, x.shape.length, op);
  const kept = x.shape.map((n, d) => (ax.includes(d) ? 1 : n));
  const keptStrides = stridesOf(kept);
  const out = NdArray.full(kept, init);
  forEachIndex(x.shape, (idx, i) => {
    const o = broadcastOffset(kept, keptStrides, idx);
    out.data[o] = combine(out.data[o], x.data[i]);
  });
  return keepDims ? out : reshape(out, dropAxes(x.shape, ax));
}

/** How many elements each output of a reduction over `axes` combines. */
const countOf = (x: NdArray, axes: Axes | undefined, op: string) => sizeOf(normAxes(axes, x.shape.length, op).map((d) => x.shape[d]));

/** Reductions take `axes` (default: all) and `keepDims` (default false), like `torch.sum(x, dim, keepdim)`. */
export const sum = (x: NdArray, axes?: Axes, keepDims = false) => reduce(x, axes, keepDims, "sum", 0, (a, v) => a + v);
export const prod = (x: NdArray, axes?: Axes, keepDims = false) => reduce(x, axes, keepDims, "prod", 1, (a, v) => a * v);
/** Math.max/min propagate NaN, matching torch.amax/amin. */
export const amax = (x: NdArray, axes?: Axes, keepDims = false) => reduce(x, axes, keepDims, "amax", -Infinity, Math.max);
export const amin = (x: NdArray, axes?: Axes, keepDims = false) => reduce(x, axes, keepDims, "amin", Infinity, Math.min);

export function mean(x: NdArray, axes?: Axes, keepDims = false): NdArray {
  const n = countOf(x, axes, "mean");
  return map(sum(x, axes, keepDims), (s) => s / n);
}

/** Variance Σ(x − μ)² / (N − correction); correction 1 (the default) is Bessel's unbiased estimate. */
export function varOf(x: NdArray, axes?: Axes, { correction = 1, keepDims = false } = {}): NdArray {
  const n = countOf(x, axes, "var");
  const squares = zip(x, mean(x, axes, true), (v, mu) => (v - mu) * (v - mu));
  return map(sum(squares, axes, keepDims), (s) => s / Math.max(0, n - correction));
}

/** Index of the largest value along `axis`; ties go to the first, and NaN counts as largest (torch). */
export function argmax(x: NdArray, axis: number, keepDims = false): NdArray {
  const a = normAxis(axis, x.shape.length, "argmax");
  const kept = x.shape.map((n, d) => (d === a ? 1 : n));
  const keptStrides = stridesOf(kept);
  const best = NdArray.full(kept, -Infinity);
  const arg = NdArray.zeros(kept);
  forEachIndex(x.shape, (idx, i) => {
    const o = broadcastOffset(kept, keptStrides, idx);
    const v = x.data[i];
    if (v > best.data[o] || (Number.isNaN(v) && !Number.isNaN(best.data[o]))) {
      best.data[o] = v;
      arg.data[o] = idx[a];
    }
  });
  return keepDims ? arg : reshape(arg, dropAxes(x.shape, [a]));
}

/**
 * log Σ exp(x), computed as m + log Σ exp(x − m) with m = max(x) so that no exp overflows.
 * Edge case: when m is ±∞, x − m would be ∞ − ∞ = NaN, so shift by 0 and let exp give 0 or ∞.
 */
export function logsumexp(x: NdArray, axes?: Axes, keepDims = false): NdArray {
  const m = map(amax(x, axes, true), (v) => (Number.isFinite(v) ? v : 0));
  const s = sum(zip(x, m, (v, mi) => Math.exp(v - mi)), axes, true);
  const out = zip(s, m, (si, mi) => Math.log(si) + mi);
  return keepDims ? out : reshape(out, dropAxes(x.shape, normAxes(axes, x.shape.length, "logsumexp")));
}

/** log softmax(x) = x − logsumexp(x) along `axis`. */
export const logSoftmax = (x: NdArray, axis: number): NdArray => zip(x, logsumexp(x, axis, true), (v, l) => v - l);
/**
 * softmax(x) = exp(x − m) / Σ exp(x − m) along `axis`, with m = max(x) so that no exp overflows.
 * (exp(x − logsumexp(x)) would be equivalent but rounds the large number m + log Σ first.)
 */
export function softmax(x: NdArray, axis: number): NdArray {
  const m = map(amax(x, axis, true), (v) => (Number.isFinite(v) ? v : 0)); // same ±∞ guard as logsumexp
  const e = zip(x, m, (v, mi) => Math.exp(v - mi));
  return zip(e, sum(e, axis, true), (ei, s) => ei / s);
}

// ─── matmul ─────────────────────────────────────────────────────────────────────────────────────

/**
 * torch.matmul: [..., m, k] @ [..., k, n] → [..., m, n] with broadcast batch axes. A 1-D left
 * operand is a row [1, k] and a 1-D right operand a column [k, 1]; the added axis is removed
 * again, so vector @ vector is a rank-0 scalar.
 */
export function matmul(a: NdArray, b: NdArray): NdArray {
  if (a.shape.length === 0 || b.shape.length === 0) throw new ShapeError("matmul", "operands must have rank ≥ 1", a.shape, b.shape);
  const a2 = a.shape.length === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.shape.length === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const [m, k] = a2.shape.slice(-2);
  const [k2, n] = b2.shape.slice(-2);
  if (k !== k2) throw new ShapeError("matmul", "inner dimensions differ", a.shape, b.shape);
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const A = expand(a2, [...batch, m, k]).data;
  const B = expand(b2, [...batch, k, n]).data;
  const out = NdArray.zeros([...batch, m, n]);
  for (let t = 0; t < sizeOf(batch); t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += A[(t * m + i) * k + p] * B[(t * k + p) * n + j];
        out.data[(t * m + i) * n + j] = acc;
      }
    }
  }
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(m);
  if (b.shape.length > 1) shape.push(n);
  return reshape(out, shape);
}

// ─── views (materialised) ───────────────────────────────────────────────────────────────────────

/** Same data, new shape; at most one axis may be -1 and is inferred. */
export function reshape(x: NdArray, shape: readonly number[]): NdArray {
  const holes = shape.filter((n) => n === -1).length;
  const known = sizeOf(shape.filter((n) => n !== -1));
  const inferred = x.size / known;
  if (holes > 1 || (holes === 1 && (known === 0 || !Number.isInteger(inferred)))) {
    throw new ShapeError("reshape", "cannot infer the -1 axis", x.shape, shape);
  }
  const resolved = shape.map((n) => (n === -1 ? inferred : n));
  if (sizeOf(resolved) !== x.size) throw new ShapeError("reshape", "element counts differ", x.shape, shape);
  return new NdArray(x.data.slice(), resolved);
}

/** Output axis d is input axis dims[d]. */
export function permute(x: NdArray, dims: readonly number[]): NdArray {
  const rank = x.shape.length;
  const p = dims.map((d) => normAxis(d, rank, "permute"));
  if (p.length !== rank || new Set(p).size !== rank) throw new ShapeError("permute", "dims must be a permutation of the axes", x.shape, dims);
  const outShape = p.map((d) => x.shape[d]);
  const strides = stridesOf(x.shape);
  const out = NdArray.zeros(outShape);
  forEachIndex(outShape, (idx, i) => {
    let off = 0;
    for (let d = 0; d < rank; d++) off += idx[d] * strides[p[d]];
    out.data[i] = x.data[off];
  });
  return out;
}

export function transpose(x: NdArray, d0: number, d1: number): NdArray {
  const rank = x.shape.length;
  const p = [...Array(rank).keys()];
  const [a, b] = [normAxis(d0, rank, "transpose"), normAxis(d1, rank, "transpose")];
  [p[a], p[b]] = [p[b], p[a]];
  return permute(x, p);
}

/** torch.expand: size-1 axes repeat, new axes may be prepended, -1 keeps an axis as it is. */
export function expand(x: NdArray, shape: readonly number[]): NdArray {
  const lead = shape.length - x.shape.length;
  if (lead < 0) throw new ShapeError("expand", "target has fewer axes than the input", x.shape, shape);
  const target = shape.map((n, d) => (n === -1 && d >= lead ? x.shape[d - lead] : n));
  x.shape.forEach((n, d) => {
    if (n !== 1 && n !== target[lead + d]) throw new ShapeError("expand", `axis ${d} has size ${n}, which is not 1`, x.shape, shape);
  });
  if (target.some((n) => n < 0)) throw new ShapeError("expand", "-1 is only allowed on existing axes", x.shape, shape);
  const strides = stridesOf(x.shape);
  const out = NdArray.zeros(target);
  forEachIndex(target, (idx, i) => {
    out.data[i] = x.data[broadcastOffset(x.shape, strides, idx)];
  });
  return out;
}

/**
 * Python slicing per leading dimension: `slice(x, [[1, -1], [null, null, 2]])` is `x[1:-1, ::2]`.
 * Negative bounds count from the end, bounds are clamped to the axis, and step must be ≥ 1.
 */
export function slice(x: NdArray, specs: readonly (SliceSpec | null | undefined)[]): NdArray {
  const rank = x.shape.length;
  if (specs.length > rank) throw new ShapeError("slice", `${specs.length} slice specs for rank ${rank}`, x.shape);
  const starts: number[] = [];
  const steps: number[] = [];
  const outShape: number[] = [];
  for (let d = 0; d < rank; d++) {
    const [start, stop, step = 1] = specs[d] ?? [];
    if (!Number.isInteger(step) || step < 1) throw new ShapeError("slice", `step must be a positive integer, got ${step}`);
    const n = x.shape[d];
    const bound = (v: number | null | undefined, dflt: number) => (v == null ? dflt : Math.min(Math.max(v < 0 ? v + n : v, 0), n));
    const b = bound(start, 0);
    const e = bound(stop, n);
    starts.push(b);
    steps.push(step);
    outShape.push(Math.max(0, Math.ceil((e - b) / step)));
  }
  const strides = stridesOf(x.shape);
  const out = NdArray.zeros(outShape);
  forEachIndex(outShape, (idx, i) => {
    let off = 0;
    for (let d = 0; d < rank; d++) off += (starts[d] + idx[d] * steps[d]) * strides[d];
    out.data[i] = x.data[off];
  });
  return out;
}

/**
 * Constant padding with one `[before, after]` per dimension, in axis order (unlike F.pad, which
 * lists the last axis first). Negative amounts crop, so `pad(x, p)` undoes `pad(x, −p)`'s growth.
 */
export function pad(x: NdArray, pads: readonly (readonly [number, number])[], value = 0): NdArray {
  if (pads.length !== x.shape.length) throw new ShapeError("pad", `need one [before, after] per axis, got ${pads.length}`, x.shape);
  const outShape = x.shape.map((n, d) => n + pads[d][0] + pads[d][1]);
  if (outShape.some((n) => n < 0)) throw new ShapeError("pad", "cropping more than the axis holds", x.shape, outShape);
  const strides = stridesOf(x.shape);
  const out = NdArray.full(outShape, value);
  forEachIndex(outShape, (idx, i) => {
    let off = 0;
    for (let d = 0; d < idx.length; d++) {
      const j = idx[d] - pads[d][0];
      if (j < 0 || j >= x.shape[d]) return; // in the padding: keep `value`
      off += j * strides[d];
    }
    out.data[i] = x.data[off];
  });
  return out;
}

/** Concatenates along an existing axis; every other axis must match. */
export function cat(xs: readonly NdArray[], axis: number): NdArray {
  if (xs.length === 0) throw new ShapeError("cat", "needs at least one array");
  const first = xs[0].shape;
  const a = normAxis(axis, first.length, "cat");
  for (const x of xs) {
    if (x.shape.length !== first.length || x.shape.some((n, d) => d !== a && n !== first[d])) {
      throw new ShapeError("cat", `shapes differ off axis ${a}`, first, x.shape);
    }
  }
  const outShape = [...first];
  outShape[a] = xs.reduce((acc, x) => acc + x.shape[a], 0);
  const outStrides = stridesOf(outShape);
  const out = NdArray.zeros(outShape);
  let base = 0; // where along `a` the current input starts
  for (const x of xs) {
    forEachIndex(x.shape, (idx, i) => {
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += (d === a ? base + idx[d] : idx[d]) * outStrides[d];
      out.data[off] = x.data[i];
    });
    base += x.shape[a];
  }
  return out;
}

/** Joins same-shaped arrays along a new axis. */
export function stack(xs: readonly NdArray[], axis: number): NdArray {
  if (xs.length === 0) throw new ShapeError("stack", "needs at least one array");
  const shape = xs[0].shape;
  const a = normAxis(axis, shape.length + 1, "stack");
  for (const x of xs) if (!sameShape(x.shape, shape)) throw new ShapeError("stack", "shapes differ", shape, x.shape);
  const withAxis = [...shape.slice(0, a), 1, ...shape.slice(a)];
  return cat(xs.map((x) => reshape(x, withAxis)), a);
}

/** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1; out has index's shape. */
export function gather(x: NdArray, axis: number, index: NdArray): NdArray {
  const rank = x.shape.length;
  const a = normAxis(axis, rank, "gather");
  if (index.shape.length !== rank || index.shape.some((n, d) => d !== a && n > x.shape[d])) {
    throw new ShapeError("gather", `index must have the input's rank and fit inside it off axis ${a}`, x.shape, index.shape);
  }
  const strides = stridesOf(x.shape);
  const out = NdArray.zeros(index.shape);
  forEachIndex(index.shape, (idx, i) => {
    const k = checkIndex(index.data[i], x.shape[a], "gather");
    let off = 0;
    for (let d = 0; d < rank; d++) off += (d === a ? k : idx[d]) * strides[d];
    out.data[i] = x.data[off];
  });
  return out;
}

/** torch.index_select: picks whole slices along `axis`, in the order given by the 1-D `index`. */
export function indexSelect(x: NdArray, axis: number, index: NdArray | readonly number[]): NdArray {
  const a = normAxis(axis, x.shape.length, "indexSelect");
  if (index instanceof NdArray && index.shape.length > 1) throw new ShapeError("indexSelect", "index must be 1-D", index.shape);
  const picks = Array.from(index instanceof NdArray ? index.data : index, (k) => checkIndex(k, x.shape[a], "indexSelect"));
  const outShape = x.shape.map((n, d) => (d === a ? picks.length : n));
  const strides = stridesOf(x.shape);
  const out = NdArray.zeros(outShape);
  forEachIndex(outShape, (idx, i) => {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += (d === a ? picks[idx[d]] : idx[d]) * strides[d];
    out.data[i] = x.data[off];
  });
  return out;
}

/**
 * Undoes broadcasting: sums `x` down to `shape`, which must broadcast to `x.shape`. This is the
 * gradient of `expand(·, x.shape)`: every copy of an input element passes its gradient back.
 */
export function sumToShape(x: NdArray, shape: readonly number[]): NdArray {
  const lead = x.shape.length - shape.length;
  if (lead < 0 || shape.some((n, d) => n !== 1 && n !== x.shape[lead + d])) {
    throw new ShapeError("sumToShape", "target does not broadcast to the input", x.shape, shape);
  }
  // prepended axes are summed away; axes that were size 1 are summed and kept (a no-op when x is 1 there too)
  const axes = x.shape.map((_, d) => d).filter((d) => d < lead || shape[d - lead] === 1);
  return reshape(sum(x, axes, true), shape);
}

// ─── convolutions (NCHW) ────────────────────────────────────────────────────────────────────────

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

function checkBias(bias: NdArray | undefined, channels: number, op: string): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(op, `bias must be [${channels}]`, bias.shape);
  }
}

/**
 * torch.nn.functional.conv2d (cross-correlation). x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw].
 * out[b, o, y, x] = bias[o] + Σ_{c, i, j} in[b, g·Cin/groups + c, y·s − p + i·d, x·s − p + j·d] · w[o, c, i, j]
 * where g = o / (Cout/groups) and out-of-range reads are zero; Hout = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1.
 */
export function conv2d(x: NdArray, w: NdArray, bias?: NdArray, opts: Conv2dOptions = {}): NdArray {
  const [sh, sw] = pair(opts.stride ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [dh, dw] = pair(opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new ShapeError("conv2d", "x and w must be 4-D", x.shape, w.shape);
  const [n, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = w.shape;
  if (cin % groups !== 0 || cout % groups !== 0 || cinG !== cin / groups) {
    throw new ShapeError("conv2d", `channels do not match with groups=${groups}`, x.shape, w.shape);
  }
  checkBias(bias, cout, "conv2d");
  const ho = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (ho < 1 || wo < 1) throw new ShapeError("conv2d", "kernel is larger than the padded input", x.shape, w.shape);
  const coutG = cout / groups;
  const X = (b: number, c: number, y: number, xx: number) => x.data[((b * cin + c) * h + y) * wd + xx];
  const W = (o: number, c: number, i: number, j: number) => w.data[((o * cinG + c) * kh + i) * kw + j];
  const out = NdArray.zeros([n, cout, ho, wo]);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < cout; o++) {
      const g = Math.floor(o / coutG);
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let acc = bias ? bias.data[o] : 0;
          for (let c = 0; c < cinG; c++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const iy = oy * sh - ph + i * dh;
                const ix = ox * sw - pw + j * dw;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc += X(b, g * cinG + c, iy, ix) * W(o, c, i, j);
              }
            }
          }
          out.data[((b * cout + o) * ho + oy) * wo + ox] = acc;
        }
      }
    }
  }
  return out;
}

/**
 * torch.nn.functional.conv_transpose2d, the adjoint of conv2d: every input pixel scatters
 * in[b, c, y, x] · w[c, o, i, j] to out[b, g·Cout/groups + o, y·s − p + i·d, x·s − p + j·d].
 * x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw]; Hout = (H − 1)s − 2p + d(kh − 1) + outputPadding + 1.
 * outputPadding only adds rows at the bottom/right, resolving the ⌊·⌋ in conv2d's output size.
 */
export function convTranspose2d(x: NdArray, w: NdArray, bias?: NdArray, opts: ConvTranspose2dOptions = {}): NdArray {
  const [sh, sw] = pair(opts.stride ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [dh, dw] = pair(opts.dilation ?? 1);
  const [oph, opw] = pair(opts.outputPadding ?? 0);
  const groups = opts.groups ?? 1;
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new ShapeError("convTranspose2d", "x and w must be 4-D", x.shape, w.shape);
  const [n, cin, h, wd] = x.shape;
  const [cinW, coutG, kh, kw] = w.shape;
  if (cinW !== cin || cin % groups !== 0) {
    throw new ShapeError("convTranspose2d", `channels do not match with groups=${groups}`, x.shape, w.shape);
  }
  // PyTorch's rule: a larger output padding would add rows that no input could ever reach
  if (!(oph < sh || oph < dh) || !(opw < sw || opw < dw)) {
    throw new ShapeError("convTranspose2d", "outputPadding must be smaller than stride or dilation", [oph, opw], [sh, sw]);
  }
  const cout = coutG * groups;
  const cinG = cin / groups;
  checkBias(bias, cout, "convTranspose2d");
  const ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (ho < 1 || wo < 1) throw new ShapeError("convTranspose2d", "padding leaves an empty output", x.shape, w.shape);
  const W = (c: number, o: number, i: number, j: number) => w.data[((c * coutG + o) * kh + i) * kw + j];
  const out = NdArray.zeros([n, cout, ho, wo]);
  const at = (b: number, o: number, y: number, xx: number) => ((b * cout + o) * ho + y) * wo + xx;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < cout; o++) {
      for (let p = 0; p < ho * wo; p++) out.data[at(b, o, 0, 0) + p] = bias ? bias.data[o] : 0;
    }
    for (let c = 0; c < cin; c++) {
      const g = Math.floor(c / cinG);
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const v = x.data[((b * cin + c) * h + iy) * wd + ix];
          for (let o = 0; o < coutG; o++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const oy = iy * sh - ph + i * dh;
                const ox = ix * sw - pw + j * dw;
                if (oy >= 0 && oy < ho && ox >= 0 && ox < wo) out.data[at(b, g * coutG + o, oy, ox)] += v * W(c, o, i, j);
              }
            }
          }
        }
      }
    }
  }
  return out;
}
