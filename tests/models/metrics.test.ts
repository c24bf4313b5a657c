/**
 * Metrics. Fréchet distance: closed forms in 1-D and for commuting covariances, the
 * Tr (Σ₁Σ₂)^{1/2} term against a brute-force float64 matrix square root (Denman–Beavers), zero
 * and symmetry on LeNet features. NLL: mean/standard error and bits/dim by hand, and dataset
 * scoring with stub models whose answers are known exactly (a fair coin per pixel: D ln 2 nats;
 * the uniform density on [0, 1)^D: 8 bits/dim, with and without the logit transform). 2-D: the
 * grid density of a Gaussian integrates to 1, and the exact 8gaussians density scores its
 * tabulated entropy. LeNet: shapes, pooling, a training step, and the committed weights' accuracy.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Adam, fromTyped, scope, tensor, type Tensor } from "../../engine/index.js";
import { normalArray, seedToKey } from "../../engine/random.js";
import { GpuDataset, loadMnist } from "../../models/data/index.js";
import { matmul, symEig, transpose } from "../../models/linalg.js";
import type { GenerativeModel } from "../../models/model.js";
import {
  LENET_WEIGHTS,
  LeNet5,
  TOY_BEST_NLL,
  binarisedNll,
  bitsPerDimEstimate,
  classHistogram,
  datasetImages,
  densityGrid,
  dequantisedBitsPerDim,
  featureStats,
  fld,
  frechetDistance,
  iwaeNll,
  loadLenet,
  maxPool2x2,
  meanAndStdErr,
  noisyImages,
  scoreDataset,
  toyNll,
  traceSqrtProduct,
  type GaussianStats,
} from "../../models/metrics/index.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

// ── float64 helpers ────────────────────────────────────────────────────────────────────────────

/** A random SPD d × d matrix G Gᵀ + εI (rank r < d gives a singular PSD matrix with ε = 0). */
function randomSPD(d: number, seed: number, r = d, eps = 0.1): Float64Array {
  const g = normalArray(d * r, seedToKey(seed), 0);
  const s = matmul(g, transpose(g, d, r), d, r, d);
  for (let i = 0; i < d; i++) s[i * d + i] = s[i * d + i]! + eps;
  return s;
}

/** A⁻¹ by Gauss–Jordan elimination with partial pivoting. */
function inverse(a: Float64Array, d: number): Float64Array {
  const m = Float64Array.from(a), inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) inv[i * d + i] = 1;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r * d + c]!) > Math.abs(m[p * d + c]!)) p = r;
    for (const x of [m, inv]) for (let j = 0; j < d; j++) [x[c * d + j], x[p * d + j]] = [x[p * d + j]!, x[c * d + j]!];
    const piv = m[c * d + c]!;
    for (const x of [m, inv]) for (let j = 0; j < d; j++) x[c * d + j] = x[c * d + j]! / piv;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r * d + c]!;
      for (const x of [m, inv]) for (let j = 0; j < d; j++) x[r * d + j] = x[r * d + j]! - f * x[c * d + j]!;
    }
  }
  return inv;
}

/** Tr √A for a (non-symmetric) A with positive eigenvalues, by the Denman–Beavers iteration. */
function traceSqrtBrute(a: Float64Array, d: number): number {
  let y = Float64Array.from(a), z = new Float64Array(d * d);
  for (let i = 0; i < d; i++) z[i * d + i] = 1;
  for (let it = 0; it < 60; it++) {
    const yi = inverse(y, d), zi = inverse(z, d);
    y = y.map((v, i) => (v + zi[i]!) / 2);
    z = z.map((v, i) => (v + yi[i]!) / 2);
  }
  let t = 0;
  for (let i = 0; i < d; i++) t += y[i * d + i]!;
  return t;
}

const stats = (mean: number[], cov: ArrayLike<number>): GaussianStats => ({ mean: Float64Array.from(mean), cov: Float64Array.from(cov), dim: mean.length, n: 100 });

