/**
 * Convolutions (NCHW, PyTorch semantics): conv2d, convTranspose2d, the PixelCNN masked conv and
 * the gated PixelCNN's vertical and horizontal stacks.
 *
 * Three primitives, each a hand-written kernel (shaders/conv2d.ts) over one shared geometry:
 *   conv2d          y  = conv(x, w)                      [N, Cout, Ho, Wo]
 *   convInputGrad   dx = convᵀ(dy, w)                    [N, Cin, H, W]     (= conv_transpose2d)
 *   convWeightGrad  dw = corr(x, dy) over N, Ho, Wo      [Cout, Cin/G, kh, kw]
 * Each is linear in each argument, so each one's gradient is one of the other two (see the
 * backward rules), which makes double backward (WGAN-GP's gradient penalty) free. Bias is a
 * broadcast `add`: it fuses into whatever reads the conv output, and its gradient (a sum of dout
 * over N, H, W) comes from autograd's unbroadcasting.
 */
import {
  conv2dForwardKernel,
  conv2dInputGradKernel,
  conv2dWeightGradKernel,
  convPackKernel,
  convWeightGradFinishKernel,
  keptTaps,
  type ConvKernelOptions,
  type ConvWeightGradOptions,
  type ConvMask,
  type ConvTiling,
} from "../../shaders/conv2d.js";
import type { KernelSource, Params } from "../../shaders/kernel.js";
import type { Device } from "../device.js";
import { grid1d } from "../dispatch.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { add, mul } from "./binary.js";
import { sigmoid } from "./composite.js";
import { tanh } from "./unary.js";
import { makeNode } from "./node.js";
import type { KernelDef, KernelPlan, KernelStep, PlanContext } from "./op.js";
import { pad, reshape, slice } from "./view.js";

/** A size per spatial dimension: one number for both, or [h, w]. */
export type Pair = number | readonly [number, number];
/**
 * Padding: symmetric (number or [h, w]), 'same' (stride 1; output size = input size, the odd
 * pixel of an even total goes bottom/right like PyTorch), or explicit [[top, bottom], [left, right]].
 */
export type Padding = Pair | "same" | readonly [readonly [number, number], readonly [number, number]];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Extra rows/columns at the bottom/right, resolving the ⌊·⌋ of the matching conv2d's output size. */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export interface MaskedConv2dOptions {
  /** 'A' excludes the centre tap (first layer), 'B' includes it. */
  mask: "A" | "B";
  /** Default 'same'. */
  padding?: Padding;
}

/** Everything the three kernels need; stored on every conv node as `attrs.geom`. */
export interface ConvGeometry {
  readonly N: number;
  readonly Cin: number;
  readonly H: number;
  readonly W: number;
  readonly Cout: number;
  readonly Ho: number;
  readonly Wo: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  /** Top and left padding (bottom/right padding only shows in Ho, Wo). */
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly groups: number;
  readonly mask: ConvMask;
}

// ── validation ──────────────────────────────────────────────────────────────────────────────────

