/**
 * Factorised Bernoulli and mixture of Bernoullis on D = 8: probabilities over all 2^8 binary
 * vectors sum to 1, the closed-form fit is the smoothed frequency, EM never lowers the
 * likelihood, K = 1 is the factorised model, sampling follows the parameters, and two training
 * steps on one batch lower its loss.
 */
import { describe, expect, test } from "vitest";
import { scope, tensor, type Tensor } from "../../engine/index.js";
import { seedToKey, uniformArray } from "../../engine/random.js";
import { BernoulliMixture, FactorisedBernoulli } from "../../models/bernoulli.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

// One batch size, component count and sample count throughout: every new shape is a new pipeline.
const D = 8, B = 64, NS = 4096;
const read = async (t: Tensor) => Float64Array.from(await t.toArray());

/** Every binary vector of length D, [2^D, D]. */
function allBinary(): Tensor {
  const n = 2 ** D, x = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) x[i * D + j] = (i >> j) & 1;
  return tensor(x, [n, D]);
}

/** B binary rows, pixel j on with probability p_j (seeded). */
function binaryBatch(B: number, p: readonly number[], seed: number): Float32Array {
  const u = uniformArray(B * D, seedToKey(seed), 0);
  return Float32Array.from(u, (v, i) => (v < p[i % D]! ? 1 : 0));
}

const P = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.6, 0.45];
const sumExp = (lp: Float64Array) => lp.reduce((s, v) => s + Math.exp(v), 0);
const columnMean = (s: Float64Array, j: number) => {
  let m = 0;
  for (let i = 0; i < NS; i++) m += s[i * D + j]! / NS;
  return m;
};

describe("FactorisedBernoulli", () => {
  test("fit is the Laplace-smoothed frequency; exp(logProb) sums to 1 over {0,1}^8", async () => {
    await withDevice(async () => {
      const m = new FactorisedBernoulli(D, { alpha: 1 });
      const xs = binaryBatch(2 * B, P, 1);
      const batches = [tensor(xs.slice(0, B * D), [B, D]), tensor(xs.slice(B * D), [B, D])];
      await m.fit(batches);
      const logits = await read(m.logits);
      for (let j = 0; j < D; j++) {
        let ones = 0;
        for (let b = 0; b < 2 * B; b++) ones += xs[b * D + j]!;
        expect(logits[j]).toBeCloseTo(Math.log((ones + 1) / (2 * B - ones + 1)), 5);
      }
      const all = allBinary();
      const lp = await scope(() => read(m.logProb(all)));
      expect(Math.abs(sumExp(lp) - 1)).toBeLessThan(1e-5);
      // and directly: log p(x) = Σ_j log p_j^{x_j} (1 − p_j)^{1−x_j}
      const p = Array.from(logits, (l) => 1 / (1 + Math.exp(-l)));
      const want = Array.from({ length: 2 ** D }, (_, i) => p.reduce((s, pj, j) => s + Math.log((i >> j) & 1 ? pj : 1 - pj), 0));
      for (let i = 0; i < 2 ** D; i += 37) expect(lp[i]).toBeCloseTo(want[i]!, 4);
      for (const t of [...batches, all]) t.dispose();
      m.dispose();
    });
  });

  test("two gradient steps on one batch lower its loss; samples follow σ(l)", async () => {
    await withDevice(async () => {
      const m = new FactorisedBernoulli(D, { lr: 0.1 });
      const batch = tensor(binaryBatch(B, P, 2), [B, D]);
      const l1 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l2 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l3 = await scope(async () => (await m.trainStep(batch)).loss.item());
      expect(l1).toBeCloseTo(D * Math.LN2, 5); // p = ½ at the start
      expect(l2).toBeLessThan(l1);
      expect(l3).toBeLessThan(l2);
      await m.fit([batch]);
      const s = await scope(() => read(m.sample(NS, { seed: 3 })));
      const p = Array.from(await read(m.logits), (l) => 1 / (1 + Math.exp(-l)));
      for (let j = 0; j < D; j++) expect(Math.abs(columnMean(s, j) - p[j]!)).toBeLessThan(4 * Math.sqrt(0.25 / NS));
      batch.dispose();
      m.dispose();
    });
  });
});