describe("Fréchet distance", () => {
  test("1-D: (μ₁ − μ₂)² + (σ₁ − σ₂)²", () => {
    expect(frechetDistance(stats([1.5], [4]), stats([-0.5], [0.25]))).toBeCloseTo(2 ** 2 + (2 - 0.5) ** 2, 12);
  });

  test("commuting covariances: Σ (μ diff)² + Σ (√a − √b)², including a singular one", () => {
    const d = 5, Q = symEig(randomSPD(d, 1), d).vectors;
    const la = [3, 2, 1, 0.5, 0], lb = [0.1, 4, 1, 2, 7];
    const withSpectrum = (l: number[]) => matmul(Q.map((v, i) => v * l[i % d]!), transpose(Q, d, d), d, d, d);
    const ma = [0, 1, 2, 3, 4], mb = [1, 1, 0, 3, 5];
    let want = 0;
    for (let i = 0; i < d; i++) want += (ma[i]! - mb[i]!) ** 2 + (Math.sqrt(la[i]!) - Math.sqrt(lb[i]!)) ** 2;
    // a zero eigenvalue is only known to ~ε‖Σ‖, and its square root to ~√ε: ~1e-8 absolute here
    expect(frechetDistance(stats(ma, withSpectrum(la)), stats(mb, withSpectrum(lb)))).toBeCloseTo(want, 6);
  });

  test("Tr (Σ₁Σ₂)^{1/2} matches a brute-force square root of the non-symmetric product", () => {
    for (const [d, seed] of [[2, 3], [4, 4], [6, 5]] as const) {
      const a = randomSPD(d, seed), b = randomSPD(d, seed + 100);
      const brute = traceSqrtBrute(matmul(a, b, d, d, d), d);
      expect(Math.abs(traceSqrtProduct(a, b, d) - brute) / brute).toBeLessThan(1e-10);
      expect(Math.abs(traceSqrtProduct(b, a, d) - brute) / brute).toBeLessThan(1e-10);
    }
  });

  test("zero for equal fits (also rank-deficient) and symmetric", () => {
    const d = 6, a = stats([1, 2, 3, 4, 5, 6], randomSPD(d, 7, 3, 0)), b = stats([0, 2, 3, 1, 5, 6], randomSPD(d, 8));
    expect(frechetDistance(a, a)).toBeLessThan(1e-6);
    expect(frechetDistance(b, b)).toBeLessThan(1e-12);
    // a's three zero eigenvalues again limit the agreement to ~√ε relative
    expect(Math.abs(frechetDistance(a, b) - frechetDistance(b, a))).toBeLessThan(1e-6);
  });
});

// ── likelihood helpers ─────────────────────────────────────────────────────────────────────────

