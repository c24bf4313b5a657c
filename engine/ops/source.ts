/**
 * Creation ops that need no upload: constants, ranges and counter-based random draws. All are
 * leaves that fuse into whatever kernel reads them (a random tensor costs no memory until used).
 */
import { ShapeError } from "../errors.js";
import { Rng, seedToKey } from "../random.js";
import { currentDevice } from "../device.js";
import { Tensor } from "../tensor.js";
import { activeTrace, type RngSlot } from "../trace.js";
import { add, cmplt, eq, mul } from "./binary.js";
import { castF32, castI32, floor } from "./unary.js";
import { full, IOTA, makeNode, RAND, type CreateOptions } from "./node.js";
import { reshape } from "./view.js";
import { minimum } from "./binary.js";

export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts);
export const zerosLike = (t: Tensor) => full(t.shape, 0, { dtype: t.dtype, device: t.device });
export const onesLike = (t: Tensor) => full(t.shape, 1, { dtype: t.dtype, device: t.device });
export const fullLike = (t: Tensor, v: number) => full(t.shape, v, { dtype: t.dtype, device: t.device });

/** Values start, start+step, … < end (like torch.arange). f32 unless `dtype` says otherwise. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ShapeError("arange", "step must be nonzero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dev = opts.device ?? currentDevice();
  const i = makeNode(IOTA, [], [n], "f32", {}, dev);
  const v = start === 0 && step === 1 ? i : add(mul(i, step), start);
  return opts.dtype === "i32" ? castI32(v) : v;
}

/** n evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, n: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ShapeError("linspace", `n must be a non-negative integer, got ${n}`);
  const step = n > 1 ? (end - start) / (n - 1) : 0;
  return add(mul(arange(0, n, 1, opts), step), start);
}

/** Identity matrix n × m. */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  return castF32(eq(reshape(arange(0, n, 1, opts), [n, 1]), reshape(arange(0, m, 1, opts), [1, m])));
}

/** Where random draws come from: a seed (a fresh stream per call) or an Rng. */
export interface RandomOptions extends CreateOptions {
  seed?: number;
  rng?: Rng;
}

const defaultRng = { rng: new Rng(0x1a7e47) };
/** Reseeds the generator used when no seed or rng is given. */
export function manualSeed(seed: number): void {
  defaultRng.rng = new Rng(seed);
}

function draw(shape: readonly number[], dist: "uniform" | "normal", opts: RandomOptions): Tensor {
  let key: readonly [number, number], stream: number;
  if (opts.rng) ({ key, stream } = opts.rng.next());
  else if (opts.seed !== undefined) ((key = seedToKey(opts.seed)), (stream = 0));
  else ({ key, stream } = defaultRng.rng.next());
  const attrs: Record<string, unknown> = { key: [key[0], key[1]], stream, dist };
  const tr = activeTrace();
  if (tr && opts.seed === undefined) {
    // inside a compiled step: replays must draw fresh streams, in this same order
    const gen = opts.rng ?? defaultRng.rng;
    const slot: RngSlot = { key: [key[0], key[1]], stream, next: () => gen.next() };
    tr.rng.push(slot);
    attrs.slot = slot;
  }
  const t = makeNode(RAND, [], [...shape], "f32", attrs, opts.device);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform on (0, 1). The same seed gives the same values on every device and on the CPU. */
export const rand = (shape: readonly number[], opts: RandomOptions = {}) => draw(shape, "uniform", opts);
/** Standard normal (Box–Muller on Philox4x32-10). */
export const randn = (shape: readonly number[], opts: RandomOptions = {}) => draw(shape, "normal", opts);

/** Integers uniform in [lo, hi), as i32. */
export function randint(lo: number, hi: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) throw new ShapeError("randint", `needs integers lo < hi, got ${lo}, ${hi}`);
  return castI32(add(minimum(floor(mul(rand(shape, opts), hi - lo)), hi - lo - 1), lo));
}

/** 1 with probability p (a number or a tensor of probabilities), else 0; f32. */
export function bernoulli(p: number | Tensor, shape?: readonly number[], opts: RandomOptions = {}): Tensor {
  const s = shape ?? (p instanceof Tensor ? p.shape : []);
  return castF32(cmplt(rand(s, { device: p instanceof Tensor ? p.device : opts.device, ...opts }), p));
}
