/**
 * Convolutions: every configuration runs the GPU forward against engine/cpu.ts's float64
 * conv2d / convTranspose2d and the GPU gradients (our three kernels composed by the backward
 * rules) against central differences under a random cotangent (checkOp). Then the structural
 * properties: convTranspose2d is conv2d's exact adjoint, masked convolutions are causal and
 * their masked taps get exactly zero gradient, the gated PixelCNN stacks have no blind spot,
 * double backward, and validation errors.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import {
  DTypeError,
  ShapeError,
  conv2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  convTranspose2d,
  fromTyped,
  gatedPixelCnnLayer,
  grad,
  maskedConv2d,
  mul,
  scope,
  sum,
  tanh,
  zeros,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type Tensor,
} from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randnArray } from "../helpers/numeric.js";

await testDevice();

const rn = (shape: readonly number[], seed: number) => randnArray(shape, seed);

/** Resolves the options our conv2d takes beyond cpu.conv2d's (explicit/'same' padding) by padding x first. */
function refConv(x: NdArray, w: NdArray, b: NdArray | undefined, o: Conv2dOptions): NdArray {
  const [kh, kw] = [w.shape[2]!, w.shape[3]!];
  const d = typeof o.dilation === "number" ? [o.dilation, o.dilation] : (o.dilation ?? [1, 1]);
  let pads: [[number, number], [number, number]];
  const p = o.padding ?? 0;
  if (p === "same") {
    const th = d[0]! * (kh - 1), tw = d[1]! * (kw - 1);
    pads = [[th >> 1, th - (th >> 1)], [tw >> 1, tw - (tw >> 1)]];
  } else if (typeof p === "number") pads = [[p, p], [p, p]];
  else if (Array.isArray(p[0])) pads = p as [[number, number], [number, number]];
  else pads = [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
  const xp = cpu.pad(x, [[0, 0], [0, 0], pads[0], pads[1]]);
  return cpu.conv2d(xp, w, b, { stride: o.stride, dilation: o.dilation, groups: o.groups });
}

interface ConvCase {
  label: string;
  x: number[];
  w: number[];
  bias?: boolean;
  opts: Conv2dOptions;
}

// Each value of every option appears in several combinations (not the full cross product):
// strides 1, 2, [2, 1]; padding 0, 1, 'same', [h, w], explicit asymmetric; dilation 1, 2, [1, 2];
// groups 1, 2, depthwise, depthwise ×2; kernels 1×1, 2×2, 3×3, 3×5, 5×5, 7×7; batch 1, 2, 3.
const CONV_CASES: ConvCase[] = [
  { label: "1×1, batch 3", x: [3, 3, 4, 5], w: [4, 3, 1, 1], bias: true, opts: {} },
  { label: "3×3 pad 1, batch 3, bias", x: [3, 4, 5, 6], w: [4, 4, 3, 3], bias: true, opts: { padding: 1 } },
  { label: "3×3 pad 0 stride 2, odd 9×7", x: [1, 2, 9, 7], w: [3, 2, 3, 3], opts: { stride: 2 } },
  { label: "3×3 'same' dilation 2", x: [2, 2, 7, 6], w: [3, 2, 3, 3], bias: true, opts: { padding: "same", dilation: 2 } },
  { label: "3×3 pad 1 stride 2 dilation 2 groups 2", x: [2, 4, 7, 8], w: [4, 2, 3, 3], opts: { padding: 1, stride: 2, dilation: 2, groups: 2 } },
  { label: "5×5 pad 2 stride 2 groups 2, batch 3", x: [3, 4, 9, 9], w: [2, 2, 5, 5], opts: { padding: 2, stride: 2, groups: 2 } },
  { label: "5×5 'same' dilation 2 groups 2", x: [1, 4, 9, 8], w: [4, 2, 5, 5], opts: { padding: "same", dilation: 2, groups: 2 } },
  { label: "7×7 pad 3", x: [1, 1, 9, 9], w: [2, 1, 7, 7], bias: true, opts: { padding: 3 } },
  { label: "7×7 pad 0 (output 3×2)", x: [2, 2, 9, 8], w: [2, 2, 7, 7], opts: {} },
  { label: "depthwise 3×3 pad 1", x: [2, 4, 6, 5], w: [4, 1, 3, 3], bias: true, opts: { padding: 1, groups: 4 } },
  { label: "depthwise ×2 3×3 stride 2 pad 1", x: [1, 3, 7, 7], w: [6, 1, 3, 3], opts: { padding: 1, stride: 2, groups: 3 } },
  { label: "2×2 'same' (asymmetric: pad bottom/right)", x: [2, 2, 5, 6], w: [3, 2, 2, 2], opts: { padding: "same" } },
  { label: "3×5 stride [2, 1] pad [1, 2] dilation [1, 2]", x: [1, 2, 7, 9], w: [2, 2, 3, 5], opts: { stride: [2, 1], padding: [1, 2], dilation: [1, 2] } },
  { label: "explicit padding [[1, 0], [2, 1]]", x: [2, 2, 5, 5], w: [2, 2, 3, 3], opts: { padding: [[1, 0], [2, 1]] } },
  { label: "kernel as large as the padded input", x: [1, 2, 3, 3], w: [3, 2, 5, 5], opts: { padding: 1 } },
  // more channels than one register block (16 rows) or one workgroup of channel lanes (32)
  { label: "Cout 20 (row-block tail)", x: [1, 2, 4, 4], w: [20, 2, 3, 3], bias: true, opts: { padding: 1 } },
  { label: "Cin 36 (channel-block tail)", x: [1, 36, 3, 3], w: [3, 36, 3, 3], opts: { padding: 1 } },
  { label: "pixels over one workgroup block", x: [2, 1, 13, 12], w: [2, 1, 3, 3], opts: { padding: 1 } },
];

describe("conv2d vs float64 reference", () => {
  test.each(CONV_CASES)("$label", ({ label, x, w, bias, opts }) =>
    checkOp({
      label,
      fn: (xs, ws, bs) => conv2d(xs!, ws!, bias ? bs : undefined, opts),
      ref: (xs, ws, bs) => refConv(xs!, ws!, bias ? bs : undefined, opts),
      inputs: [rn(x, 1), rn(w, 2), rn([w[0]!], 3)],
      grad: [true, true, bias ?? false],
      rtol: 1e-4,
      atol: 1e-5,
    }),
  );
});

interface ConvTCase {
  label: string;
  x: number[];
  w: number[];
  bias?: boolean;
  opts: ConvTranspose2dOptions;
}

const CONVT_CASES: ConvTCase[] = [
  { label: "3×3 stride 1 pad 1", x: [2, 3, 4, 5], w: [3, 2, 3, 3], bias: true, opts: { padding: 1 } },
  { label: "3×3 stride 2 pad 1 outputPadding 1", x: [2, 3, 4, 5], w: [3, 2, 3, 3], opts: { padding: 1, stride: 2, outputPadding: 1 } },
  { label: "4×4 stride 2 pad 1 (DCGAN upsampling), batch 3", x: [3, 2, 3, 3], w: [2, 3, 4, 4], bias: true, opts: { stride: 2, padding: 1 } },
  { label: "3×3 stride 3 dilation 2 groups 2", x: [1, 4, 3, 4], w: [4, 1, 3, 3], opts: { stride: 3, dilation: 2, groups: 2 } },
  { label: "1×1 stride 2 (phases without taps)", x: [1, 2, 3, 3], w: [2, 3, 1, 1], opts: { stride: 2 } },
  { label: "5×5 stride [2, 1] pad 2 outputPadding [1, 0]", x: [1, 2, 4, 4], w: [2, 2, 5, 5], opts: { stride: [2, 1], padding: 2, outputPadding: [1, 0] } },
  { label: "3×3 stride 1 dilation 2 outputPadding 1 (rows no input reaches)", x: [1, 2, 3, 3], w: [2, 2, 3, 3], opts: { dilation: 2, outputPadding: 1 } },
];

/** dW[o, c, i, j] = Σ dy[n, o, oy, ox] · x[n, g·CinG + c, oy·s − p + i·d, ox·s − p + j·d], in float64. */
function refWeightGrad(x: NdArray, dy: NdArray, wShape: readonly number[], o: { stride: number; padding: number; dilation: number; groups: number }): NdArray {
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [, Cout, Ho, Wo] = dy.shape as [number, number, number, number];
  const [, CinG, kh, kw] = wShape as [number, number, number, number];
  const CoutG = Cout / o.groups;
  const g = NdArray.zeros(wShape);
  for (let co = 0; co < Cout; co++) {
    const grp = Math.floor(co / CoutG);
    for (let c = 0; c < CinG; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy * o.stride - o.padding + i * o.dilation;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < Wo; ox++) {
                const ix = ox * o.stride - o.padding + j * o.dilation;
                if (ix < 0 || ix >= W) continue;
                s += dy.data[((n * Cout + co) * Ho + oy) * Wo + ox]! * x.data[((n * Cin + grp * CinG + c) * H + iy) * W + ix]!;
              }
            }
          }
          g.data[((co * CinG + c) * kh + i) * kw + j] = s;
        }
      }
    }
  }
  return g;
}

