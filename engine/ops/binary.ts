/** Binary and ternary elementwise primitives (broadcasting is done before they see operands). */
import { raw, wgsl } from "../../shaders/wgsl.js";
import type { DType } from "../tensor.js";
import { defineBinary, defineTernary } from "./define.js";
import { log, neg } from "./unary.js";

const ALL: DType[] = ["f32", "i32", "u32"];
const bool = (): DType => "u32";

export const add = defineBinary({
  name: "add",
  dtypes: ALL,
  wgsl: ([a, b]) => wgsl`(${a!} + ${b!})`,
  cpu: (a, b) => a + b,
  backward: ({ dout }) => [dout, dout],
});

export const sub = defineBinary({
  name: "sub",
  dtypes: ALL,
  wgsl: ([a, b]) => wgsl`(${a!} - ${b!})`,
  cpu: (a, b) => a - b,
  backward: ({ dout }) => [dout, neg(dout)],
});

export const mul = defineBinary({
  name: "mul",
  dtypes: ALL,
  wgsl: ([a, b]) => wgsl`(${a!} * ${b!})`,
  cpu: (a, b) => a * b,
  backward: ({ inputs: [a, b], dout }) => [mul(dout, b!), mul(dout, a!)],
});

export const div = defineBinary({
  name: "div",
  domain: "nonzero",
  wgsl: ([a, b]) => wgsl`(${a!} / ${b!})`,
  cpu: (a, b) => a / b,
  // d(a/b) = da/b − a db/b²
  backward: ({ inputs: [a, b], dout }) => [div(dout, b!), neg(div(mul(dout, a!), mul(b!, b!)))],
});

/**
 * a^b with PyTorch's conventions: a negative base with an integral exponent keeps its sign
 * rule, 0^0 = 1. WGSL's pow is undefined for a < 0 and gives NaN for 0^0.
 */
export const pow = defineBinary({
  name: "pow",
  domain: "positive",
  wgsl: ([a, b]) =>
    raw(
      `select(select(pow(abs(${a!}), ${b!}) * select(1.0, -1.0, (${a!} < 0.0) && (abs(${b!}) % 2.0 == 1.0)), nan_f32(), (${a!} < 0.0) && (fract(${b!}) != 0.0)), 1.0, ${b!} == 0.0)`,
    ),
  cpu: (a, b) => Math.pow(a, b),
  tol: 1e-4,
  backward: ({ inputs: [a, b], out, dout }) => [
    // d a^b / da = b a^{b−1}; d a^b / db = a^b ln a (defined for a > 0 only)
    mul(dout, mul(b!, pow(a!, sub(b!, 1)))),
    where(cmplt(0, a!), mul(dout, mul(out, log(where(cmplt(0, a!), a!, 1)))), 0),
  ],
});

/** Elementwise maximum; NaN propagates (WGSL's max does not promise that). Ties split the gradient. */
export const maximum = defineBinary({
  name: "maximum",
  dtypes: ALL,
  wgsl: ([a, b], out) => (out.dtype === "f32" ? raw(`select(max(${a!}, ${b!}), ${a!} + ${b!}, isnan_f32(${a!}) || isnan_f32(${b!}))`) : wgsl`max(${a!}, ${b!})`),
  cpu: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  backward: ({ inputs: [a, b], dout }) => {
    const wa = where(cmplt(b!, a!), 1, where(eq(a!, b!), 0.5, 0));
    return [mul(dout, wa), mul(dout, sub(1, wa))];
  },
});

export const minimum = defineBinary({
  name: "minimum",
  dtypes: ALL,
  wgsl: ([a, b], out) => (out.dtype === "f32" ? raw(`select(min(${a!}, ${b!}), ${a!} + ${b!}, isnan_f32(${a!}) || isnan_f32(${b!}))`) : wgsl`min(${a!}, ${b!})`),
  cpu: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  backward: ({ inputs: [a, b], dout }) => {
    const wa = where(cmplt(a!, b!), 1, where(eq(a!, b!), 0.5, 0));
    return [mul(dout, wa), mul(dout, sub(1, wa))];
  },
});

// Comparisons give u32 masks (0 or 1), like PyTorch's bool tensors. They have no gradient.
const cmp = (name: string, op: string, ref: (a: number, b: number) => boolean) =>
  defineBinary({
    name,
    dtypes: ALL,
    differentiable: false,
    outDtype: bool,
    computeDtype: (ins) => (ins.includes("f32") ? "f32" : ins.includes("i32") ? "i32" : "u32"),
    wgsl: ([a, b]) => raw(`select(0u, 1u, ${a!} ${op} ${b!})`),
    cpu: (a, b) => (ref(a, b) ? 1 : 0),
  });

export const cmplt = cmp("cmplt", "<", (a, b) => a < b);
export const cmple = cmp("cmple", "<=", (a, b) => a <= b);
export const eq = cmp("eq", "==", (a, b) => a === b);
export const ne = cmp("ne", "!=", (a, b) => a !== b);

/** where(cond, a, b): a where cond ≠ 0, else b. Gradients flow only to the chosen branch. */
export const where = defineTernary({
  name: "where",
  dtypes: ALL,
  outDtype: (ins) => (ins[1] === "f32" || ins[2] === "f32" ? "f32" : ins[1] === "i32" || ins[2] === "i32" ? "i32" : "u32"),
  argDtypes: (ins) => [ins[0]!, ...[ins[1]!, ins[2]!].map(() => (ins[1] === "f32" || ins[2] === "f32" ? "f32" : ins[1] === "i32" || ins[2] === "i32" ? "i32" : "u32"))] as DType[],
  wgsl: ([c, a, b], out) => raw(`select(${b!}, ${a!}, ${c!} != ${out.inputs[0]!.dtype === "f32" ? "0.0" : out.inputs[0]!.dtype === "i32" ? "0i" : "0u"})`),
  cpu: (c, a, b) => (c !== 0 ? a : b),
  backward: ({ inputs: [c], dout }) => [null, where(c!, dout, 0), where(c!, 0, dout)],
});