describe("NLL and bits/dim", () => {
  test("mean, standard error and bits/dim by hand", () => {
    expect(meanAndStdErr([1, 2, 3, 6])).toEqual({ mean: 3, stdErr: Math.sqrt(14 / 3 / 4), n: 4 });
    // log p_x = −100, −120 with D = 10: NLL 110 ± 10 nats → 110/(10 ln 2) + 8 ± 10/(10 ln 2)
    const r = bitsPerDimEstimate([-100, -120], 10);
    expect(r.nll).toBeCloseTo(110, 12);
    expect(r.bitsPerDim).toBeCloseTo(110 / (10 * Math.LN2) + 8, 12);
    expect(r.stdErr).toBeCloseTo(1 / Math.LN2, 12);
  });

  /** A GenerativeModel with only the given pieces. */
  const stub = (parts: Partial<GenerativeModel>): GenerativeModel => ({
    kind: "stub",
    dim: 4,
    sample: () => { throw new Error("stub"); },
    trainStep: () => { throw new Error("stub"); },
    parameters: () => [],
    stateDict: () => ({}),
    config: () => ({}),
    dispose: () => {},
    ...parts,
  });

  test("datasets: batching, a fair coin per pixel, the uniform density (8 bits/dim) with and without logit", async () => {
    await withDevice(async (dev) => {
      const n = 13, D = 4;
      const bytes = Uint8Array.from({ length: n * D }, (_, i) => (i * 37) % 256);
      const ds = GpuDataset.upload(bytes, new Uint8Array(n), dev, { D, name: "tiny" });
      try {
        // the float transform summed per example, in order, with a batch size that does not divide n
        const sums = await scoreDataset(ds, (x) => x.sum(-1), { batchSize: 5 });
        for (let e = 0; e < n; e++) expect(sums[e]).toBeCloseTo([0, 1, 2, 3].reduce((s, j) => s + bytes[e * D + j]! / 255, 0), 5);
        // p = ½ per pixel: log p(x) = D ln ½ for every binary x
        const coin = stub({ logProb: (x: Tensor) => x.mul(0).sum(-1).add(D * Math.log(0.5)) });
        const r = await binarisedNll(coin, ds, { batchSize: 5 });
        expect(r.kind).toBe("exact");
        expect(r.nll).toBeCloseTo(D * Math.LN2, 5);
        expect(r.stdErr).toBeLessThan(1e-6);
        const iw = await iwaeNll(stub({ iwae: (x: Tensor) => x.sum(-1).mul(0).sub(7) }), ds, { k: 10, batchSize: 5, limit: 9 });
        expect([iw.nll, iw.n, iw.k]).toEqual([7, 9, 10]);
        // uniform on [0, 1)^D: log p_x = 0 → exactly 8 bits/dim
        const uniform = await dequantisedBitsPerDim(stub({ logProb: (x: Tensor) => x.sum(-1).mul(0) }), ds, { batchSize: 5, seed: 3 });
        expect(uniform.bitsPerDim).toBeCloseTo(8, 10);
        // the same density seen through y = logit(λ + (1 − 2λ)x) is logistic, p_y(y) = σ(y)σ(−y);
        // adding back the logit's log-determinant gives log p_x = D ln(1 − 2λ) ≈ 0
        const logistic = stub({ logProb: (y: Tensor) => y.softplus().add(y.neg().softplus()).sum(-1).neg() });
        const viaLogit = await dequantisedBitsPerDim(logistic, ds, { batchSize: 5, seed: 3, logit: true });
        expect(viaLogit.bitsPerDim).toBeCloseTo(8, 4);
      } finally {
        ds.dispose();
      }
    });
  });

  test("2-D: a Gaussian's grid density integrates to 1; the exact 8gaussians density scores TOY_BEST_NLL", async () => {
    await withDevice(async () => {
      // N((0.5, −0.3), diag(0.6², 0.4²))
      const gauss = (x: Tensor) => {
        const z = x.sub(tensor([0.5, -0.3])).div(tensor([0.6, 0.4]));
        return z.square().sum(-1).mul(-0.5).sub(Math.log(2 * Math.PI * 0.6 * 0.4));
      };
      const g = await densityGrid(gauss, { resolution: [80, 60] });
      expect(g.density.length).toBe(80 * 60);
      expect(g.mass).toBeCloseTo(1, 3);
      // the peak cell is the one nearest the mean
      const peak = g.density.indexOf(Math.max(...g.density));
      expect([g.xs[peak % 80]!, g.ys[Math.floor(peak / 80)]!].map((v) => Math.round(v * 10) / 10)).toEqual([0.5, -0.3]);

      // FFJORD's 8gaussians: ½ of N(4c/1.414, (0.5/1.414)²I) over the 8 unit-circle directions c
      const s = Math.SQRT1_2, sigma = 0.5 / 1.414;
      const centres = tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]].map(([a, b]) => [(4 * a!) / 1.414, (4 * b!) / 1.414]));
      const mixture = (x: Tensor) =>
        x.unsqueeze(1).sub(centres).square().sum(-1).div(-2 * sigma * sigma).logsumexp(-1).sub(Math.log(8 * 2 * Math.PI * sigma * sigma));
      const r = await toyNll(mixture, "8gaussians", { n: 4000 });
      centres.dispose();
      expect(r.best).toBe(TOY_BEST_NLL["8gaussians"]);
      expect(Math.abs(r.gap)).toBeLessThan(3 * r.stdErr);
    });
  });
});

// ── LeNet and FLD on real digits ───────────────────────────────────────────────────────────────

