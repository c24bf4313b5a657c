/**
 * PPCA and the float64 linear algebra under it. linalg: V Λ Vᵀ reconstructs A and V is orthogonal
 * (random, repeated-eigenvalue and degenerate matrices), Cholesky, log-det and solves. PPCA on a
 * D = 6, q = 2 toy: logProb against a dense multivariate normal density, the posterior mean
 * against the dense formula Wᵀ C⁻¹ (x − μ), the closed-form MLE against random and perturbed
 * W, EM against the closed form, the samples' covariance against C, and two EM train steps.
 */
import { describe, expect, test } from "vitest";
import { scope, tensor, type Tensor } from "../../engine/index.js";
import { normalArray, seedToKey, uniformArray } from "../../engine/random.js";
import {
  LinAlgError,
  cholesky,
  choleskySolve,
  identity,
  inverseSPD,
  logDetSPD,
  matmul,
  solveLower,
  solveLowerT,
  symEig,
  transpose,
} from "../../models/linalg.js";
import { MomentAccumulator, PPCA } from "../../models/ppca.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

const LOG_2PI = Math.log(2 * Math.PI);
const gauss = (n: number, seed: number) => normalArray(n, seedToKey(seed), 0);
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const norm = (a: ArrayLike<number>) => maxAbs(a, new Float64Array(a.length));

/** A random orthogonal matrix: the eigenvectors of a random symmetric matrix. */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const g = gauss(n * n, seed);
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = g[i * n + j]! + g[j * n + i]!;
  return symEig(s, n).vectors;
}

/** Q diag(λ) Qᵀ. */
function withSpectrum(lambda: readonly number[], seed: number): Float64Array {
  const n = lambda.length, Q = randomOrthogonal(n, seed);
  const QL = Q.map((v, i) => v * lambda[i % n]!);
  return matmul(QL, transpose(Q, n, n), n, n, n);
}

/** max |A − V Λ Vᵀ| / ‖A‖ and max |Vᵀ V − I|. */
function eigErrors(a: Float64Array, n: number): { recon: number; orth: number; values: Float64Array } {
  const { values, vectors } = symEig(a, n);
  const VL = vectors.map((v, i) => v * values[i % n]!);
  const R = matmul(VL, transpose(vectors, n, n), n, n, n);
  const orth = maxAbs(matmul(transpose(vectors, n, n), vectors, n, n, n), identity(n));
  return { recon: maxAbs(R, a) / Math.max(norm(a), 1e-300), orth, values };
}

