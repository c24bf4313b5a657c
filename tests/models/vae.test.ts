/**
 * VAE / IWAE: the closed-form KL against Monte Carlo, IWAE(k=1) against the sampled-KL ELBO on the
 * same draws, Burda's ordering ELBO ≤ L_1 ≤ L_10 ≤ L_100 ≤ log p(x), exact log p(x) by quadrature
 * over a 2-D latent grid, the streaming IWAE against the one-graph IWAE, training steps for every
 * objective (eager and compiled), and the shapes of the encode/decode helpers. Tiny nets and D.
 */
import { describe, expect, test } from "vitest";
import { Normal, fromTyped, realize, scope, tensor, zerosLike, type Tensor } from "../../engine/index.js";
import { VAE, meanAndStdErr, type VaeOptions } from "../../models/vae.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { mulberry32 } from "../helpers/numeric.js";

await testDevice();

/** B binary examples of dimension D, [B, D]. */
function binaryData(B: number, D: number, seed: number): Tensor {
  const r = mulberry32(seed);
  return fromTyped(Float32Array.from({ length: B * D }, () => (r() < 0.4 ? 1 : 0)), [B, D], "f32");
}
/** The batch x repeated R times along the batch axis: [R·B, D] (row r·B + b is example b). */
const replicate = (x: Tensor, R: number) => x.unsqueeze(0).expand([R, ...x.shape]).reshape([R * x.shape[0]!, x.shape[1]!]);
/** Per-example means of a replicated [R·B] estimate. */
async function perExample(t: Tensor, R: number, B: number): Promise<number[]> {
  const v = await t.reshape([R, B]).mean(0).toArray();
  return [...v];
}
const avg = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;

/**
 * Scales the decoder's weights so that p(x|z) depends strongly on z: at PyTorch's init the decoder
 * is nearly constant in z, the posterior is nearly the prior, and every bound would be tight.
 */
async function sharpen(m: VAE, f: number, part: "encoder" | "decoder" = "decoder"): Promise<void> {
  await scope(async () => {
    const scaled = Object.fromEntries(m[part].namedParameters().map(([k, t]) => [k, t.mul(f)]));
    await realize(...Object.values(scaled));
    m[part].loadStateDict(scaled);
  });
}

const SMALL: VaeOptions = { dim: 12, zDim: 3, hidden: [8], seed: 1 };