function pairOf(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (p.some((d) => !Number.isInteger(d) || d < min)) throw new ShapeError(op, `${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function checkF32(op: string, ...ts: (Tensor | undefined)[]): void {
  for (const t of ts) if (t && t.dtype !== "f32") throw new DTypeError(op, "f32", t.dtype);
}

function check4d(op: string, x: { readonly shape: readonly number[] }, w: { readonly shape: readonly number[] }): void {
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new ShapeError(op, "input and weight must be 4-D (NCHW and [Cout, Cin/groups, kh, kw])", x.shape, w.shape);
}

function checkBias(op: string, bias: Tensor | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) throw new ShapeError(op, `bias must have shape [${channels}]`, bias.shape);
}

/** Resolves padding to [top, bottom, left, right]. */
function resolvePadding(op: string, p: Padding, k: [number, number], d: [number, number], s: [number, number]): [number, number, number, number] {
  if (p === "same") {
    if (s[0] !== 1 || s[1] !== 1) throw new ShapeError(op, "padding 'same' needs stride 1", [s[0], s[1]]);
    const th = d[0] * (k[0] - 1), tw = d[1] * (k[1] - 1);
    return [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
  }
  if (Array.isArray(p) && Array.isArray(p[0])) {
    const [[t, b], [l, r]] = p as readonly [readonly [number, number], readonly [number, number]];
    if ([t, b, l, r].some((v) => !Number.isInteger(v) || v < 0)) throw new ShapeError(op, `padding must be non-negative integers, got ${JSON.stringify(p)}`);
    return [t, b, l, r];
  }
  const [ph, pw] = pairOf(op, "padding", p as Pair, 0);
  return [ph, ph, pw, pw];
}

/** Validates a conv2d call (by the input's and the weight's shapes) and returns its geometry. */
function convGeometry(op: string, x: { readonly shape: readonly number[] }, w: { readonly shape: readonly number[] }, opts: Conv2dOptions, mask: ConvMask): ConvGeometry {
  check4d(op, x, w);
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cout, CinG, kh, kw] = w.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${groups}`);
  if ([N, Cin, H, W].some((d) => d < 1)) throw new ShapeError(op, "empty input", x.shape);
  if (Cin % groups !== 0) throw new ShapeError(op, `groups=${groups} does not divide the ${Cin} input channels`, x.shape, w.shape);
  if (Cout % groups !== 0) throw new ShapeError(op, `groups=${groups} does not divide the ${Cout} output channels`, x.shape, w.shape);
  if (CinG !== Cin / groups) throw new ShapeError(op, `weight expects ${CinG * groups} input channels (groups=${groups}), input has ${Cin}`, x.shape, w.shape);
  if (kh < 1 || kw < 1) throw new ShapeError(op, "empty kernel", w.shape);
  const s = pairOf(op, "stride", opts.stride ?? 1, 1);
  const d = pairOf(op, "dilation", opts.dilation ?? 1, 1);
  const [pt, pb, pl, pr] = resolvePadding(op, opts.padding ?? 0, [kh, kw], d, s);
  const effH = d[0] * (kh - 1) + 1, effW = d[1] * (kw - 1) + 1;
  if (H + pt + pb < effH || W + pl + pr < effW) {
    throw new ShapeError(op, `kernel ${effH}×${effW} (dilated) is larger than the padded input ${H + pt + pb}×${W + pl + pr}`, x.shape, w.shape);
  }
  const Ho = Math.floor((H + pt + pb - effH) / s[0]) + 1;
  const Wo = Math.floor((W + pl + pr - effW) / s[1]) + 1;
  return { N, Cin, H, W, Cout, Ho, Wo, kh, kw, sh: s[0], sw: s[1], ph: pt, pw: pl, dh: d[0], dw: d[1], groups, mask };
}

// ── tiling ──────────────────────────────────────────────────────────────────────────────────────

type ConvKind = "fwd" | "dgrad" | "wgrad";

/**
 * Register blocks per kernel, from bench/conv-kernels.ts (GFLOP per CPU-second, which other
 * processes' load does not distort). The same blocks won on lavapipe and SwiftShader: 16 rows ×
 * 16 columns per lane and 16 lanes for the forward and input gradient, 16 output channels per
 * workgroup for the weight gradient.
 */
const DEFAULT_TILING: Record<ConvKind, ConvTiling> = {
  fwd: { tm: 16, tn: 16, wg: 16 },
  dgrad: { tm: 16, tn: 16, wg: 16 },
  wgrad: { tm: 16, tn: 1, wg: 16 },
};

/**
 * The tiling for one layer: few rows get one block of 4 (1 for depthwise) instead of a mostly
 * idle 16, few columns fewer per lane. Besides wasting less work, small blocks compile faster,
 * which is what tiny layers and the tests mostly see.
 */
function pickTiling(kind: ConvKind, rows: number, cols: number): ConvTiling {
  const base = forcedTiling(kind) ?? DEFAULT_TILING[kind];
  const tm = rows === 1 ? 1 : rows <= 4 ? Math.min(4, base.tm) : base.tm;
  let tn = base.tn;
  while (tn > 1 && (base.wg * tn) / 2 >= cols) tn /= 2;
  return { ...base, tm, tn };
}

