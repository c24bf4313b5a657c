/**
 * Pooling and upsampling (NCHW, PyTorch semantics).
 *
 * - avgPool2d is a depthwise conv2d with constant weights 1/(kh·kw): it reuses the conv kernels
 *   and their gradients (countIncludePad: false divides by the number of real pixels instead).
 * - maxPool2d has its own kernels (shaders/pool.ts): select and scatter by the window argmax, each
 *   the other's gradient.
 * - upsample 'nearest' with integer factors is a pure view (reshape + expand + reshape), so it
 *   fuses into its consumer and its gradient is expand's sum. Everything else ('bilinear', and
 *   'nearest' with fractional factors) is separable, y = A_h · x · A_wᵀ with small constant
 *   interpolation matrices, i.e. two matmuls whose backward rules give the gradient.
 */
import { poolArgmaxKernel, poolScatterKernel, poolSelectKernel } from "../../shaders/pool.js";
import type { KernelSource, Params } from "../../shaders/kernel.js";
import { grid1d } from "../dispatch.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { div } from "./binary.js";
import { conv2d, type Pair } from "./conv.js";
import { matmul } from "./matmul.js";
import { fromTyped, full, makeNode } from "./node.js";
import type { KernelDef, KernelPlan, PlanContext } from "./op.js";
import { expand, reshape, transpose } from "./view.js";

export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  /** Count padding pixels in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
}

export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export interface UpsampleOptions {
  /** Output = ⌊input · scaleFactor⌋ per spatial dimension. Give this or `size`. */
  scaleFactor?: number | readonly [number, number];
  /** Output [H, W]. */
  size?: readonly [number, number];
  /** Default 'nearest'. 'bilinear' uses align_corners = false, like PyTorch's default. */
  mode?: "nearest" | "bilinear";
}

