/**
 * Lowering: turns the lazy graph under some tensors into kernels and runs them.
 *
 * 1. Collect the unrealized subgraph. 2. Choose kernel roots: the targets, every reduce / matmul /
 * softmax node, elementwise nodes read by more than one consumer, and matmul operands that are not
 * a foldable strided view. 3. Generate one kernel per root, fusing everything between roots
 * (splitting when a kernel would bind more storage buffers than the adapter allows). 4. Compile
 * (cached by source), encode all dispatches in one command buffer, submit.
 */
import { defineKernel, type KernelSource, type Params, type Scalar } from "../shaders/kernel.js";
import { raw, type Wgsl } from "../shaders/wgsl.js";
import { matmulKernel, matmulWorkgroups, vec4Eligible, type MatmulEpilogue, type MatmulTiling } from "../shaders/matmul.js";
import { reduceKernel, rowTuning } from "../shaders/reduce.js";
import { softmaxKernel } from "../shaders/softmax.js";
import type { Device } from "./device.js";
import { CommandBatch, grid1d } from "./dispatch.js";
import { DisposedError } from "./errors.js";
import { FusedBuilder, linear, type Param } from "./codegen.js";
import { isKernelRoot, type KernelPlan, type KernelStep } from "./ops/op.js";
import { numel, stridesOf } from "./shape.js";
import { Tensor } from "./tensor.js";
import { debugLevel } from "./debug.js";
import { autotuneMatmul, pickMatmulTiling } from "./tuning.js";

const WG = 64;

interface Plan {
  root: Tensor;
  kernel: KernelSource<Params>;
  inputs: Tensor[];
  params: Record<string, number | (() => number)>;
  workgroups: [number, number, number];
  label: string;
}

/** A multi-dispatch plan (kernel-kind ops): steps bind inputs, scratch buffers and the output. */
function asSteps(p: Plan): KernelPlan {
  return { steps: [{ kernel: p.kernel, bindings: [...p.inputs, "out"], params: p.params, workgroups: p.workgroups, label: p.label }] };
}

/** Thrown by planners when a kernel would exceed the storage-buffer limit; names what to split. */
class TooManyBindings {
  constructor(readonly split: Tensor) {}
}

const byDevice = new WeakMap<Device, Promise<void>>();

/** Realizes tensors (computes and stores their values on the GPU). */
export async function realize(...targets: Tensor[]): Promise<void> {
  const todo = targets.filter((t) => !t.isRealized);
  for (const t of targets) if (t.isDisposed) throw new DisposedError(`tensor ${t.describe()}`);
  if (!todo.length) return;
  const dev = todo[0]!.device;
  // Realizations on one device run one at a time: a tensor is never scheduled twice.
  const prev = byDevice.get(dev) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => realizeNow(dev, todo.filter((t) => !t.isRealized)));
  byDevice.set(dev, run);
  return run;
}

// ── strided views: what a matmul can read without a copy ─────────────────────────────────────────
interface Strided {
  base: Tensor;
  strides: number[];
  offset: number;
}

/** Follows a chain of views down to a non-view tensor, if it is expressible as strides. */
export function asStrided(t: Tensor, isRoot: (t: Tensor) => boolean): Strided | null {
  if (t.isRealized || isRoot(t) || t.op.kind !== "view") return t.isRealized || isRoot(t) ? { base: t, strides: stridesOf(t.shape), offset: 0 } : null;
  const inner = asStrided(t.inputs[0]!, isRoot);
  if (!inner) return null;
  const src = t.inputs[0]!;
  switch (t.op.name) {
    case "permute": {
      const perm = t.attrs.perm as number[];
      return { base: inner.base, strides: perm.map((p) => inner.strides[p]!), offset: inner.offset };
    }
    case "expand": {
      const r = t.shape.length - src.shape.length;
      return {
        base: inner.base,
        strides: t.shape.map((d, i) => (i < r || (src.shape[i - r] === 1 && d !== 1) ? 0 : inner.strides[i - r]!)),
        offset: inner.offset,
      };
    }
    case "reshape": {
      const st = reshapeStrides(src.shape, inner.strides, t.shape);
      return st ? { base: inner.base, strides: st, offset: inner.offset } : null;
    }
    case "slice": {
      const starts = t.attrs.starts as number[], steps = t.attrs.steps as number[];
      return {
        base: inner.base,
        strides: inner.strides.map((s, i) => s * steps[i]!),
        offset: inner.offset + starts.reduce((a, s, i) => a + s * inner.strides[i]!, 0),
      };
    }
    default:
      return null;
  }
}