/** `LATENT_CONV_TILING='{"fwd":{"tm":8,"tn":4,"wg":64}}'` forces a tiling per kernel kind (experiments). */
function forcedTiling(kind: ConvKind): ConvTiling | undefined {
  const env = typeof process !== "undefined" ? process.env?.LATENT_CONV_TILING : undefined;
  if (!env) return undefined;
  return (JSON.parse(env) as Partial<Record<ConvKind, ConvTiling>>)[kind];
}

const kernelCache = new WeakMap<Device, Map<string, KernelSource<Params>>>();
/** Kernel sources are strings of a few KB; building them once per configuration keeps planning cheap. */
function cached(dev: Device, key: string, make: () => KernelSource<Params>): KernelSource<Params> {
  let m = kernelCache.get(dev);
  if (!m) kernelCache.set(dev, (m = new Map()));
  let k = m.get(key);
  if (!k) m.set(key, (k = make()));
  return k;
}

function geomParams(g: ConvGeometry) {
  return {
    N: g.N, Cin: g.Cin, H: g.H, W: g.W, Cout: g.Cout, Ho: g.Ho, Wo: g.Wo,
    CinG: g.Cin / g.groups, CoutG: g.Cout / g.groups, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw, kh: g.kh, kw: g.kw,
    // per-kernel fields, overridden where used
    extra: 0, rowsP: 0, ry: 0, rx: 0, iFirst: 0, iStep: 1, jFirst: 0, jStep: 1, nTaps: 0, iLo: 0, unitsPerC: 1,
  };
}

const geomOf = (t: Tensor) => t.attrs.geom as ConvGeometry;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Weight-gradient lanes hold a whole kernel up to this many taps, else one kernel row. */
const MAX_WHOLE_KERNEL_TAPS = 9;

/** Compile-time options of a kernel: the tiling, packed whenever the row block is a whole number of vec4s. */
function kernelOptions(kind: ConvKind, g: ConvGeometry, rows: number, cols: number): ConvKernelOptions {
  const tl = pickTiling(kind, rows, cols);
  return { mask: g.mask, ...tl, packed: tl.tm % 4 === 0 };
}

/** One dispatch of the weight-gradient kernel: its compile-time rows and where its units start. */
interface WeightGradPass {
  o: ConvWeightGradOptions;
  iLo: number;
  unitsPerC: number;
}

/**
 * How the weight gradient is cut into lanes. Small kernels (≤ 9 taps): a lane holds a whole
 * kernel of one input channel (its kept rows). Larger ones: a lane holds one kernel row, and a
 * masked kernel's partial centre row is a second pass. tm shrinks so a lane keeps ≤ 144
 * accumulators; the workgroup shrinks for layers with few units.
 */
function weightGradPasses(g: ConvGeometry): WeightGradPass[] {
  const CinG = g.Cin / g.groups, CoutG = g.Cout / g.groups;
  const nTaps = keptTaps(g.kh, g.kw, g.mask);
  const full = Math.floor(nTaps / g.kw), rest = nTaps % g.kw;
  const tl = pickTiling("wgrad", CoutG, 1);
  const shapes: { rows: number[]; iLo: number; unitsPerC: number }[] = [];
  if (g.kh * g.kw <= MAX_WHOLE_KERNEL_TAPS) {
    const rows = [...Array<number>(full).fill(g.kw), ...(rest ? [rest] : [])];
    if (rows.length) shapes.push({ rows, iLo: 0, unitsPerC: 1 });
  } else {
    if (full) shapes.push({ rows: [g.kw], iLo: 0, unitsPerC: full });
    if (rest) shapes.push({ rows: [rest], iLo: full, unitsPerC: 1 });
  }
  return shapes.map(({ rows, iLo, unitsPerC }) => {
    const taps = rows.reduce((a, b) => a + b, 0);
    let tm = tl.tm;
    while (tm > 4 && tm * taps > 144) tm /= 2;
    const units = CinG * unitsPerC;
    const wg = units <= 8 ? 8 : tl.wg;
    const o: ConvWeightGradOptions = { rows, tm, wg, slide: g.sw === 1 && g.dw === 1 };
    return { o, iLo, unitsPerC };
  });
}