describe("linalg (float64, CPU)", () => {
  test("symEig: A = V Λ Vᵀ, Vᵀ V = I and descending values on random symmetric matrices", () => {
    for (const n of [1, 2, 3, 7, 40, 120]) {
      const g = gauss(n * n, 100 + n);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j]! + g[j * n + i]!;
      const { recon, orth, values } = eigErrors(a, n);
      expect(recon, `n = ${n}`).toBeLessThan(1e-13 * n + 1e-15);
      expect(orth, `n = ${n}`).toBeLessThan(1e-13 * n + 1e-15);
      for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]!);
    }
  });

  test("symEig: repeated, zero and negative eigenvalues are recovered", () => {
    const spectra = [
      [3, 3, 3, 1, 1, 0, 0, -2],
      [5, 5, 5, 5, 5, 5],
      [1e-3, 1e-3, 1, 1, 1e3, 1e3, 0, 0, 0, 0],
      [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // rank one
    ];
    spectra.forEach((spec, k) => {
      const n = spec.length;
      const a = withSpectrum(spec, 7 + k);
      const { recon, orth, values } = eigErrors(a, n);
      expect(recon).toBeLessThan(1e-13 * n);
      expect(orth).toBeLessThan(1e-13 * n);
      const want = [...spec].sort((x, y) => y - x);
      expect(maxAbs(values, want)).toBeLessThan(1e-12 * Math.max(...spec.map(Math.abs)));
    });
  });

  test("symEig: diagonal, identity, zero and already-tridiagonal matrices", () => {
    const n = 6;
    const diag = new Float64Array(n * n);
    [4, -1, 2, 2, 0, 9].forEach((v, i) => (diag[i * n + i] = v));
    expect([...symEig(diag, n).values]).toEqual([9, 4, 2, 2, 0, -1]);
    expect(eigErrors(identity(n), n).orth).toBeLessThan(1e-15);
    const zero = eigErrors(new Float64Array(n * n), n);
    expect([...zero.values].every((v) => v === 0)).toBe(true);
    expect(zero.orth).toBeLessThan(1e-15);
    const tri = new Float64Array(n * n); // the 1-D Laplacian: λ_k = 2 − 2 cos(kπ / (n + 1))
    for (let i = 0; i < n; i++) {
      tri[i * n + i] = 2;
      if (i + 1 < n) tri[i * n + i + 1] = tri[(i + 1) * n + i] = -1;
    }
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((n - k) * Math.PI) / (n + 1)));
    expect(maxAbs(symEig(tri, n).values, want)).toBeLessThan(1e-14);
  });

  test("symEig rejects non-finite entries and wrong sizes", () => {
    expect(() => symEig([1, NaN, NaN, 1], 2)).toThrow(LinAlgError);
    expect(() => symEig([1, 2, 3], 2)).toThrow(LinAlgError);
  });

  test("cholesky, log-det, triangular and SPD solves, inverse", () => {
    const n = 9;
    const spec = Array.from({ length: n }, (_, i) => 0.5 + i);
    const a = withSpectrum(spec, 3);
    const L = cholesky(a, n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
    expect(maxAbs(matmul(L, transpose(L, n, n), n, n, n), a)).toBeLessThan(1e-12);
    expect(logDetSPD(a, n)).toBeCloseTo(spec.reduce((s, v) => s + Math.log(v), 0), 11);
    const b = gauss(n * 2, 5);
    expect(maxAbs(matmul(L, solveLower(L, b, n, 2), n, n, 2), b)).toBeLessThan(1e-12);
    expect(maxAbs(matmul(transpose(L, n, n), solveLowerT(L, b, n, 2), n, n, 2), b)).toBeLessThan(1e-12);
    expect(maxAbs(matmul(a, choleskySolve(L, b, n, 2), n, n, 2), b)).toBeLessThan(1e-11);
    expect(maxAbs(matmul(a, inverseSPD(a, n), n, n, n), identity(n))).toBeLessThan(1e-11);
    expect(() => cholesky(withSpectrum([1, 2, -0.5], 4), 3)).toThrow(LinAlgError);
  });
});

// ── PPCA on a toy: D = 6, q = 2 ─────────────────────────────────────────────────────────────────
// One batch size throughout (B rows): every new shape is a new pipeline.
const D = 6, q = 2, B = 64;
const W0 = Float64Array.from(gauss(D * q, 11), (v) => 1.5 * v);
const MU0 = Float64Array.from(gauss(D, 12));
const S2 = 0.3;

/** C = W Wᵀ + σ² I, dense. */
function denseC(W: ArrayLike<number>, sigma2: number): Float64Array {
  const C = matmul(W, transpose(W, D, q), D, q, D);
  for (let i = 0; i < D; i++) C[i * D + i] = C[i * D + i]! + sigma2;
  return C;
}

/** log N(x; μ, C) for each row of x, via C's Cholesky factor. */
function denseLogProb(x: Float64Array, mu: ArrayLike<number>, C: Float64Array): number[] {
  const L = cholesky(C, D), logDet = logDetSPD(C, D);
  const B = x.length / D;
  return Array.from({ length: B }, (_, b) => {
    const r = Float64Array.from({ length: D }, (_, i) => x[b * D + i]! - mu[i]!);
    const y = solveLower(L, r, D); // ‖L⁻¹ r‖² = rᵀ C⁻¹ r
    const quad = y.reduce((s, v) => s + v * v, 0);
    return -0.5 * (D * LOG_2PI + logDet + quad);
  });
}

/** N draws from the generative model, float64, [N, D]. */
function drawData(N: number, seed: number): Float64Array {
  const z = gauss(N * q, seed), e = gauss(N * D, seed + 1);
  const x = matmul(z, transpose(W0, D, q), N, q, D);
  for (let n = 0; n < N; n++) for (let i = 0; i < D; i++) x[n * D + i] = x[n * D + i]! + MU0[i]! + Math.sqrt(S2) * e[n * D + i]!;
  return x;
}

function cpuMoments(x: Float64Array): { mean: Float64Array; cov: Float64Array } {
  const N = x.length / D, mean = new Float64Array(D), cov = new Float64Array(D * D);
  for (let n = 0; n < N; n++) for (let i = 0; i < D; i++) mean[i] = mean[i]! + x[n * D + i]! / N;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i * D + j] = cov[i * D + j]! + ((x[n * D + i]! - mean[i]!) * (x[n * D + j]! - mean[j]!)) / N;
  return { mean, cov };
}

