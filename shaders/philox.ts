/**
 * Philox4x32-10 in WGSL, bit-identical to engine/random.ts (see there for the counter scheme and
 * the uniform/normal formulas). PHILOX_WGSL is module-scope code without bindings: paste it into a
 * kernel's `prelude` and call
 *
 *   philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32>
 *   rng_uniform(key, idx, stream) -> f32          in [2^-24, 1 − 2^-24]
 *   rng_normal(key, idx, stream) -> f32           Box–Muller, |z| ≤ 5.77
 *   rng_bernoulli(key, idx, stream, p: f32) -> f32      1.0 with probability p, else 0.0
 *   rng_randint(key, idx, stream, lo: i32, hi: i32) -> i32   in [lo, hi)
 *
 * rng_normal uses its own ln and cos (rng_ln_unit, rng_cos_2pi) built from +, ×, ÷ and bit tricks:
 * WGSL only bounds the built-ins' *absolute* error (2^-21 for log near 1, 2^-11 for cos), and the
 * drivers use that freedom — lavapipe's log(1 − 2^-24) is 70% off, SwiftShader's cos 2e-4 off —
 * which put z off by ~1e-4. With our own, z agrees with the float64 CPU value to ~4e-7 on both.
 *
 * Edge case: WGSL has no 64-bit integers, so the high word of the 32×32-bit product is assembled
 * from 16-bit halves. All wrapping arithmetic (low product, key bumps) happens on runtime values:
 * WGSL rejects a *constant* expression that overflows u32, so every constant below is a plain
 * literal and nothing constant is ever added to or multiplied with another constant.
 */
import { PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1 } from "../engine/random.js";
import { f32, raw, u32, wgsl, type Wgsl } from "./wgsl.js";

const ROUNDS = 10;

/** 16-bit halves of the multipliers, so mulhi needs no shifts or masks of the constant side. */
const half = (m: number) => ({ hi: u32(m >>> 16), lo: u32(m & 0xffff) });

/** One `c = philox_round(c, k); k = k + W;` step per round; the key is not bumped after the last. */
const rounds = (): Wgsl =>
  raw(
    Array.from({ length: ROUNDS }, (_, r) =>
      r < ROUNDS - 1 ? `  c = philox_round(c, k);\n  k = k + philox_weyl;` : `  c = philox_round(c, k);`,
    ).join("\n"),
  );

/** Horner form c0 + x·(c1 + x·(c2 + …)) of a polynomial in the WGSL variable `x`. */
const horner = (x: Wgsl, coeffs: readonly number[]): Wgsl =>
  coeffs.slice(0, -1).reduceRight<Wgsl>((acc, c) => wgsl`(${c} + ${x} * ${acc})`, f32(coeffs[coeffs.length - 1]!));

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
/** atanh series without its leading term: 1/3, 1/5, 1/7, 1/9 (in powers of s²). */
const LN_SERIES = [1 / 3, 1 / 5, 1 / 7, 1 / 9];
/** cos x = Σ (−1)^k x^{2k} / (2k)!, k = 0..5, in powers of x². */
const COS_SERIES = Array.from({ length: 6 }, (_, k) => (-1) ** k / factorial(2 * k));
/** sin x / x = Σ (−1)^k x^{2k} / (2k+1)!, k = 0..4, in powers of x². */
const SIN_SERIES = Array.from({ length: 5 }, (_, k) => (-1) ** k / factorial(2 * k + 1));

const m0 = half(PHILOX_M0);
const m1 = half(PHILOX_M1);