/** The packing step (see convPackKernel) writing temp 0. */
function packStep(ctx: PlanContext, src: Tensor, total: number, p: { rows: number; rowsP: number; nb: number; nc: number; sa: number; sb: number; rowStride: number }): KernelStep {
  const kernel = cached(ctx.dev, "pack", () => convPackKernel(64) as unknown as KernelSource<Params>);
  return {
    kernel,
    bindings: [src, { temp: 0 }],
    params: { total, ...p },
    workgroups: grid1d(Math.ceil(total / 64), ctx.dev.limits.maxComputeWorkgroupsPerDimension),
    label: `${ctx.label} (pack)`,
  };
}

function planForward(t: Tensor, ctx: PlanContext): KernelPlan {
  const g = geomOf(t);
  const [x, w] = t.inputs as [Tensor, Tensor];
  const CinG = g.Cin / g.groups, CoutG = g.Cout / g.groups, KK = g.kh * g.kw;
  const o = kernelOptions("fwd", g, CoutG, g.N * g.Ho * g.Wo);
  const kernel = cached(ctx.dev, `fwd${JSON.stringify(o)}`, () => conv2dForwardKernel(o) as unknown as KernelSource<Params>);
  const colBlocks = Math.ceil((g.N * g.Ho * g.Wo) / (o.wg * o.tn));
  const rowBlocks = Math.ceil(CoutG / o.tm);
  const total = colBlocks * rowBlocks * g.groups;
  const rowsP = roundUp(CoutG, o.tm);
  const main: KernelStep = {
    kernel,
    bindings: [x, o.packed ? { temp: 0 } : w, "out"],
    params: { ...geomParams(g), colBlocks, rowBlocks, total, extra: 0, rowsP },
    workgroups: grid1d(total, ctx.dev.limits.maxComputeWorkgroupsPerDimension),
    label: ctx.label,
  };
  if (!o.packed) return { steps: [main] };
  const n = g.groups * CinG * KK * rowsP;
  const pack = packStep(ctx, w, n, { rows: CoutG, rowsP, nb: 1, nc: CinG * KK, sa: CoutG * CinG * KK, sb: 0, rowStride: CinG * KK });
  return { steps: [pack, main], temps: [n * 4] };
}

/** No tap reaches a phase: larger than any kernel side, so the tap loops stay empty. */
const NO_TAP = 1 << 20;

/**
 * The taps of one kernel axis that reach input phase r (mod stride s): i ≡ first (mod step) with
 * s | r + pad − i·dil. Solutions repeat every s / gcd(s, dil), so scanning one period finds them.
 */
function tapProgression(r: number, pad: number, s: number, dil: number): { first: number; step: number } {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const step = s / gcd(s, dil);
  for (let i = 0; i < step; i++) if ((((r + pad - i * dil) % s) + s) % s === 0) return { first: i, step };
  return { first: NO_TAP, step };
}

function planInputGrad(t: Tensor, ctx: PlanContext): KernelPlan {
  const g = geomOf(t);
  const [dy, w] = t.inputs as [Tensor, Tensor];
  const CinG = g.Cin / g.groups, KK = g.kh * g.kw;
  const o = kernelOptions("dgrad", g, CinG, g.N * Math.ceil(g.H / g.sh) * Math.ceil(g.W / g.sw));
  const kernel = cached(ctx.dev, `dgrad${JSON.stringify(o)}`, () => conv2dInputGradKernel(o) as unknown as KernelSource<Params>);
  const rowBlocks = Math.ceil(CinG / o.tm);
  const rowsP = roundUp(CinG, o.tm);
  const steps: KernelStep[] = [];
  // one dispatch per phase (ry, rx): input pixels iy ≡ ry (mod sh), ix ≡ rx (mod sw)
  for (let ry = 0; ry < Math.min(g.sh, g.H); ry++) {
    for (let rx = 0; rx < Math.min(g.sw, g.W); rx++) {
      const pixels = g.N * Math.ceil((g.H - ry) / g.sh) * Math.ceil((g.W - rx) / g.sw);
      const colBlocks = Math.ceil(pixels / (o.wg * o.tn));
      const total = colBlocks * rowBlocks * g.groups;
      const pi = tapProgression(ry, g.ph, g.sh, g.dh), pj = tapProgression(rx, g.pw, g.sw, g.dw);
      steps.push({
        kernel,
        bindings: [dy, o.packed ? { temp: 0 } : w, "out"],
        params: { ...geomParams(g), colBlocks, rowBlocks, total, extra: 0, rowsP, ry, rx, iFirst: pi.first, iStep: pi.step, jFirst: pj.first, jStep: pj.step },
        workgroups: grid1d(total, ctx.dev.limits.maxComputeWorkgroupsPerDimension),
        label: g.sh * g.sw > 1 ? `${ctx.label} (phase ${ry},${rx})` : ctx.label,
      });
    }
  }
  if (!o.packed) return { steps };
  const n = g.Cout * KK * rowsP;
  const pack = packStep(ctx, w, n, { rows: CinG, rowsP, nb: 1, nc: KK, sa: CinG * KK, sb: 0, rowStride: KK });
  return { steps: [pack, ...steps], temps: [n * 4] };
}