// The grid above is too small for the full register blocks (16 channels × 16 pixels per lane);
// these layers use them, with gradients checked against float64 references of the adjoints
// (finite differences over ~10⁴ weights would take too long).
describe("full-size register blocks", () => {
  test.each([
    { label: "3×3 pad 1, 20→36 on 2×16×16", x: [2, 20, 16, 16], w: [36, 20, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 1 } },
    { label: "5×5 stride 2 pad 2 groups 2, 36→34 on 2×17×15", x: [2, 36, 17, 15], w: [34, 18, 5, 5], o: { stride: 2, padding: 2, dilation: 1, groups: 2 } },
  ])("$label", async ({ x: xs, w: ws, o }) => {
    await withDevice(async () => {
      await scope(async () => {
        const xa = cpu.map(rn(xs, 40), Math.fround), wa = cpu.map(rn(ws, 41), Math.fround);
        const yRef = cpu.conv2d(xa, wa, undefined, o);
        const cot = cpu.map(rn(yRef.shape, 42), Math.fround);
        const x = upload(xa, "f32", true), w = upload(wa, "f32", true);
        const y = conv2d(x, w, undefined, o);
        sum(mul(y, upload(cot))).backward();
        const op = [2, 3].map((a) => xs[a]! - ((yRef.shape[a]! - 1) * o.stride - 2 * o.padding + o.dilation * (ws[a]! - 1) + 1)) as [number, number];
        const tol = { rtol: 1e-4, atol: 1e-4 };
        expectAllclose(await y.toArray(), yRef, tol, "forward");
        expectAllclose(await x.grad!.toArray(), cpu.convTranspose2d(cot, wa, undefined, { ...o, outputPadding: op }), tol, "d/dx");
        expectAllclose(await w.grad!.toArray(), refWeightGrad(xa, cot, ws, o), { rtol: 1e-4, atol: 1e-3 }, "d/dw");
      });
    });
  });
});

