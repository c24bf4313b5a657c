/**
 * Tensor methods: thin delegations to the op functions, attached to the prototype here so that
 * tensor.ts does not import every op (and the ops can import Tensor).
 */
import { DTypeError } from "./errors.js";
import { realize } from "./realize.js";
import { readback } from "./dispatch.js";
import { numel } from "./shape.js";
import { Tensor, type DType } from "./tensor.js";
import { backward } from "./autograd.js";
import { add, cmplt, cmple, div, eq, maximum, minimum, mul, ne, pow, sub, where } from "./ops/binary.js";
import * as U from "./ops/unary.js";
import * as C from "./ops/composite.js";
import * as R from "./ops/reduce.js";
import * as V from "./ops/view.js";
import { matmul } from "./ops/matmul.js";
import { logSoftmax, softmax } from "./ops/softmax.js";
import { gather, indexSelect } from "./ops/gather.js";
import type { Operand } from "./ops/define.js";
import type { SliceSpec } from "./ops/view.js";
import type { ReduceOptions } from "./ops/reduce.js";

type Axes = number | readonly number[];
type Nested = number | Nested[];

declare module "./tensor.js" {
  interface Tensor {
    add(o: Operand): Tensor;
    sub(o: Operand): Tensor;
    mul(o: Operand): Tensor;
    div(o: Operand): Tensor;
    pow(o: Operand): Tensor;
    maximum(o: Operand): Tensor;
    minimum(o: Operand): Tensor;
    lt(o: Operand): Tensor;
    le(o: Operand): Tensor;
    gt(o: Operand): Tensor;
    ge(o: Operand): Tensor;
    eq(o: Operand): Tensor;
    ne(o: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    recip(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    square(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    softplus(): Tensor;
    clamp(lo?: Operand, hi?: Operand): Tensor;
    sum(axis?: Axes, opts?: ReduceOptions): Tensor;
    mean(axis?: Axes, opts?: ReduceOptions): Tensor;
    amax(axis?: Axes, opts?: ReduceOptions): Tensor;
    amin(axis?: Axes, opts?: ReduceOptions): Tensor;
    argmax(axis?: number, opts?: ReduceOptions): Tensor;
    var(axis?: Axes, opts?: ReduceOptions & { correction?: number }): Tensor;
    logsumexp(axis?: Axes, opts?: ReduceOptions): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    matmul(o: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(perm: readonly number[]): Tensor;
    transpose(d0?: number, d1?: number): Tensor;
    readonly T: Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(spec: readonly SliceSpec[]): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    pad(pads: readonly (readonly [number, number])[], value?: number): Tensor;
    squeeze(dim?: Axes): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(start?: number, end?: number): Tensor;
    chunk(n: number, axis?: number): Tensor[];
    split(size: number | readonly number[], axis?: number): Tensor[];
    gather(axis: number, index: Tensor): Tensor;
    indexSelect(axis: number, index: Tensor): Tensor;
    where(cond: Tensor, other: Operand): Tensor;
    detach(): Tensor;
    float(): Tensor;
    int(): Tensor;
    /** Marks this tensor as a trainable leaf. */
    requiresGrad_(on?: boolean): Tensor;
    backward(seed?: Tensor): void;
    realize(): Promise<Tensor>;
    /** Flat row-major copy of the values. */
    toArray(): Promise<Float32Array | Int32Array | Uint32Array>;
    item(): Promise<number>;
    toNested(): Promise<Nested>;
  }
}

const P = Tensor.prototype;
Object.assign(P, {
  add(this: Tensor, o: Operand) { return add(this, o); },
  sub(this: Tensor, o: Operand) { return sub(this, o); },
  mul(this: Tensor, o: Operand) { return mul(this, o); },
  div(this: Tensor, o: Operand) { return div(this, o); },
  pow(this: Tensor, o: Operand) { return pow(this, o); },
  maximum(this: Tensor, o: Operand) { return maximum(this, o); },
  minimum(this: Tensor, o: Operand) { return minimum(this, o); },
  lt(this: Tensor, o: Operand) { return cmplt(this, o); },
  le(this: Tensor, o: Operand) { return cmple(this, o); },
  gt(this: Tensor, o: Operand) { return cmplt(o, this); },
  ge(this: Tensor, o: Operand) { return cmple(o, this); },
  eq(this: Tensor, o: Operand) { return eq(this, o); },
  ne(this: Tensor, o: Operand) { return ne(this, o); },
  neg(this: Tensor) { return U.neg(this); },
  exp(this: Tensor) { return U.exp(this); },
  log(this: Tensor) { return U.log(this); },
  sqrt(this: Tensor) { return U.sqrt(this); },
  rsqrt(this: Tensor) { return U.rsqrt(this); },
  recip(this: Tensor) { return U.recip(this); },
  abs(this: Tensor) { return U.abs(this); },
  sign(this: Tensor) { return U.sign(this); },
  sin(this: Tensor) { return U.sin(this); },
  cos(this: Tensor) { return U.cos(this); },
  tanh(this: Tensor) { return U.tanh(this); },
  log1p(this: Tensor) { return U.log1p(this); },
  expm1(this: Tensor) { return U.expm1(this); },
  square(this: Tensor) { return C.square(this); },
  relu(this: Tensor) { return C.relu(this); },
  sigmoid(this: Tensor) { return C.sigmoid(this); },
  softplus(this: Tensor) { return C.softplus(this); },
  clamp(this: Tensor, lo?: Operand, hi?: Operand) { return C.clamp(this, lo, hi); },
  sum(this: Tensor, axis?: Axes, opts?: ReduceOptions) { return R.sum(this, axis, opts); },
  mean(this: Tensor, axis?: Axes, opts?: ReduceOptions) { return R.mean(this, axis, opts); },
  amax(this: Tensor, axis?: Axes, opts?: ReduceOptions) { return R.amax(this, axis, opts); },
  amin(this: Tensor, axis?: Axes, opts?: ReduceOptions) { return R.amin(this, axis, opts); },
  argmax(this: Tensor, axis?: number, opts?: ReduceOptions) { return R.argmax(this, axis, opts); },
  var(this: Tensor, axis?: Axes, opts?: ReduceOptions & { correction?: number }) { return R.variance(this, axis, opts); },
  logsumexp(this: Tensor, axis?: Axes, opts?: ReduceOptions) { return R.logsumexp(this, axis, opts); },
  softmax(this: Tensor, axis = -1) { return softmax(this, axis); },
  logSoftmax(this: Tensor, axis = -1) { return logSoftmax(this, axis); },
  matmul(this: Tensor, o: Tensor) { return matmul(this, o); },
  reshape(this: Tensor, s: readonly number[]) { return V.reshape(this, s); },
  permute(this: Tensor, p: readonly number[]) { return V.permute(this, p); },
  transpose(this: Tensor, a = -2, b = -1) { return V.transpose(this, a, b); },
  expand(this: Tensor, s: readonly number[]) { return V.expand(this, s); },
  slice(this: Tensor, spec: readonly SliceSpec[]) { return V.slice(this, spec); },
  narrow(this: Tensor, d: number, s: number, l: number) { return V.narrow(this, d, s, l); },
  pad(this: Tensor, p: readonly (readonly [number, number])[], v = 0) { return V.pad(this, p, v); },
  squeeze(this: Tensor, d?: Axes) { return V.squeeze(this, d); },
  unsqueeze(this: Tensor, d: number) { return V.unsqueeze(this, d); },
  flatten(this: Tensor, a = 0, b = -1) { return V.flatten(this, a, b); },
  chunk(this: Tensor, n: number, axis = 0) { return C.chunk(this, n, axis); },
  split(this: Tensor, s: number | readonly number[], axis = 0) { return C.split(this, s, axis); },
  gather(this: Tensor, axis: number, index: Tensor) { return gather(this, axis, index); },
  indexSelect(this: Tensor, axis: number, index: Tensor) { return indexSelect(this, axis, index); },
  where(this: Tensor, cond: Tensor, other: Operand) { return where(cond, this, other); },
  detach(this: Tensor) { return U.detach(this); },
  float(this: Tensor) { return this.dtype === "f32" ? this : U.castF32(this); },
  int(this: Tensor) { return this.dtype === "i32" ? this : U.castI32(this); },
  requiresGrad_(this: Tensor, on = true) {
    if (on && this.dtype !== "f32") throw new DTypeError("requiresGrad_", "f32", this.dtype);
    this.requiresGrad = on;
    return this;
  },
  backward(this: Tensor, seed?: Tensor) { backward(this, seed); },
  async realize(this: Tensor) {
    await realize(this);
    return this;
  },
  async toArray(this: Tensor) {
    await realize(this);
    const n = numel(this.shape);
    const bytes = await readback(this.device, this.buffer!, Math.max(4, n * 4));
    const Arr = ARR[this.dtype];
    return new Arr(bytes, 0, n);
  },
  async item(this: Tensor) {
    if (this.size !== 1) throw new DTypeError("item", "a tensor with one element", `shape [${this.shape.join(", ")}]`);
    return (await this.toArray())[0]!;
  },
  async toNested(this: Tensor) {
    const flat = await this.toArray();
    const build = (d: number, off: number): Nested => {
      if (d === this.rank) return flat[off]!;
      const step = numel(this.shape.slice(d + 1));
      return Array.from({ length: this.shape[d]! }, (_, i) => build(d + 1, off + i * step));
    };
    return build(0, 0);
  },
});
Object.defineProperty(P, "T", {
  get(this: Tensor) {
    return V.transpose(this);
  },
});

const ARR: Record<DType, Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor> = { f32: Float32Array, i32: Int32Array, u32: Uint32Array };