describe("VAE bounds", () => {
  test("closed-form KL(q‖p) (K&W Eq. 10) equals a Monte Carlo estimate", async () => {
    await withDevice(async () => {
      const vae = new VAE(SMALL);
      await sharpen(vae, 4, "encoder"); // moves q(z|x) away from the prior: KLs of about 1–3 nats
      await scope(async () => {
        const x = binaryData(4, 12, 1);
        const closed = await vae.kl(x).toArray();
        const q = vae.posterior(x);
        const z = q.sample({ seed: 5, sampleShape: [40000] }); // [S, B, Z]
        const mc = await q.logProb(z).sub(new Normal(zerosLike(z), 1).logProb(z)).sum(-1).mean(0).toArray();
        // KL from the formula in f64, from μ and σ read back
        const mu = await q.loc.toArray(), s = await q.scale.toArray();
        for (let b = 0; b < 4; b++) {
          let ref = 0;
          for (let j = 0; j < 3; j++) {
            const m = mu[b * 3 + j]!, v = s[b * 3 + j]! ** 2;
            ref += 0.5 * (v + m * m - 1 - Math.log(v));
          }
          expect(closed[b]).toBeCloseTo(ref, 5);
          expect(Math.abs(mc[b]! - closed[b]!)).toBeLessThan(0.01 + 0.03 * closed[b]!);
        }
      });
      vae.dispose();
    });
  });

  test("IWAE(k=1) is the ELBO estimator on the same draws and equals the ELBO in expectation; IWAE grows with k", async () => {
    await withDevice(async () => {
      const vae = new VAE(SMALL);
      await sharpen(vae, 3);
      await scope(async () => {
        const B = 4, R = 500;
        const x = binaryData(B, 12, 2);
        // same seed ⇒ same ε ⇒ log w₁ = log p(x|z) + log p(z) − log q(z|x) exactly
        const i1 = await vae.iwae(x, 1, { seed: 7 }).toArray();
        const e1 = await vae.elbo(x, { seed: 7, sampledKl: true }).toArray();
        for (let b = 0; b < B; b++) expect(i1[b]).toBeCloseTo(e1[b]!, 4);

        // in expectation, over 500 replicas of each example
        const xr = replicate(x, R);
        const elbo = await vae.elbo(xr, { seed: 11 }).toArray();
        const l1 = await vae.iwae(xr, 1, { seed: 12 }).toArray();
        const l10 = await perExample(vae.iwae(xr, 10, { seed: 13 }), R, B);
        const l100 = await perExample(vae.iwae(xr, 100, { seed: 14 }), R, B);
        const se = meanAndStdErr(Array.from(l1, (v, i) => v - elbo[i]!)).stdErr;
        expect(Math.abs(avg(l1) - avg(elbo))).toBeLessThan(4 * se);
        const e = await perExample(fromTyped(Float32Array.from(elbo), [R * B], "f32"), R, B);
        const gap = avg(l100) - avg(e);
        expect(gap).toBeGreaterThan(0.05); // the sharpened decoder leaves a visible gap
        for (let b = 0; b < B; b++) {
          expect(l10[b]!).toBeGreaterThan(e[b]!);
          expect(l100[b]!).toBeGreaterThan(l10[b]!);
        }
      });
      vae.dispose();
    });
  });

  test("exact log p(x) by quadrature over a 2-D latent grid bounds the ELBO, and IWAE(k=2000) approaches it", async () => {
    await withDevice(async () => {
      const D = 6, B = 4;
      const vae = new VAE({ dim: D, zDim: 2, hidden: [8], seed: 3 });
      await sharpen(vae, 2);
      await scope(async () => {
        const x = binaryData(B, D, 4);
        // log p(x) = log ∫ p(x|z) N(z; 0, I) dz ≈ log Σ_g p(x|z_g) N(z_g) h² on [−L, L]², in f64
        // (converged: 321 points or L = 10 change it by < 1e-4)
        const n = 161, L = 7, h = (2 * L) / (n - 1);
        const grid = new Float32Array(n * n * 2);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ((grid[2 * (i * n + j)] = -L + i * h), (grid[2 * (i * n + j) + 1] = -L + j * h));
        const logits = await vae.logits(fromTyped(grid, [n * n, 2], "f32")).toArray();
        const xs = await x.toArray();
        const exact: number[] = [];
        for (let b = 0; b < B; b++) {
          const terms = new Float64Array(n * n);
          for (let g = 0; g < n * n; g++) {
            let lp = -0.5 * (grid[2 * g]! ** 2 + grid[2 * g + 1]! ** 2) - Math.log(2 * Math.PI);
            for (let d = 0; d < D; d++) {
              const l = logits[g * D + d]!;
              lp += xs[b * D + d]! * l - (Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l))));
            }
            terms[g] = lp;
          }
          let m = -Infinity;
          for (const t of terms) m = Math.max(m, t);
          exact.push(m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0)) + 2 * Math.log(h));
        }
        const elbo = await perExample(vae.elbo(replicate(x, 1000), { seed: 5 }), 1000, B);
        // IWAE(k=2000) over 10 replicas of each example: its spread is ~0.01 nats here, its bias smaller
        const R = 10;
        const streamed = await vae.iwaeStreaming(replicate(x, R), 2000, { seed: 6, chunk: 500 });
        const iw = await perExample(streamed, R, B);
        streamed.dispose();
        for (let b = 0; b < B; b++) {
          expect(elbo[b]!).toBeLessThan(exact[b]! - 0.3);
          expect(Math.abs(iw[b]! - exact[b]!)).toBeLessThan(0.05);
        }
        expect(Math.abs(avg(iw) - avg(exact))).toBeLessThan(0.03);
      });
      vae.dispose();
    });
  });

  test("the streaming IWAE (chunks realized one by one) equals the one-graph IWAE on the same draws; stats", async () => {
    await withDevice(async () => {
      const vae = new VAE(SMALL);
      await sharpen(vae, 3);
      await scope(async () => {
        const x = binaryData(4, 12, 8);
        const streamed = await vae.iwaeStreaming(x, 1000, { seed: 6, chunk: 300 }); // chunks 300, 300, 300, 100
        const iw = await streamed.toArray();
        streamed.dispose();
        const lazy = await vae.iwae(x, 1000, { seed: 6, chunk: 300 }).toArray();
        for (let b = 0; b < 4; b++) expect(lazy[b]).toBeCloseTo(iw[b]!, 4);
        // mean of the per-example values, and the standard error over the examples
        const st = await vae.iwaeStats(x, 1000, { seed: 6, chunk: 300 });
        expect(st.mean).toBeCloseTo(avg(iw), 4);
        expect(st.stdErr).toBeCloseTo(meanAndStdErr(iw).stdErr, 4);
        expect(st.values.length).toBe(4);
        // grad mode is not held off across the evaluation's awaits: an interleaved train step still has gradients
        const pending = vae.iwaeStreaming(x, 200, { seed: 1, chunk: 50 });
        await vae.trainStep(x);
        (await pending).dispose();
      });
      vae.dispose();
    });
  });
});

