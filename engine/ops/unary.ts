/**
 * Unary primitives. Each declaration holds the WGSL fragment, the float64 reference and the
 * backward rule (in Tensor ops, so double backward works). Composites live in composite.ts.
 */
import { raw, wgsl } from "../../shaders/wgsl.js";
import { defineUnary } from "./define.js";
import { add, cmplt, div, mul, sub, where } from "./binary.js";

// Kahan's trick: (u - 1) * x / log(u) with u = e^x is accurate to a few ulps even for tiny x.
// Edge case: guards keep large |x| exact (u = inf) and x = 0 exact (u = 1).
const EXPM1 = (x: string) =>
  raw(`select(select((exp(${x}) - 1.0) * ${x} / log(exp(${x})), ${x}, exp(${x}) == 1.0), exp(${x}) - 1.0, abs(${x}) > 0.5)`);
const LOG1P = (x: string) =>
  raw(`select(select(log(1.0 + ${x}) * ${x} / ((1.0 + ${x}) - 1.0), ${x}, (1.0 + ${x}) == 1.0), log(1.0 + ${x}), abs(${x}) > 0.5)`);

const expm1Ref = (x: number) => Math.expm1(x);

export const neg = defineUnary({
  name: "neg",
  dtypes: ["f32", "i32"],
  wgsl: ([x]) => wgsl`(-${x!})`,
  cpu: (x) => -x,
  backward: ({ dout }) => [neg(dout)],
});

/** Identity with no gradient: the value flows, the graph stops (torch.Tensor.detach). */
export const detach = defineUnary({
  name: "detach",
  dtypes: ["f32", "i32", "u32"],
  wgsl: ([x]) => x!,
  cpu: (x) => x,
});

/** Dtype conversion (like Tensor.to(dtype)); only f32 → f32 carries a gradient. */
export const castF32 = defineUnary({
  name: "float",
  dtypes: ["f32", "i32", "u32"],
  outDtype: () => "f32",
  computeDtype: () => "f32",
  wgsl: ([x]) => x!,
  cpu: (x) => x,
});
export const castI32 = defineUnary({
  name: "int",
  dtypes: ["f32", "i32", "u32"],
  outDtype: () => "i32",
  computeDtype: () => "i32",
  wgsl: ([x]) => x!,
  cpu: (x) => Math.trunc(x),
});

export const exp = defineUnary({
  name: "exp",
  wgsl: ([x]) => wgsl`exp(${x!})`,
  cpu: Math.exp,
  // d e^x = e^x dx: reuse the output instead of recomputing it
  backward: ({ out, dout }) => [mul(dout, out)],
});

export const log = defineUnary({
  name: "log",
  domain: "positive",
  wgsl: ([x]) => wgsl`log(${x!})`,
  cpu: Math.log,
  backward: ({ inputs: [x], dout }) => [div(dout, x!)],
});

export const sqrt = defineUnary({
  name: "sqrt",
  domain: "positive",
  wgsl: ([x]) => wgsl`sqrt(${x!})`,
  cpu: Math.sqrt,
  // d √x = dx / (2√x)
  backward: ({ out, dout }) => [div(dout, mul(out, 2))],
});

export const rsqrt = defineUnary({
  name: "rsqrt",
  domain: "positive",
  wgsl: ([x]) => wgsl`inverseSqrt(${x!})`,
  cpu: (x) => 1 / Math.sqrt(x),
  // d x^{-1/2} = -½ x^{-3/2} dx = -½ out³ dx
  backward: ({ out, dout }) => [mul(dout, mul(mul(out, mul(out, out)), -0.5))],
});

export const recip = defineUnary({
  name: "recip",
  domain: "nonzero",
  wgsl: ([x]) => wgsl`(1.0 / ${x!})`,
  cpu: (x) => 1 / x,
  backward: ({ out, dout }) => [neg(mul(dout, mul(out, out)))],
});

export const abs = defineUnary({
  name: "abs",
  domain: "nonzero",
  dtypes: ["f32", "i32"],
  wgsl: ([x]) => wgsl`abs(${x!})`,
  cpu: Math.abs,
  backward: ({ inputs: [x], dout }) => [mul(dout, sign(x!))],
});