function pairOf(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (p.some((d) => !Number.isInteger(d) || d < min)) throw new ShapeError(op, `${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function check4d(op: string, x: Tensor): void {
  if (x.dtype !== "f32") throw new DTypeError(op, "f32", x.dtype);
  if (x.rank !== 4) throw new ShapeError(op, "expects an NCHW tensor", x.shape);
}

interface PoolGeometry {
  planes: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

/** PyTorch's pooling rules: padding at most half the (dilated) kernel, a non-empty output. */
function poolGeometry(op: string, x: Tensor, kernel: Pair, o: { stride?: Pair; padding?: Pair; dilation?: Pair }): PoolGeometry {
  check4d(op, x);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = pairOf(op, "kernel size", kernel, 1);
  const [sh, sw] = pairOf(op, "stride", o.stride ?? [kh, kw], 1);
  const [ph, pw] = pairOf(op, "padding", o.padding ?? 0, 0);
  const [dh, dw] = pairOf(op, "dilation", o.dilation ?? 1, 1);
  const effH = dh * (kh - 1) + 1, effW = dw * (kw - 1) + 1;
  if (2 * ph > effH || 2 * pw > effW) throw new ShapeError(op, `padding ${ph}×${pw} exceeds half the kernel ${effH}×${effW}`, x.shape);
  if (H + 2 * ph < effH || W + 2 * pw < effW) throw new ShapeError(op, `kernel ${effH}×${effW} is larger than the padded input ${H + 2 * ph}×${W + 2 * pw}`, x.shape);
  const Ho = Math.floor((H + 2 * ph - effH) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - effW) / sw) + 1;
  return { planes: N * C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw };
}

const kernels = new WeakMap<object, Map<string, KernelSource<Params>>>();
function cached(ctx: PlanContext, key: string, make: () => KernelSource<Params>): KernelSource<Params> {
  let m = kernels.get(ctx.dev);
  if (!m) kernels.set(ctx.dev, (m = new Map()));
  let k = m.get(key);
  if (!k) m.set(key, (k = make()));
  return k;
}

const geomOf = (t: Tensor) => t.attrs.geom as PoolGeometry;
const WG = 64;
const gridFor = (ctx: PlanContext, n: number) => grid1d(Math.ceil(n / WG), ctx.dev.limits.maxComputeWorkgroupsPerDimension);

/** out = v at the argmax of key over each window. Inputs: key, v. */
export const MAXPOOL_SELECT: KernelDef = {
  name: "maxPool2d",
  kind: "kernel",
  plan: (t: Tensor, ctx: PlanContext): KernelPlan => {
    const g = geomOf(t);
    const kernel = cached(ctx, "select", () => poolSelectKernel(WG) as unknown as KernelSource<Params>);
    return { steps: [{ kernel, bindings: [t.inputs[0]!, t.inputs[1]!, "out"], params: { ...g }, workgroups: gridFor(ctx, g.planes * g.Ho * g.Wo), label: ctx.label }] };
  },
  backward: ({ inputs: [key], dout, attrs }) => [null, scatterNode(key!, dout, attrs.geom as PoolGeometry)],
};

/** out[pixel] = Σ d over the windows whose argmax of key is that pixel. Inputs: key, d. */
export const MAXPOOL_SCATTER: KernelDef = {
  name: "maxPool2dBackward",
  kind: "kernel",
  plan: (t: Tensor, ctx: PlanContext): KernelPlan => {
    const g = geomOf(t);
    const argmax = cached(ctx, "argmax", () => poolArgmaxKernel(WG) as unknown as KernelSource<Params>);
    const scatter = cached(ctx, "scatter", () => poolScatterKernel(WG) as unknown as KernelSource<Params>);
    const outs = g.planes * g.Ho * g.Wo;
    return {
      steps: [
        { kernel: argmax, bindings: [t.inputs[0]!, { temp: 0 }], params: { ...g }, workgroups: gridFor(ctx, outs), label: `${ctx.label} (argmax)` },
        { kernel: scatter, bindings: [{ temp: 0 }, t.inputs[1]!, "out"], params: { ...g }, workgroups: gridFor(ctx, g.planes * g.H * g.W), label: ctx.label },
      ],
      temps: [outs * 4],
    };
  },
  backward: ({ inputs: [key], dout, attrs }) => [null, selectNode(key!, dout, attrs.geom as PoolGeometry)],
};

const selectNode = (key: Tensor, v: Tensor, g: PoolGeometry) => makeNode(MAXPOOL_SELECT, [key, v], [key.shape[0]!, key.shape[1]!, g.Ho, g.Wo], "f32", { geom: g });
const scatterNode = (key: Tensor, d: Tensor, g: PoolGeometry) => makeNode(MAXPOOL_SCATTER, [key, d], key.shape, "f32", { geom: g });

/**
 * torch.nn.functional.max_pool2d. The gradient goes to the window's maximum (the first one on
 * ties, in raster order of the window); a window's NaN propagates.
 * @example maxPool2d(x, 2)  // [N, C, H, W] → [N, C, ⌊H/2⌋, ⌊W/2⌋]
 */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: MaxPool2dOptions = {}): Tensor {
  const g = poolGeometry("maxPool2d", x, kernelSize, opts);
  return selectNode(x, x, g);
}

/**
 * torch.nn.functional.avg_pool2d: a depthwise conv with weights 1/(kh·kw), so it shares the conv
 * kernels and gradients. With countIncludePad false, each output is divided by its number of real
 * (non-padding) pixels instead.
 */
export function avgPool2d(x: Tensor, kernelSize: Pair, opts: AvgPool2dOptions = {}): Tensor {
  const op = "avgPool2d";
  const g = poolGeometry(op, x, kernelSize, opts);
  const C = x.shape[1]!;
  const conv = { stride: [g.sh, g.sw] as const, padding: [g.ph, g.pw] as const, groups: C };
  const sums = conv2d(x, full([C, 1, g.kh, g.kw], 1, { device: x.device }), undefined, conv);
  if (opts.countIncludePad ?? true) return div(sums, g.kh * g.kw);
  // the divisor map: the same window sums over an image of ones (a constant, no gradient)
  const counts = conv2d(full([1, 1, g.H, g.W], 1, { device: x.device }), full([1, 1, g.kh, g.kw], 1, { device: x.device }), undefined, {
    stride: conv.stride,
    padding: conv.padding,
  });
  return div(sums, expand(counts, sums.shape));
}

/**
 * Interpolation matrix [out, in] for one axis (align_corners = false):
 * src = max(0, (dst + ½)·scale − ½), weights 1 − λ and λ on ⌊src⌋ and min(⌊src⌋ + 1, in − 1);
 * nearest takes min(⌊dst·scale⌋, in − 1). `scale` is in/out, or 1/scaleFactor when one was given.
 */
function interpMatrix(n: number, m: number, scale: number, mode: "nearest" | "bilinear"): Float32Array {
  const a = new Float32Array(m * n);
  for (let d = 0; d < m; d++) {
    if (mode === "nearest") {
      a[d * n + Math.min(Math.floor(d * scale), n - 1)] = 1;
      continue;
    }
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const l1 = src - i0;
    a[d * n + i0] += 1 - l1;
    a[d * n + i1] += l1;
  }
  return a;
}

/**
 * torch.nn.functional.interpolate for NCHW: 'nearest' (integer factors: a view) or 'bilinear'
 * (align_corners = false).
 * @example upsample(x, { scaleFactor: 2 }); upsample(x, { size: [20, 30], mode: "bilinear" })
 */
export function upsample(x: Tensor, opts: UpsampleOptions): Tensor {
  const op = "upsample";
  check4d(op, x);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const mode = opts.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") throw new ShapeError(op, `unknown mode ${JSON.stringify(mode)}`);
  if ((opts.scaleFactor === undefined) === (opts.size === undefined)) throw new ShapeError(op, "give exactly one of scaleFactor and size");
  let Ho: number, Wo: number;
  let scale: [number, number];
  if (opts.size) {
    [Ho, Wo] = opts.size;
    if (![Ho, Wo].every((d) => Number.isInteger(d) && d >= 1)) throw new ShapeError(op, `size must be positive integers, got ${JSON.stringify(opts.size)}`);
    scale = [H / Ho, W / Wo];
  } else {
    const f = typeof opts.scaleFactor === "number" ? [opts.scaleFactor, opts.scaleFactor] : [opts.scaleFactor![0], opts.scaleFactor![1]];
    if (!f.every((v) => Number.isFinite(v) && v > 0)) throw new ShapeError(op, `scaleFactor must be positive, got ${JSON.stringify(opts.scaleFactor)}`);
    [Ho, Wo] = [Math.floor(H * f[0]!), Math.floor(W * f[1]!)];
    if (Ho < 1 || Wo < 1) throw new ShapeError(op, `scaleFactor ${JSON.stringify(opts.scaleFactor)} leaves an empty output`, x.shape);
    scale = [1 / f[0]!, 1 / f[1]!];
  }
  // Integer nearest upsampling repeats each pixel a×b times: a view, no kernel.
  const a = Ho / H, b = Wo / W;
  if (mode === "nearest" && Number.isInteger(a) && Number.isInteger(b) && scale[0] * a === 1 && scale[1] * b === 1) {
    const rep = expand(reshape(x, [N, C, H, 1, W, 1]), [N, C, H, a, W, b]);
    return reshape(rep, [N, C, Ho, Wo]);
  }
  const Ah = fromTyped(interpMatrix(H, Ho, scale[0], mode), [Ho, H], "f32", { device: x.device });
  const Aw = fromTyped(interpMatrix(W, Wo, scale[1], mode), [Wo, W], "f32", { device: x.device });
  // y = A_h · x · A_wᵀ: rows first ([N, C, H, W] @ [W, Wo]), then columns ([Ho, H] @ [N, C, H, Wo])
  return matmul(Ah, matmul(x, transpose(Aw)));
}