describe("convTranspose2d vs float64 reference", () => {
  test.each(CONVT_CASES)("$label", ({ label, x, w, bias, opts }) =>
    checkOp({
      label,
      fn: (xs, ws, bs) => convTranspose2d(xs!, ws!, bias ? bs : undefined, opts),
      ref: (xs, ws, bs) => cpu.convTranspose2d(xs!, ws!, bias ? bs : undefined, opts),
      inputs: [rn(x, 4), rn(w, 5), rn([w[1]! * (opts.groups ?? 1)], 6)],
      grad: [true, true, bias ?? false],
      rtol: 1e-4,
      atol: 1e-5,
    }),
  );

  test("is the exact adjoint of conv2d: ⟨conv(x), y⟩ = ⟨x, convT(y)⟩ on the GPU", async () => {
    const cases: [number[], number[], cpu.ConvTranspose2dOptions][] = [
      [[2, 4, 9, 8], [6, 2, 3, 3], { stride: 2, padding: 1, dilation: 1, groups: 2 }],
      [[1, 3, 7, 7], [2, 3, 5, 5], { stride: 1, padding: 2, dilation: 2 }],
      [[3, 2, 6, 7], [4, 2, 4, 4], { stride: 2, padding: 1 }],
    ];
    await withDevice(async () => {
      for (const [xs, ws, o] of cases) {
        await scope(async () => {
          const x = upload(rn(xs, 7)), w = upload(rn(ws, 8));
          const yShape = cpu.conv2d(NdArray.zeros(xs), NdArray.zeros(ws), undefined, o).shape;
          const y = upload(rn(yShape, 9));
          // outputPadding recovers the rows that conv2d's ⌊·⌋ dropped
          const s = typeof o.stride === "number" ? o.stride : 1, p = typeof o.padding === "number" ? o.padding : 0;
          const d = typeof o.dilation === "number" ? o.dilation : 1;
          const op = [2, 3].map((a) => xs[a]! - ((yShape[a]! - 1) * s - 2 * p + d * (ws[a]! - 1) + 1)) as [number, number];
          const lhs = await sum(mul(conv2d(x, w, undefined, o), y)).item();
          const rhs = await sum(mul(x, convTranspose2d(y, w, undefined, { stride: s, padding: p, dilation: d, groups: o.groups, outputPadding: op }))).item();
          expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
        });
      }
    });
  });
});