export const sign = defineUnary({
  name: "sign",
  dtypes: ["f32", "i32"],
  wgsl: ([x]) => wgsl`sign(${x!})`,
  cpu: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  backward: ({ dout }) => [mul(dout, 0)],
});

export const sin = defineUnary({
  name: "sin",
  wgsl: ([x]) => wgsl`sin_acc(${x!})`,
  cpu: Math.sin,
  edge: [-100, 100, 3.1415927, 1e-7],
  backward: ({ inputs: [x], dout }) => [mul(dout, cos(x!))],
});

export const cos = defineUnary({
  name: "cos",
  wgsl: ([x]) => wgsl`cos_acc(${x!})`,
  cpu: Math.cos,
  edge: [-100, 100, 1.5707964],
  backward: ({ inputs: [x], dout }) => [neg(mul(dout, sin(x!)))],
});

export const floor = defineUnary({
  name: "floor",
  domain: "nonzero",
  wgsl: ([x]) => wgsl`floor(${x!})`,
  cpu: Math.floor,
  backward: ({ dout }) => [mul(dout, 0)],
});

export const expm1 = defineUnary({
  name: "expm1",
  wgsl: ([x]) => EXPM1(x!),
  cpu: expm1Ref,
  edge: [-80, 80, 1e-7, -1e-7],
  backward: ({ out, dout }) => [mul(dout, add(out, 1))],
});

export const log1p = defineUnary({
  name: "log1p",
  domain: "positive",
  wgsl: ([x]) => LOG1P(x!),
  cpu: Math.log1p,
  edge: [1e-7, 80, 1e30],
  backward: ({ inputs: [x], dout }) => [div(dout, add(x!, 1))],
});

/**
 * tanh(x) = sign(x) · (−m) / (2 + m) with m = expm1(−2|x|) ∈ (−1, 0]: no overflow at any |x| and
 * full relative precision near 0 (the naive (e^{2x} − 1)/(e^{2x} + 1) is NaN past |x| ≈ 44).
 */
export const tanh = defineUnary({
  name: "tanh",
  wgsl: ([x]) => raw(`(sign(${x!}) * (-(${EXPM1(`(-2.0 * abs(${x!}))`)}) / (2.0 + ${EXPM1(`(-2.0 * abs(${x!}))`)})))`),
  cpu: Math.tanh,
  edge: [-80, 80, 1e-7],
  // d tanh = (1 − tanh²) dx
  backward: ({ out, dout }) => [mul(dout, sub(1, mul(out, out)))],
});

/**
 * erf(x) by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), odd-extended. Used by the exact GELU.
 */
export const erf = defineUnary({
  name: "erf",
  wgsl: ([x]) =>
    raw(
      `(sign(${x!}) * (1.0 - (((((1.061405429 * (1.0 / (1.0 + 0.3275911 * abs(${x!}))) - 1.453152027) * (1.0 / (1.0 + 0.3275911 * abs(${x!}))) + 1.421413741) * (1.0 / (1.0 + 0.3275911 * abs(${x!}))) - 0.284496736) * (1.0 / (1.0 + 0.3275911 * abs(${x!}))) + 0.254829592) * (1.0 / (1.0 + 0.3275911 * abs(${x!})))) * exp(-(${x!}) * (${x!}))))`,
    ),
  cpu: erfRef,
  tol: 1e-4,
  edge: [-80, 80],
  // d erf = 2/√π e^{−x²} dx
  backward: ({ inputs: [x], dout }) => [mul(dout, mul(exp(neg(mul(x!, x!))), 2 / Math.sqrt(Math.PI)))],
});

/** float64 erf via its Maclaurin series / continued fraction (independent of the WGSL form). */
function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Σ (−1)^n x^{2n+1} / (n! (2n+1)), converges fast for |x| < 2.5
    let term = ax, s = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      s += term / (2 * n + 1);
    }
    return Math.sign(x) * s * (2 / Math.sqrt(Math.PI));
  }
  // erfc continued fraction (Lentz), accurate for large |x|
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export { where, cmplt };
