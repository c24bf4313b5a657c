/**
 * Losses (engine/ops/loss.ts) against float64 references written here, with checkOp (forward and
 * central-difference gradients), at ordinary values and at logits of ±80 where naive formulas
 * overflow.
 */
import { describe, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { binaryCrossEntropyWithLogits, crossEntropy, discretizedLogisticLogLikelihood, gaussianNll, mseLoss } from "../../engine/index.js";
import { checkOp } from "../helpers/check-op.js";
import { testDevice } from "../helpers/gpu.js";
import { randArray, randnArray } from "../helpers/numeric.js";

await testDevice();

const meanOf = (x: NdArray) => NdArray.from([x.data.reduce((a, b) => a + b, 0) / x.size], []);
/** log(1 + e^x) without overflow. */
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

describe("losses", () => {
  test("binaryCrossEntropyWithLogits, ordinary and ±80 logits", async () => {
    // −t log σ(l) − (1 − t) log(1 − σ(l)) = t·softplus(−l) + (1 − t)·softplus(l)
    const ref = (l: NdArray, t: NdArray) => cpu.zip(l, t, (a, b) => b * softplus(-a) + (1 - b) * softplus(a));
    await checkOp({
      label: "bce mean",
      fn: (l, t) => binaryCrossEntropyWithLogits(l, t),
      ref: (l, t) => meanOf(ref(l, t)),
      inputs: [NdArray.from([-80, -3, -0.5, 0.7, 2, 80]), randArray([6], 1)],
      rtol: 1e-5, atol: 1e-5,
    });
    await checkOp({
      label: "bce none at ±80",
      fn: (l, t) => binaryCrossEntropyWithLogits(l, t, { reduction: "none" }),
      ref,
      inputs: [NdArray.from([-80, 80, -80, 80]), NdArray.from([0, 1, 1, 0])],
      rtol: 1e-5, atol: 1e-4, gradAtol: 1e-3,
    });
  });

  test("crossEntropy with a ±80 row", async () => {
    await checkOp({
      label: "crossEntropy",
      fn: (l, t) => crossEntropy(l, t, { reduction: "sum" }),
      ref: (l, t) => {
        const lp = cpu.logSoftmax(l, 1);
        let s = 0;
        for (let i = 0; i < 3; i++) s -= lp.data[i * 4 + Math.round(t.data[i]!)]!;
        return NdArray.from([s], []);
      },
      inputs: [cpu.cat([randnArray([2, 4], 2), NdArray.from([[80, -80, 0, 1]])], 0), NdArray.from([1, 3, 1])],
      dtypes: ["f32", "i32"],
      rtol: 1e-5, atol: 1e-4,
    });
  });

  test("mseLoss and gaussianNll (log-variance)", async () => {
    await checkOp({
      label: "mse",
      fn: (x, y) => mseLoss(x, y),
      ref: (x, y) => meanOf(cpu.zip(x, y, (a, b) => (a - b) ** 2)),
      inputs: [randnArray([3, 4], 3), randnArray([3, 4], 4)],
    });
    await checkOp({
      label: "gaussianNll",
      fn: (x, m, lv) => gaussianNll(x, m, lv, { reduction: "none" }),
      ref: (x, m, lv) => cpu.zip3(x, m, lv, (a, b, c) => 0.5 * (Math.log(2 * Math.PI) + c + (a - b) ** 2 * Math.exp(-c))),
      inputs: [randnArray([6], 5), randnArray([6], 6), randnArray([6], 7)],
      rtol: 1e-5, atol: 1e-5,
    });
  });

  test("discretizedLogisticLogLikelihood: edges at ±1, interior bins, mid-bin fallback", async () => {
    const ref = (x: NdArray, m: NdArray, ls: NdArray) =>
      cpu.zip3(x, m, ls, (xv, mv, s) => {
        const c = xv - mv;
        const inv = Math.exp(-s);
        const a = inv * (c + 1 / 255);
        const b = inv * (c - 1 / 255);
        if (xv < -0.999) return a - softplus(a);
        if (xv > 0.999) return -softplus(b);
        const delta = sigmoid(a) - sigmoid(b);
        if (delta > 1e-5) return Math.log(delta);
        const mid = inv * c;
        return mid - s - 2 * softplus(mid) + Math.log(2 / 255);
      });
    const bin = (k: number) => k / 127.5 - 1;
    await checkOp({
      label: "discretized logistic",
      fn: (x, m, ls) => discretizedLogisticLogLikelihood(x, m, ls),
      ref,
      // x = −1, 1, three interior bins, and one far in the tail of a narrow logistic (fallback)
      inputs: [NdArray.from([-1, 1, bin(100), bin(130), bin(200), bin(200)]), NdArray.from([-0.8, 0.5, -0.3, 0.1, 0.4, -0.2]), NdArray.from([-1, -2, -0.5, -3, -1.5, -4])],
      grad: [false, true, true],
      rtol: 1e-4, atol: 1e-4, gradRtol: 1e-2, gradAtol: 1e-3,
    });
  });
});
