/**
 * Op declarations. Every node of the graph points at one OpDef; the lowering (engine/realize.ts)
 * and autograd (engine/autograd.ts) dispatch on `kind`, and the compiler checks every kind is
 * handled (`satisfies never`).
 */
import type { Wgsl } from "../../shaders/wgsl.js";
import type { DType, Tensor } from "../tensor.js";
import type { KernelSource, Params } from "../../shaders/kernel.js";
import type { Device } from "../device.js";

export interface BackwardCtx {
  readonly out: Tensor;
  readonly dout: Tensor;
  readonly inputs: readonly Tensor[];
  readonly attrs: Readonly<Record<string, unknown>>;
}
/** Returns one gradient per input (null where the input gets none). Written in Tensor ops. */
export type BackwardRule = (ctx: BackwardCtx) => readonly (Tensor | null)[];

interface Base {
  readonly name: string;
  readonly backward?: BackwardRule;
}

/** Leaves: realized buffers, constants, iota and random draws. */
export interface SourceDef extends Base {
  readonly kind: "source";
  readonly source: "buffer" | "const" | "iota" | "rand";
}

/** Test-generator hints for an elementwise op. */
export interface OpDomain {
  /** Input range the generated tests sample: "real" (default), "positive", "unit" (0,1), "nonzero". */
  readonly domain?: "real" | "positive" | "unit" | "nonzero";
  /** Relative tolerance of the GPU against the f64 reference. */
  readonly tol?: number;
  /** Values the op must stay finite at (value and gradient), e.g. ±80 for composites. */
  readonly edge?: readonly number[];
}

/** Elementwise: one WGSL expression fragment plus a float64 scalar reference. */
export interface ElementwiseDef extends Base, OpDomain {
  readonly kind: "elementwise";
  readonly arity: 1 | 2 | 3;
  /** The expression; operands are already of the op's compute dtype. */
  readonly wgsl: (args: readonly Wgsl[], out: Tensor) => Wgsl;
  /** Independent float64 reference of the same function. */
  readonly cpu: (...xs: number[]) => number;
  /** Output dtype from input dtypes (default: the promoted input dtype). */
  readonly outDtype?: (ins: readonly DType[]) => DType;
  /** Dtype the operands are converted to before `wgsl` (default: the output dtype). */
  readonly computeDtype?: (ins: readonly DType[]) => DType;
  /** Per-operand dtypes, when operands differ (where's condition keeps its own). */
  readonly argDtypes?: (ins: readonly DType[]) => readonly DType[];
  /** Input dtypes accepted (default f32 only). */
  readonly dtypes?: readonly DType[];
  /** Whether the gradient is defined (comparisons are not differentiable). */
  readonly differentiable?: boolean;
}

/** Movement ops: no kernel, only index arithmetic on the way to the source. */
export interface ViewDef extends Base {
  readonly kind: "view";
  /** Maps output coordinates to input coordinates (u32 WGSL expressions). */
  readonly mapIndex: (idx: readonly Wgsl[], out: Tensor) => { idx: Wgsl[]; valid?: Wgsl };
}

/** Data-dependent indexing (gather): fusable like elementwise. */
export interface IndexDef extends Base {
  readonly kind: "index";
}

export interface ReduceDef extends Base {
  readonly kind: "reduce";
  readonly reduce: "sum" | "max" | "min" | "argmax" | "argmin" | "prod";
}

export interface MatmulDef extends Base {
  readonly kind: "matmul";
}

export interface SoftmaxDef extends Base {
  readonly kind: "softmax";
}

/** A storage binding of a plan step: an input tensor, a scratch buffer, or the node's output. */
export type Binding = Tensor | { readonly temp: number } | "out";
export interface KernelStep {
  readonly kernel: KernelSource<Params>;
  readonly bindings: readonly Binding[];
  /** Uniform values; a function is re-evaluated at each replay of a compiled step. */
  readonly params: Record<string, number | (() => number)>;
  readonly workgroups: readonly [number, number, number];
  readonly label: string;
}
/** One or more dispatches computing a node; `temps` are scratch buffer sizes in bytes. */
export interface KernelPlan {
  readonly steps: readonly KernelStep[];
  readonly temps?: readonly number[];
}
export interface PlanContext {
  readonly dev: Device;
  readonly label: string;
}

/**
 * Ops with hand-written kernels (convolutions, pooling, norms...). Their inputs arrive as
 * realized contiguous buffers; `plan` returns the dispatches that fill the output.
 */
export interface KernelDef extends Base {
  readonly kind: "kernel";
  readonly plan: (t: Tensor, ctx: PlanContext) => KernelPlan;
}

export type OpDef = SourceDef | ElementwiseDef | ViewDef | IndexDef | ReduceDef | MatmulDef | SoftmaxDef | KernelDef;
export type OpKind = OpDef["kind"];

/** Ops whose nodes always get their own kernel. */
export const isKernelRoot = (k: OpKind): boolean => {
  switch (k) {
    case "reduce":
    case "matmul":
    case "softmax":
    case "kernel":
      return true;
    case "source":
    case "elementwise":
    case "view":
    case "index":
      return false;
    default:
      return k satisfies never;
  }
};
