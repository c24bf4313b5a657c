/**
 * Batched matmul kernels: C[b, m, n] = epilogue(Σ_k A(b, m, k) · B(b, k, n)).
 *
 *   A(b, m, k) = a[aOffset + b·aBatchStride + (transA ? k·M + m : m·K + k)]
 *   B(b, k, n) = b[bOffset + b·bBatchStride + (transB ? n·K + k : k·N + n)]
 *   C is written contiguous: c[b·M·N + m·N + n]
 *
 * Transposes are folded into the indexing (no transpose kernels), batch strides may be 0 to
 * broadcast one operand, and M, N, K, batch, strides and offsets are uniforms, so one pipeline
 * serves every shape. The factory's compile-time choices are the transposes, the tiling, vec4
 * loads and the epilogue.
 *
 * Two tilings:
 *  - "regblock": every invocation computes a tm×tn block of C straight from global memory, with
 *    no barriers and no workgroup memory. With `subgroup` set, the invocations of a subgroup
 *    share one set of rows and split the loads of A between them (subgroupBroadcast).
 *  - "tiled": the workgroup stages a BM×bk slab of A and a bk×BN slab of B in workgroup memory
 *    (BM = wgY·tm, BN = wgX·tn), then every invocation computes its tm×tn block from there.
 *
 * What is fast on the CPU drivers (bench/matmul-kernels.ts, 512³, GFLOP/s with vec4):
 *                       lavapipe   SwiftShader
 *   regblock+subgroup     ≈ 34        ≈ 8.5
 *   regblock 8×8 8×8      ≈ 17        ≈ 6.5
 *   tiled                 ≈ 6         ≈ 2.5
 * Both drivers run invocations as SIMD lanes, and a storage read whose address differs per lane
 * is a gather, one element per lane; FMAs are cheap next to that. So the winning layout is the one
 * with the fewest per-lane loads per FMA: big per-invocation blocks, loads of A shared across the
 * subgroup, and vec4 loads (one address computation and bounds clamp for four values). Workgroup
 * memory buys nothing there: its reads are per-lane gathers too, plus barriers.
 *
 * Edges: rows past M (columns past N) are clamped to the last valid row (column) when loading, so
 * the hot loop has no branches; those results are simply never written. Only k needs care,
 * because an out-of-range k would add a wrong product: regblock zeroes the loads past K in its
 * last 4-step chunk, tiled zero-fills the slab past K.
 *
 * Grid: x over column tiles, y over row tiles, z over the batch. Edge case: WebGPU caps each grid
 * dimension at 65535 workgroups, so batch ≤ 65535 and ⌈M/BM⌉ ≤ 65535 per dispatch; the engine
 * splits larger batches into several dispatches (matmulWorkgroups throws a RangeError otherwise).
 */
import { defineKernel, type ElemType, type KernelSource, type Scalar } from "./kernel.js";
import { raw, u32, type Wgsl } from "./wgsl.js";

/** Uniforms of every matmul kernel. Offsets and strides are in f32 elements, also for vec4 kernels. */
export const MATMUL_PARAMS = {
  M: "u32",
  N: "u32",
  K: "u32",
  batch: "u32",
  aOffset: "u32",
  bOffset: "u32",
  aBatchStride: "u32",
  bBatchStride: "u32",
} as const;
export type MatmulParams = typeof MATMUL_PARAMS;

/**
 * How the output is cut into work. Every invocation owns a tm×tn block of C; a workgroup of
 * wgX×wgY invocations owns a (wgY·tm)×(wgX·tn) tile. tm and tn must be multiples of 4 (the
 * accumulators are vec4 rows and vec4 loads cover 4 rows or columns). "tiled" also stages bk
 * steps of k in workgroup memory per barrier round (bk a multiple of 4).
 */
export type MatmulTiling =
  | {
      readonly kind: "regblock";
      readonly wgX: number;
      readonly wgY: number;
      readonly tm: number;
      readonly tn: number;
      /**
       * Share A across a subgroup of this many invocations: every invocation of the workgroup
       * owns the same tm rows (wgY must be 1), so each loads 1/subgroup of A's values and
       * gets the rest with subgroupBroadcast. Needs the "subgroups" feature and an adapter whose
       * subgroup size is exactly this (subgroupMinSize == subgroupMaxSize); tm and wgX must be
       * multiples of it.
       */
      readonly subgroup?: number;
    }
  | {
      readonly kind: "tiled";
      readonly wgX: number;
      readonly wgY: number;
      readonly tm: number;
      readonly tn: number;
      readonly bk: number;
    };

