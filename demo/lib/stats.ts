/** Small numeric helpers the page and the worker share (plain JS, float64). */

/**
 * Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximations (relative error
 * below 1.2e-9 on (0, 1)): a rational function of q = p − ½ in the central region
 * 0.02425 ≤ p ≤ 0.97575, and of √(−2 log p) in the tails.
 */
export function probit(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < lo) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - lo) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Fraction of `values` strictly below `x` (0 … 1); NaNs are ignored. */
export function fractionBelow(values: ArrayLike<number>, x: number): number {
  let below = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    n++;
    if (v < x) below++;
  }
  return n ? below / n : NaN;
}

/** Mean and (population) standard deviation of the finite values. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let s = 0, n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) (s += values[i]!), n++;
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) ss += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(ss / n) };
}

export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
}

/** `bins` equal-width bins over [lo, hi] (default: the range of the finite values). */
export function histogram(values: ArrayLike<number>, bins: number, range?: [number, number]): Histogram {
  let lo = Infinity, hi = -Infinity;
  if (range) [lo, hi] = range;
  else for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) (lo = Math.min(lo, values[i]!)), (hi = Math.max(hi, values[i]!));
  if (!(hi > lo)) (lo = Number.isFinite(lo) ? lo - 0.5 : 0), (hi = lo + 1);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]!++;
  }
  return { lo, hi, counts };
}