describe("gradient kernels as ops, and double backward", () => {
  test("conv2dInputGrad / conv2dWeightGrad equal autograd's gradients", async () => {
    const o: cpu.Conv2dOptions = { stride: 2, padding: 1, groups: 2 };
    await withDevice(async () => {
      await scope(async () => {
        const xa = rn([2, 4, 7, 6], 10), wa = rn([4, 2, 3, 3], 11);
        const dyShape = cpu.conv2d(xa, wa, undefined, o).shape;
        const x = upload(xa, "f32", true), w = upload(wa, "f32", true), dy = upload(rn(dyShape, 12));
        sum(mul(conv2d(x, w, undefined, o), dy)).backward();
        const [gx, gw] = [await x.grad!.toArray(), await w.grad!.toArray()];
        const ix = await conv2dInputGrad(dy, w, x.shape, o).toArray();
        const iw = await conv2dWeightGrad(x, dy, w.shape, o).toArray();
        expect(Array.from(ix)).toEqual(Array.from(gx));
        expect(Array.from(iw)).toEqual(Array.from(gw));
      });
    });
  });

  // d/dx ⟨conv(x, w), c⟩ = convT(c, w) and d/dw = corr(x, c); differentiating those again goes
  // through the backward rules of the two gradient kernels.
  const o: cpu.Conv2dOptions = { stride: 2, padding: 1 };
  const xs = [2, 2, 5, 6], ws = [3, 2, 3, 3];
  const cot = rn(cpu.conv2d(NdArray.zeros(xs), NdArray.zeros(ws), undefined, o).shape, 13);
  const inner = (x: Tensor, w: Tensor) => sum(mul(conv2d(x, w, undefined, o), fromTyped(new Float32Array(cot.data), cot.shape, "f32")));
  test("through the input gradient (its weight derivative)", () =>
    checkOp({
      label: "d/dw of d/dx",
      fn: (x, w) => grad(inner)(x!, w!)[0]!,
      ref: (_x, w) => cpu.convTranspose2d(cot, w!, undefined, { stride: 2, padding: 1, outputPadding: [0, 1] }),
      inputs: [rn(xs, 14), rn(ws, 15)],
      grad: [false, true],
      rtol: 1e-4,
      atol: 1e-5,
    }));
  test("through the weight gradient (its input derivative)", () =>
    checkOp({
      label: "d/dx of d/dw",
      fn: (x, w) => grad(inner)(x!, w!)[1]!,
      ref: (x, w) => {
        // d/dw ⟨conv(x, w), c⟩ by linearity: one reference conv per weight element
        const g = NdArray.zeros(w!.shape);
        for (let i = 0; i < g.size; i++) {
          const e = NdArray.zeros(w!.shape);
          e.data[i] = 1;
          g.data[i] = cpu.dot(cpu.conv2d(x!, e, undefined, o), cot);
        }
        return g;
      },
      inputs: [rn(xs, 16), rn(ws, 17)],
      grad: [true, false],
      rtol: 1e-4,
      atol: 1e-5,
    }));
});