export const PHILOX_WGSL: Wgsl = wgsl/* wgsl */ `
// high word of the 64-bit product (ah·2^16 + al)·b, with b split into 16-bit halves:
// a·b = ah·bh·2^32 + (ah·bl + al·bh)·2^16 + al·bl; each partial product fits in a u32 and the
// middle column (< 3·2^16) carries into the high word.
fn philox_mulhi(ah: u32, al: u32, b: u32) -> u32 {
  let bh = b >> 16u;
  let bl = b & 0xffffu;
  let hl = ah * bl;
  let lh = al * bh;
  let mid = ((al * bl) >> 16u) + (hl & 0xffffu) + (lh & 0xffffu);
  return ah * bh + (hl >> 16u) + (lh >> 16u) + (mid >> 16u);
}

// one Philox round: (hi0, lo0) = M0·c0, (hi1, lo1) = M1·c2, c ← [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0];
// the low products use u32 multiplication, which wraps (is mod 2^32) at runtime
fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let hi0 = philox_mulhi(${m0.hi}, ${m0.lo}, c.x);
  let hi1 = philox_mulhi(${m1.hi}, ${m1.lo}, c.z);
  return vec4<u32>(hi1 ^ c.y ^ k.x, ${u32(PHILOX_M1)} * c.z, hi0 ^ c.w ^ k.y, ${u32(PHILOX_M0)} * c.x);
}

// Philox4x32-10 (Salmon et al. 2011); the key advances by the Weyl increments between rounds
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  let philox_weyl = vec2<u32>(${u32(PHILOX_W0)}, ${u32(PHILOX_W1)});
  var c = ctr;
  var k = key;
${rounds()}
  return c;
}

// ln u for a normal f32 u in (0, 1], relative error ~1e-7 even as u → 1, where it matters:
// Box–Muller divides the error of ln u0 by sqrt(-2 ln u0). With u = 2^e·m, m ∈ [√½, √2) and
// f = m − 1 (exact, Sterbenz): ln m = 2 atanh(s) = 2s + 2s·(s²/3 + s⁴/5 + …), s = f / (2 + f),
// |s| ≤ 0.172, so the series to s⁸/9 leaves < 1e-9 relative.
fn rng_ln_unit(u: f32) -> f32 {
  let bits = bitcast<u32>(u);
  let m1 = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
  let big = m1 > ${f32(Math.SQRT2)};
  let m = select(m1, m1 * 0.5, big);
  let e = i32(bits >> 23u) - 127 + select(0, 1, big);
  let f = m - 1.0;
  let s = f / (2.0 + f);
  let s2 = s * s;
  let p = s2 * ${horner(raw("s2"), LN_SERIES)};
  return f32(e) * ${f32(Math.LN2)} + (2.0 * s + 2.0 * s * p);
}

// cos(2π u) for u ∈ [0, 1], reduced in turns with exact subtractions (Sterbenz) so that only
// the final polynomial rounds: cos(2π(1 − u)) = cos(2πu); cos(2π(½ − a)) = −cos(2πa);
// cos(2πb) = sin(2π(¼ − b)); then |x| ≤ π/4 and Taylor to x¹⁰ (cos) / x⁹ (sin) errs < 3e-9.
fn rng_cos_2pi(u: f32) -> f32 {
  let a = min(u, 1.0 - u);
  let flip = a > 0.25;
  let b = select(a, 0.5 - a, flip);
  let use_sin = b > 0.125;
  let x = ${f32(2 * Math.PI)} * select(b, 0.25 - b, use_sin);
  let x2 = x * x;
  let c = ${horner(raw("x2"), COS_SERIES)};
  let sn = x * ${horner(raw("x2"), SIN_SERIES)};
  let r = select(c, sn, use_sin);
  return select(r, -r, flip);
}

// (k + 1/2)·2^-23 for the top 23 bits k of w: every step is exact in f32, result in (0, 1)
fn rng_u01(w: u32) -> f32 {
  return (f32(w >> 9u) + 0.5) * ${f32(2 ** -23)};
}

fn rng_uniform(key: vec2<u32>, idx: u32, stream: u32) -> f32 {
  return rng_u01(philox4x32_10(vec4<u32>(idx, stream, 0u, 0u), key).x);
}

// Box–Muller: sqrt(-2 ln u0)·cos(2π u1), with our own ln and cos (see rng_ln_unit, rng_cos_2pi)
fn rng_normal(key: vec2<u32>, idx: u32, stream: u32) -> f32 {
  let w = philox4x32_10(vec4<u32>(idx, stream, 0u, 0u), key);
  return sqrt(-2.0 * rng_ln_unit(rng_u01(w.x))) * rng_cos_2pi(rng_u01(w.y));
}

fn rng_bernoulli(key: vec2<u32>, idx: u32, stream: u32, p: f32) -> f32 {
  return select(0.0, 1.0, rng_uniform(key, idx, stream) < p);
}

// lo + min(floor(u·n), n - 1) with n = hi - lo; the clamp catches u·n rounding up to n in f32
fn rng_randint(key: vec2<u32>, idx: u32, stream: u32, lo: i32, hi: i32) -> i32 {
  let n = hi - lo;
  let j = i32(floor(rng_uniform(key, idx, stream) * f32(n)));
  return lo + min(j, n - 1);
}
`;
