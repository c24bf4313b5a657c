/** Node construction shared by every op: device, grad tracking, source tensors. */
import { currentDevice, type Device } from "../device.js";
import { upload } from "../dispatch.js";
import { DTypeError, ShapeError } from "../errors.js";
import { numel } from "../shape.js";
import { DTYPE_BYTES, isGradEnabled, Tensor, type DType } from "../tensor.js";
import type { OpDef, SourceDef } from "./op.js";

export const BUFFER: SourceDef = { name: "tensor", kind: "source", source: "buffer" };
export const CONST: SourceDef = { name: "full", kind: "source", source: "const" };
export const IOTA: SourceDef = { name: "iota", kind: "source", source: "iota" };
export const RAND: SourceDef = { name: "rand", kind: "source", source: "rand" };

export function makeNode(op: OpDef, inputs: readonly Tensor[], shape: readonly number[], dtype: DType, attrs: Record<string, unknown>, device?: Device): Tensor {
  const dev = device ?? inputs[0]?.device ?? currentDevice();
  for (const x of inputs) {
    if (x.device !== dev) throw new ShapeError(op.name, "inputs live on different devices");
    if (x.isDisposed) x.buffer; // throws DisposedError with a useful message
  }
  const rg = isGradEnabled() && op.backward !== undefined && inputs.some((x) => x.requiresGrad);
  return new Tensor(op, inputs, shape, dtype, attrs, rg, dev);
}

export type TypedData = Float32Array | Int32Array | Uint32Array;
const ARRAY: Record<DType, new (n: number | ArrayLike<number>) => TypedData> = { f32: Float32Array, i32: Int32Array, u32: Uint32Array };

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  device?: Device;
  name?: string;
}

type Nested = number | readonly Nested[];
function flattenNested(data: Nested, shape: number[], out: number[], depth = 0, leaf: { depth?: number } = {}): void {
  if (typeof data === "number") {
    leaf.depth ??= depth;
    if (depth !== leaf.depth) throw new ShapeError("tensor", "ragged nested array");
    out.push(data);
    return;
  }
  if (leaf.depth !== undefined && depth >= leaf.depth) throw new ShapeError("tensor", "ragged nested array");
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new ShapeError("tensor", `ragged nested array at depth ${depth}: expected length ${shape[depth]}, got ${data.length}`);
  for (const d of data) flattenNested(d, shape, out, depth + 1, leaf);
}

/**
 * Creates a tensor from data (uploaded now). `data` may be nested arrays, a flat array or typed
 * array with `shape`, or a number (a scalar).
 * @example tensor([[1, 2], [3, 4]]); tensor(new Float32Array(6), [2, 3]);
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let s: number[];
  if (typeof data === "number") ((flat = [data]), (s = []));
  else if (ArrayBuffer.isView(data) || (shape && Array.isArray(data) && data.every((v) => typeof v === "number"))) {
    flat = data as ArrayLike<number>;
    s = shape ? [...shape] : [flat.length];
  } else {
    const out: number[] = [];
    s = [];
    flattenNested(data as Nested, s, out);
    flat = out;
  }
  if (shape && numel(shape) !== flat.length) throw new ShapeError("tensor", `${flat.length} values do not fill the shape`, shape);
  if (shape) s = [...shape];
  const dtype = opts.dtype ?? (data instanceof Int32Array ? "i32" : data instanceof Uint32Array ? "u32" : "f32");
  const arr = flat instanceof ARRAY[dtype] ? (flat as TypedData) : new ARRAY[dtype](flat);
  return fromTyped(arr, s, dtype, opts);
}

export function fromTyped(arr: TypedData, shape: readonly number[], dtype: DType, opts: CreateOptions = {}): Tensor {
  const dev = opts.device ?? currentDevice();
  if (arr.length !== numel(shape)) throw new ShapeError("tensor", `${arr.length} values do not fill the shape`, shape);
  const t = new Tensor(BUFFER, [], [...shape], dtype, {}, opts.requiresGrad ?? false, dev);
  if (opts.name) t.name = opts.name;
  t.setBuffer(upload(dev, arr.length ? arr : new ARRAY[dtype](1), `${opts.name ?? "tensor"}[${shape.join(",")}]`));
  return t;
}

/** Bytes per element (all dtypes are 32-bit for now). */
export const bytesOf = (t: Tensor) => numel(t.shape) * DTYPE_BYTES[t.dtype];

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? "f32";
  if (dtype !== "f32" && !Number.isInteger(value)) throw new DTypeError("full", `an integer value for ${dtype}`, String(value));
  const t = new Tensor(CONST, [], [...shape], dtype, { value }, opts.requiresGrad ?? false, opts.device ?? currentDevice());
  if (opts.name) t.name = opts.name;
  return t;
}

export { ARRAY as TYPED_ARRAY };
