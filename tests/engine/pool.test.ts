/**
 * Pooling and upsampling against float64 references written here from PyTorch's definitions
 * (independent of how the engine builds them: avgPool2d is a depthwise conv, bilinear upsampling
 * two matmuls), with gradients by central differences (checkOp). Max pooling's tie rule (first
 * position in the window) is checked directly, since finite differences are meaningless at ties.
 */
import { describe, expect, test } from "vitest";
import { NdArray } from "../../engine/cpu.js";
import { DTypeError, ShapeError, avgPool2d, grad, maxPool2d, mul, scope, sum, tensor, upsample, zeros, type Tensor } from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { randnArray } from "../helpers/numeric.js";

await testDevice();

const rn = (shape: number[], seed: number) => randnArray(shape, seed);
type P2 = [number, number];

interface PoolRef {
  k: P2;
  s: P2;
  p: P2;
  d?: P2;
}

/** Visits every window: f(plane, oy, ox, pixels in the window (value, inside-image flag)). */
function windows(x: NdArray, o: PoolRef, f: (out: number, vals: number[], real: number) => number): NdArray {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const d = o.d ?? [1, 1];
  const Ho = Math.floor((H + 2 * o.p[0] - d[0] * (o.k[0] - 1) - 1) / o.s[0]) + 1;
  const Wo = Math.floor((W + 2 * o.p[1] - d[1] * (o.k[1] - 1) - 1) / o.s[1]) + 1;
  const out = NdArray.zeros([N, C, Ho, Wo]);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const vals: number[] = [];
        let real = 0;
        for (let i = 0; i < o.k[0]; i++) {
          for (let j = 0; j < o.k[1]; j++) {
            const iy = oy * o.s[0] - o.p[0] + i * d[0], ix = ox * o.s[1] - o.p[1] + j * d[1];
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
              vals.push(x.data[(pl * H + iy) * W + ix]!);
              real++;
            }
          }
        }
        const at = (pl * Ho + oy) * Wo + ox;
        out.data[at] = f(at, vals, real);
      }
    }
  }
  return out;
}

const refMax = (x: NdArray, o: PoolRef) => windows(x, o, (_, v) => Math.max(...v));
const refAvg = (x: NdArray, o: PoolRef, includePad: boolean) =>
  windows(x, o, (_, v, real) => v.reduce((a, b) => a + b, 0) / (includePad ? o.k[0] * o.k[1] : real));

describe("maxPool2d", () => {
  test.each([
    { label: "2×2", x: [2, 3, 6, 6], o: { k: [2, 2], s: [2, 2], p: [0, 0] } },
    { label: "3×3 stride 2 pad 1, odd 7×5", x: [1, 2, 7, 5], o: { k: [3, 3], s: [2, 2], p: [1, 1] } },
    { label: "3×3 stride 1 (overlapping)", x: [2, 2, 5, 6], o: { k: [3, 3], s: [1, 1], p: [0, 0] } },
    { label: "2×3 stride [1, 2] dilation 2 pad 1", x: [1, 3, 7, 8], o: { k: [2, 3], s: [1, 2], p: [1, 1], d: [2, 2] } },
  ] as { label: string; x: number[]; o: PoolRef }[])("$label", ({ label, x, o }) =>
    checkOp({
      label,
      fn: (t) => maxPool2d(t!, o.k, { stride: o.s, padding: o.p, dilation: o.d }),
      ref: (t) => refMax(t!, o),
      inputs: [rn(x, 1)],
    }),
  );

  test("ties send the whole gradient to the first maximum of the window; NaN propagates", async () => {
    await withDevice(async () => {
      await scope(async () => {
        // every 2×2 window of the left half is constant; the right half has its maximum twice
        const x = tensor([[[[1, 1, 0, 5], [1, 1, 5, 2], [3, 3, 7, 9], [3, 3, 9, 8]]]], undefined, { requiresGrad: true });
        const y = maxPool2d(x, 2, { stride: 2 });
        expect(await y.toNested()).toEqual([[[[1, 5], [3, 9]]]]);
        sum(mul(y, tensor([[[[10, 20], [30, 40]]]]))).backward();
        expect(await x.grad!.toNested()).toEqual([[[[10, 0, 0, 20], [0, 0, 0, 0], [30, 0, 0, 40], [0, 0, 0, 0]]]]);
        const n = await maxPool2d(tensor([[[[1, NaN], [3, 2]]]]), 2).toArray();
        expect(Number.isNaN(n[0])).toBe(true);
      });
    });
  });

  test("double backward: the gradient of the gradient selects at the argmax", () =>
    checkOp({
      label: "d/dx ⟨maxPool(x), c⟩ then differentiated in c",
      fn: (x, c) => grad((xx: Tensor) => sum(mul(maxPool2d(xx, 3, { stride: 2, padding: 1 }), c!)))(x!)[0]!,
      ref: (x, c) => {
        // route c to the first argmax of each window
        const g = NdArray.zeros(x!.shape);
        const [, , H, W] = x!.shape as number[];
        const o: PoolRef = { k: [3, 3], s: [2, 2], p: [1, 1] };
        windows(x!, o, (at, vals) => {
          const best = Math.max(...vals);
          // recover the winner's coordinates by rescanning the window in raster order
          const [Ho, Wo] = [c!.shape[2]!, c!.shape[3]!];
          const pl = Math.floor(at / (Ho * Wo)), oy = Math.floor((at % (Ho * Wo)) / Wo), ox = at % Wo;
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              const iy = oy * 2 - 1 + i, ix = ox * 2 - 1 + j;
              if (iy < 0 || iy >= H! || ix < 0 || ix >= W!) continue;
              if (x!.data[(pl * H! + iy) * W! + ix] === best) {
                g.data[(pl * H! + iy) * W! + ix] += c!.data[at]!;
                return 0;
              }
            }
          }
          return 0;
        });
        return g;
      },
      inputs: [rn([1, 2, 5, 6], 2), rn([1, 2, 3, 3], 3)],
      grad: [false, true],
    }),
  );
});

