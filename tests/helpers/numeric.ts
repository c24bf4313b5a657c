/**
 * Numeric test helpers: tolerance comparison with a useful failure message, central-difference
 * gradients, and seeded random arrays so every test sees the same numbers on every run.
 */
import { NdArray } from "../../engine/cpu.js";

/** Anything with numbers in it; an NdArray also lends its shape to the failure message. */
export type Numeric = ArrayLike<number> | NdArray;

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
}

export interface AllcloseResult {
  ok: boolean;
  /** Largest |actual − expected| over pairs that are both finite. */
  maxAbs: number;
  /** Largest |actual − expected| / |expected| over finite pairs with expected ≠ 0. */
  maxRel: number;
  /** The element furthest outside (or closest to leaving) the tolerance; -1 when empty or on a length mismatch. */
  worstIndex: number;
  message: string;
}

const valuesOf = (v: Numeric): ArrayLike<number> => (v instanceof NdArray ? v.data : v);

/** "[1, 0, 2]" for a flat index into `shape`, or "[5]" when no shape is known. */
function describeIndex(flat: number, shape: readonly number[] | undefined): string {
  if (!shape || shape.length === 0) return `[${flat}]`;
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}

/**
 * numpy.allclose: |a − e| ≤ atol + rtol·|e| elementwise. NaN matches only NaN and ±∞ matches
 * only the same infinity, so a kernel that overflows can never pass by accident.
 */
export function allclose(actual: Numeric, expected: Numeric, { rtol = 1e-5, atol = 1e-6 }: AllcloseOptions = {}): AllcloseResult {
  const a = valuesOf(actual);
  const e = valuesOf(expected);
  const shape = expected instanceof NdArray ? expected.shape : actual instanceof NdArray ? actual.shape : undefined;
  if (a.length !== e.length) {
    const message = `length mismatch: actual has ${a.length} values, expected ${e.length}`;
    return { ok: false, maxAbs: Infinity, maxRel: Infinity, worstIndex: -1, message };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let worstIndex = -1;
  let worstRatio = -1; // |a − e| / (atol + rtol|e|): above 1 means outside the tolerance
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], e[i]];
    let ratio: number;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      const same = Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
      ratio = same ? 0 : Infinity;
    } else {
      const diff = Math.abs(x - y);
      maxAbs = Math.max(maxAbs, diff);
      if (y !== 0) maxRel = Math.max(maxRel, diff / Math.abs(y));
      const tol = atol + rtol * Math.abs(y);
      ratio = tol > 0 ? diff / tol : diff > 0 ? Infinity : 0;
    }
    if (ratio > 1) bad++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  const ok = bad === 0;
  const tolText = `rtol=${rtol}, atol=${atol}`;
  let message = `allclose (${tolText}): ${a.length} values match; maxAbs=${maxAbs.toExponential(3)}, maxRel=${maxRel.toExponential(3)}`;
  if (!ok) {
    const w = worstIndex;
    message =
      `${bad} of ${a.length} values differ beyond ${tolText}; worst at ${describeIndex(w, shape)} (flat ${w}): ` +
      `actual ${a[w]}, expected ${e[w]}, |diff| ${Math.abs(a[w] - e[w])}; maxAbs=${maxAbs.toExponential(3)}, maxRel=${maxRel.toExponential(3)}`;
  }
  return { ok, maxAbs, maxRel, worstIndex, message };
}

/** Throws an Error carrying allclose's message (prefixed with `label`) when the arrays differ. */
export function expectAllclose(actual: Numeric, expected: Numeric, opts: AllcloseOptions = {}, label?: string): void {
  const r = allclose(actual, expected, opts);
  if (!r.ok) throw new Error(label ? `${label}: ${r.message}` : r.message);
}

/**
 * ∂f/∂x by central differences, (f(x + ε) − f(x − ε)) / 2ε, one element at a time. The error is
 * O(ε²) from truncation plus O(u/ε) from rounding (u ≈ 1e-16), so ε = 1e-6 gives about 1e-10
 * absolute error for well-scaled f. The inputs are not modified.
 */
export function numericGrad(f: (xs: NdArray[]) => number, xs: readonly NdArray[], eps = 1e-6): NdArray[] {
  const work = xs.map((x) => x.clone());
  return work.map((x) => {
    const g = NdArray.zeros(x.shape);
    for (let i = 0; i < x.size; i++) {
      const saved = x.data[i];
      x.data[i] = saved + eps;
      const up = f(work);
      x.data[i] = saved - eps;
      const down = f(work);
      x.data[i] = saved;
      g.data[i] = (up - down) / (2 * eps);
    }
    return g;
  });
}

/**
 * mulberry32: a 32-bit state advanced by a Weyl increment and scrambled by two multiply-xorshift
 * rounds. Tiny and plenty for test data (not for cryptography). Returns uniforms in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Uniform samples in [lo, hi), reproducible from `seed`. */
export function randArray(shape: readonly number[], seed: number, lo = 0, hi = 1): NdArray {
  const next = mulberry32(seed);
  const out = NdArray.zeros(shape);
  for (let i = 0; i < out.size; i++) out.data[i] = lo + (hi - lo) * next();
  return out;
}

/**
 * Standard normal samples by Box–Muller: with u1 ∈ (0, 1] and u2 ∈ [0, 1),
 * √(−2 ln u1)·cos(2π u2) is N(0, 1). (Using 1 − u for u1 keeps ln away from 0.)
 */
export function randnArray(shape: readonly number[], seed: number): NdArray {
  const next = mulberry32(seed);
  const out = NdArray.zeros(shape);
  for (let i = 0; i < out.size; i++) {
    const u1 = 1 - next();
    const u2 = next();
    out.data[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}