/** A fused elementwise tail applied to each accumulator before it is stored. */
export interface MatmulEpilogue {
  /** Extra read-only buffers, bound after `a` and `b` in this order. */
  inputs: Record<string, ElemType>;
  /** Module-scope WGSL (helper functions) the expression may call. */
  prelude?: Wgsl;
  /** Extra uniforms the epilogue reads as `params.<name>` (e.g. fused constants). */
  params?: Record<string, Scalar>;
  /** v: the f32 accumulator; b, m, n: u32 coordinates. Returns an f32 expression. */
  apply(v: Wgsl, b: Wgsl, m: Wgsl, n: Wgsl): Wgsl;
}

export interface MatmulOptions {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly tiling: MatmulTiling;
  readonly epilogue?: MatmulEpilogue;
  /**
   * Load a and b as `array<vec4<f32>>` (same buffers, 16-byte elements). Only legal when
   * vec4Eligible() says so; the kernel then assumes the divisibilities it checks.
   */
  readonly vec4?: boolean;
}

/** Shape facts vec4Eligible needs (offsets and strides in f32 elements). */
export interface MatmulShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly aOffset: number;
  readonly bOffset: number;
  readonly aBatchStride: number;
  readonly bBatchStride: number;
}

/**
 * Whether the vec4 variant is legal: each operand's contiguous dimension (K for A, N for B; M for
 * Aᵀ, K for Bᵀ) must be a multiple of 4, and so must its offset and batch stride, so that every
 * vec4 the kernel reads starts at a multiple of 4 elements and lies wholly inside one row.
 */
export function vec4Eligible(opts: { readonly transA: boolean; readonly transB: boolean }, s: MatmulShape): boolean {
  const aInner = opts.transA ? s.M : s.K;
  const bInner = opts.transB ? s.K : s.N;
  return [aInner, bInner, s.aOffset, s.bOffset, s.aBatchStride, s.bBatchStride].every((x) => x % 4 === 0);
}

/** Rows and columns of C one workgroup covers. */
export function matmulTileShape(t: MatmulTiling): { BM: number; BN: number } {
  return { BM: t.wgY * t.tm, BN: t.wgX * t.tn };
}

/**
 * Workgroup grid for a dispatch: [⌈N/BN⌉, ⌈M/BM⌉, batch].
 * @throws RangeError when a dimension exceeds 65535 (the caller must split the batch).
 */
export function matmulWorkgroups(opts: { readonly tiling: MatmulTiling }, M: number, N: number, batch: number): [number, number, number] {
  const { BM, BN } = matmulTileShape(opts.tiling);
  const grid: [number, number, number] = [Math.ceil(N / BN), Math.ceil(M / BM), batch];
  if (grid.some((g) => g > 65535)) {
    throw new RangeError(`matmul grid ${grid.join("×")} exceeds 65535 workgroups per dimension; split the batch (or M) into several dispatches`);
  }
  return grid;
}

/** The adapter limits that decide which tilings are legal. */
export interface MatmulLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

/** Workgroup memory a tiling needs, in bytes (0 for regblock). */
export function matmulWorkgroupBytes(t: MatmulTiling): number {
  if (t.kind === "regblock") return 0;
  const { BM, BN } = matmulTileShape(t);
  return (BM + BN) * t.bk * 4;
}

/**
 * Candidates without subgroups, fastest first on lavapipe and SwiftShader (bench/matmul-kernels.ts,
 * 512³ with vec4: regblock 8×8 8×8 ≈ 17 / 6.5 GFLOP/s, tiled ≈ 6.5 / 2.5). The tiled one is the
 * classic GPU layout (a 64×64 tile), kept for hardware adapters, where workgroup memory is what
 * pays; it is untuned there. Other shapes measured and dropped: regblock 8×8 threads with 4×4 or
 * 8×4 blocks (slower on both drivers), tiled 16×16 threads 4×4 bk16 (slower on both).
 */
