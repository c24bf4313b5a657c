/**
 * Norms, dropout and embeddings (engine/ops/norm.ts, engine/nn/norm.ts) against float64
 * references written here: forward and gradients via checkOp, then the modules' state (running
 * statistics after two steps, ActNorm's data-dependent init) and dropout's seeded mask.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { batchNorm, dropout, embedding, flushInPlace, groupNorm, layerNorm, nn, scope, timestepEmbedding } from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randArray, randnArray } from "../helpers/numeric.js";

await testDevice();

/** (x − μ)/√(σ² + ε) with biased σ² over `axes`. */
function normRef(x: NdArray, axes: number[], eps: number): NdArray {
  const m = cpu.mean(x, axes, true);
  const v = cpu.varOf(x, axes, { correction: 0, keepDims: true });
  return cpu.zip(cpu.zip(x, m, (a, b) => a - b), v, (d, s) => d / Math.sqrt(s + eps));
}
const chan = (t: NdArray, rank: number) => cpu.reshape(t, [1, t.size, ...Array<number>(rank - 2).fill(1)]);
const affineRef = (y: NdArray, w: NdArray, b: NdArray) => cpu.zip(cpu.zip(y, w, (a, c) => a * c), b, (a, c) => a + c);

describe("functional norms", () => {
  test("batchNorm, training (batch statistics)", async () => {
    await checkOp({
      label: "batchNorm train",
      fn: (x, w, b) => batchNorm(x, null, null, w, b, { training: true }),
      ref: (x, w, b) => affineRef(normRef(x, [0, 2, 3], 1e-5), chan(w, 4), chan(b, 4)),
      inputs: [randnArray([2, 3, 2, 2], 1), randnArray([3], 2), randnArray([3], 3)],
      rtol: 1e-4, atol: 1e-5, gradRtol: 5e-3, gradAtol: 1e-3,
    });
  });
  test("batchNorm, evaluation (running statistics)", async () => {
    await checkOp({
      label: "batchNorm eval",
      fn: (x, rm, rv, w, b) => batchNorm(x, rm, rv, w, b, { training: false }),
      ref: (x, rm, rv, w, b) => {
        const y = cpu.zip(cpu.zip(x, chan(rm, 4), (a, m) => a - m), chan(rv, 4), (d, v) => d / Math.sqrt(v + 1e-5));
        return affineRef(y, chan(w, 4), chan(b, 4));
      },
      inputs: [randnArray([2, 3, 2, 2], 4), randnArray([3], 5), randArray([3], 6, 0.5, 2), randnArray([3], 7), randnArray([3], 8)],
      rtol: 1e-4, atol: 1e-5, gradRtol: 5e-3, gradAtol: 1e-3,
    });
  });
  test("layerNorm over the last dimension", async () => {
    await checkOp({
      label: "layerNorm",
      fn: (x, w, b) => layerNorm(x, 5, w, b),
      ref: (x, w, b) => affineRef(normRef(x, [1], 1e-5), cpu.reshape(w, [1, 5]), cpu.reshape(b, [1, 5])),
      inputs: [randnArray([3, 5], 9), randnArray([5], 10), randnArray([5], 11)],
      rtol: 1e-4, atol: 1e-5, gradRtol: 5e-3, gradAtol: 1e-3,
    });
  });
  test("groupNorm, 2 groups of 2 channels", async () => {
    await checkOp({
      label: "groupNorm",
      fn: (x, w, b) => groupNorm(x, 2, w, b),
      ref: (x, w, b) => {
        const y = cpu.reshape(normRef(cpu.reshape(x, [2, 2, 8]), [2], 1e-5), [2, 4, 2, 2]);
        return affineRef(y, chan(w, 4), chan(b, 4));
      },
      inputs: [randnArray([2, 4, 2, 2], 12), randnArray([4], 13), randnArray([4], 14)],
      rtol: 1e-4, atol: 1e-5, gradRtol: 5e-3, gradAtol: 1e-3,
    });
  });
  test("embedding and timestepEmbedding", async () => {
    await checkOp({
      label: "embedding",
      fn: (ids, w) => embedding(ids, w),
      // numericGrad perturbs every input, the integer ids too: round them back
      ref: (ids, w) => cpu.reshape(cpu.indexSelect(w, 0, cpu.reshape(cpu.map(ids, Math.round), [-1])), [2, 2, 3]),
      inputs: [NdArray.from([[0, 3], [3, 1]]), randnArray([4, 3], 15)],
      dtypes: ["i32", "f32"],
    });
    await checkOp({
      label: "timestepEmbedding",
      fn: (t) => timestepEmbedding(t, 7),
      ref: (t) => {
        const out = NdArray.zeros([3, 7]);
        for (let b = 0; b < 3; b++)
          for (let i = 0; i < 3; i++) {
            const a = t.data[b]! * Math.exp((-Math.log(10000) * i) / 3);
            out.data[b * 7 + i] = Math.sin(a);
            out.data[b * 7 + 3 + i] = Math.cos(a);
          }
        return out;
      },
      inputs: [NdArray.from([0, 1.5, 7])],
      rtol: 1e-4, atol: 1e-5, gradRtol: 5e-3, gradAtol: 1e-3,
    });
  });
});

