/**
 * Expression codegen for fused regions. `value(t, idx)` returns a WGSL expression for element
 * `idx` (u32 coordinate expressions) of tensor `t`, inlining elementwise ops, views, constants,
 * random draws and gathers, and reading a storage binding at each boundary (a realized tensor or
 * another kernel's output). Shapes are baked into the source as constants; values that change
 * from call to call (constants, RNG keys) become uniform parameters, so one pipeline serves them all.
 */
import { raw, type Wgsl } from "../shaders/wgsl.js";
import { PHILOX_WGSL } from "../shaders/philox.js";
import type { ElemType, Scalar } from "../shaders/kernel.js";
import { stridesOf } from "./shape.js";
import type { DType, Tensor } from "./tensor.js";

export const wgslType = (d: DType): Scalar => d;

/** Converts an expression of dtype `from` to dtype `to`. */
export function convert(e: Wgsl, from: DType, to: DType): Wgsl {
  if (from === to) return e;
  return raw(`${to}(${e})`);
}

export interface Param {
  name: string;
  type: Scalar;
  /** The value, or a function giving it at each (re)play of a compiled step. */
  value: number | (() => number);
}

/** Linear (row-major) offset of coordinates in `shape`, folded with constants. */
export function linear(idx: readonly Wgsl[], shape: readonly number[]): Wgsl {
  const st = stridesOf(shape);
  const terms: string[] = [];
  idx.forEach((c, i) => {
    if (shape[i] === 1) return;
    terms.push(st[i] === 1 ? `${c}` : `${c} * ${st[i]}u`);
  });
  return raw(terms.length ? terms.join(" + ") : "0u");
}

export class FusedBuilder {
  /** Tensors read through storage bindings, in binding order. */
  readonly inputs: Tensor[] = [];
  readonly params: Param[] = [];
  readonly preludes = new Set<string>();
  #lines: string[] = [];
  #memo = new Map<string, Wgsl>();
  #n = 0;
  /** Tensors inside the fused region (for the storage-limit splitter). */
  readonly fused = new Set<Tensor>();
  /** Tensors whose value is given by an expression (a matmul accumulator in an epilogue). */
  readonly overrides = new Map<Tensor, Wgsl>();

  constructor(
    /** Whether `t` must be read from a binding rather than inlined. */
    private readonly isBoundary: (t: Tensor) => boolean,
    private readonly prefix = "in",
  ) {}

  inputName(t: Tensor): Wgsl {
    let i = this.inputs.indexOf(t);
    if (i < 0) {
      i = this.inputs.length;
      this.inputs.push(t);
    }
    return raw(`${this.prefix}${i}`);
  }
  /** Storage declarations for `defineKernel`'s inputs. */
  inputDecls(): Record<string, ElemType> {
    return Object.fromEntries(this.inputs.map((t, i) => [`${this.prefix}${i}`, wgslType(t.dtype)]));
  }

  param(value: number | (() => number), type: Scalar): Wgsl {
    const name = `q${this.params.length}`;
    this.params.push({ name, type, value });
    return raw(`params.${name}`);
  }

  let(e: Wgsl): Wgsl {
    const v = `v${this.#n++}`;
    this.#lines.push(`  let ${v} = ${e};`);
    return raw(v);
  }

  /**
   * Emits a helper function `fn name(args) -> T` whose body computes `body(args)`. Memoisation is
   * per function, since lets do not cross function boundaries.
   */
  fn(name: string, args: readonly [string, Scalar][], ret: Scalar, body: (args: Wgsl[]) => Wgsl): Wgsl {
    const saved = this.#lines;
    const savedMemo = this.#memo;
    this.#lines = [];
    this.#memo = new Map();
    const r = body(args.map(([n]) => raw(n)));
    const text = `fn ${name}(${args.map(([n, t]) => `${n}: ${t}`).join(", ")}) -> ${ret} {\n${this.#lines.join("\n")}\n  return ${r};\n}`;
    this.#lines = saved;
    this.#memo = savedMemo;
    this.preludes.add(text);
    return raw(name);
  }