const CANDIDATES: readonly MatmulTiling[] = [
  { kind: "regblock", wgX: 8, wgY: 8, tm: 8, tn: 8 },
  { kind: "tiled", wgX: 16, wgY: 8, tm: 8, tn: 4, bk: 8 },
];

/**
 * The subgroup-sharing candidate for a subgroup size, or none. Measured only for the sizes of
 * the CPU drivers: 8 lanes (lavapipe, AVX2) pays for 32 shared rows, 4 lanes (SwiftShader, SSE)
 * peaks at 16. Wider subgroups belong to hardware GPUs, where 32 rows × 4 columns of
 * accumulators per invocation would exhaust registers, so none is offered.
 */
function subgroupCandidate(sg: number): MatmulTiling[] {
  if (sg === 8) return [{ kind: "regblock", wgX: 8, wgY: 1, tm: 32, tn: 4, subgroup: 8 }];
  if (sg === 4) return [{ kind: "regblock", wgX: 16, wgY: 1, tm: 16, tn: 4, subgroup: 4 }];
  return [];
}

/**
 * The subgroup size kernels can rely on, or undefined: the device must have the "subgroups"
 * feature and its adapter a single subgroup size (lavapipe: 8, SwiftShader: 4).
 */
export function fixedSubgroupSize(device: GPUDevice): number | undefined {
  const info = device.adapterInfo as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  if (!device.features.has("subgroups") || !info?.subgroupMinSize || info.subgroupMinSize !== info.subgroupMaxSize) return undefined;
  return info.subgroupMinSize;
}

/**
 * Candidate tilings that fit this adapter's workgroup limits, fastest first on the CPU drivers.
 * Pass `subgroupSize` (from fixedSubgroupSize) to include the subgroup-sharing tiling, which is
 * then first: on lavapipe it runs 2–2.5× faster than any other, on SwiftShader ≈ 1.3×.
 */
export function matmulTilings(limits: MatmulLimits, subgroupSize?: number): MatmulTiling[] {
  const all = [...(subgroupSize ? subgroupCandidate(subgroupSize) : []), ...CANDIDATES];
  return all.filter(
    (t) => t.wgX * t.wgY <= limits.maxComputeInvocationsPerWorkgroup && matmulWorkgroupBytes(t) <= limits.maxComputeWorkgroupStorageSize,
  );
}

/** The default tiling: the first candidate (see matmulTilings). Use vec4 whenever vec4Eligible. */
export function defaultMatmulTiling(limits: MatmulLimits, subgroupSize?: number): MatmulTiling {
  const t = matmulTilings(limits, subgroupSize)[0];
  if (!t) throw new RangeError(`no matmul tiling fits ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`);
  return t;
}

function checkTiling(t: MatmulTiling): void {
  const bad = (why: string) => new RangeError(`matmul tiling ${JSON.stringify(t)}: ${why}`);
  for (const v of [t.wgX, t.wgY, t.tm, t.tn]) if (!Number.isInteger(v) || v < 1) throw bad("sizes must be positive integers");
  if (t.tm % 4 || t.tn % 4) throw bad("tm and tn must be multiples of 4");
  if (t.kind === "tiled" && (!Number.isInteger(t.bk) || t.bk < 4 || t.bk % 4)) throw bad("bk must be a positive multiple of 4");
  if (t.kind === "regblock" && t.subgroup !== undefined) {
    const sg = t.subgroup;
    if (!Number.isInteger(sg) || sg < 1 || t.wgY !== 1 || t.tm % sg || t.wgX % sg) throw bad("subgroup sharing needs wgY = 1 and tm, wgX multiples of subgroup");
  }
}

const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
const U = (x: number) => u32(x) as string;

/**
 * One operand seen from the kernel: its `outer` dimension (m for A, n for B) and whether it is
 * stored k-contiguous ([outer, K] rows) or outer-contiguous ([K, outer] rows). A is k-contiguous
 * unless transposed; B is k-contiguous only when transposed.
 */
interface Operand {
  readonly name: "a" | "b";
  /** The uniform holding the outer extent ("params.M" or "params.N"). */
  readonly O: string;
  readonly kContig: boolean;
  readonly vec4: boolean;
}