describe("LeNet-5 and FLD", () => {
  // ~3 s each on an idle lavapipe, but a pipeline compile can stall for tens of seconds when
  // other processes load the two cores
  const SLOW = 180_000;

  test("max-pooling by view + amax, shapes, and two steps lower the loss", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = tensor(Array.from({ length: 2 * 4 * 4 }, (_, i) => ((i * 7) % 11) - 5)).reshape([1, 2, 4, 4]);
        const want: number[] = [];
        const v = (c: number, i: number, j: number) => ((((c * 16 + i * 4 + j) * 7) % 11) - 5);
        for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) want.push(Math.max(v(c, 2 * i, 2 * j), v(c, 2 * i + 1, 2 * j), v(c, 2 * i, 2 * j + 1), v(c, 2 * i + 1, 2 * j + 1)));
        expect(Array.from(await maxPool2x2(x).toArray())).toEqual(want);
      });
      const net = new LeNet5({ seed: 1 });
      const opt = new Adam(net.parameters(), { lr: 1e-3 });
      const test = await loadMnist({ split: "test", limit: 100 });
      const ds = GpuDataset.fromMnist(test);
      try {
        await scope(async () => {
          const { x, y } = ds.batch(fromTyped(Int32Array.from({ length: 100 }, (_, i) => i), [100], "i32"));
          expect(net.forward(x).shape).toEqual([100, 10]);
          expect(net.penultimate(x.reshape([100, 1, 28, 28])).shape).toEqual([100, 84]);
          expect(net.predict(x).dtype).toBe("i32");
          expect(net.parameters().reduce((a, p) => a + p.size, 0)).toBe(61_706);
          const losses: number[] = [];
          for (let i = 0; i < 3; i++) {
            await scope(async () => {
              const loss = net.loss(x, y);
              loss.backward();
              await opt.step({ realize: [loss] });
              opt.zeroGrad();
              losses.push(await loss.item());
            });
          }
          expect(losses[2]).toBeLessThan(losses[0]!);
        });
      } finally {
        opt.dispose();
        net.dispose();
        ds.dispose();
      }
    });
  }, SLOW);

  test("FLD(x, x) ≈ 0, symmetric, grows with noise; class histogram", async () => {
    await withDevice(async () => {
      const net = new LeNet5({ seed: 2 });
      const ds = GpuDataset.fromMnist(await loadMnist({ split: "test", limit: 400 }));
      try {
        // one batch size (100) everywhere in this file: every new shape compiles new pipelines
        const o = { batchSize: 100 };
        const a = datasetImages(ds, { limit: 200 });
        const b = { n: 200, rows: (s: number, e: number) => a.rows(200 + s, 200 + e) };
        const [sa, sb] = [await featureStats(net, a, o), await featureStats(net, b, o)];
        // an untrained net's features are small: measure errors against the feature variance
        let scale = 0;
        for (let i = 0; i < 84; i++) scale += sa.cov[i * 84 + i]!;
        const ab = frechetDistance(sa, sb);
        expect(ab).toBeGreaterThan(1e-4 * scale);
        expect(frechetDistance(sa, sa)).toBeLessThan(1e-6 * scale);
        expect(Math.abs(frechetDistance(sb, sa) - ab)).toBeLessThan(1e-6 * scale);
        expect(await fld(net, a, sa, o)).toBeLessThan(1e-6 * scale);
        expect(await fld(net, noisyImages(a, 0.3), sa, o)).toBeGreaterThan(ab);
        const h = await classHistogram(net, a, o);
        expect(h.counts.reduce((s, c) => s + c, 0)).toBe(200);
        expect(h.klFromUniform).toBeGreaterThanOrEqual(0);
        expect(h.klFromUniform).toBeLessThanOrEqual(Math.log(10) + 1e-12);
      } finally {
        net.dispose();
        ds.dispose();
      }
    });
  }, SLOW);

  const weights = fileURLToPath(new URL(`../../${LENET_WEIGHTS}`, import.meta.url));
  test("the committed weights classify ≥ 99 % of 500 test digits", async () => {
    await withDevice(async () => {
      const net = await loadLenet();
      const ds = GpuDataset.fromMnist(await loadMnist({ split: "test", limit: 500 }));
      try {
        let correct = 0;
        for (let start = 0; start < 500; start += 100) {
          correct += await scope(async () => {
            const { x, y } = ds.batch(fromTyped(Int32Array.from({ length: 100 }, (_, i) => start + i), [100], "i32"));
            return net.predict(x).eq(y).float().sum().item();
          });
        }
        expect(correct / 500).toBeGreaterThanOrEqual(0.99);
      } finally {
        net.dispose();
        ds.dispose();
      }
    });
  }, SLOW);
});
