import { describe, expect, test } from "vitest";
import { NdArray, map, zip } from "../../engine/cpu.js";
import { Bernoulli, Categorical, Normal, klDivergence, mean, scope, tensor, sum, exp } from "../../engine/index.js";
import { checkOp } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { randArray, randnArray } from "../helpers/numeric.js";

await testDevice();
const LOG_2PI = Math.log(2 * Math.PI);

describe("Normal", () => {
  test("logProb matches the f64 density, with gradients to x, loc and scale", async () => {
    await checkOp({
      label: "Normal.logProb",
      fn: (x, mu, s) => new Normal(mu!, s!).logProb(x!),
      ref: (x, mu, s) => {
        const z = zip(zip(x!, mu!, (a, b) => a - b), s!, (a, b) => a / b);
        return zip(z, s!, (zz, ss) => -0.5 * zz * zz - Math.log(ss) - 0.5 * LOG_2PI);
      },
      inputs: [randnArray([3, 4], 1), randnArray([4], 2), randArray([3, 4], 3, 0.5, 2)],
    });
  });

  test("entropy is ½ log(2πe σ²)", async () => {
    await checkOp({
      label: "Normal.entropy",
      fn: (mu, s) => new Normal(mu!, s!).entropy(),
      ref: (_mu, s) => map(s!, (v) => 0.5 * Math.log(2 * Math.PI * Math.E * v * v)),
      inputs: [randnArray([5], 4), randArray([5], 5, 0.3, 3)],
      grad: [false, true], // the entropy does not depend on loc
    });
  });

  test("rsample is pathwise: d/dloc and d/dscale of E[x²] match 2μ and 2σ", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const mu = tensor([0.7, -1.2]).requiresGrad_();
        const s = tensor([0.5, 1.5]).requiresGrad_();
        const x = new Normal(mu, s).rsample({ seed: 3, sampleShape: [20000] });
        mean(sum(x.square(), -1)).backward();
        const gm = await mu.grad!.toArray(), gs = await s.grad!.toArray();
        expect(gm[0]).toBeCloseTo(2 * 0.7, 1);
        expect(gm[1]).toBeCloseTo(-2 * 1.2, 1);
        expect(gs[0]).toBeCloseTo(2 * 0.5, 1);
        expect(gs[1]).toBeCloseTo(2 * 1.5, 1);
      });
    });
  });

  test("closed-form KL matches a Monte Carlo estimate", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const p = new Normal(tensor([0.3, -1, 2]), tensor([0.8, 1.3, 0.4]));
        const q = new Normal(tensor([0, 0.5, 1.5]), tensor([1, 0.7, 1.1]));
        const closed = await klDivergence(p, q).toArray();
        const x = p.sample({ seed: 11, sampleShape: [40000] });
        const mc = await mean(p.logProb(x).sub(q.logProb(x)), 0).toArray();
        for (let i = 0; i < 3; i++) expect(Math.abs(mc[i]! - closed[i]!)).toBeLessThan(0.03 + 0.03 * closed[i]!);
        // and against the f64 formula
        const ref = [0, 1, 2].map((i) => {
          const [m1, s1, m2, s2] = [[0.3, -1, 2][i]!, [0.8, 1.3, 0.4][i]!, [0, 0.5, 1.5][i]!, [1, 0.7, 1.1][i]!];
          return Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) ** 2) / (2 * s2 * s2) - 0.5;
        });
        ref.forEach((r, i) => expect(closed[i]).toBeCloseTo(r, 5));
      });
    });
  });
});

describe("Bernoulli", () => {
  test("logProb = x·l − softplus(l), stable at ±80", async () => {
    await checkOp({
      label: "Bernoulli.logProb",
      fn: (x, l) => new Bernoulli(l!).logProb(x!),
      ref: (x, l) => zip(x!, l!, (xv, lv) => xv * lv - (Math.max(lv, 0) + Math.log1p(Math.exp(-Math.abs(lv))))),
      inputs: [new NdArray(Float64Array.from([0, 1, 1, 0, 1, 0]), [6]), new NdArray(Float64Array.from([-80, -2, 0.3, 1.5, 80, 3]), [6])],
      grad: [false, true],
    });
  });
  test("samples have the right frequencies", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const l = tensor([-2, 0, 1.5]).reshape([1, 3]).expand([20000, 3]);
        const f = await mean(new Bernoulli(l).sample({ seed: 5 }), 0).toArray();
        [-2, 0, 1.5].forEach((v, i) => expect(f[i]).toBeCloseTo(1 / (1 + Math.exp(-v)), 1));
      });
    });
  });
});

describe("Categorical", () => {
  test("logProb picks log-softmax entries; samples follow the softmax", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const logits = tensor([[1, 2, 0.5], [0, -1, 3]]);
        const c = new Categorical(logits);
        const lp = await c.logProb(tensor([1, 2], [2], { dtype: "i32" })).toArray();
        const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
        expect(lp[0]).toBeCloseTo(2 - lse([1, 2, 0.5]), 5);
        expect(lp[1]).toBeCloseTo(3 - lse([0, -1, 3]), 5);
        const many = new Categorical(tensor([0.5, -0.5, 1]).reshape([1, 3]).expand([30000, 3]));
        const k = await many.sample({ seed: 9 }).toArray();
        const counts = [0, 0, 0];
        for (const v of k) counts[v]!++;
        const p = [0.5, -0.5, 1].map(Math.exp);
        const z = p.reduce((a, b) => a + b);
        counts.forEach((cnt, i) => expect(cnt / 30000).toBeCloseTo(p[i]! / z, 1));
        void exp;
      });
    });
  });
});