/** Split-K target: enough workgroups to keep every core of a CPU driver busy with some slack. */
const WGRAD_MIN_WORKGROUPS = 16;

function planWeightGrad(t: Tensor, ctx: PlanContext): KernelPlan {
  const g = geomOf(t);
  const [x, dy] = t.inputs as [Tensor, Tensor];
  const CinG = g.Cin / g.groups, CoutG = g.Cout / g.groups, KK = g.kh * g.kw;
  const nTaps = keptTaps(g.kh, g.kw, g.mask);
  const passes = weightGradPasses(g);
  const ncol = CinG * nTaps;
  // split-K: enough chunks that the first pass alone has WGRAD_MIN_WORKGROUPS workgroups
  const first = passes[0];
  const tilesOf = (p: WeightGradPass) => Math.ceil((CinG * p.unitsPerC) / p.o.wg) * Math.ceil(CoutG / p.o.tm) * g.groups;
  const R = g.N * g.Ho;
  const want = first ? Math.max(1, Math.min(Math.ceil(WGRAD_MIN_WORKGROUPS / tilesOf(first)), Math.floor(R / 2))) : 1;
  const rowsPerChunk = Math.ceil(R / want);
  const chunks = Math.ceil(R / rowsPerChunk);
  const direct = chunks === 1 && g.mask === "none";
  const steps: KernelStep[] = [];
  const partTemp = { temp: 0 };
  for (const p of passes) {
    const kernel = cached(ctx.dev, `wgrad${JSON.stringify(p.o)}`, () => conv2dWeightGradKernel(p.o) as unknown as KernelSource<Params>);
    const colBlocks = Math.ceil((CinG * p.unitsPerC) / p.o.wg);
    const rowBlocks = Math.ceil(CoutG / p.o.tm);
    const total = tilesOf(p) * chunks;
    steps.push({
      kernel,
      bindings: [x, dy, direct ? "out" : partTemp],
      params: { ...geomParams(g), colBlocks, rowBlocks, total, extra: rowsPerChunk, nTaps, iLo: p.iLo, unitsPerC: p.unitsPerC },
      workgroups: grid1d(total, ctx.dev.limits.maxComputeWorkgroupsPerDimension),
      label: `${ctx.label} (rows ${p.iLo}+, split ${chunks})`,
    });
  }
  if (direct) return { steps };
  const temps = [Math.max(4, chunks * g.Cout * ncol * 4)];
  const finish = cached(ctx.dev, "wgrad-finish", () => convWeightGradFinishKernel(64) as unknown as KernelSource<Params>);
  const n = g.Cout * CinG * KK;
  steps.push({
    kernel: finish,
    bindings: [partTemp, "out"],
    // no pass at all (a 1×1 mask-A kernel keeps no tap): zero chunks, so every weight gets 0
    params: { total: n, chunks: passes.length ? chunks : 0, chunkStride: g.Cout * ncol, nTaps, KK },
    workgroups: grid1d(Math.ceil(n / 64), ctx.dev.limits.maxComputeWorkgroupsPerDimension),
    label: `${ctx.label} (sum)`,
  });
  return { steps, temps };
}

// ── the three primitives ────────────────────────────────────────────────────────────────────────

export const CONV2D: KernelDef = {
  name: "conv2d",
  kind: "kernel",
  plan: planForward,
  backward: ({ inputs: [x, w], dout, attrs }) => {
    const g = attrs.geom as ConvGeometry;
    return [convInputGradNode(dout, w!, g), convWeightGradNode(x!, dout, g)];
  },
};

