/**
 * NADE and MADE: the autoregressive property (exact zeros in the Jacobian of the logits), exact
 * normalisation over all 2^D binary vectors (one mask and the ensemble), NADE's blocked prefix sum
 * against the Eq. 4 recurrence in float64, sampling (distribution vs exp(logProb), no readback,
 * compiled = lazy), and training.
 */
import { describe, expect, test, vi } from "vitest";
import { eye, fromTyped, grad, rand, randn, realize, scope, type Tensor } from "../../engine/index.js";
import * as dispatch from "../../engine/dispatch.js";
import { NADE } from "../../models/nade.js";
import { MADE } from "../../models/made.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

// Count readbacks: every path from the GPU to the CPU goes through engine/dispatch.ts `readback`.
vi.mock("../../engine/dispatch.js", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../engine/dispatch.js")>();
  return { ...mod, readback: vi.fn(mod.readback) };
});
const readbacks = () => vi.mocked(dispatch.readback).mock.calls.length;

await testDevice();

/** D = 7: NADE's prefix sum then pads 7 to 3 blocks of 3 (s = ⌈√7⌉). Shapes are shared across tests to limit pipeline compiles. */
const D = 7;
const HIDDEN = [16, 16];
const N_SAMPLES = 4096;

/** All 2^D binary vectors, row k = the bits of k (x_d = bit d). */
function allBinary(dim: number): Tensor {
  const v = new Float32Array((1 << dim) * dim);
  for (let k = 0; k < 1 << dim; k++) for (let d = 0; d < dim; d++) v[k * dim + d] = (k >> d) & 1;
  return fromTyped(v, [1 << dim, dim], "f32");
}

/** Replaces every parameter by N(0, scale²) draws, so the model's distribution is far from uniform. */
async function scrambleParams(model: NADE | MADE, seed: number, scale: number): Promise<void> {
  await scope(async () => {
    const next = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t], i) => [k, randn(t.shape, { seed: seed + i }).mul(scale)]));
    await realize(...Object.values(next));
    model.loadStateDict(next);
  });
}

/** Rows of the Jacobian: J[d][j] = ∂ logit_d / ∂ x_j, from one backward over D copies of x. */
async function logitJacobian(logits: (x: Tensor) => Tensor, dim: number, seed: number): Promise<number[][]> {
  return scope(async () => {
    const X = rand([dim, dim], { seed });
    const [g] = grad((x: Tensor) => logits(x).mul(eye(dim)).sum())(X); // row d only feeds logit d
    return (await g!.toNested()) as number[][];
  });
}

/** Expects J[d][j] = 0 exactly whenever j is not before d in `order`, and some nonzero entries. */
function expectAutoregressive(J: number[][], order: ArrayLike<number>): void {
  const pos = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) pos[order[k]!] = k;
  let nonzero = 0;
  J.forEach((row, d) =>
    row.forEach((v, j) => {
      if (pos[j]! >= pos[d]!) expect(v, `∂ logit_${d} / ∂ x_${j}`).toBe(0);
      else if (v !== 0) nonzero++;
    }),
  );
  expect(nonzero).toBeGreaterThan(0);
}

/** Σ_x p(x) over all binary vectors, from log-probabilities. */
async function totalProbability(logp: Tensor): Promise<number> {
  return Math.exp(await logp.logsumexp(0).item());
}

/**
 * Pearson's χ² of the samples' histogram against exp(logp) (bins with expected count < 5 pooled);
 * passes below dof + 6·√(2·dof), far out in the tail for a correct sampler.
 */
function expectMatches(samples: Float32Array, dim: number, logp: Float32Array): void {
  const n = samples.length / dim;
  const counts = new Float64Array(1 << dim);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let d = 0; d < dim; d++) {
      const v = samples[i * dim + d]!;
      expect(v === 0 || v === 1, `sample value ${v}`).toBe(true);
      k |= v << d;
    }
    counts[k]!++;
  }
  let stat = 0, bins = 0, restObs = 0, restExp = 0;
  counts.forEach((c, k) => {
    const e = n * Math.exp(logp[k]!);
    if (e >= 5) ((stat += (c - e) ** 2 / e), bins++);
    else ((restObs += c), (restExp += e));
  });
  if (restExp >= 5) ((stat += (restObs - restExp) ** 2 / restExp), bins++);
  else expect(restObs).toBeLessThanOrEqual(restExp + 6 * Math.sqrt(restExp) + 3);
  const dof = bins - 1;
  expect(dof).toBeGreaterThan(5);
  expect(stat).toBeLessThan(dof + 6 * Math.sqrt(2 * dof));
}