/**
 * Regblock loads of `count` outer indices starting at `o0`, 4 k steps at a time. `setup` runs once
 * per invocation (clamped row bases); `load(k, masked)` emits the loads of the chunk k..k+3 and
 * `val(t, kk)` names the f32 value of outer index t at k + kk.
 *
 * The last chunk may run past K. Rather than a scalar tail loop (which doubles the unrolled code,
 * and llvmpipe's compile time with it), `masked` loads clamp k to K - 1 and zero what lies past K,
 * so the extra terms are exact zeros: 0·0, never 0·(a clamped Inf). It costs a min and a select
 * per loaded value, small next to the gathers. A k-contiguous vec4 operand implies K % 4 == 0 and
 * never needs it.
 */
function regblockOperand(x: Operand, o0: string, count: number, base: string) {
  const n = x.name;
  const setup: string[] = [];
  if (x.kContig) {
    // [outer, K]: one base per row, clamped so rows past the edge read the last valid row.
    for (const t of seq(count)) {
      const row = `min(${o0} + ${U(t)}, ${x.O} - 1u)`;
      setup.push(x.vec4 ? `let ${n}r${t} = ${base} / 4u + ${row} * (params.K / 4u);` : `let ${n}r${t} = ${base} + ${row} * params.K;`);
    }
  } else if (x.vec4) {
    // [K, outer] read 4 outer indices at a time; O % 4 == 0, so clamping the group to O - 4 keeps it whole.
    for (const g of seq(count / 4)) setup.push(`let ${n}c${g} = (${base} + min(${o0} + ${U(4 * g)}, ${x.O} - 4u)) / 4u;`);
  } else {
    for (const t of seq(count)) setup.push(`let ${n}c${t} = ${base} + min(${o0} + ${U(t)}, ${x.O} - 1u);`);
  }
  const load = (k: string, masked: boolean): string[] => {
    const out: string[] = [];
    const kAt = (kk: number) => (masked ? `kc${kk}` : `(${k} + ${U(kk)})`);
    const mask = (kk: number, v: string, zero: string) => (masked ? `select(${zero}, ${v}, kin${kk})` : v);
    if (x.kContig && x.vec4) {
      if (masked) throw new Error("matmul: masked k-contiguous vec4 load (latent bug)");
      for (const t of seq(count)) out.push(`let ${n}q${t} = ${n}[${n}r${t} + ${k} / 4u];`);
    } else if (x.kContig) {
      for (const t of seq(count)) for (const kk of seq(4)) out.push(`let ${n}v${t}_${kk} = ${mask(kk, `${n}[${n}r${t} + ${kAt(kk)}]`, "0.0")};`);
    } else {
      const stride = x.vec4 ? `(${x.O} / 4u)` : x.O;
      for (const kk of seq(4)) {
        const row = `${kAt(kk)} * ${stride}`;
        if (x.vec4) for (const g of seq(count / 4)) out.push(`let ${n}q${kk}_${g} = ${mask(kk, `${n}[${n}c${g} + ${row}]`, "vec4<f32>(0.0)")};`);
        else for (const t of seq(count)) out.push(`let ${n}v${t}_${kk} = ${mask(kk, `${n}[${n}c${t} + ${row}]`, "0.0")};`);
      }
    }
    return out;
  };
  const val = (t: number, kk: number): string => {
    if (x.kContig && x.vec4) return `${n}q${t}[${kk}]`;
    if (x.vec4) return `${n}q${kk}_${Math.floor(t / 4)}[${t % 4}]`;
    return `${n}v${t}_${kk}`;
  };
  /** The 4 values at (t..t+3, kk) as one vec4, without a shuffle when the load already is one. */
  const vec = (t: number, kk: number): string => {
    if (x.vec4 && !x.kContig) return `${n}q${kk}_${t / 4}`;
    return `vec4<f32>(${seq(4).map((i) => val(t + i, kk)).join(", ")})`;
  };
  return { setup, load, val, vec };
}

