/**
 * Row reductions: sum, prod, max, min, argmax, argmin over `outer` rows of length `R`.
 *
 * The engine presents every reduction as rows. Element (o, r) is not read from a fixed layout but
 * computed by a caller-supplied WGSL expression, the *prologue*, so a fused chain of elementwise
 * ops (and any index math: broadcasting, reducing a non-last axis) runs inside the reduction and
 * never touches global memory as an intermediate. An optional *epilogue* maps the row result
 * before it is stored (e.g. `v / f32(params.R)` for mean).
 *
 * Layout of one workgroup (WG threads, WG a power of two):
 *   the workgroup is cut into WG / lanes segments of `lanes` threads; each segment owns one row.
 *   lanes = 2^lanesLog2 is picked per launch from R (see rowLanes), so short rows pack many rows
 *   into one workgroup instead of idling 250 of 256 threads.
 *   1. lane l of row o folds elements r = l, l + lanes, l + 2·lanes, … into a private partial;
 *   2. the partials go to workgroup memory and a fixed-shape tree combines slot i with i + s for
 *      s = lanes/2, lanes/4, …, 1.
 * The combination order depends only on (R, lanes), never on timing, so results are bit-identical
 * across runs. For sums the strided partials plus the tree are a two-level pairwise scheme: each
 * partial adds ⌈R/lanes⌉ terms, the tree log2(lanes) levels, so the rounding error grows like
 * (R/lanes + log2 lanes)·ε instead of R·ε for a naive loop.
 */
import { grid1d } from "../engine/dispatch.js";
import { DTypeError } from "../engine/errors.js";
import { defineKernel, type Buffers, type ElemType, type KernelSource, type Params } from "./kernel.js";
import { f32, raw, wgsl, type Wgsl } from "./wgsl.js";

export type ReduceOp = "sum" | "max" | "min" | "argmax" | "argmin" | "prod";

/**
 * Produces element (o, r) of the rows. `element` receives the WGSL names of two u32 values and
 * returns an f32 expression; it may read any array in `inputs` (by its key), any uniform in
 * `params` (as `params.<key>`, also `params.outer` and `params.R`), and anything in `prelude`.
 * Identifiers starting with `rw_` are reserved for the kernel.
 * @example { inputs: { x: "f32", y: "f32" }, element: (o, r) => wgsl`(x[${o} * params.R + ${r}] * y[${r}])` }
 */
export interface RowPrologue<P extends Params = EmptyParams> {
  inputs: Record<string, ElemType>;
  /** Extra uniforms for the index math (e.g. the strides of a non-last-axis reduction). */
  params?: P;
  /** Module-scope WGSL: helper functions the expression calls. */
  prelude?: Wgsl;
  /** `o`, `r`: u32 expressions. Returns an f32 expression. */
  element(o: Wgsl, r: Wgsl): Wgsl;
}

/** Maps the reduced value `v` (f32) of row `o` (u32) to what is stored in `out[o]`. */
export interface RowEpilogue {
  inputs?: Record<string, ElemType>;
  prelude?: Wgsl;
  apply(v: Wgsl, o: Wgsl): Wgsl;
}

/** `Record<never, Scalar>` is `{}`: no extra uniforms. */
export type EmptyParams = Record<never, "u32">;
/** Uniforms every row kernel has; `lanesLog2` is set by the launch helpers, not by hand. */
export type RowParams = { outer: "u32"; R: "u32"; lanesLog2: "u32" };

/** The uniform values and grid of one launch of a row kernel. */
export interface RowLaunch {
  params: { outer: number; R: number; lanesLog2: number };
  workgroups: [number, number, number];
}

/** A row kernel (reduction or softmax) plus its launch helper. */
export interface RowKernel<P extends Params> extends KernelSource<P> {
  /**
   * Uniforms and grid for `outer` rows of length `R`. Extra prologue params must be added:
   * `k.pack({ ...k.launch(o, R).params, C: 5 })`.
   */
  launch(outer: number, R: number, maxPerDim?: number): RowLaunch;
}

/**
 * Default target of elements per lane before a row gets more lanes (see rowLanes). Small on
 * purpose: it suits hardware GPUs, where idle lanes are cheap and a tree level is a few cycles.
 * Software drivers prefer far fewer lanes: use rowTuning(), which carries the measured values.
 */
export const ELEMS_PER_LANE = 4;

/** Default workgroup size: the safe maximum everywhere (SwiftShader allows 256 invocations). */
export const DEFAULT_ROW_WORKGROUP = 256;