/**
 * Strides of a reshape of a strided view without copying, when one exists (NumPy's no-copy
 * reshape): dims are grouped into runs of equal element count, and each old run must be
 * contiguous within itself. Size-1 dims take any stride.
 */
export function reshapeStrides(from: readonly number[], strides: readonly number[], to: readonly number[]): number[] | null {
  const of = from.map((d, i) => [d, strides[i]!] as const).filter(([d]) => d !== 1);
  const nt = to.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  const out = to.map(() => 0);
  let i = 0, j = 0;
  while (i < of.length && j < nt.length) {
    let po = of[i]![0], pn = nt[j]![0];
    const i0 = i, j0 = j;
    while (po !== pn) {
      if (po < pn) po *= of[++i]![0];
      else pn *= nt[++j]![0];
    }
    for (let k = i0; k < i; k++) if (of[k]![1] !== of[k + 1]![1] * of[k + 1]![0]) return null;
    // new dims of the run take strides from the run's innermost old stride
    let acc = of[i]![1];
    for (let k = j; k >= j0; k--) {
      out[nt[k]![1]] = acc;
      acc *= nt[k]![0];
    }
    i++;
    j++;
  }
  return out;
}

function matmulOperand(t: Tensor, isRoot: (t: Tensor) => boolean): { base: Tensor; trans: boolean; offset: number; batchStride: number } | null {
  const s = asStrided(t, isRoot);
  if (!s) return null;
  const [, R, C] = t.shape as [number, number, number];
  const [bs, rs, cs] = s.strides as [number, number, number];
  const batchOk = (stride: number) => stride === 0 || t.shape[0] === 1 || stride === bs;
  if ((cs === 1 || C === 1) && (rs === C || R === 1) && batchOk(bs)) return { base: s.base, trans: false, offset: s.offset, batchStride: t.shape[0] === 1 ? 0 : bs };
  if ((rs === 1 || R === 1) && (cs === R || C === 1) && batchOk(bs)) return { base: s.base, trans: true, offset: s.offset, batchStride: t.shape[0] === 1 ? 0 : bs };
  return null;
}

// ── scheduling ──────────────────────────────────────────────────────────────────────────────────
function collect(targets: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = targets.map((t) => [t, false]);
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t) || t.isRealized) continue;
    if (t.isDisposed) throw new DisposedError(`tensor ${t.describe()} (needed by a computation)`);
    seen.add(t);
    stack.push([t, true]);
    for (const x of t.inputs) if (!seen.has(x) && !x.isRealized) stack.push([x, false]);
  }
  return order; // post-order: inputs before consumers
}