export const CONV_INPUT_GRAD: KernelDef = {
  name: "convInputGrad",
  kind: "kernel",
  plan: planInputGrad,
  // dx = convᵀ(dy, w) is linear in both: d/d dy ⟨G, dx⟩ = conv(G, w), d/dw = corr(G, dy)
  backward: ({ inputs: [dy, w], dout, attrs }) => {
    const g = attrs.geom as ConvGeometry;
    return [convNode(dout, w!, g), convWeightGradNode(dout, dy!, g)];
  },
};

export const CONV_WEIGHT_GRAD: KernelDef = {
  name: "convWeightGrad",
  kind: "kernel",
  plan: planWeightGrad,
  // dw = corr(x, dy): d/dx ⟨G, dw⟩ = convᵀ(dy, G), d/d dy = conv(x, G)
  backward: ({ inputs: [x, dy], dout, attrs }) => {
    const g = attrs.geom as ConvGeometry;
    return [convInputGradNode(dy!, dout, g), convNode(x!, dout, g)];
  },
};

const convNode = (x: Tensor, w: Tensor, g: ConvGeometry) => makeNode(CONV2D, [x, w], [g.N, g.Cout, g.Ho, g.Wo], "f32", { geom: g });
const convInputGradNode = (dy: Tensor, w: Tensor, g: ConvGeometry) => makeNode(CONV_INPUT_GRAD, [dy, w], [g.N, g.Cin, g.H, g.W], "f32", { geom: g });
const convWeightGradNode = (x: Tensor, dy: Tensor, g: ConvGeometry) =>
  makeNode(CONV_WEIGHT_GRAD, [x, dy], [g.Cout, g.Cin / g.groups, g.kh, g.kw], "f32", { geom: g });

const addBias = (y: Tensor, bias: Tensor | undefined) => (bias ? add(y, reshape(bias, [1, bias.shape[0]!, 1, 1])) : y);

// ── public API ──────────────────────────────────────────────────────────────────────────────────

/**
 * torch.nn.functional.conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout].
 * Ho = ⌊(H + pad_top + pad_bottom − dilation·(kh − 1) − 1) / stride⌋ + 1.
 * @example conv2d(x, w, b, { padding: "same" }); conv2d(x, w, undefined, { stride: 2, padding: 1, groups: 4 })
 * @throws ShapeError on channel/group mismatches, bad stride/dilation/padding, or a kernel larger than the padded input.
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  checkF32("conv2d", x, w, bias);
  const g = convGeometry("conv2d", x, w, opts, "none");
  checkBias("conv2d", bias, g.Cout);
  return addBias(convNode(x, w, g), bias);
}

/**
 * The gradient of conv2d with respect to its input (torch.nn.grad.conv2d_input): dy is the
 * gradient of conv2d(x, w, _, opts) for an x of shape `inputShape`.
 */
export function conv2dInputGrad(dy: Tensor, w: Tensor, inputShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const op = "conv2dInputGrad";
  checkF32(op, dy, w);
  const g = convGeometry(op, { shape: inputShape }, w, opts, "none");
  if (dy.rank !== 4 || dy.shape[0] !== g.N || dy.shape[1] !== g.Cout || dy.shape[2] !== g.Ho || dy.shape[3] !== g.Wo) {
    throw new ShapeError(op, `dy must be [${g.N}, ${g.Cout}, ${g.Ho}, ${g.Wo}]`, dy.shape, w.shape);
  }
  return convInputGradNode(dy, w, g);
}

/**
 * The gradient of conv2d with respect to its weight (torch.nn.grad.conv2d_weight), summed over
 * the batch: dy is the gradient of conv2d(x, w, _, opts) for a w of shape `weightShape`.
 */
export function conv2dWeightGrad(x: Tensor, dy: Tensor, weightShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const op = "conv2dWeightGrad";
  checkF32(op, x, dy);
  const g = convGeometry(op, x, { shape: weightShape }, opts, "none");
  if (dy.rank !== 4 || dy.shape[0] !== g.N || dy.shape[1] !== g.Cout || dy.shape[2] !== g.Ho || dy.shape[3] !== g.Wo) {
    throw new ShapeError(op, `dy must be [${g.N}, ${g.Cout}, ${g.Ho}, ${g.Wo}]`, x.shape, dy.shape);
  }
  return convWeightGradNode(x, dy, g);
}