/**
 * Regblock loads of A's `count` rows for 4 k steps, shared across a subgroup of `sg` lanes.
 *
 * Why: CPU drivers run invocations as SIMD lanes, and a storage read whose address differs per
 * lane becomes a gather of one element per lane. Every lane of a wgY = 1 workgroup needs the same
 * A values, so instead of each lane gathering all of them, the chunk's `units` loads (vec4s or
 * scalars) are dealt round-robin to the lanes (unit v is loaded by lane v mod sg as its load
 * number ⌊v/sg⌋) and handed to everyone with subgroupBroadcast, a register shuffle. Measured on
 * lavapipe: 2–2.5× the GFLOP/s of the unshared regblock. Masking works as in regblockOperand,
 * per unit (a unit's k offset depends on the lane that loads it).
 */
function subgroupOperand(x: Operand, o0: string, count: number, base: string, sg: number) {
  const n = x.name;
  const units = x.vec4 ? count : 4 * count;
  const groups = count / 4;
  const setup = [`let ${n}Lane = subgroupExclusiveAdd(1u);`];
  for (const s of seq(units / sg)) {
    const v = `(${n}Lane + ${U(s * sg)})`;
    // offset: the unit's address without its k term; kOff: its k offset within the chunk
    let offset: string;
    let kOff = "0u";
    if (x.kContig && x.vec4) {
      offset = `${base} / 4u + min(${o0} + ${v}, ${x.O} - 1u) * (params.K / 4u)`; // unit v: row v, k..k+3
    } else if (x.vec4) {
      offset = `(${base} + min(${o0} + (${v} % ${U(groups)}) * 4u, ${x.O} - 4u)) / 4u`; // unit v: rows 4(v mod groups)..+3 at k + v / groups
      kOff = `${v} / ${U(groups)}`;
    } else if (x.kContig) {
      offset = `${base} + min(${o0} + ${v} / 4u, ${x.O} - 1u) * params.K`; // unit v: row v / 4 at k + v mod 4
      kOff = `${v} % 4u`;
    } else {
      offset = `${base} + min(${o0} + ${v} % ${U(count)}, ${x.O} - 1u)`; // unit v: row v mod count at k + v / count
      kOff = `${v} / ${U(count)}`;
    }
    setup.push(`let ${n}s${s} = ${offset};`);
    if (!(x.kContig && x.vec4)) setup.push(`let ${n}k${s} = ${kOff};`);
  }
  const load = (k: string, masked: boolean): string[] => {
    const out: string[] = [];
    for (const s of seq(units / sg)) {
      if (x.kContig && x.vec4) {
        if (masked) throw new Error("matmul: masked k-contiguous vec4 load (latent bug)");
        out.push(`let ${n}l${s} = ${n}[${n}s${s} + ${k} / 4u];`);
        continue;
      }
      const kIdx = masked ? `min(${k} + ${n}k${s}, params.K - 1u)` : `(${k} + ${n}k${s})`;
      const addr = x.kContig ? `${n}s${s} + ${kIdx}` : `${n}s${s} + ${kIdx} * ${x.vec4 ? `(${x.O} / 4u)` : x.O}`;
      const zero = x.vec4 ? "vec4<f32>(0.0)" : "0.0";
      out.push(`let ${n}l${s} = ${masked ? `select(${zero}, ${n}[${addr}], ${k} + ${n}k${s} < params.K)` : `${n}[${addr}]`};`);
    }
    for (const v of seq(units)) out.push(`let ${n}u${v} = subgroupBroadcast(${n}l${Math.floor(v / sg)}, ${U(v % sg)});`);
    return out;
  };
  const val = (t: number, kk: number): string => {
    if (x.kContig && x.vec4) return `${n}u${t}[${kk}]`;
    if (x.vec4) return `${n}u${kk * groups + Math.floor(t / 4)}[${t % 4}]`;
    if (x.kContig) return `${n}u${t * 4 + kk}`;
    return `${n}u${kk * count + t}`;
  };
  const vec = (t: number, kk: number): string =>
    x.vec4 && !x.kContig ? `${n}u${kk * groups + t / 4}` : `vec4<f32>(${seq(4).map((i) => val(t + i, kk)).join(", ")})`;
  return { setup, load, val, vec };
}