async function realizeNow(dev: Device, targets: Tensor[]): Promise<void> {
  if (!targets.length) return;
  dev.check();
  const order = collect(targets);
  const inSet = new Set(order);
  const consumers = new Map<Tensor, number>();
  for (const t of order) for (const x of t.inputs) if (inSet.has(x)) consumers.set(x, (consumers.get(x) ?? 0) + 1);

  const roots = new Set<Tensor>(targets);
  for (const t of order) {
    const k = t.op.kind;
    if (isKernelRoot(k)) roots.add(t);
    else if ((k === "elementwise" || k === "index" || (k === "source" && t.op.source === "rand")) && (consumers.get(t) ?? 0) > 1) roots.add(t);
  }
  // A target that only relabels a kernel root's output (reshape, e.g. a reduction without keepDims
  // or matmul's batch reshape) takes that root's buffer instead of costing a copy kernel.
  const alias = new Map<Tensor, Tensor>();
  for (const t of targets) {
    const s = t.inputs[0];
    if (t.op.name !== "reshape" || !s || s.isRealized || !isKernelRoot(s.op.kind) || targets.includes(s) || (consumers.get(s) ?? 0) !== 1) continue;
    alias.set(s, t);
    roots.delete(t);
  }
  const isRoot = (t: Tensor) => roots.has(t);
  // matmul operands must be readable as strided buffers; otherwise they get their own kernel
  let changed = true;
  while (changed) {
    changed = false;
    for (const t of order) {
      if (t.op.kind !== "matmul" || !roots.has(t)) continue;
      for (const x of t.inputs) {
        const m = matmulOperand(x, isRoot);
        if (!m) {
          if (!roots.has(x)) (roots.add(x), (changed = true));
        } else if (!m.base.isRealized && !roots.has(m.base)) (roots.add(m.base), (changed = true));
      }
    }
  }

  // Matmul epilogues: a matmul read only through a chain of elementwise ops and reshapes that
  // ends at a root is computed inside that root's kernel (bias + activation after a matmul).
  const users = new Map<Tensor, Tensor[]>();
  for (const t of order)
    for (const x of t.inputs) {
      if (!inSet.has(x)) continue;
      const u = users.get(x);
      if (u) u.push(t);
      else users.set(x, [t]);
    }
  const epilogueOf = new Map<Tensor, Tensor>();
  for (const m of order) {
    if (m.op.kind !== "matmul" || !roots.has(m) || targets.includes(m) || users.get(m)?.length !== 1 || (consumers.get(m) ?? 0) !== 1) continue;
    let cur = m;
    let end: Tensor | undefined;
    for (;;) {
      const u = users.get(cur);
      if (!u || u.length !== 1) break;
      const next = u[0]!;
      const ok = next.op.kind === "elementwise" || next.op.name === "reshape";
      if (!ok || numel(next.shape) !== numel(m.shape) || next.inputs.filter((x) => x === cur).length !== 1) break;
      if (roots.has(next)) {
        end = next;
        break;
      }
      if ((consumers.get(next) ?? 0) !== 1) break;
      cur = next;
    }
    if (end && end.dtype === "f32" && !epilogueOf.has(end) && cheapEpilogue(end, m, (x) => x.isRealized || roots.has(x))) {
      epilogueOf.set(end, m);
      roots.delete(m);
    }
  }

  // kernel-kind ops read their inputs as contiguous buffers
  for (const t of order) if (t.op.kind === "kernel" && roots.has(t)) for (const x of t.inputs) if (!x.isRealized) roots.add(x);

  // opt-in: measure matmul tilings for new shape classes before planning
  if (dev.autotune) {
    for (const t of order) {
      if (t.op.kind !== "matmul") continue;
      const A = matmulOperand(t.inputs[0]!, isRoot), B = matmulOperand(t.inputs[1]!, isRoot);
      const [, M, N] = t.shape as [number, number, number];
      if (A && B) await autotuneMatmul(dev, { M, N, K: t.inputs[0]!.shape[2]!, batch: t.shape[0]!, transA: A.trans, transB: B.trans });
    }
  }

  // plan kernels, splitting fused regions that bind too many buffers
  const maxIn = dev.maxStorageBuffers - 1;
  let plans: (KernelPlan & { root: Tensor })[] = [];
  for (;;) {
    try {
      plans = order.filter((t) => roots.has(t)).map((t) => {
        const m = epilogueOf.get(t);
        return { root: t, ...(m ? asSteps(planMatmul(dev, m, isRoot, maxIn, `matmul+${t.op.name} [${t.shape.join(",")}]`, t)) : planRoot(dev, t, isRoot, maxIn)) };
      });
      break;
    } catch (e) {
      if (!(e instanceof TooManyBindings)) throw e;
      roots.add(e.split);
    }
  }
  const steps = plans.flatMap((p) => p.steps);
  if (debugLevel() >= 3) {
    const desc = (b: Tensor | { temp: number } | "out") => (b === "out" ? "out" : b instanceof Tensor ? b.describe() : `temp${b.temp}`);
    console.info(`[latent] realize: ${steps.length} kernels\n${steps.map((s) => `  ${s.label} ← ${s.bindings.map(desc).join(", ")}`).join("\n")}`);
  }
  const compiled = await Promise.all(steps.map((s) => dev.pipelines.get(s.label, s.kernel.source, s.kernel.inputs.length, s.kernel.outputs.length)));
  dev.check();
  const batch = new CommandBatch(dev, "realize");
  const made: [Tensor, GPUBuffer][] = [];
  const bufferOf = (t: Tensor): GPUBuffer => {
    const b = t.isRealized ? t.buffer : made.find(([m]) => m === t)?.[1];
    if (!b) throw new Error(`no buffer for ${t.describe()} (latent bug: scheduling order)`);
    return b;
  };
  const scratch: GPUBuffer[] = [];
  let k = 0;
  try {
    for (const p of plans) {
      const out = dev.pool.acquire(numel(p.root.shape) * 4, p.steps[0]?.label ?? p.root.describe());
      made.push([alias.get(p.root) ?? p.root, out]);
      const temps = (p.temps ?? []).map((bytes, i) => dev.pool.acquire(bytes, `${p.root.describe()}.temp${i}`));
      scratch.push(...temps);
      for (const s of p.steps) {
        const c = compiled[k++]!;
        if (numel(p.root.shape) === 0) continue;
        const bufs = s.bindings.map((b) => (b === "out" ? out : b instanceof Tensor ? bufferOf(b) : temps[b.temp]!));
        batch.dispatch(c, packParams(s), bufs, s.workgroups, s.label);
      }
    }
  } catch (e) {
    for (const [, b] of made) dev.pool.release(b);
    for (const b of scratch) dev.pool.release(b);
    throw e;
  }
  batch.submit();
  // scratch can go back to the pool now: later work on the queue runs after this submission
  for (const b of scratch) dev.pool.release(b);
  for (const [t, b] of made) t.setBuffer(b);
}