/** The PixelCNN mask on a weight: kept taps (raster order before the centre; 'B' adds it) = 1. */
function maskOf(shape: number[], type: "A" | "B"): NdArray {
  const [co, ci, kh, kw] = shape as [number, number, number, number];
  const m = NdArray.zeros(shape);
  const centre = (kh >> 1) * kw + (kw >> 1);
  for (let o = 0; o < co * ci; o++) for (let t = 0; t < kh * kw; t++) m.data[o * kh * kw + t] = t < centre || (type === "B" && t === centre) ? 1 : 0;
  return m;
}

describe("maskedConv2d", () => {
  test.each([
    ["A", [2, 3, 6, 5], [4, 3, 3, 3]],
    ["B", [1, 2, 7, 7], [3, 2, 5, 5]],
    ["A", [1, 1, 5, 6], [2, 1, 7, 7]],
    ["B", [3, 2, 4, 4], [2, 2, 1, 3]],
  ] as const)("mask %s: x %j, w %j vs conv2d with the masked weight", (mask, x, w) =>
    checkOp({
      label: `masked ${mask}`,
      fn: (xs, ws, bs) => maskedConv2d(xs!, ws!, bs, { mask }),
      ref: (xs, ws, bs) => refConv(xs!, cpu.zip(ws!, maskOf([...w], mask), (a, b) => a * b), bs, { padding: "same" }),
      inputs: [rn([...x], 20), rn([...w], 21), rn([w[0]], 22)],
      rtol: 1e-4,
      atol: 1e-5,
    }),
  );

  test.each(["A", "B"] as const)("mask %s is causal and masked taps get exactly zero weight gradient", async (mask) => {
    const [H, W] = [6, 7];
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(rn([1, 2, H, W], 23), "f32", true), w = upload(rn([3, 2, 5, 5], 24), "f32", true);
        for (const [r, c] of [[2, 3], [0, 0], [5, 6], [3, 0]] as const) {
          x.grad = null;
          w.grad = null;
          sum(maskedConv2d(x, w, undefined, { mask }).slice([null, null, r, c])).backward();
          const gx = await x.grad!.toArray();
          for (let ch = 0; ch < 2; ch++) {
            for (let i = 0; i < H; i++) {
              for (let j = 0; j < W; j++) {
                const at = i * W + j, here = r * W + c;
                const v = gx[ch * H * W + at]!;
                // after (r, c) in raster order: never seen; (r, c) itself only by mask B
                if (at > here || (at === here && mask === "A")) expect(Math.abs(v), `(${i}, ${j}) for output (${r}, ${c})`).toBe(0);
                // inside the kept 5×5 neighbourhood: seen (random weights make exact zeros improbable)
                else if (Math.abs(i - r) <= 2 && Math.abs(j - c) <= 2) expect(v, `(${i}, ${j}) for output (${r}, ${c})`).not.toBe(0);
              }
            }
          }
          const gw = await w.grad!.toArray();
          const m = maskOf([3, 2, 5, 5], mask);
          for (let k = 0; k < gw.length; k++) if (m.data[k] === 0) expect(Math.abs(gw[k]!)).toBe(0);
        }
      });
    });
  });
});