/** acc{i}_{j} is the vec4 of C at row i, columns 4j..4j+3 of this invocation's block. */
function accumulate(tm: number, tn: number, kc: number, aVal: (i: number, kk: number) => string, bVec: (j: number, kk: number) => string): string[] {
  const out: string[] = [];
  for (const kk of seq(kc)) for (const i of seq(tm)) for (const j of seq(tn / 4)) out.push(`acc${i}_${j} += ${aVal(i, kk)} * ${bVec(4 * j, kk)};`);
  return out;
}

/** Stores the tm×tn block at (m0, n0) through the epilogue, skipping what lies past M or N. */
function store(tm: number, tn: number, m0: string, n0: string, epilogue?: MatmulEpilogue, poison?: string): string[] {
  const out = [`let cBase = batchIdx * params.M * params.N;`];
  for (const i of seq(tm)) {
    out.push(`if (${m0} + ${U(i)} < params.M) {`, `  let m = ${m0} + ${U(i)};`);
    for (const j of seq(tn)) {
      const v = `acc${i}_${Math.floor(j / 4)}[${j % 4}]`;
      const applied = epilogue ? epilogue.apply(raw(v), raw("batchIdx"), raw("m"), raw(`(${n0} + ${U(j)})`)) : v;
      const expr = poison ? `select(nan_f32(), ${applied}, ${poison})` : applied;
      out.push(`  if (${n0} + ${U(j)} < params.N) { c[cBase + m * params.N + ${n0} + ${U(j)}] = ${expr}; }`);
    }
    out.push(`}`);
  }
  return out;
}

const preamble = [
  `let batchIdx = wid.z;`,
  `if (batchIdx >= params.batch) { return; }`,
  `let aBase = params.aOffset + batchIdx * params.aBatchStride;`,
  `let bBase = params.bOffset + batchIdx * params.bBatchStride;`,
];

function accDecls(tm: number, tn: number): string[] {
  return seq(tm).flatMap((i) => seq(tn / 4).map((j) => `var acc${i}_${j} = vec4<f32>(0.0);`));
}

function regblockBody(o: MatmulOptions, A: Operand, B: Operand): string[] {
  const t = o.tiling;
  if (t.kind !== "regblock") throw new Error("regblockBody: not a regblock tiling (latent bug)");
  const sg = t.subgroup;
  // With wgY = 1 the rows are the workgroup's, the same for every invocation (subgroup sharing relies on it).
  const m0 = t.wgY === 1 ? `(wid.y * ${U(t.tm)})` : `((wid.y * ${U(t.wgY)} + lid.y) * ${U(t.tm)})`;
  const n0 = `((wid.x * ${U(t.wgX)} + lid.x) * ${U(t.tn)})`;
  const a = sg ? subgroupOperand(A, "m0", t.tm, "aBase", sg) : regblockOperand(A, "m0", t.tm, "aBase");
  const b = regblockOperand(B, "n0", t.tn, "bBase");
  // A k-contiguous vec4 operand means K % 4 == 0: every chunk is whole and needs no mask.
  const masked = !(A.vec4 && (A.kContig || B.kContig));
  return [
    ...preamble,
    `let m0 = ${m0};`,
    `let n0 = ${n0};`,
    // The kernel was built for subgroups of exactly sg lanes; on any other size the sharing
    // would read the wrong rows, so the result is poisoned with NaN instead of silently wrong.
    ...(sg ? [`let sgOk = subgroupAdd(1u) == ${U(sg)};`] : []),
    // No early return for invocations past the edge: they load clamped rows and store nothing,
    // and subgroupBroadcast needs every lane of the subgroup active.
    ...a.setup,
    ...b.setup,
    ...accDecls(t.tm, t.tn),
    `for (var k = 0u; k < params.K; k += 4u) {`,
    ...(masked ? seq(4).flatMap((kk) => [`let kc${kk} = min(k + ${U(kk)}, params.K - 1u);`, `let kin${kk} = k + ${U(kk)} < params.K;`]) : []),
    ...a.load("k", masked),
    ...b.load("k", masked),
    ...accumulate(t.tm, t.tn, 4, a.val, b.vec),
    `}`,
    ...store(t.tm, t.tn, "m0", "n0", o.epilogue, sg ? "sgOk" : undefined),
  ];
}