/** Packs a step's uniforms; dynamic values (compiled-step replays) stay a closure. */
function packParams(s: KernelStep): ArrayBuffer | (() => ArrayBuffer) {
  const entries = Object.entries(s.params);
  const resolve = () => Object.fromEntries(entries.map(([k, v]) => [k, typeof v === "function" ? v() : v]));
  return entries.some(([, v]) => typeof v === "function") ? () => s.kernel.pack(resolve()) : s.kernel.pack(resolve());
}

function paramsRecord(ps: readonly Param[]): Record<string, Scalar> {
  return Object.fromEntries(ps.map((p) => [p.name, p.type]));
}
function paramValues(ps: readonly Param[]): Record<string, number | (() => number)> {
  return Object.fromEntries(ps.map((p) => [p.name, p.value]));
}

function checkBindings(b: FusedBuilder, extra: number, maxIn: number, root: Tensor): void {
  if (b.inputs.length + extra <= maxIn) return;
  // split: materialise the fused node that reads the most distinct boundary tensors
  let best: Tensor | undefined;
  let bestCount = 0;
  for (const t of b.fused) {
    if (t === root) continue;
    const leaves = new Set<Tensor>();
    const stack = [...t.inputs];
    while (stack.length) {
      const x = stack.pop()!;
      if (b.inputs.includes(x)) leaves.add(x);
      else stack.push(...x.inputs);
    }
    if (leaves.size > bestCount && leaves.size < b.inputs.length) ((best = t), (bestCount = leaves.size));
  }
  if (!best) throw new Error(`cannot split kernel for ${root.describe()} under the storage-buffer limit (${maxIn})`);
  throw new TooManyBindings(best);
}

function planRoot(dev: Device, t: Tensor, isRoot: (t: Tensor) => boolean, maxIn: number): KernelPlan {
  const boundary = (x: Tensor) => x !== t && (x.isRealized || isRoot(x));
  const label = `${t.op.name} ${t.name ? `(${t.name}) ` : ""}[${t.shape.join(",")}]`;
  switch (t.op.kind) {
    case "source":
    case "elementwise":
    case "view":
    case "index":
      return asSteps(planElementwise(t, boundary, maxIn, label));
    case "reduce":
      return planReduce(dev, t, boundary, maxIn, label);
    case "softmax":
      return asSteps(planSoftmax(dev, t, boundary, maxIn, label));
    case "matmul":
      return asSteps(planMatmul(dev, t, isRoot, maxIn, label));
    case "kernel":
      return t.op.plan(t, { dev, label });
    default:
      return t.op satisfies never;
  }
}

function planElementwise(t: Tensor, boundary: (x: Tensor) => boolean, maxIn: number, label: string): Plan {
  const b = new FusedBuilder(boundary);
  const n = numel(t.shape);
  const fn = b.fn("value_at", [["i", "u32"]], t.dtype, ([i]) => b.value(t, b.unravel(i!, t.shape)));
  checkBindings(b, 0, maxIn, t);
  const kernel = defineKernel({
    name: label,
    params: paramsRecord(b.params),
    inputs: b.inputDecls(),
    outputs: { out: t.dtype },
    workgroupSize: WG,
    prelude: b.prelude(),
    body: raw(`  let i = gid.x + gid.y * nwg.x * ${WG}u;\n  if (i >= ${n}u) { return; }\n  out[i] = ${fn}(i);`),
  });
  return { root: t, kernel, inputs: b.inputs, params: paramValues(b.params), workgroups: grid1d(Math.ceil(n / WG)), label };
}