describe("norm modules", () => {
  test("BatchNorm2d: running statistics after 2 steps match float64; train ≠ eval", async () => {
    await withDevice(async () => {
      const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
      const xs = [randnArray([2, 3, 2, 2], 20), cpu.map(randnArray([2, 3, 2, 2], 21), (v) => 2 * v + 1)];
      const rm0 = bn.runningMean;
      for (const x of xs) await scope(async () => {
        await bn.forward(upload(x)).toArray();
        await flushInPlace();
      });
      // float64 reference: unbiased batch variance feeds the running estimate
      let rm = NdArray.zeros([3]);
      let rv = NdArray.full([3], 1);
      for (const x of xs) {
        const m = cpu.mean(x, [0, 2, 3]);
        const v = cpu.varOf(x, [0, 2, 3], { correction: 1 });
        rm = cpu.zip(rm, m, (r, b) => 0.8 * r + 0.2 * b);
        rv = cpu.zip(rv, v, (r, b) => 0.8 * r + 0.2 * b);
      }
      expect(bn.runningMean).toBe(rm0);
      expectAllclose(await bn.runningMean.toArray(), rm, { rtol: 1e-5, atol: 1e-6 }, "running_mean");
      expectAllclose(await bn.runningVar.toArray(), rv, { rtol: 1e-5, atol: 1e-6 }, "running_var");
      expect(Array.from(await bn.numBatchesTracked.toArray())).toEqual([2]);
      await scope(async () => {
        const x = upload(xs[1]!);
        bn.eval();
        const yEval = await bn.forward(x).toArray();
        bn.train();
        const yTrain = await bn.forward(x).toArray();
        await flushInPlace();
        expectAllclose(yTrain, normRef(xs[1]!, [0, 2, 3], 1e-5), { rtol: 1e-4, atol: 1e-5 }, "train output");
        const ref = cpu.zip(cpu.zip(xs[1]!, chan(rm, 4), (a, m) => a - m), chan(rv, 4), (d, v) => d / Math.sqrt(v + 1e-5));
        expectAllclose(yEval, ref, { rtol: 1e-4, atol: 1e-5 }, "eval output");
      });
      bn.dispose();
    });
  });

  test("ActNorm: first batch comes out zero-mean, unit-variance per channel; later batches use the parameters", async () => {
    await withDevice(async () => {
      const an = new nn.ActNorm(2);
      const x = cpu.map(randnArray([4, 2, 3, 3], 30), (v) => 3 * v - 2);
      await scope(async () => {
        const y = new NdArray(Float64Array.from(await an.forward(upload(x)).toArray()), [4, 2, 3, 3]);
        await flushInPlace();
        expectAllclose(cpu.mean(y, [0, 2, 3]), NdArray.zeros([2]), { atol: 1e-4 }, "mean");
        expectAllclose(cpu.varOf(y, [0, 2, 3], { correction: 0 }), NdArray.full([2], 1), { atol: 1e-4 }, "variance");
        expect(Array.from(await an.initialized.toArray())).toEqual([1]);
        // second call: the stored parameters reproduce the same map
        const y2 = await an.forward(upload(x)).toArray();
        expectAllclose(y2, y, { rtol: 1e-4, atol: 1e-4 }, "second call");
      });
      an.dispose();
    });
  });

  test("dropout: seeded, scales survivors by 1/(1 − p), identity in eval", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(cpu.map(randArray([4, 64], 40), (v) => v + 1));
        const a = await dropout(x, 0.25, { training: true, seed: 5 }).toArray();
        const b = await dropout(x, 0.25, { training: true, seed: 5 }).toArray();
        const c = await dropout(x, 0.25, { training: true, seed: 6 }).toArray();
        const xv = await x.toArray();
        expect(Array.from(a)).toEqual(Array.from(b));
        expect(Array.from(a)).not.toEqual(Array.from(c));
        let zeros = 0;
        for (let i = 0; i < a.length; i++) {
          if (a[i] === 0) zeros++;
          else expect(a[i]).toBeCloseTo(xv[i]! / 0.75, 5);
        }
        expect(zeros / a.length).toBeGreaterThan(0.15);
        expect(zeros / a.length).toBeLessThan(0.35);
        expect(Array.from(await dropout(x, 0.25, { training: false }).toArray())).toEqual(Array.from(xv));
      });
    });
  });
});
