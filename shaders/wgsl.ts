/**
 * The `wgsl` tag and literal formatting. Only things that are already WGSL (the branded `Wgsl`
 * type) or numbers (formatted as f32 literals here, in one place) may be interpolated, so pasting
 * an arbitrary JS value into a shader is a type error.
 */
declare const WGSL: unique symbol;
export type Wgsl = string & { readonly [WGSL]: true };

/** Marks a string as WGSL. Use only for text the caller built from WGSL pieces. */
export const raw = (s: string): Wgsl => s as Wgsl;

/** An f32 literal. WGSL has no NaN/Infinity literal, so those call helpers from HEADER. */
export function f32(x: number): Wgsl {
  if (Number.isNaN(x)) return raw("nan_f32()");
  if (!Number.isFinite(x)) return raw(x > 0 ? "inf_f32()" : "(-inf_f32())");
  if (Object.is(x, -0)) return raw("-0.0");
  // Math.fround: the literal must be representable, else WGSL rejects e.g. 3.4028235677973366e+38
  const v = Math.fround(x);
  if (!Number.isFinite(v)) return raw(v > 0 ? "inf_f32()" : "(-inf_f32())");
  const s = Number.isInteger(v) && Math.abs(v) < 1e15 ? v.toFixed(1) : String(v);
  return raw(v < 0 ? `(${s})` : s);
}

/** A u32 literal. */
export function u32(x: number): Wgsl {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new RangeError(`u32 literal out of range: ${x}`);
  return raw(`${x}u`);
}

/** An i32 literal. */
export function i32(x: number): Wgsl {
  if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) throw new RangeError(`i32 literal out of range: ${x}`);
  return raw(x < 0 ? `(${x}i)` : `${x}i`);
}

/** Template tag: numbers become f32 literals, Wgsl fragments are pasted as they are. */
export function wgsl(strings: TemplateStringsArray, ...parts: (Wgsl | number)[]): Wgsl {
  return raw(String.raw({ raw: strings }, ...parts.map((p) => (typeof p === "number" ? f32(p) : p))));
}

/**
 * Helpers every generated kernel may use. NaN and infinity come from bit patterns because WGSL has
 * no literals for them and rejects constant expressions that fold to them, so the bits come from
 * private variables, which are not constant expressions. NaN is tested on the bits: drivers may fold
 * `x != x` to false.
 */
export const HEADER: Wgsl = raw(/* wgsl */ `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_f32() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inf_f32() -> f32 { return bitcast<f32>(INF_BITS); }
fn isnan_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// sin/cos to ~1 ulp on every driver (WGSL only promises 2^-11 absolute, and SwiftShader uses it):
// x = k·π/2 + r with π/2 split in three parts (Cody–Waite), then minimax polynomials on |r| ≤ π/4.
fn sin_poly(r: f32) -> f32 { let z = r * r; return r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * (-1.9515295891e-4))); }
fn cos_poly(r: f32) -> f32 { let z = r * r; return 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5)); }
fn sin_quadrant(x: f32, shift: i32) -> f32 {
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.549789954891882e-8;
  let q = (i32(k) + shift) & 3;
  let v = select(sin_poly(r), cos_poly(r), (q & 1) == 1);
  return select(v, -v, q >= 2);
}
fn sin_acc(x: f32) -> f32 { return sin_quadrant(x, 0); }
fn cos_acc(x: f32) -> f32 { return sin_quadrant(x, 1); }
`);