describe("VAE training", () => {
  const cases: [string, Partial<VaeOptions>][] = [
    ["elbo", { objective: "elbo" }],
    ["beta-elbo (β = 4)", { objective: "beta-elbo", beta: 4 }],
    ["iwae (k = 5)", { objective: "iwae", k: 5 }],
  ];
  for (const [name, o] of cases) {
    test(`two training steps on one batch lower the ${name} loss`, async () => {
      await withDevice(async () => {
        const vae = new VAE({ ...SMALL, lr: 1e-2, ...o });
        await scope(async () => {
          const x = binaryData(8, 12, 3);
          const before = await vae.loss(x, { seed: 9 }).item();
          for (let i = 0; i < 2; i++) await vae.trainStep(x);
          const after = await vae.loss(x, { seed: 9 }).item();
          expect(after).toBeLessThan(before);
        });
        vae.dispose();
      });
    });
  }

  test("a compiled trainStep follows the eager one step for step (same draws)", async () => {
    await withDevice(async () => {
      const eager = new VAE({ ...SMALL, lr: 1e-2 });
      const compiled = new VAE({ ...SMALL, lr: 1e-2, compile: true });
      await scope(async () => {
        const x = binaryData(8, 12, 3);
        for (let i = 0; i < 3; i++) {
          const a = await (await eager.trainStep(x)).loss.item();
          const b = await (await compiled.trainStep(x)).loss.item();
          expect(b).toBeCloseTo(a, 4);
        }
      });
      eager.dispose();
      compiled.dispose();
    });
  });

  test("the conv architecture (4×4 images) trains and has the right shapes", async () => {
    await withDevice(async () => {
      const vae = new VAE({ dim: 16, zDim: 2, arch: "conv", channels: [2, 4], lr: 1e-2, seed: 2 });
      await scope(async () => {
        const x = binaryData(4, 16, 5);
        expect(vae.encode(x).shape).toEqual([4, 2]);
        expect(vae.reconstruct(x).shape).toEqual([4, 16]);
        expect(vae.iwae(x, 3, { seed: 1 }).shape).toEqual([4]);
        const before = await vae.loss(x, { seed: 9 }).item();
        for (let i = 0; i < 2; i++) await vae.trainStep(x);
        expect(await vae.loss(x, { seed: 9 }).item()).toBeLessThan(before);
      });
      expect(Object.keys(vae.stateDict())).toContain("decoder.3.weight");
      vae.dispose();
    });
  });
});

describe("VAE helpers", () => {
  test("encode / decode / reconstruct / sample / interpolate / activeUnits", async () => {
    await withDevice(async () => {
      const vae = new VAE(SMALL);
      await scope(async () => {
        const x = binaryData(8, 12, 6);
        const mu = vae.encode(x);
        expect(mu.shape).toEqual([8, 3]);
        const zs = vae.encode(x, { sample: true, seed: 1 });
        expect(zs.shape).toEqual([8, 3]);
        const means = await vae.decode(mu).toArray();
        expect(means.every((p) => p > 0 && p < 1)).toBe(true);
        expect(vae.reconstruct(x).shape).toEqual([8, 12]);
        expect(vae.sample(5, { seed: 2 }).shape).toEqual([5, 12]);
        const bin = await vae.sample(5, { seed: 2, binary: true }).toArray();
        expect(bin.every((v) => v === 0 || v === 1)).toBe(true);

        // interpolation: the end points are the reconstructions of x1 and x2
        const x1 = x.narrow(0, 0, 1), x2 = x.narrow(0, 1, 1);
        const path = vae.interpolate(x1, x2.reshape([12]), 5);
        expect(path.shape).toEqual([5, 12]);
        const p = await path.toArray(), r1 = await vae.reconstruct(x1).toArray(), r2 = await vae.reconstruct(x2).toArray();
        for (let d = 0; d < 12; d++) {
          expect(p[d]).toBeCloseTo(r1[d]!, 5);
          expect(p[4 * 12 + d]).toBeCloseTo(r2[d]!, 5);
        }

        // active units: the population variance of μ over the batch, per dimension
        const m = await mu.toArray();
        const au = await vae.activeUnits(x);
        expect(au.variances.length).toBe(3);
        for (let j = 0; j < 3; j++) {
          const col = Array.from({ length: 8 }, (_, i) => m[i * 3 + j]!);
          const c = avg(col);
          expect(au.variances[j]).toBeCloseTo(avg(col.map((v) => (v - c) ** 2)), 5);
        }
        expect(au.count).toBe(au.variances.filter((v) => v > 0.01).length);
        expect((await vae.activeUnits(x, -1)).count).toBe(3);
        expect((await vae.activeUnits(x, 1e9)).count).toBe(0);
        expect(() => vae.encode(tensor([[1, 0]]))).toThrow(/expects x of shape/);
      });
      expect(JSON.parse(JSON.stringify(vae.config()))).toMatchObject({ kind: "vae", dim: 12, zDim: 3, objective: "elbo" });
      expect(Object.keys(vae.stateDict())).toEqual(["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"]);
      vae.dispose();
    });
  });
});