describe("gated PixelCNN stacks", () => {
  const F = 2; // gated channels; the stack convs produce 2F (tanh half, sigmoid half)

  /** A 5-layer gated stack (van den Oord et al. 2016, Fig. 2) with random weights, 3×3 receptive steps. */
  function stack(x: Tensor, seed: number): Tensor {
    const C = x.shape[1]!;
    const rw = (shape: number[], s: number) => upload(cpu.map(rn(shape, s), (v) => 0.7 * v));
    let v = x, h = x;
    for (let l = 0; l < 5; l++) {
      const cin = l === 0 ? C : F;
      const s = seed + 10 * l;
      const weights = { v: rw([2 * F, cin, 2, 3], s), h: rw([2 * F, cin, 1, l === 0 ? 1 : 2], s + 1), vToH: rw([2 * F, 2 * F, 1, 1], s + 2), hOut: rw([F, F, 1, 1], s + 3) };
      ({ v, h } = gatedPixelCnnLayer(v, h, weights, { first: l === 0 }));
    }
    return h;
  }

  test("the receptive field is exactly the causal past (no blind spot)", async () => {
    const [H, W] = [6, 6];
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(rn([1, 1, H, W], 30), "f32", true);
        const out = stack(x, 100);
        for (const [r, c] of [[3, 2], [5, 5], [0, 3], [4, 0]] as const) {
          x.grad = null;
          sum(out.slice([null, null, r, c])).backward();
          const g = await x.grad!.toArray();
          for (let at = 0; at < H * W; at++) {
            const where = `(${Math.floor(at / W)}, ${at % W}) for output (${r}, ${c})`;
            if (at < r * W + c) expect(g[at], where).not.toBe(0);
            else expect(Math.abs(g[at]!), where).toBe(0);
          }
        }
      });
    });
  });

  test("a plain stack of masked 3×3 convs has the blind spot the gated stacks remove", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(rn([1, 1, 6, 6], 31), "f32", true);
        let h = maskedConv2d(x, upload(rn([2, 1, 3, 3], 32)), undefined, { mask: "A" });
        for (let l = 0; l < 4; l++) h = maskedConv2d(tanh(h), upload(rn([2, 2, 3, 3], 33 + l)), undefined, { mask: "B" });
        sum(h.slice([null, null, 4, 2])).backward();
        const g = await x.grad!.toArray();
        // (2, 5) lies before (4, 2) in raster order and within reach of a 5-layer stack's
        // square receptive field, yet no chain of masked taps gets there
        expect(Math.abs(g[2 * 6 + 5]!)).toBe(0);
        expect(g[3 * 6 + 1]).not.toBe(0);
      });
    });
  });
});

describe("validation at node creation", () => {
  test("shape errors name the op and both shapes", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = zeros([2, 4, 8, 8]);
        const bad = (f: () => unknown, re: RegExp) => {
          expect(f).toThrow(ShapeError);
          expect(f).toThrow(re);
        };
        bad(() => conv2d(x, zeros([3, 3, 3, 3])), /conv2d: weight expects 3 input channels.*\[2, 4, 8, 8\] and \[3, 3, 3, 3\]/);
        bad(() => conv2d(x, zeros([3, 2, 3, 3]), undefined, { groups: 2 }), /conv2d: groups=2 does not divide the 3 output channels/);
        bad(() => conv2d(x, zeros([4, 1, 3, 3]), undefined, { groups: 3 }), /conv2d: groups=3 does not divide the 4 input channels/);
        bad(() => conv2d(x, zeros([4, 4, 11, 3])), /conv2d: kernel 11×3 \(dilated\) is larger than the padded input 8×8/);
        bad(() => conv2d(x, zeros([4, 4, 3, 3]), undefined, { dilation: 5 }), /larger than the padded input/);
        bad(() => conv2d(x, zeros([4, 4, 3, 3]), undefined, { stride: 0 }), /conv2d: stride must be integers ≥ 1/);
        bad(() => conv2d(x, zeros([4, 4, 3, 3]), undefined, { stride: 1.5 }), /stride/);
        bad(() => conv2d(x, zeros([4, 4, 3, 3]), undefined, { stride: 2, padding: "same" }), /'same' needs stride 1/);
        bad(() => conv2d(x, zeros([4, 4, 3])), /must be 4-D/);
        bad(() => conv2d(x, zeros([4, 4, 3, 3]), zeros([3])), /bias must have shape \[4\]/);
        bad(() => convTranspose2d(x, zeros([3, 2, 3, 3])), /convTranspose2d: weight expects 3 input channels/);
        bad(() => convTranspose2d(x, zeros([4, 2, 3, 3]), undefined, { stride: 2, outputPadding: 2 }), /outputPadding must be smaller/);
        bad(() => maskedConv2d(x, zeros([4, 4, 2, 3]), undefined, { mask: "A" }), /maskedConv2d: kernel sides must be odd/);
      });
    });
  });

  test("non-f32 inputs raise DTypeError", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const xi = zeros([1, 1, 4, 4], { dtype: "i32" });
        expect(() => conv2d(xi, zeros([1, 1, 3, 3]))).toThrow(DTypeError);
        expect(() => convTranspose2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3], { dtype: "i32" }))).toThrow(DTypeError);
        expect(() => maskedConv2d(xi, zeros([1, 1, 3, 3]), undefined, { mask: "B" })).toThrow(DTypeError);
      });
    });
  });
});