/**
 * Cooperative load of one operand's slab into workgroup memory `xs`, laid out [bk][T] (T = BM or
 * BN) so the compute loop reads an invocation's tm (tn) values contiguously. Global reads are
 * ordered so neighbouring invocations read neighbouring addresses. Rows past the edge are clamped,
 * k past K is zero-filled (and its address clamped, so no read leaves the operand).
 */
function tiledLoad(x: Operand, T: number, bk: number, threads: number, oT: string, base: string): string[] {
  const n = x.name;
  const xs = n === "a" ? "tileA" : "tileB";
  const units = x.vec4 ? (T * bk) / 4 : T * bk;
  const rounds = Math.ceil(units / threads);
  const out: string[] = [];
  for (const r of seq(rounds)) {
    const body: string[] = [];
    body.push(`let e = lidx + ${U(r * threads)};`);
    if (x.kContig && x.vec4) {
      const per = bk / 4;
      body.push(
        `let o = e / ${U(per)};`,
        `let kq = (e % ${U(per)}) * 4u;`,
        `let row = min(${oT} + o, ${x.O} - 1u);`,
        `let kg = min(k0 + kq, params.K - 4u);`,
        `let q = select(vec4<f32>(0.0), ${n}[(${base} + row * params.K + kg) / 4u], k0 + kq < params.K);`,
        ...seq(4).map((c) => `${xs}[(kq + ${U(c)}) * ${U(T)} + o] = q[${c}];`),
      );
    } else if (x.kContig) {
      body.push(
        `let o = e / ${U(bk)};`,
        `let kk = e % ${U(bk)};`,
        `let row = min(${oT} + o, ${x.O} - 1u);`,
        `${xs}[kk * ${U(T)} + o] = select(0.0, ${n}[${base} + row * params.K + min(k0 + kk, params.K - 1u)], k0 + kk < params.K);`,
      );
    } else if (x.vec4) {
      const per = T / 4;
      body.push(
        `let kk = e / ${U(per)};`,
        `let g = (e % ${U(per)}) * 4u;`,
        `let col = min(${oT} + g, ${x.O} - 4u);`,
        `let q = select(vec4<f32>(0.0), ${n}[(${base} + min(k0 + kk, params.K - 1u) * ${x.O} + col) / 4u], k0 + kk < params.K);`,
        ...seq(4).map((c) => `${xs}[kk * ${U(T)} + g + ${U(c)}] = q[${c}];`),
      );
    } else {
      body.push(
        `let kk = e / ${U(T)};`,
        `let o = e % ${U(T)};`,
        `let col = min(${oT} + o, ${x.O} - 1u);`,
        `${xs}[kk * ${U(T)} + o] = select(0.0, ${n}[${base} + min(k0 + kk, params.K - 1u) * ${x.O} + col], k0 + kk < params.K);`,
      );
    }
    const guarded = (r + 1) * threads > units;
    out.push(guarded ? `if (lidx + ${U(r * threads)} < ${U(units)}) {` : `{`, ...body.map((l) => "  " + l), `}`);
  }
  return out;
}

function tiledBody(o: MatmulOptions, A: Operand, B: Operand): string[] {
  const t = o.tiling;
  if (t.kind !== "tiled") throw new Error("tiledBody: not a tiled tiling (latent bug)");
  const { BM, BN } = matmulTileShape(t);
  const threads = t.wgX * t.wgY;
  const aVal = (i: number, _kk: number) => `av${i}`;
  const bVec = (j: number, _kk: number) => `bv${j / 4}`;
  return [
    ...preamble,
    `let lidx = lid.y * ${U(t.wgX)} + lid.x;`,
    `let mT = wid.y * ${U(BM)};`,
    `let nT = wid.x * ${U(BN)};`,
    `let am = lid.y * ${U(t.tm)};`,
    `let bn = lid.x * ${U(t.tn)};`,
    ...accDecls(t.tm, t.tn),
    // Every invocation takes part in every barrier round, even those past the edge.
    `for (var k0 = 0u; k0 < params.K; k0 += ${U(t.bk)}) {`,
    ...tiledLoad(A, BM, t.bk, threads, "mT", "aBase"),
    ...tiledLoad(B, BN, t.bk, threads, "nT", "bBase"),
    `  workgroupBarrier();`,
    `  for (var kk = 0u; kk < ${U(t.bk)}; kk++) {`,
    ...seq(t.tm).map((i) => `    let av${i} = tileA[kk * ${U(BM)} + am + ${U(i)}];`),
    ...seq(t.tn / 4).map(
      (j) => `    let bv${j} = vec4<f32>(${seq(4).map((c) => `tileB[kk * ${U(BN)} + bn + ${U(4 * j + c)}]`).join(", ")});`,
    ),
    ...accumulate(t.tm, t.tn, 1, aVal, bVec).map((l) => "    " + l),
    `  }`,
    `  workgroupBarrier();`,
    `}`,
    ...store(t.tm, t.tn, "(mT + am)", "(nT + bn)", o.epilogue),
  ];
}