/**
 * torch.nn.functional.conv_transpose2d, the adjoint of conv2d: x [N, Cin, H, W],
 * w [Cin, Cout/groups, kh, kw], bias [Cout]. Ho = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1.
 * Runs the conv input-gradient kernel, with conv2d's roles swapped (its "output" is our input).
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = "convTranspose2d";
  checkF32(op, x, w, bias);
  check4d(op, x, w);
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [CinW, CoutG, kh, kw] = w.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${groups}`);
  if (CinW !== Cin) throw new ShapeError(op, `weight expects ${CinW} input channels, input has ${Cin}`, x.shape, w.shape);
  if (Cin % groups !== 0) throw new ShapeError(op, `groups=${groups} does not divide the ${Cin} input channels`, x.shape, w.shape);
  const s = pairOf(op, "stride", opts.stride ?? 1, 1);
  const d = pairOf(op, "dilation", opts.dilation ?? 1, 1);
  const p = pairOf(op, "padding", opts.padding ?? 0, 0);
  const op2 = pairOf(op, "outputPadding", opts.outputPadding ?? 0, 0);
  // PyTorch's rule: a larger output padding would add rows that no input could ever reach
  if (!(op2[0] < s[0] || op2[0] < d[0]) || !(op2[1] < s[1] || op2[1] < d[1])) {
    throw new ShapeError(op, "outputPadding must be smaller than stride or dilation", [op2[0], op2[1]], [s[0], s[1]]);
  }
  const Cout = CoutG * groups;
  checkBias(op, bias, Cout);
  const Ho = (H - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op2[0] + 1;
  const Wo = (W - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op2[1] + 1;
  if (Ho < 1 || Wo < 1) throw new ShapeError(op, `padding leaves an empty output (${Ho}×${Wo})`, x.shape, w.shape);
  // the conv2d this is the adjoint of: input [N, Cout, Ho, Wo] → output [N, Cin, H, W]
  const g: ConvGeometry = { N, Cin: Cout, H: Ho, W: Wo, Cout: Cin, Ho: H, Wo: W, kh, kw, sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1], groups, mask: "none" };
  return addBias(convInputGradNode(x, w, g), bias);
}

/**
 * The PixelCNN masked convolution (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
 * §3.4): only taps before the centre in raster order (rows above, and the centre row's left part)
 * take part; mask 'B' also keeps the centre. Masked taps are skipped by the kernels and their
 * weight gradient is exactly 0. Kernel sides must be odd (the centre must be a tap).
 * @example maskedConv2d(x, w, b, { mask: "A" })   // first layer: output (r, c) never sees x[r, c]
 */
export function maskedConv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, opts: MaskedConv2dOptions): Tensor {
  const op = "maskedConv2d";
  checkF32(op, x, w, bias);
  check4d(op, x, w);
  if (opts.mask !== "A" && opts.mask !== "B") throw new ShapeError(op, `mask must be 'A' or 'B', got ${JSON.stringify(opts.mask)}`);
  if (w.shape[2]! % 2 === 0 || w.shape[3]! % 2 === 0) throw new ShapeError(op, "kernel sides must be odd so that the centre is a tap", w.shape);
  const g = convGeometry(op, x, w, { padding: opts.padding ?? "same" }, opts.mask);
  checkBias(op, bias, g.Cout);
  return addBias(convNode(x, w, g), bias);
}

/**
 * Gated PixelCNN vertical stack conv (van den Oord et al. 2016, "Conditional Image Generation with
 * PixelCNN Decoders", §2.2): w [Cout, Cin, ⌊k/2⌋ + 1, k] covers the ⌊k/2⌋ rows above and the
 * current row, so out[r, c] sees in[r − ⌊k/2⌋ … r, c − ⌊k/2⌋ … c + ⌊k/2⌋]. Same spatial size.
 * It may see its own row because the horizontal stack only ever reads it through downShift.
 */