/** Fraction of rows on which two sample sets agree. */
function rowAgreement(a: Float32Array, b: Float32Array, dim: number): number {
  let same = 0;
  for (let i = 0; i < a.length / dim; i++) if (a.subarray(i * dim, (i + 1) * dim).every((v, d) => v === b[i * dim + d])) same++;
  return same / (a.length / dim);
}

/** Checks samples against the model's log-probabilities, and that sampling read nothing back. */
async function checkSampler(model: NADE | MADE, seed: number): Promise<void> {
  await scope(async () => {
    const before = readbacks();
    const compiled = await model.sampleCompiled(N_SAMPLES, { seed });
    const lazy = model.sample(N_SAMPLES, { seed });
    await realize(compiled, lazy);
    expect(readbacks() - before, "readbacks while sampling").toBe(0);
    const xs = (await compiled.toArray()) as Float32Array;
    const logp = (await model.logProb(allBinary(D)).toArray()) as Float32Array;
    expectMatches(xs, D, logp);
    // the same step and the same random streams: the two paths draw the same samples (up to
    // rounding differences between fused kernels, which can flip a draw with u ≈ p)
    expect(rowAgreement(xs, (await lazy.toArray()) as Float32Array, D)).toBeGreaterThan(0.99);
  });
}

/** Mean NLL of `x` under the model's logProb. */
const nllOf = (model: NADE | MADE, x: Tensor) => scope(() => model.logProb(x).mean().neg().item());

describe("NADE", () => {
  test("autoregressive: ∂ logit_d / ∂ x_j = 0 exactly for j ≥ d", async () => {
    await withDevice(async () => {
      const nade = new NADE({ dim: D, hidden: 8, seed: 1 });
      expectAutoregressive(await logitJacobian((x) => nade.logits(x), D, 3), [0, 1, 2, 3, 4, 5, 6]);
      nade.dispose();
    });
  });

  test("the blocked prefix sum equals the Eq. 4 recurrence (float64)", async () => {
    await withDevice(async () => {
      const dim = D, H = 8, B = 1 << D;
      const nade = new NADE({ dim, hidden: H, seed: 2 });
      await scrambleParams(nade, 10, 1);
      const [W, c, V, b] = await Promise.all([nade.W, nade.c, nade.V, nade.b].map((t) => t.toArray()));
      const x = await scope(() => allBinary(dim).toArray());
      const got = await scope(() => nade.logits(allBinary(dim)).toArray());
      const sigm = (z: number) => 1 / (1 + Math.exp(-z));
      for (let r = 0; r < B; r++) {
        const a = Float64Array.from(c!); // a_1 = c
        for (let d = 0; d < dim; d++) {
          let l = b![d]!; // b_d + V_d · σ(a_d)
          for (let h = 0; h < H; h++) l += V![d * H + h]! * sigm(a[h]!);
          expect(got[r * dim + d]).toBeCloseTo(l, 4);
          for (let h = 0; h < H; h++) a[h]! += W![h * dim + d]! * x[r * dim + d]!; // a_{d+1} = a_d + W_{:,d} x_d
        }
      }
      nade.dispose();
    });
  });

  test("exp(log p) sums to 1 over all 2^D binary vectors; row chunking changes nothing", async () => {
    await withDevice(async () => {
      const nade = new NADE({ dim: D, hidden: 8, seed: 1 });
      const chunked = new NADE({ dim: D, hidden: 8, seed: 1, chunkRows: 50 }); // 128 rows → 3 chunks of ≤ 43
      await scrambleParams(nade, 20, 1.5);
      await scrambleParams(chunked, 20, 1.5);
      const lp = await scope(async () => (await nade.logProb(allBinary(D)).realize()).keep());
      expect(Math.abs(Math.exp(await scope(() => lp.logsumexp(0).item())) - 1)).toBeLessThan(1e-5);
      const lc = await scope(() => chunked.logProb(allBinary(D)).toArray());
      const ref = await lp.toArray();
      lc.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 4));
      lp.dispose();
      nade.dispose();
      chunked.dispose();
    });
  });

  test("samples follow exp(log p); compiled replays and the lazy graph agree; no readback", async () => {
    await withDevice(async () => {
      const nade = new NADE({ dim: D, hidden: 8, seed: 1 });
      await scrambleParams(nade, 30, 1.5);
      await checkSampler(nade, 7);
      nade.dispose();
    });
  });

  test("two training steps on one batch lower the loss; compiled steps match eager ones", async () => {
    await withDevice(async () => {
      const batch = await scope(async () => (await rand([1 << D, D], { seed: 5 }).lt(0.3).float().realize()).keep());
      const losses: number[][] = [];
      for (const compile of [false, true]) {
        const nade = new NADE({ dim: D, hidden: 8, seed: 1, lr: 0.02, compile });
        const before = await nllOf(nade, batch);
        const ls: number[] = [];
        for (let i = 0; i < 2; i++) {
          const { loss } = await nade.trainStep(batch);
          ls.push(await loss.item());
          loss.dispose();
        }
        expect(ls[0]).toBeCloseTo(before, 4);
        expect(ls[1]).toBeLessThan(ls[0]!);
        expect(await nllOf(nade, batch)).toBeLessThan(ls[1]!);
        losses.push(ls);
        nade.dispose();
      }
      losses[1]!.forEach((l, i) => expect(l).toBeCloseTo(losses[0]![i]!, 4));
      batch.dispose();
    });
  });
});