/**
 * The matmul kernel factory. Inputs are `a`, `b`, then the epilogue's inputs; the output is `c`
 * (f32, contiguous [batch, M, N]). With `vec4: true`, `a` and `b` are declared
 * `array<vec4<f32>>` (bind the same buffers; offsets and strides stay in f32 elements).
 *
 * Epilogue input names must not clash with the kernel's bindings or locals (checked).
 *
 * @example
 * const tiling = defaultMatmulTiling(dev.limits, fixedSubgroupSize(dev.gpu));
 * const shape = { M, N, K, batch: 1, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 };
 * const k = matmulKernel({ transA: false, transB: true, tiling, vec4: vec4Eligible({ transA: false, transB: true }, shape) });
 * const compiled = await dev.pipelines.get(k.name, k.source, k.inputs.length, k.outputs.length);
 * batch.dispatch(compiled, k.pack(shape), [a, b, c], matmulWorkgroups({ tiling }, M, N, 1));
 */
export function matmulKernel(o: MatmulOptions): KernelSource<MatmulParams> {
  const t = o.tiling;
  checkTiling(t);
  const vec4 = o.vec4 ?? false;
  const A: Operand = { name: "a", O: "params.M", kContig: !o.transA, vec4 };
  const B: Operand = { name: "b", O: "params.N", kContig: o.transB, vec4 };
  const ep = o.epilogue;
  const elem: ElemType = vec4 ? "vec4<f32>" : "f32";
  const shape =
    t.kind === "regblock" ? `regblock${t.wgX}x${t.wgY}_${t.tm}x${t.tn}` : `tiled${t.wgX}x${t.wgY}_${t.tm}x${t.tn}_k${t.bk}`;
  const sgTag = t.kind === "regblock" && t.subgroup ? `_sg${t.subgroup}` : "";
  const name = `matmul_${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}_${shape}${sgTag}${vec4 ? "_v4" : ""}${ep ? "_ep" : ""}`;
  const { BM, BN } = matmulTileShape(t);
  const shared = t.kind === "tiled" ? [`var<workgroup> tileA: array<f32, ${BM * t.bk}>;`, `var<workgroup> tileB: array<f32, ${BN * t.bk}>;`] : [];
  const body = t.kind === "regblock" ? regblockBody(o, A, B) : tiledBody(o, A, B);
  // A binding shadowed by a local of the same name would make the epilogue read the local.
  const taken = new Set(["a", "b", "c", "params", "tileA", "tileB", "gid", "lid", "wid", "nwg", "main"]);
  for (const line of body) for (const m of line.matchAll(/\b(?:let|var)\s+(\w+)/g)) taken.add(m[1]!);
  for (const input of Object.keys(ep?.inputs ?? {})) {
    if (taken.has(input)) throw new RangeError(`matmul epilogue input '${input}' clashes with a name the kernel uses; rename it`);
  }
  const kernel = defineKernel({
    name,
    params: { ...MATMUL_PARAMS, ...(ep?.params ?? {}) } as typeof MATMUL_PARAMS,
    inputs: { a: elem, b: elem, ...(ep?.inputs ?? {}) },
    outputs: { c: "f32" },
    workgroupSize: [t.wgX, t.wgY, 1],
    prelude: raw([...shared, ep?.prelude ?? ""].join("\n")),
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
  if (t.kind !== "regblock" || !t.subgroup) return kernel;
  // `enable` must precede every declaration, and defineKernel has no directive slot yet.
  return { ...kernel, source: raw(`enable subgroups;\n${kernel.source}`) };
}