describe("avgPool2d", () => {
  test.each([
    { label: "2×2", x: [2, 3, 6, 6], o: { k: [2, 2], s: [2, 2], p: [0, 0] }, inc: true },
    { label: "3×3 stride 1 pad 1 (count padding)", x: [1, 2, 5, 6], o: { k: [3, 3], s: [1, 1], p: [1, 1] }, inc: true },
    { label: "3×3 stride 2 pad 1 (real pixels only)", x: [2, 2, 7, 5], o: { k: [3, 3], s: [2, 2], p: [1, 1] }, inc: false },
    { label: "2×3 stride [1, 2]", x: [1, 1, 5, 7], o: { k: [2, 3], s: [1, 2], p: [0, 0] }, inc: true },
  ] as { label: string; x: number[]; o: PoolRef; inc: boolean }[])("$label", ({ label, x, o, inc }) =>
    checkOp({
      label,
      fn: (t) => avgPool2d(t!, o.k, { stride: o.s, padding: o.p, countIncludePad: inc }),
      ref: (t) => refAvg(t!, o, inc),
      inputs: [rn(x, 4)],
    }),
  );
});

/** PyTorch's upsample_{nearest,bilinear}2d (align_corners = false) in float64. */
function refUpsample(x: NdArray, Ho: number, Wo: number, mode: "nearest" | "bilinear", scale?: P2): NdArray {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const sh = scale ? 1 / scale[0] : H / Ho, sw = scale ? 1 / scale[1] : W / Wo;
  const out = NdArray.zeros([N, C, Ho, Wo]);
  const src = (d: number, s: number) => Math.max(0, (d + 0.5) * s - 0.5);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const at = (y: number, xx: number) => x.data[(pl * H + y) * W + xx]!;
        let v: number;
        if (mode === "nearest") v = at(Math.min(Math.floor(oy * sh), H - 1), Math.min(Math.floor(ox * sw), W - 1));
        else {
          const fy = src(oy, sh), fx = src(ox, sw);
          const y0 = Math.floor(fy), x0 = Math.floor(fx);
          const y1 = Math.min(y0 + 1, H - 1), x1 = Math.min(x0 + 1, W - 1);
          const ly = fy - y0, lx = fx - x0;
          v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
        }
        out.data[(pl * Ho + oy) * Wo + ox] = v;
      }
    }
  }
  return out;
}

describe("upsample", () => {
  test.each([
    { label: "nearest ×2 (a view)", x: [2, 3, 3, 4], opts: { scaleFactor: 2 }, out: [6, 8] },
    { label: "nearest ×[3, 2] (a view)", x: [1, 2, 2, 3], opts: { scaleFactor: [3, 2] as const }, out: [6, 6] },
    { label: "nearest ×1.5", x: [1, 2, 4, 3], opts: { scaleFactor: 1.5 }, out: [6, 4] },
    { label: "bilinear ×2", x: [2, 2, 3, 4], opts: { scaleFactor: 2, mode: "bilinear" as const }, out: [6, 8] },
    { label: "bilinear size [7, 5]", x: [1, 3, 3, 4], opts: { size: [7, 5] as const, mode: "bilinear" as const }, out: [7, 5] },
    { label: "bilinear ×0.5 (downsampling)", x: [1, 1, 6, 5], opts: { scaleFactor: 0.5, mode: "bilinear" as const }, out: [3, 2] },
  ])("$label", ({ label, x, opts, out }) => {
    const mode = (opts as { mode?: "nearest" | "bilinear" }).mode ?? "nearest";
    const sf = (opts as { scaleFactor?: number | readonly [number, number] }).scaleFactor;
    const scale: P2 | undefined = sf === undefined ? undefined : typeof sf === "number" ? [sf, sf] : [sf[0], sf[1]];
    return checkOp({ label, fn: (t) => upsample(t!, opts), ref: (t) => refUpsample(t!, out[0]!, out[1]!, mode, scale), inputs: [rn(x, 5)] });
  });

  test("integer nearest upsampling adds no kernel of its own", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const y = upsample(zeros([1, 1, 2, 2]), { scaleFactor: 2 });
        expect(["reshape", "expand"]).toContain(y.op.name);
      });
    });
  });
});

describe("validation", () => {
  test("shape and dtype errors", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = zeros([1, 2, 5, 5]);
        expect(() => maxPool2d(x, 3, { padding: 2 })).toThrow(/maxPool2d: padding 2×2 exceeds half the kernel 3×3/);
        expect(() => maxPool2d(x, 7)).toThrow(ShapeError);
        expect(() => avgPool2d(x, 2, { stride: 0 })).toThrow(/avgPool2d: stride must be integers ≥ 1/);
        expect(() => avgPool2d(zeros([2, 5, 5]), 2)).toThrow(/expects an NCHW tensor/);
        expect(() => upsample(x, {})).toThrow(/exactly one of scaleFactor and size/);
        expect(() => maxPool2d(zeros([1, 1, 4, 4], { dtype: "i32" }), 2)).toThrow(DTypeError);
      });
    });
  });
});