export function verticalStackConv(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const [, , rows, k] = w.shape as [number, number, number, number];
  if (w.rank !== 4 || k % 2 === 0 || rows !== (k >> 1) + 1) throw new ShapeError("verticalStackConv", "weight must be [Cout, Cin, ⌊k/2⌋ + 1, k] with k odd", w.shape);
  return conv2d(x, w, bias, { padding: [[k >> 1, 0], [k >> 1, k >> 1]] });
}

/**
 * Gated PixelCNN horizontal stack conv: a 1×n row conv over the pixels to the left. Mask 'B'
 * (w [Cout, Cin, 1, ⌊k/2⌋ + 1]) includes the current pixel; mask 'A' (w [Cout, Cin, 1, ⌊k/2⌋],
 * first layer) excludes it: the conv then produces W + 1 columns, out[c] covering c − ⌊k/2⌋ … c − 1,
 * and the last one is cropped.
 */
export function horizontalStackConv(x: Tensor, w: Tensor, bias: Tensor | undefined, opts: { mask: "A" | "B" }): Tensor {
  const op = "horizontalStackConv";
  const cols = w.shape[3]!;
  if (w.rank !== 4 || w.shape[2] !== 1 || cols < 1) throw new ShapeError(op, "weight must be [Cout, Cin, 1, n]", w.shape);
  if (opts.mask === "B") return conv2d(x, w, bias, { padding: [[0, 0], [cols - 1, 0]] });
  const y = conv2d(x, w, bias, { padding: [[0, 0], [cols, 0]] });
  return slice(y, [null, null, null, [0, x.shape[3]!]]);
}

/** Shifts rows down by one (row 0 becomes zeros): how the vertical stack feeds the horizontal one without seeing the current row. */
export function downShift(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError("downShift", "expects NCHW", x.shape);
  return slice(pad(x, [[0, 0], [0, 0], [1, 0]]), [null, null, [0, x.shape[2]!]]);
}

/** Weights of one gated PixelCNN layer (F gated channels; the stack convs produce 2F). */
export interface GatedLayerWeights {
  /** Vertical stack conv [2F, Cin, ⌊k/2⌋ + 1, k] (see verticalStackConv) and its bias [2F]. */
  readonly v: Tensor;
  readonly vBias?: Tensor;
  /** Horizontal stack conv [2F, Cin, 1, ⌊k/2⌋] for the first layer, [2F, Cin, 1, ⌊k/2⌋ + 1] after. */
  readonly h: Tensor;
  readonly hBias?: Tensor;
  /** 1×1 conv [2F, 2F] feeding the down-shifted vertical stack into the horizontal one. */
  readonly vToH: Tensor;
  /** 1×1 conv [F, F] after the horizontal gate, and its bias [F]. */
  readonly hOut: Tensor;
  readonly hOutBias?: Tensor;
}

/** tanh(a) ⊙ σ(b) for the two channel halves [a, b] of an NCHW tensor. */
function gate(t: Tensor): Tensor {
  const F = t.shape[1]! / 2;
  return mul(tanh(slice(t, [null, [0, F]])), sigmoid(slice(t, [null, [F, 2 * F]])));
}

/**
 * One layer of the gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
 * PixelCNN Decoders", Fig. 2), without conditioning:
 *   v' = gate(V ⋆ v),   h' = h + W₁ ⋆ gate(H ⋆ h + W_vh ⋆ downShift(V ⋆ v))
 * The vertical stack sees the rows above and its own row; the horizontal stack sees its row up to
 * the current pixel (mask 'A' in the first layer: strictly before it) and, through the
 * down-shift, only rows strictly above. Together they cover the whole causal past, with none of
 * the blind spot a stack of masked k×k convs has. The first layer has no residual (its input is
 * the image). Returns the new (v, h).
 */
export function gatedPixelCnnLayer(v: Tensor, h: Tensor, p: GatedLayerWeights, opts: { first: boolean }): { v: Tensor; h: Tensor } {
  const vPre = verticalStackConv(v, p.v, p.vBias);
  const hPre = add(horizontalStackConv(h, p.h, p.hBias, { mask: opts.first ? "A" : "B" }), conv2d(downShift(vPre), p.vToH));
  const hOut = conv2d(gate(hPre), p.hOut, p.hOutBias);
  return { v: gate(vPre), h: opts.first ? hOut : add(h, hOut) };
}