/**
 * Whether the fused region under `root` (down to roots, realized tensors and the matmul `m`) is
 * cheap enough to inline into a matmul's store: the big register-blocked kernels unroll it per
 * accumulator (up to 128×), so a Philox draw or a long chain there costs seconds of compile time.
 */
function cheapEpilogue(root: Tensor, m: Tensor, boundary: (x: Tensor) => boolean): boolean {
  let nodes = 0;
  const seen = new Set<Tensor>();
  const stack = [root];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || t === m || (t !== root && boundary(t))) continue;
    seen.add(t);
    if (t.op.kind === "source" && t.op.source === "rand") return false;
    if (t.op.kind === "index" || ++nodes > 12) return false;
    stack.push(...t.inputs);
  }
  return true;
}

/** Identity of each splittable reduction, as WGSL (for padding the last chunk). */
const REDUCE_IDENTITY = { sum: "0.0", prod: "1.0", max: "(-inf_f32())", min: "inf_f32()" } as const;

/**
 * Reductions. A few very long rows (a loss summed over a whole batch) would run on one workgroup,
 * i.e. one CPU thread on the software drivers, so they are split: pass 1 reduces `chunks` pieces
 * of every row into a scratch buffer, pass 2 reduces the pieces (same op, deterministic order).
 */
function planReduce(dev: Device, t: Tensor, boundary: (x: Tensor) => boolean, maxIn: number, label: string): KernelPlan {
  const x = t.inputs[0]!;
  const axes = t.attrs.axes as number[];
  const outer = numel(t.shape);
  const rShape = axes.map((a) => x.shape[a]!);
  const R = numel(rShape);
  const op = (t.op as { reduce: "sum" | "max" | "min" | "argmax" | "argmin" | "prod" }).reduce;
  const tuning = rowTuning(dev.kernelProfile, dev.limits.maxComputeInvocationsPerWorkgroup);
  const maxDim = dev.limits.maxComputeWorkgroupsPerDimension;
  const split = op !== "argmax" && op !== "argmin" && outer < 16 && R >= 16384;
  const chunks = split ? Math.min(32, Math.ceil(R / 4096)) : 1;
  const L = Math.ceil(R / chunks);

  const b = new FusedBuilder(boundary);
  const elem = b.fn("element", [["o", "u32"], ["r", "u32"]], "f32", ([o, r]) => {
    const oc = b.unravel(o!, t.shape);
    const rc = b.unravel(r!, rShape);
    const idx = x.shape.map((_, d) => (axes.includes(d) ? rc[axes.indexOf(d)]! : oc[d]!));
    const v = b.value(x, idx);
    return x.dtype === "f32" ? v : raw(`f32(${v})`);
  });
  checkBindings(b, 0, maxIn, t);
  const prologue = { inputs: b.inputDecls(), prelude: b.prelude(), params: paramsRecord(b.params) };
  if (!split) {
    const kernel = reduceKernel({ op, ...tuning, prologue: { ...prologue, element: (o: Wgsl, r: Wgsl) => raw(`${elem}(${o}, ${r})`) } });
    const launch = kernel.launch(outer, R, maxDim);
    return asSteps({ root: t, kernel: kernel as unknown as KernelSource<Params>, inputs: b.inputs, params: { ...launch.params, ...paramValues(b.params) }, workgroups: launch.workgroups, label });
  }
  const ident = REDUCE_IDENTITY[op as keyof typeof REDUCE_IDENTITY];
  // pass 1: row o·chunks + c covers r ∈ [c·L, (c+1)·L) of row o
  const first = reduceKernel({
    op,
    ...tuning,
    prologue: {
      ...prologue,
      element: (o: Wgsl, r: Wgsl) =>
        raw(`select(${ident}, ${elem}(${o} / ${chunks}u, (${o} % ${chunks}u) * ${L}u + ${r}), (${o} % ${chunks}u) * ${L}u + ${r} < ${R}u)`),
    },
  });
  const l1 = first.launch(outer * chunks, L, maxDim);
  const second = reduceKernel({ op, ...tuning, prologue: { inputs: { partial: "f32" }, element: (o: Wgsl, r: Wgsl) => raw(`partial[${o} * ${chunks}u + ${r}]`) } });
  const l2 = second.launch(outer, chunks, maxDim);
  return {
    temps: [outer * chunks * 4],
    steps: [
      { kernel: first as unknown as KernelSource<Params>, bindings: [...b.inputs, { temp: 0 }], params: { ...l1.params, ...paramValues(b.params) }, workgroups: l1.workgroups, label: `${label} (pass 1/2)` },
      { kernel: second as unknown as KernelSource<Params>, bindings: [{ temp: 0 }, "out"], params: { ...l2.params }, workgroups: l2.workgroups, label: `${label} (pass 2/2)` },
    ],
  };
}