describe("BernoulliMixture", () => {
  test("exp(logProb) sums to 1 over {0,1}^8 (random init and after EM)", async () => {
    await withDevice(async () => {
      const m = new BernoulliMixture(D, { components: 3, seed: 4 });
      const all = allBinary();
      const before = await scope(() => read(m.logProb(all)));
      expect(Math.abs(sumExp(before) - 1)).toBeLessThan(1e-5);
      const batch = tensor(binaryBatch(B, P, 5), [B, D]);
      await m.emStep([batch]);
      const after = await scope(() => read(m.logProb(all)));
      expect(Math.abs(sumExp(after) - 1)).toBeLessThan(1e-5);
      const w = await read(m.logWeights);
      expect(Math.abs(sumExp(w) - 1)).toBeLessThan(1e-5);
      all.dispose();
      batch.dispose();
      m.dispose();
    });
  });

  test("EM never decreases the log-likelihood of a fixed batch (5 iterations, α = β = 0)", async () => {
    await withDevice(async () => {
      // two clusters of opposite patterns, so the mixture has something to find
      const data = new Float32Array(2 * B * D);
      data.set(binaryBatch(B, P, 6));
      data.set(binaryBatch(B, P.map((p) => 1 - p), 7), B * D);
      const x = tensor(data, [2 * B, D]);
      const m = new BernoulliMixture(D, { components: 3, alpha: 0, beta: 0, seed: 8 });
      const lls: number[] = [];
      for (let t = 0; t < 5; t++) lls.push(await scope(() => m.emStep([x.slice([[0, B]]), x.slice([[B, 2 * B]])])));
      lls.push(await scope(async () => ((await m.logProb(x.slice([[0, B]])).sum().item()) + (await m.logProb(x.slice([[B, 2 * B]])).sum().item())) / (2 * B)));
      for (let t = 1; t < lls.length; t++) expect(lls[t]!).toBeGreaterThanOrEqual(lls[t - 1]! - 1e-4);
      expect(lls.at(-1)!).toBeGreaterThan(lls[0]! + 0.1);
      x.dispose();
      m.dispose();
    });
  });

  test("K = 1 is the factorised model: one EM step gives the same logits and logProb", async () => {
    await withDevice(async () => {
      const x = tensor(binaryBatch(B, P, 9), [B, D]);
      const mix = new BernoulliMixture(D, { components: 1, alpha: 1, beta: 0 });
      const fac = new FactorisedBernoulli(D, { alpha: 1 });
      await mix.emStep([x]);
      await fac.fit([x]);
      const [lm, lf] = await Promise.all([read(mix.logits), read(fac.logits)]);
      for (let j = 0; j < D; j++) expect(lm[j]).toBeCloseTo(lf[j]!, 5);
      expect(await read(mix.logWeights)).toEqual(Float64Array.of(0));
      const all = allBinary();
      const [pm, pf] = await scope(() => Promise.all([read(mix.logProb(all)), read(fac.logProb(all))]));
      for (let i = 0; i < pm.length; i++) expect(pm[i]).toBeCloseTo(pf[i]!, 4);
      for (const t of [x, all]) t.dispose();
      mix.dispose();
      fac.dispose();
    });
  });

  test("two stepwise-EM train steps on one batch lower its loss; samples follow the mixture", async () => {
    await withDevice(async () => {
      const m = new BernoulliMixture(D, { components: 3, alpha: 0, beta: 0, seed: 10 });
      const batch = tensor(binaryBatch(B, P, 11), [B, D]);
      const l1 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l2 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l3 = await scope(async () => (await m.trainStep(batch)).loss.item());
      expect(l2).toBeLessThan(l1);
      expect(l3).toBeLessThanOrEqual(l2 + 1e-5);
      // E[x_j] = Σ_k π_k μ_kj
      const [lw, lg] = await Promise.all([read(m.logWeights), read(m.logits)]);
      const s = await scope(() => read(m.sample(NS, { seed: 12 })));
      for (let j = 0; j < D; j++) {
        const want = [0, 1, 2].reduce((acc, k) => acc + Math.exp(lw[k]!) / (1 + Math.exp(-lg[k * D + j]!)), 0);
        expect(Math.abs(columnMean(s, j) - want)).toBeLessThan(4 * Math.sqrt(0.25 / NS));
      }
      expect(m.config()).toMatchObject({ kind: "bernoulli-mixture", components: 3 });
      batch.dispose();
      m.dispose();
    });
  });
});