/** Launch policy of the row kernels: baked workgroup size, and lanes chosen per launch. */
export interface RowTuning {
  workgroupSize: number;
  elemsPerLane: number;
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Threads cooperating on one row: a power of two ≥ ⌈R / perLane⌉, at most the workgroup. */
export function rowLanes(R: number, workgroupSize: number, perLane = ELEMS_PER_LANE): number {
  const want = Math.max(1, Math.ceil(R / perLane));
  return Math.min(workgroupSize, 2 ** Math.ceil(Math.log2(want)));
}

/**
 * Workgroup grid for `outer` rows: ⌈outer / rowsPerWorkgroup⌉ workgroups, split into 2-D by
 * grid1d when that exceeds `maxPerDim` (the kernels recover the flat id as wid.x + wid.y·nwg.x).
 */
export function reduceWorkgroups(
  outer: number,
  R: number,
  workgroupSize = DEFAULT_ROW_WORKGROUP,
  maxPerDim = 65535,
  lanes = rowLanes(R, workgroupSize),
): [number, number, number] {
  return grid1d(Math.ceil(outer / (workgroupSize / lanes)), maxPerDim);
}

/** Uniforms and grid for a row kernel of workgroup size `workgroupSize`. `lanes` overrides the policy (benchmarks). */
export function rowLaunch(outer: number, R: number, workgroupSize: number, maxPerDim = 65535, lanes = rowLanes(R, workgroupSize)): RowLaunch {
  if (!isPow2(lanes) || lanes > workgroupSize) throw new RangeError(`rowLaunch: lanes must be a power of two ≤ ${workgroupSize}, got ${lanes}`);
  return {
    params: { outer, R, lanesLog2: Math.log2(lanes) },
    workgroups: reduceWorkgroups(outer, R, workgroupSize, maxPerDim, lanes),
  };
}

/** Checks a workgroup size for the tree reductions (power of two: every level halves). */
export function checkRowWorkgroup(name: string, wg: number): void {
  if (!isPow2(wg)) throw new RangeError(`${name}: workgroupSize must be a power of two, got ${wg}`);
}

/** Merges binding declarations; the same name twice must mean the same array. */
export function mergeRowBuffers(name: string, reserved: readonly string[], ...sets: (Buffers | undefined)[]): Buffers {
  const all: Record<string, ElemType> = {};
  for (const set of sets) {
    for (const [k, t] of Object.entries(set ?? {})) {
      if (reserved.includes(k) || k.startsWith("rw_")) throw new Error(`${name}: input name '${k}' is reserved (library bug)`);
      if (all[k] !== undefined && all[k] !== t) throw new Error(`${name}: input '${k}' declared as ${all[k]} and ${t} (library bug)`);
      all[k] = t;
    }
  }
  return all;
}

/** Row uniforms followed by the prologue's, rejecting clashes. */
export function rowParams<P extends Params>(name: string, extra: P | undefined): RowParams & P {
  const base: RowParams = { outer: "u32", R: "u32", lanesLog2: "u32" };
  for (const k of Object.keys(extra ?? {})) {
    if (k in base) throw new Error(`${name}: prologue param '${k}' clashes with a row uniform (library bug)`);
  }
  return { ...base, ...extra } as RowParams & P;
}

/**
 * WGSL shared by the row kernels: the NaN test, the element function and the row/lane indexing.
 * Edge case: NaN is tested on the bits. `x != x` is the textbook test, but Vulkan drivers may
 * assume NaN-free float math unless the shader opts into NaN preservation, and fold it to false.
 */
export function rowPrelude(prologue: RowPrologue<Params>): Wgsl {
  return raw(/* wgsl */ `
fn rw_isnan(rw_x: f32) -> bool { return (bitcast<u32>(rw_x) & 0x7fffffffu) > 0x7f800000u; }
fn rw_finite(rw_x: f32) -> bool { return (bitcast<u32>(rw_x) & 0x7fffffffu) < 0x7f800000u; }
${prologue.prelude ?? ""}
fn rw_element(rw_o: u32, rw_r: u32) -> f32 { return ${prologue.element(raw("rw_o"), raw("rw_r"))}; }
`);
}

/**
 * Declares rw_lanes, rw_lane (this thread's lane in its row), rw_o (its row) and rw_live (the row
 * exists: the last workgroup and an overshooting 2-D grid can have spare segments). Spare threads
 * must still reach every barrier, so they are masked, never returned early.
 */
export function rowIndexing(wg: number): Wgsl {
  return raw(/* wgsl */ `
  let rw_lanes = 1u << params.lanesLog2;
  let rw_lane = lid.x & (rw_lanes - 1u);
  let rw_o = (wid.x + wid.y * nwg.x) * (${wg}u >> params.lanesLog2) + (lid.x >> params.lanesLog2);
  let rw_live = rw_o < params.outer;`);
}

/**
 * The fixed-shape tree over one segment: slot i absorbs slot i + s for s = lanes/2, …, 1. The
 * result lands in the segment's first slot (lid.x - rw_lane). `step` is WGSL that combines
 * `rw_a` (index of the surviving slot) with `rw_b` (the absorbed one).
 */
export function rowTree(step: Wgsl): Wgsl {
  // With one lane per row each thread only touches its own slot, so no barrier is needed; the
  // test is on a uniform, so the barriers stay in uniform control flow.
  return raw(/* wgsl */ `
  if (rw_lanes > 1u) {
    workgroupBarrier();
    for (var rw_s = rw_lanes >> 1u; rw_s > 0u; rw_s = rw_s >> 1u) {
      if (rw_lane < rw_s) {
        let rw_a = lid.x;
        let rw_b = lid.x + rw_s;
        ${step}
      }
      workgroupBarrier();
    }
  }`);
}

const IDENTITY: Record<ReduceOp, Wgsl> = {
  sum: f32(0),
  prod: f32(1),
  max: f32(-Infinity),
  min: f32(Infinity),
  argmax: f32(-Infinity),
  argmin: f32(Infinity),
};

/** Binary combine of two partial values (value ops) as a WGSL function body. */
function combineFn(op: "sum" | "prod" | "max" | "min"): Wgsl {
  switch (op) {
    case "sum":
      return raw(`return rw_a + rw_b;`);
    case "prod":
      return raw(`return rw_a * rw_b;`);
    case "max":
    case "min":
      // Edge case: WGSL's max()/min() may return either operand when one is NaN; torch.amax
      // propagates NaN, so test it first. select(f, t, cond) picks t when cond holds.
      return raw(`if (rw_isnan(rw_a)) { return rw_a; }
  if (rw_isnan(rw_b)) { return rw_b; }
  return select(rw_b, rw_a, rw_a ${op === "max" ? ">" : "<"} rw_b);`);
    default:
      return op satisfies never;
  }
}

/**
 * "Is (v, i) a better arg candidate than (b, bi)?" NaN outranks every number (torch's argmax and
 * argmin both return a NaN's index), then the larger (argmax) or smaller (argmin) value, then the
 * smaller index, so ties resolve to the first occurrence however the tree pairs them.
 */
function betterFn(op: "argmax" | "argmin"): Wgsl {
  return raw(/* wgsl */ `
fn rw_better(rw_v: f32, rw_i: u32, rw_b: f32, rw_bi: u32) -> bool {
  let rw_vn = rw_isnan(rw_v);
  let rw_bn = rw_isnan(rw_b);
  if (rw_vn != rw_bn) { return rw_vn; }
  if (!rw_vn && rw_v != rw_b) { return rw_v ${op === "argmax" ? ">" : "<"} rw_b; }
  return rw_i < rw_bi;
}`);
}

/**
 * A row-reduction kernel: `out[o] = epilogue(reduce_{r < R} prologue.element(o, r), o)`.
 * `out` is `array<f32>`, or `array<u32>` holding the first index of the extreme for argmax/argmin
 * (0xffffffff for an empty row). Empty rows give the identity: sum 0, prod 1, max -inf, min +inf.
 * max/min/argmax/argmin propagate NaN.
 * @example
 * const k = reduceKernel({ op: "sum", prologue: { inputs: { x: "f32" }, element: (o, r) => wgsl`x[${o} * params.R + ${r}]` } });
 * const { params, workgroups } = k.launch(rows, R, dev.limits.maxComputeWorkgroupsPerDimension);
 */
export function reduceKernel<P extends Params = EmptyParams>(opts: {
  op: ReduceOp;
  prologue: RowPrologue<P>;
  epilogue?: RowEpilogue;
  workgroupSize?: number;
  /** Lane policy used by `launch` (not part of the WGSL). */
  elemsPerLane?: number;
}): RowKernel<RowParams & P> {
  const { op, prologue, epilogue } = opts;
  const wg = opts.workgroupSize ?? DEFAULT_ROW_WORKGROUP;
  const perLane = opts.elemsPerLane ?? ELEMS_PER_LANE;
  const name = `reduce_${op}`;
  checkRowWorkgroup(name, wg);
  const isArg = op === "argmax" || op === "argmin";
  if (isArg && epilogue) throw new DTypeError(name, "no epilogue (the output is a u32 index)", "an f32 epilogue");
  const inputs = mergeRowBuffers(name, ["out", "params"], prologue.inputs, epilogue?.inputs);
  const store = epilogue ? epilogue.apply(raw("rw_v"), raw("rw_o")) : raw("rw_v");

  const prelude = raw(/* wgsl */ `
var<workgroup> rw_val: array<f32, ${wg}>;
${isArg ? `var<workgroup> rw_idx: array<u32, ${wg}>;` : ""}
${rowPrelude(prologue as RowPrologue<Params>)}
${epilogue?.prelude ?? ""}
${isArg ? betterFn(op) : `fn rw_combine(rw_a: f32, rw_b: f32) -> f32 {\n  ${combineFn(op)}\n}`}
${isArg ? "" : `fn rw_store(rw_v: f32, rw_o: u32) -> f32 { return ${store}; }`}
`);

  // Arg ops carry (value, index); rw_i starts at u32 max, so an empty row reports 0xffffffff and
  // any real element, even -inf for argmax, beats the starting pair on the index tie-break.
  const body = isArg
    ? wgsl/* wgsl */ `${rowIndexing(wg)}
  var rw_v = ${IDENTITY[op]};
  var rw_i = 0xffffffffu;
  if (rw_live) {
    for (var rw_r = rw_lane; rw_r < params.R; rw_r = rw_r + rw_lanes) {
      let rw_x = rw_element(rw_o, rw_r);
      if (rw_better(rw_x, rw_r, rw_v, rw_i)) { rw_v = rw_x; rw_i = rw_r; }
    }
  }
  rw_val[lid.x] = rw_v;
  rw_idx[lid.x] = rw_i;
  ${rowTree(raw(`if (rw_better(rw_val[rw_b], rw_idx[rw_b], rw_val[rw_a], rw_idx[rw_a])) {
        rw_val[rw_a] = rw_val[rw_b];
        rw_idx[rw_a] = rw_idx[rw_b];
      }`))}
  if (rw_live && rw_lane == 0u) { out[rw_o] = rw_idx[lid.x]; }`
    : wgsl/* wgsl */ `${rowIndexing(wg)}
  var rw_v = ${IDENTITY[op]};
  if (rw_live) {
    for (var rw_r = rw_lane; rw_r < params.R; rw_r = rw_r + rw_lanes) { rw_v = rw_combine(rw_v, rw_element(rw_o, rw_r)); }
  }
  rw_val[lid.x] = rw_v;
  ${rowTree(raw(`rw_val[rw_a] = rw_combine(rw_val[rw_a], rw_val[rw_b]);`))}
  if (rw_live && rw_lane == 0u) { out[rw_o] = rw_store(rw_val[lid.x], rw_o); }`;

  const k = defineKernel({
    name,
    params: rowParams(name, prologue.params),
    inputs,
    outputs: { out: isArg ? "u32" : "f32" },
    workgroupSize: wg,
    prelude,
    body,
  });
  return { ...k, launch: (outer, R, maxPerDim = 65535) => rowLaunch(outer, R, wg, maxPerDim, rowLanes(R, wg, perLane)) };
}

/**
 * Row-kernel tuning for a driver, measured with bench/reduce-kernels.ts, with the workgroup capped
 * by the device's invocation limit. Pass both fields to reduceKernel / softmaxKernel.
 *
 * On the CPU drivers every tree level is a barrier, and a barrier switches between all the
 * workgroup's SIMD batches, so few busy lanes per row beat many idle ones: ≥ 4 elements per lane
 * ran 2–6× slower than ≥ 64 on lavapipe and up to 20× on SwiftShader. Workgroup size hardly matters
 * on lavapipe once lanes are few; SwiftShader pays per invocation for workgroup memory and
 * barriers, so it wants small workgroups. Hardware GPUs (driver "browser") are unmeasured here and
 * get the conventional 256 threads with ≥ 4 elements per lane.
 * @example const t = rowTuning(dev.kernelProfile, dev.limits.maxComputeInvocationsPerWorkgroup);
 */
export function rowTuning(driver: string, maxInvocations: number): RowTuning {
  const measured: Record<string, RowTuning> = {
    lavapipe: { workgroupSize: 64, elemsPerLane: 64 },
    swiftshader: { workgroupSize: 32, elemsPerLane: 256 },
  };
  const t = measured[driver] ?? { workgroupSize: DEFAULT_ROW_WORKGROUP, elemsPerLane: ELEMS_PER_LANE };
  return { ...t, workgroupSize: Math.min(t.workgroupSize, 2 ** Math.floor(Math.log2(maxInvocations))) };
}