function planSoftmax(dev: Device, t: Tensor, boundary: (x: Tensor) => boolean, maxIn: number, label: string): Plan {
  const x = t.inputs[0]!;
  const R = x.shape.at(-1)!;
  const outerShape = x.shape.slice(0, -1);
  const outer = numel(outerShape);
  const b = new FusedBuilder(boundary);
  const elem = b.fn("element", [["o", "u32"], ["r", "u32"]], "f32", ([o, r]) => b.value(x, [...b.unravel(o!, outerShape), r!]));
  checkBindings(b, 0, maxIn, t);
  const kernel = softmaxKernel({
    log: t.attrs.log as boolean,
    ...rowTuning(dev.kernelProfile, dev.limits.maxComputeInvocationsPerWorkgroup),
    prologue: { inputs: b.inputDecls(), prelude: b.prelude(), params: paramsRecord(b.params), element: (o: Wgsl, r: Wgsl) => raw(`${elem}(${o}, ${r})`) },
  });
  const launch = kernel.launch(outer, R, dev.limits.maxComputeWorkgroupsPerDimension);
  return { root: t, kernel: kernel as unknown as KernelSource<Params>, inputs: b.inputs, params: { ...launch.params, ...paramValues(b.params) }, workgroups: launch.workgroups, label };
}

function planMatmul(dev: Device, t: Tensor, isRoot: (t: Tensor) => boolean, maxIn: number, label: string, epilogueRoot?: Tensor): Plan {
  const [a, bT] = t.inputs as [Tensor, Tensor];
  const A = matmulOperand(a, isRoot)!, B = matmulOperand(bT, isRoot)!;
  const [batch, M, N] = t.shape as [number, number, number];
  const K = a.shape[2]!;
  const shape = { M, N, K, batch, transA: A.trans, transB: B.trans, aOffset: A.offset, bOffset: B.offset, aBatchStride: A.batchStride, bBatchStride: B.batchStride };
  const tiling: MatmulTiling = pickMatmulTiling(dev, shape);
  const vec4 = vec4Eligible(shape, shape);
  let epilogue: MatmulEpilogue | undefined;
  let extra: Tensor[] = [];
  let extraParams: Record<string, number | (() => number)> = {};
  if (epilogueRoot) {
    // the root's value at element (b, m, n) of the matmul, with the matmul itself as `v`
    const root = epilogueRoot;
    const b = new FusedBuilder((x) => x !== root && (x.isRealized || isRoot(x)));
    b.overrides.set(t, raw("v"));
    const fn = b.fn("mm_epilogue", [["v", "f32"], ["bi", "u32"], ["mi", "u32"], ["ni", "u32"]], "f32", ([, bi, mi, ni]) =>
      b.value(root, b.unravel(raw(`(${bi} * ${M * N}u + ${mi} * ${N}u + ${ni})`), root.shape)),
    );
    checkBindings(b, 2, maxIn, root);
    epilogue = { inputs: b.inputDecls(), prelude: b.prelude(), params: paramsRecord(b.params), apply: (v, bi, mi, ni) => raw(`${fn}(${v}, ${bi}, ${mi}, ${ni})`) };
    extra = b.inputs;
    extraParams = paramValues(b.params);
  }
  const opts = { transA: A.trans, transB: B.trans, tiling, vec4, epilogue };
  const kernel = matmulKernel(opts) as KernelSource<Params>;
  return {
    root: epilogueRoot ?? t,
    kernel,
    inputs: [A.base, B.base, ...extra],
    params: { M, N, K, batch, aOffset: A.offset, bOffset: B.offset, aBatchStride: A.batchStride, bBatchStride: B.batchStride, ...extraParams },
    workgroups: matmulWorkgroups(opts, M, N, batch),
    label,
  };
}

export { linear };
