/** Builders that turn one elementwise declaration into an OpDef and a user-facing function. */
import { DTypeError } from "../errors.js";
import { broadcastShapes } from "../shape.js";
import type { DType, Tensor } from "../tensor.js";
import { full, makeNode } from "./node.js";
import type { ElementwiseDef } from "./op.js";
import { expand } from "./view.js";

export const promote = (ds: readonly DType[]): DType => (ds.includes("f32") ? "f32" : ds.includes("i32") ? "i32" : "u32");

type Decl = Omit<ElementwiseDef, "kind" | "arity">;
export type Operand = Tensor | number;

function check(def: ElementwiseDef, xs: readonly Tensor[]): void {
  const ok = def.dtypes ?? ["f32"];
  for (const x of xs) if (!ok.includes(x.dtype)) throw new DTypeError(def.name, ok.join(" | "), x.dtype);
}

/** Turns numbers into constants of the other operands' dtype and broadcasts everything. */
function operands(name: string, xs: readonly Operand[], dtypeFrom = 0): Tensor[] {
  const ts = xs.filter((x): x is Tensor => typeof x !== "number");
  if (!ts.length) throw new DTypeError(name, "at least one tensor operand", "only numbers");
  // a number takes the dtype of the tensors it meets (where's condition does not count)
  const valued = xs.slice(dtypeFrom).filter((x): x is Tensor => typeof x !== "number");
  const dt = valued.length ? promote(valued.map((t) => t.dtype)) : "f32";
  const shape = broadcastShapes(name, ...ts.map((t) => t.shape));
  const dev = ts[0]!.device;
  return xs.map((x) => (typeof x === "number" ? full(shape, x, { dtype: Number.isInteger(x) ? dt : "f32", device: dev }) : expand(x, shape)));
}

export type UnaryFn = ((x: Tensor) => Tensor) & { readonly def: ElementwiseDef };
export type BinaryFn = ((a: Operand, b: Operand) => Tensor) & { readonly def: ElementwiseDef };
export type TernaryFn = ((a: Operand, b: Operand, c: Operand) => Tensor) & { readonly def: ElementwiseDef };

function apply(def: ElementwiseDef, xs: Tensor[], attrs: Record<string, unknown> = {}): Tensor {
  check(def, xs);
  const dts = xs.map((x) => x.dtype);
  const out = def.outDtype?.(dts) ?? promote(dts);
  return makeNode(def, xs, xs[0]!.shape, out, attrs);
}

export function defineUnary(d: Decl): UnaryFn {
  const def: ElementwiseDef = { ...d, kind: "elementwise", arity: 1 };
  return Object.assign((x: Tensor) => apply(def, [x]), { def });
}

export function defineBinary(d: Decl): BinaryFn {
  const def: ElementwiseDef = { ...d, kind: "elementwise", arity: 2 };
  return Object.assign((a: Operand, b: Operand) => apply(def, operands(def.name, [a, b])), { def });
}

export function defineTernary(d: Decl): TernaryFn {
  const def: ElementwiseDef = { ...d, kind: "elementwise", arity: 3 };
  return Object.assign((a: Operand, b: Operand, c: Operand) => apply(def, operands(def.name, [a, b, c], 1)), { def });
}