  prelude(): Wgsl {
    return raw([...this.preludes].join("\n"));
  }

  /** Coordinates of linear index `i` in `shape` (as lets). */
  unravel(i: Wgsl, shape: readonly number[]): Wgsl[] {
    const st = stridesOf(shape);
    return shape.map((d, k) => {
      if (d === 1) return raw("0u");
      if (k === 0) return this.let(raw(`${i} / ${st[k]}u`));
      return this.let(raw(st[k] === 1 ? `${i} % ${d}u` : `(${i} / ${st[k]}u) % ${d}u`));
    });
  }

  /** The value of `t` at coordinates `idx`, as an expression of t.dtype. */
  value(t: Tensor, idx: readonly Wgsl[]): Wgsl {
    const key = `${t.id}|${idx.join(",")}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const v = this.#compute(t, idx);
    this.#memo.set(key, v);
    return v;
  }

  #compute(t: Tensor, idx: readonly Wgsl[]): Wgsl {
    const o = this.overrides.get(t);
    if (o) return o;
    if (this.isBoundary(t)) {
      return this.let(raw(`${this.inputName(t)}[${linear(idx, t.shape)}]`));
    }
    this.fused.add(t);
    const op = t.op;
    switch (op.kind) {
      case "source": {
        switch (op.source) {
          case "const":
            return this.param(t.attrs.value as number, wgslType(t.dtype));
          case "iota":
            return this.let(convert(linear(idx, t.shape), "u32", t.dtype));
          case "rand": {
            this.preludes.add(PHILOX_WGSL);
            // a draw from an Rng inside a compiled step is re-drawn at every replay (slot)
            const slot = t.attrs.slot as { key: [number, number]; stream: number } | undefined;
            const [k0, k1] = t.attrs.key as [number, number];
            const key = raw(
              `vec2<u32>(${this.param(slot ? () => slot.key[0] : k0, "u32")}, ${this.param(slot ? () => slot.key[1] : k1, "u32")})`,
            );
            const stream = this.param(slot ? () => slot.stream : (t.attrs.stream as number), "u32");
            const lin = linear(idx, t.shape);
            const dist = t.attrs.dist as "uniform" | "normal";
            return this.let(raw(dist === "normal" ? `rng_normal(${key}, ${lin}, ${stream})` : `rng_uniform(${key}, ${lin}, ${stream})`));
          }
          case "buffer":
            throw new Error(`tensor ${t.describe()} has no data (disposed or never uploaded) — latent bug`);
          default:
            return op.source satisfies never;
        }
      }
      case "elementwise": {
        const ins = t.inputs.map((x) => x.dtype);
        const cd = op.computeDtype?.(ins) ?? t.dtype;
        const ads = op.argDtypes?.(ins);
        const args = t.inputs.map((x, i) => convert(this.value(x, idx), x.dtype, ads?.[i] ?? cd));
        return this.let(op.wgsl(args, t));
      }
      case "view": {
        const m = op.mapIndex(idx, t);
        const inner = this.value(t.inputs[0]!, m.idx);
        if (!m.valid) return inner;
        const pad = this.param((t.attrs.value as number | undefined) ?? 0, wgslType(t.dtype));
        return this.let(raw(`select(${pad}, ${inner}, ${m.valid})`));
      }
      case "index": {
        // gather: idx with `axis` replaced by the index tensor's value (clamped into range)
        const [x, index] = t.inputs as [Tensor, Tensor];
        const axis = t.attrs.axis as number;
        const n = x.shape[axis]!;
        const iv = this.value(index, idx);
        const j = this.let(raw(`min(u32(max(i32(${iv}), 0i)), ${n - 1}u)`));
        const src = idx.map((c, k) => (k === axis ? j : c));
        return this.value(x, src);
      }
      case "reduce":
      case "matmul":
      case "softmax":
      case "kernel":
        throw new Error(`${op.name} reached inside a fused region (latent bug: it must be a kernel root)`);
      default:
        return op satisfies never;
    }
  }
}