describe("MADE", () => {
  test("autoregressive under every mask set and ordering (∂ logit_d / ∂ x_j = 0 unless j precedes d)", async () => {
    await withDevice(async () => {
      for (const opts of [{ nMasks: 1 }, { nMasks: 3 }, { nMasks: 3, orderAgnostic: true }]) {
        const made = new MADE({ dim: D, hidden: HIDDEN, seed: 3, ...opts });
        for (let m = 0; m < made.nMasks; m++) expectAutoregressive(await logitJacobian((x) => made.logits(x, m), D, 4 + m), made.ordering(m));
        if (opts.orderAgnostic) expect(new Set([0, 1, 2].map((m) => made.ordering(m).join())).size).toBeGreaterThan(1);
        made.dispose();
      }
    });
  });

  test("exp(log p) sums to 1: one mask, each of several masks, and the ensemble", async () => {
    await withDevice(async () => {
      const single = new MADE({ dim: D, hidden: HIDDEN, seed: 4 });
      await scrambleParams(single, 40, 1);
      expect(Math.abs((await scope(() => totalProbability(single.logProb(allBinary(D))))) - 1)).toBeLessThan(1e-5);
      single.dispose();

      const ens = new MADE({ dim: D, hidden: HIDDEN, nMasks: 4, orderAgnostic: true, seed: 5 });
      await scrambleParams(ens, 50, 1);
      for (let m = 0; m < 4; m++) expect(Math.abs((await scope(() => totalProbability(ens.logProbMask(allBinary(D), m)))) - 1)).toBeLessThan(1e-5);
      expect(Math.abs((await scope(() => totalProbability(ens.logProb(allBinary(D))))) - 1)).toBeLessThan(1e-5);
      ens.dispose();
    });
  });

  test("ensemble samples follow the ensemble's exp(log p); compiled and lazy agree; no readback", async () => {
    await withDevice(async () => {
      const made = new MADE({ dim: D, hidden: HIDDEN, nMasks: 3, orderAgnostic: true, seed: 6 });
      await scrambleParams(made, 60, 1.5);
      await checkSampler(made, 8);
      made.dispose();
    });
  });

  test("two training steps on one batch lower the loss; compiled steps (masks as inputs) match eager ones", async () => {
    await withDevice(async () => {
      const batch = await scope(async () => (await rand([1 << D, D], { seed: 9 }).lt(0.3).float().realize()).keep());
      const single = new MADE({ dim: D, hidden: HIDDEN, seed: 7, lr: 0.02 });
      const before = await nllOf(single, batch);
      const l0 = await scope(async () => (await single.trainStep(batch)).loss.item());
      const l1 = await scope(async () => (await single.trainStep(batch)).loss.item());
      expect(l0).toBeCloseTo(before, 4);
      expect(l1).toBeLessThan(l0);
      expect(await nllOf(single, batch)).toBeLessThan(l1);
      single.dispose();

      // connectivity- and order-agnostic: the same seed draws the same mask schedule
      const runs: number[][] = [];
      for (const compile of [false, true]) {
        const made = new MADE({ dim: D, hidden: HIDDEN, nMasks: 3, orderAgnostic: true, seed: 8, lr: 0.02, compile });
        const ls: number[] = [];
        for (let i = 0; i < 3; i++) ls.push(await scope(async () => (await made.trainStep(batch)).loss.item()));
        runs.push(ls);
        made.dispose();
      }
      runs[1]!.forEach((l, i) => expect(l).toBeCloseTo(runs[0]![i]!, 4));
      batch.dispose();
    });
  });
});