const f32 = (a: Float64Array, shape: number[]): Tensor => tensor(Float32Array.from(a), shape);
const read = async (t: Tensor) => Float64Array.from(await t.toArray());

describe("PPCA", () => {
  test("logProb matches the dense multivariate normal density (Woodbury + determinant lemma)", async () => {
    await withDevice(async () => {
      const m = new PPCA(D, { latentDim: q });
      m.setParameters({ W: W0, mu: MU0, sigma2: S2 });
      const x = Float64Array.from(gauss(B * D, 13), (v, i) => 2 * v + MU0[i % D]!);
      const want = denseLogProb(x, MU0, denseC(W0, S2));
      const got = await scope(() => read(m.logProb(f32(x, [B, D]))));
      for (let b = 0; b < B; b++) expect(got[b]).toBeCloseTo(want[b]!, 3);
      m.dispose();
    });
  });

  test("encode is the posterior mean Wᵀ C⁻¹ (x − μ); decode is W z + μ", async () => {
    await withDevice(async () => {
      const m = new PPCA(D, { latentDim: q });
      m.setParameters({ W: W0, mu: MU0, sigma2: S2 });
      const x = Float64Array.from(gauss(B * D, 14), (v, i) => v + MU0[i % D]!);
      // M⁻¹ Wᵀ = Wᵀ C⁻¹ (push-through identity), so the dense reference never inverts M.
      const L = cholesky(denseC(W0, S2), D);
      const r = Float64Array.from(x, (v, i) => v - MU0[i % D]!);
      const Cr = choleskySolve(L, transpose(r, B, D), D, B); // C⁻¹ Rᵀ, D × B
      const want = transpose(matmul(transpose(W0, D, q), Cr, q, D, B), q, B);
      const z = await scope(() => read(m.encode(f32(x, [B, D]))));
      expect(maxAbs(z, want)).toBeLessThan(1e-5);
      const xHat = await scope(() => read(m.decode(f32(want, [B, q]))));
      const wantX = matmul(want, transpose(W0, D, q), B, q, D).map((v, i) => v + MU0[i % D]!);
      expect(maxAbs(xHat, wantX)).toBeLessThan(1e-5);
      m.dispose();
    });
  });

  test("closed-form MLE (Eq. 7–8): GPU moments, attains the analytic maximum, beats random and perturbed W", async () => {
    await withDevice(async () => {
      const N = 10 * B;
      const x = drawData(N, 20);
      const ref = cpuMoments(x);
      const acc = new MomentAccumulator(D);
      const chunks = (fn: (t: Tensor) => Promise<unknown>) =>
        Array.from({ length: N / B }, (_, c) => () => scope(() => fn(f32(x.subarray(c * B * D, (c + 1) * B * D), [B, D]))));
      for (const run of chunks((t) => acc.add(t))) await run();
      expect(acc.count).toBe(N);
      expect(maxAbs(acc.mean(), ref.mean)).toBeLessThan(1e-5);
      expect(maxAbs(acc.covariance(), ref.cov)).toBeLessThan(1e-5);

      const { mean, cov } = ref;
      const fit = PPCA.fromMoments(mean, cov, { latentDim: q });
      const ll = fit.avgLogLikelihood(mean, cov);
      // At the optimum tr(C⁻¹ S) = D, so ℓ = −½ (D log 2π + Σ_{j≤q} log λ_j + (D − q) log σ² + D).
      const lam = symEig(cov, D).values;
      const s2 = lam.slice(q).reduce((s, v) => s + v, 0) / (D - q);
      expect(fit.params.sigma2).toBeCloseTo(s2, 12);
      const analytic = -0.5 * (D * LOG_2PI + Math.log(lam[0]!) + Math.log(lam[1]!) + (D - q) * Math.log(s2) + D);
      expect(ll).toBeCloseTo(analytic, 10);
      // the dense density agrees with the moment formula on the data themselves
      const dense = denseLogProb(x, fit.params.mu, denseC(fit.params.W, fit.params.sigma2));
      expect(dense.reduce((s, v) => s + v, 0) / N).toBeCloseTo(ll, 9);
      // and the GPU logProb agrees in f32
      let gpu = 0;
      for (const run of chunks(async (t) => (gpu += (await fit.logProb(t).sum().item()) / N))) await run();
      expect(gpu).toBeCloseTo(ll, 3);

      const other = new PPCA(D, { latentDim: q });
      for (let k = 0; k < 5; k++) {
        other.setParameters({ W: gauss(D * q, 30 + k), mu: mean, sigma2: s2 });
        expect(other.avgLogLikelihood(mean, cov)).toBeLessThan(ll);
        const W = Float64Array.from(fit.params.W, (v, i) => v + 0.05 * gauss(D * q, 40 + k)[i]!);
        other.setParameters({ W, mu: mean, sigma2: s2 * (1 + 0.05 * (k - 2)) });
        expect(other.avgLogLikelihood(mean, cov)).toBeLessThan(ll);
      }
      fit.dispose();
      other.dispose();
    });
  });

  test("EM (Eq. 29–30) increases the likelihood monotonically and converges to the closed form", async () => {
    await withDevice(async () => {
      const { mean, cov } = cpuMoments(drawData(800, 50));
      const closed = PPCA.fromMoments(mean, cov, { latentDim: q });
      const target = closed.avgLogLikelihood(mean, cov);
      const em = new PPCA(D, { latentDim: q, seed: 3 });
      em.setParameters({ ...em.params, mu: mean });
      let prev = em.avgLogLikelihood(mean, cov);
      for (let t = 0; t < 300; t++) {
        em.emStep(cov);
        const ll = em.avgLogLikelihood(mean, cov);
        expect(ll).toBeGreaterThanOrEqual(prev - 1e-12);
        prev = ll;
      }
      expect(prev).toBeCloseTo(target, 8);
      expect(em.params.sigma2).toBeCloseTo(closed.params.sigma2, 6);
      // W is identified up to a rotation: compare W Wᵀ
      const WWt = (W: Float64Array) => matmul(W, transpose(W, D, q), D, q, D);
      expect(maxAbs(WWt(em.params.W), WWt(closed.params.W))).toBeLessThan(1e-5);
      const viaFit = PPCA.fitEM(mean, cov, { latentDim: q, iters: 300 });
      expect(viaFit.avgLogLikelihood(mean, cov)).toBeCloseTo(target, 8);
      for (const m of [closed, em, viaFit]) m.dispose();
    });
  });

  test("samples have mean μ and covariance C = W Wᵀ + σ² I", async () => {
    await withDevice(async () => {
      const m = new PPCA(D, { latentDim: q });
      m.setParameters({ W: W0, mu: MU0, sigma2: S2 });
      const n = 20000;
      const s = await scope(() => read(m.sample(n, { seed: 9 })));
      const { mean, cov } = cpuMoments(s);
      const C = denseC(W0, S2);
      const scale = Math.max(...Array.from({ length: D }, (_, i) => C[i * D + i]!));
      expect(maxAbs(mean, MU0)).toBeLessThan(4 * Math.sqrt(scale / n));
      expect(maxAbs(cov, C) / scale).toBeLessThan(0.04);
      // the same seed gives the same samples
      const again = await scope(() => read(m.sample(4, { seed: 9 })));
      expect(maxAbs(again, s.subarray(0, 4 * D))).toBe(0);
      m.dispose();
    });
  });

  test("two EM train steps on one batch lower its loss; the state dict round-trips", async () => {
    await withDevice(async () => {
      const m = new PPCA(D, { latentDim: q, seed: 1 });
      const batch = f32(drawData(B, 60), [B, D]);
      const l1 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l2 = await scope(async () => (await m.trainStep(batch)).loss.item());
      const l3 = await scope(async () => (await m.trainStep(batch)).loss.item());
      expect(l2).toBeLessThan(l1);
      expect(l3).toBeLessThan(l2);
      expect(Number.isFinite(l3)).toBe(true);
      const copy = await PPCA.fromStateDict(m.stateDict());
      const [a, b] = await scope(() => Promise.all([read(m.logProb(batch)), read(copy.logProb(batch))]));
      expect(maxAbs(a, b)).toBeLessThan(1e-3);
      expect(m.config()).toMatchObject({ kind: "ppca", dim: D, latentDim: q });
      batch.dispose();
      m.dispose();
      copy.dispose();
    });
  });

  test("shape and parameter errors", async () => {
    await withDevice(async () => {
      expect(() => new PPCA(D, { latentDim: D })).toThrow(/latentDim/);
      const m = new PPCA(D, { latentDim: q });
      expect(() => m.setParameters({ W: W0, mu: MU0, sigma2: 0 })).toThrow(LinAlgError);
      const bad = tensor(Float32Array.from(uniformArray(10, seedToKey(1), 0)), [2, 5]);
      expect(() => m.logProb(bad)).toThrow(/expects \[B, 6\]/);
      bad.dispose();
      m.dispose();
    });
  });
});
