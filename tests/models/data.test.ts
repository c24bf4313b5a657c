/**
 * The data layer: IDX parsing (hand-built buffers and facts of the real MNIST files), MNIST
 * splits, the GPU dataset's transforms against CPU Philox references, the sampler, the logit
 * log-determinant against finite differences, and the 2-D toys' statistics.
 */
import { describe, expect, test } from "vitest";
import { DataError, DTypeError, Rng, fromTyped, scope, tensor } from "../../engine/index.js";
import { bernoulliAt, seedToKey, uniformAt, type PhiloxKey } from "../../engine/random.js";
import {
  BatchSampler,
  GpuDataset,
  bitsPerDim,
  encodeIdxU8,
  idxValues,
  loadMnist,
  logitTransformLogDet,
  mnistFromIdx,
  parseIdx,
  sampleToy,
  shuffledIndices,
  toyNames,
  STATIC_BINARY_SEED,
} from "../../models/data/index.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

const D = 784;
const LAMBDA = 1e-6;

/** Expects `fn` to throw a DataError whose message matches `re`. */
function expectDataError(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataError);
  expect((err as Error).name).toBe("DataError");
  expect((err as Error).message).toMatch(re);
}

const bytes = (...xs: number[]) => Uint8Array.from(xs);

// ── IDX ─────────────────────────────────────────────────────────────────────────────────────────
describe("parseIdx", () => {
  test("hand-built u8 file: dims big-endian, payload row-major", () => {
    // magic 00 00 08 03, dims 2 × 1 × 3 (0x00000002, 0x00000001, 0x00000003), then 6 bytes
    const f = parseIdx(bytes(0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 10, 20, 30, 40, 50, 255));
    expect(f.dims).toEqual([2, 1, 3]);
    expect(f.dtype).toBe("u8");
    expect([...f.data]).toEqual([10, 20, 30, 40, 50, 255]);
  });

  test("a dimension above 2^24 is read as a big-endian u32", () => {
    // dims [0x01000000, 0] hold no data; checks the byte order of a large dimension
    const f = parseIdx(bytes(0, 0, 8, 2, 1, 0, 0, 0, 0, 0, 0, 0));
    expect(f.dims).toEqual([16777216, 0]);
    expect(f.data.length).toBe(0);
  });

  test("multi-byte types decode big-endian (i16, i32, f32, f64)", () => {
    const i16 = parseIdx(bytes(0, 0, 0x0b, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x02));
    expect(i16.dtype).toBe("i16");
    expect([...idxValues(i16)]).toEqual([-2, 258]);
    const i32 = parseIdx(bytes(0, 0, 0x0c, 1, 0, 0, 0, 1, 0x80, 0, 0, 1));
    expect([...idxValues(i32)]).toEqual([-(2 ** 31) + 1]);
    const f32 = parseIdx(bytes(0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0)); // 1.5
    expect([...idxValues(f32)]).toEqual([1.5]);
    const f64 = parseIdx(bytes(0, 0, 0x0e, 1, 0, 0, 0, 1, 0xc0, 0x04, 0, 0, 0, 0, 0, 0)); // -2.5
    expect([...idxValues(f64)]).toEqual([-2.5]);
    const i8 = parseIdx(bytes(0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x7f));
    expect([...idxValues(i8)]).toEqual([-1, 127]);
  });

  test("encodeIdxU8 round-trips", () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i * 7);
    const f = parseIdx(encodeIdxU8([2, 3, 4], data));
    expect(f.dims).toEqual([2, 3, 4]);
    expect([...f.data]).toEqual([...data]);
  });

  test("corrupt files raise DataError", () => {
    const good = [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3];
    expectDataError(() => parseIdx(bytes(1, ...good.slice(1)), "f"), /f: bad magic number 01 00 08 01/);
    expectDataError(() => parseIdx(bytes(0x1f, 0x8b, 8, 0, 0, 0), "f"), /bad magic.*gzipped/);
    expectDataError(() => parseIdx(bytes(0, 0, 0x07, 1, 0, 0, 0, 0)), /bad magic/);
    expectDataError(() => parseIdx(bytes(0, 0, 8)), /truncated header/);
    expectDataError(() => parseIdx(bytes(0, 0, 8, 2, 0, 0, 0, 1, 0, 0)), /truncated header \(2 dims need 12 bytes/);
    expectDataError(() => parseIdx(bytes(...good.slice(0, -1))), /truncated data — dims \[3\] of u8 need 3 bytes, file has 2/);
    expectDataError(() => parseIdx(bytes(...good, 9)), /dims mismatch — dims \[3\] of u8 account for 3 bytes, but 4 follow/);
    expectDataError(() => parseIdx(bytes(...good), "f", { dims: [4] }), /dims mismatch — expected \[4\], got \[3\]/);
    expectDataError(() => parseIdx(bytes(...good), "f", { dims: [null, 28, 28] }), /expected \[\*, 28, 28\]/);
    expectDataError(() => parseIdx(bytes(...good), "f", { dtype: "f32" }), /expected f32 elements, got u8/);
  });
});

// ── MNIST files ────────────────────────────────────────────────────────────────────────────────
describe("MNIST", () => {
  /*
   * Facts checked independently (a few lines of Python over the same files, and the well-known
   * MNIST statistics: class counts, mean pixel 0.1307·255): the training file's pixel sum is
   * 1 567 298 545 (mean 33.318 = 0.13066·255), the test file's 264 923 200.
   */
  test("the real training file: 60000 images of 28×28, first label 5, known sums and class counts", async () => {
    const m = await loadMnist({ split: "train-full" });
    expect(m.n).toBe(60000);
    expect(m.images.length).toBe(60000 * D);
    expect(m.labels.length).toBe(60000);
    expect(m.indexBase).toBe(0);
    expect([...m.labels.subarray(0, 10)]).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let total = 0, max = 0;
    for (const v of m.images) ((total += v), (max = Math.max(max, v)));
    expect(max).toBe(255);
    expect(total).toBe(1_567_298_545);
    expect(m.images.subarray(0, D).reduce((a, v) => a + v, 0)).toBe(27525);
    const counts = new Array<number>(10).fill(0);
    for (const l of m.labels) counts[l]!++;
    expect(counts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });

  test("the real test file: 10000 images, first label 7, known sum", async () => {
    const t = await loadMnist({ split: "test" });
    expect(t.n).toBe(10000);
    expect(t.labels[0]).toBe(7);
    expect(t.images.reduce((a, v) => a + v, 0)).toBe(264_923_200);
  });

  test("train = first 50k, val = last 10k of the training file; limit", async () => {
    const [full, train, val, few] = await Promise.all([
      loadMnist({ split: "train-full" }),
      loadMnist({ split: "train" }),
      loadMnist({ split: "val" }),
      loadMnist({ split: "val", limit: 3 }),
    ]);
    expect([train.n, val.n, few.n]).toEqual([50000, 10000, 3]);
    expect([train.indexBase, val.indexBase, few.indexBase]).toEqual([0, 50000, 50000]);
    expect(val.images.subarray(0, D)).toEqual(full.images.subarray(50000 * D, 50001 * D));
    expect(val.labels[9999]).toBe(full.labels[59999]);
    expect(train.images.subarray(49999 * D)).toEqual(full.images.subarray(49999 * D, 50000 * D));
    expect(few.images.length).toBe(3 * D);
    await expect(loadMnist({ split: "nope" as "train" })).rejects.toThrow(DataError);
  });

  test("mnistFromIdx rejects mismatched files", () => {
    const img = encodeIdxU8([2, 28, 28], new Uint8Array(2 * D));
    expectDataError(() => mnistFromIdx(img, encodeIdxU8([3], new Uint8Array(3)), { split: "test" }), /2 images but 3 labels/);
    expectDataError(() => mnistFromIdx(img, encodeIdxU8([2], new Uint8Array(2)), { split: "test" }), /needs examples \[0, 10000\)/);
    expectDataError(() => mnistFromIdx(encodeIdxU8([2, 28, 27], new Uint8Array(2 * 28 * 27)), img, { split: "test" }), /dims mismatch/);
  });
});

// ── CPU references of the GPU transforms (independent of shaders/data.ts) ──────────────────────
const u15 = (key: PhiloxKey, ctr: number, stream: number) => (Math.floor(uniformAt(key, ctr, stream) * 2 ** 15) + 0.5) * 2 ** -15;
/** The dequantised value of pixel j of example e (file position base + e). */
const dequantCpu = (p: number, key: PhiloxKey, ctr: number, stream: number) => (p + u15(key, ctr, stream)) / 256;
const logitF64 = (x: number) => {
  const s = LAMBDA + (1 - 2 * LAMBDA) * x;
  return Math.log(s) - Math.log1p(-s);
};

async function rows(t: { toArray(): Promise<Float32Array | Int32Array | Uint32Array> }): Promise<Float32Array> {
  return (await t.toArray()) as Float32Array;
}

// ── GPU dataset ─────────────────────────────────────────────────────────────────────────────────
describe("GpuDataset", () => {
  test("full training set (bytes on the GPU): float, dynamic and static binarisation of [0, 1, 59999]", async () => {
    const full = await loadMnist({ split: "train-full" });
    const val = await loadMnist({ split: "val" });
    await withDevice(async (dev) => {
      const base = dev.pool.live;
      const ds = GpuDataset.fromMnist(full, dev);
      const vs = GpuDataset.fromMnist(val, dev);
      expect(dev.pool.live - base).toBe(4); // pixels + labels, each dataset
      const ids = [0, 1, 59999];
      const want = (k: number, j: number) => full.images[ids[k]! * D + j]!;
      await scope(async () => {
        const idx = tensor(ids, [3], { dtype: "i32" });
        const { x, y } = ds.batch(idx);
        expect(x.shape).toEqual([3, D]);
        const xs = await rows(x);
        for (let k = 0; k < 3; k++) for (let j = 0; j < D; j++) expect(xs[k * D + j]).toBe(Math.fround(want(k, j) / 255));
        expect([...(await y.toArray())]).toEqual([5, 0, full.labels[59999]]);

        // dynamic: Bernoulli(p/255) with key seedToKey(seed), stream 0, counter e·784 + j
        const d0 = await rows(ds.batch(idx, { transform: "dynamic-binary", seed: 0 }).x);
        const d1 = await rows(ds.batch(idx, { transform: "dynamic-binary", seed: 1 }).x);
        let diff = 0;
        for (let k = 0; k < 3; k++)
          for (let j = 0; j < D; j++) {
            const c = ids[k]! * D + j;
            expect(d0[k * D + j]).toBe(bernoulliAt(seedToKey(0), c, 0, want(k, j) / 255));
            expect(d1[k * D + j]).toBe(bernoulliAt(seedToKey(1), c, 0, want(k, j) / 255));
            if (d0[k * D + j] !== d1[k * D + j]) diff++;
          }
        expect(diff).toBeGreaterThan(20); // ~100 grey pixels per digit flip with probability p(1 − p)·2

        // static: fixed key, identical across calls, and addressed by file position (val row 0 ≡ train row 50000)
        const s1 = await rows(ds.batch(idx, { transform: "static-binary" }).x);
        const s2 = await rows(ds.batch(idx, { transform: "static-binary" }).x);
        expect(s2).toEqual(s1);
        const key = seedToKey(STATIC_BINARY_SEED);
        for (let k = 0; k < 3; k++) for (let j = 0; j < D; j++) expect(s1[k * D + j]).toBe(bernoulliAt(key, ids[k]! * D + j, 0, want(k, j) / 255));
        const fromVal = await rows(vs.batch(tensor([0], [1], { dtype: "i32" }), { transform: "static-binary" }).x);
        const fromFull = await rows(ds.batch(tensor([50000], [1], { dtype: "i32" }), { transform: "static-binary" }).x);
        expect(fromVal).toEqual(fromFull);
      });
      ds.dispose();
      vs.dispose();
      ds.dispose(); // idempotent
      expect(dev.pool.live).toBe(base);
      scope(() => expect(() => ds.batch(tensor([0], [1], { dtype: "i32" }))).toThrow(/dataset was disposed/));
    });
  });

  test("dequantisation: bit-exact CPU reproduction, values in [p/256, (p+1)/256); logit and its log-det", async () => {
    const val = await loadMnist({ split: "val", limit: 64 });
    await withDevice(async (dev) => {
      const ds = GpuDataset.fromMnist(val, dev);
      const ids = [5, 0, 63, 17];
      await scope(async () => {
        const idx = tensor(ids, [4], { dtype: "i32" });
        const key = seedToKey(7);
        const x = await rows(ds.batch(idx, { transform: "dequantise", seed: 7 }).x);
        let interior = 0;
        ids.forEach((e, k) => {
          for (let j = 0; j < D; j++) {
            const p = val.images[e * D + j]!;
            const v = x[k * D + j]!;
            expect(v).toBeGreaterThanOrEqual(p / 256);
            expect(v).toBeLessThan((p + 1) / 256);
            expect(v).toBe(dequantCpu(p, key, (50000 + e) * D + j, 0));
            if (v > p / 256) interior++;
          }
        });
        expect(interior).toBe(4 * D); // u′ ≥ 2^-16: never exactly on the lower edge

        // a different seed moves every value; an Rng hands out successive streams
        const x2 = await rows(ds.batch(idx, { transform: "dequantise", seed: 8 }).x);
        expect(x2.every((v, i) => v !== x[i])).toBe(true);
        const rng = new Rng(7);
        const r0 = await rows(ds.batch(idx, { transform: "dequantise", rng }).x); // key [7, 0], stream 0
        const r1 = await rows(ds.batch(idx, { transform: "dequantise", rng }).x); // stream 1
        expect(r0).toEqual(x);
        expect(r1[0]).toBe(dequantCpu(val.images[5 * D]!, key, (50000 + 5) * D, 1));

        // logit: y = logit(λ + (1 − 2λ)x) against float64 on the same x
        const b = ds.batch(idx, { transform: "dequantise", seed: 7, logit: true });
        const y = await rows(b.x);
        for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - logitF64(x[i]!))).toBeLessThan(2e-5 + 2e-6 * Math.abs(y[i]!));

        // log|det|: closed form on the GPU from x, from y (batch().logDet), and finite differences in float64
        const xs = fromTyped(x, [4, D], "f32");
        const fromX = await rows(logitTransformLogDet(xs));
        const fromY = await rows(b.logDet!);
        ids.forEach((_, k) => {
          let fd = 0;
          for (let j = 0; j < D; j++) {
            const v = x[k * D + j]!;
            const h = 1e-4 * Math.min(v, 1 - v);
            fd += Math.log((logitF64(v + h) - logitF64(v - h)) / (2 * h));
          }
          expect(fd).toBeGreaterThan(2000); // ≈ 784·log 4 plus the saturated pixels' large terms
          expect(Math.abs(fromX[k]! - fd)).toBeLessThan(1e-5 * Math.abs(fd));
          expect(Math.abs(fromY[k]! - fd)).toBeLessThan(1e-5 * Math.abs(fd));
        });
      });
      ds.dispose();
    });
  });

  test("static binarisation is a fixed dataset; bad requests fail clearly; out-of-range index gives NaN", async () => {
    const val = await loadMnist({ split: "test", limit: 8 });
    await withDevice(async (dev) => {
      const ds = GpuDataset.fromMnist(val, dev);
      await scope(async () => {
        const idx = tensor([3, 7], [2], { dtype: "i32" });
        const a = await rows(ds.batch(idx, { transform: "static-binary", seed: 123 }).x); // seed ignored: static
        const b = await rows(ds.batch(tensor([3, 7], [2], { dtype: "u32" }), { transform: "static-binary" }).x);
        expect(a).toEqual(b);
        expect(a.every((v) => v === 0 || v === 1)).toBe(true);
        expect(() => ds.batch(tensor([1, 2]))).toThrow(DTypeError);
        expect(() => ds.batch(idx, { transform: "dynamic-binary" })).toThrow(/pass \{ seed \}/);
        expect(() => ds.batch(idx, { transform: "float", logit: true })).toThrow(/logit needs transform 'dequantise'/);
        const bad = await rows(ds.batch(tensor([1, 8, -1], [3], { dtype: "i32" })).x);
        expect(bad.subarray(0, D).every(Number.isFinite)).toBe(true);
        expect(bad.subarray(D).every(Number.isNaN)).toBe(true);
      });
      expectDataError(() => GpuDataset.upload(new Uint8Array(10), new Uint8Array(1), dev), /not a whole number of 784-pixel examples/);
      expectDataError(() => GpuDataset.upload(new Uint8Array(2 * D), new Uint8Array(3), dev), /2 examples but 3 labels/);
      ds.dispose();
    });
  });
});

// ── sampler ────────────────────────────────────────────────────────────────────────────────────
describe("BatchSampler", () => {
  test("visits every index exactly once per epoch; GPU batches are slices of the CPU permutation", async () => {
    await withDevice(async (dev) => {
      const s = new BatchSampler(1000, 128, { seed: 3, dropLast: false, device: dev });
      expect(s.batchesPerEpoch).toBe(8);
      for (const epoch of [0, 1]) {
        const got: number[] = [];
        await scope(async () => {
          for (const idx of s.epoch(epoch)) got.push(...(await idx.toArray()));
        });
        expect(got.length).toBe(1000);
        expect(Int32Array.from(got)).toEqual(s.permutation(epoch));
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      }
      expect(s.permutation(1)).not.toEqual(s.permutation(0));
      // reproducible from the seed, different for another seed
      expect(new BatchSampler(1000, 128, { seed: 3, device: dev }).permutation(1)).toEqual(s.permutation(1));
      expect(new BatchSampler(1000, 128, { seed: 4, device: dev }).permutation(1)).not.toEqual(s.permutation(1));
      // an Rng: the sampler forks it, so equal generator states give equal permutations
      const r1 = new BatchSampler(1000, 128, { rng: new Rng(9), device: dev }).permutation(0);
      expect(new BatchSampler(1000, 128, { rng: new Rng(9), device: dev }).permutation(0)).toEqual(r1);
      s.dispose();

      const d = new BatchSampler(1000, 128, { seed: 3, device: dev });
      expect(d.batchesPerEpoch).toBe(7);
      d.setEpoch(0);
      expect(d.batch(6).shape).toEqual([128]);
      expect(() => d.batch(7)).toThrow(DataError);
      d.dispose();
      expect(() => new BatchSampler(10, 4, {})).toThrow(/pass \{ seed \} or \{ rng \}/);
    });
  });

  test("sampler → dataset: a shuffled batch gathers the right rows", async () => {
    const m = await loadMnist({ split: "test", limit: 200 });
    await withDevice(async (dev) => {
      const ds = GpuDataset.fromMnist(m, dev);
      const s = new BatchSampler(ds.n, 32, { seed: 11, device: dev });
      s.setEpoch(2);
      const perm = s.permutation(2);
      await scope(async () => {
        const { x, y } = ds.batch(s.batch(3));
        const xs = await rows(x);
        const ys = await y.toArray();
        for (let k = 0; k < 32; k++) {
          const e = perm[3 * 32 + k]!;
          expect(ys[k]).toBe(m.labels[e]);
          for (let j = 0; j < D; j += 37) expect(xs[k * D + j]).toBe(Math.fround(m.images[e * D + j]! / 255));
        }
      });
      s.dispose();
      ds.dispose();
    });
  });

  test("shuffledIndices is uniform: every value lands in every position about equally often", () => {
    const n = 5, trials = 4000;
    const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let t = 0; t < trials; t++) {
      const p = shuffledIndices(n, seedToKey(42), 2 * t);
      p.forEach((v, pos) => counts[pos]![v]!++);
    }
    // each cell ~ Binomial(4000, 1/5): mean 800, sd ≈ 25
    for (const row of counts) for (const c of row) expect(Math.abs(c - trials / n)).toBeLessThan(5 * 25.3);
  });
});

// ── bits/dim ───────────────────────────────────────────────────────────────────────────────────
describe("bitsPerDim", () => {
  test("uniform density on [0,1)^D is 8 bits/dim; the /256 term is D·ln 256", () => {
    expect(bitsPerDim(0)).toBeCloseTo(8, 12); // log p_x = 0 ⇒ each of 256 levels has mass 1/256
    expect(bitsPerDim(0, 10, { levels: 1 })).toBe(0);
    expect(bitsPerDim(100 * Math.LN2, 100, { levels: 1 })).toBeCloseTo(1, 12);
    expect(bitsPerDim(-1000)).toBeCloseTo((-1000 + 784 * Math.log(256)) / (784 * Math.LN2), 12);
  });
});

// ── toys ───────────────────────────────────────────────────────────────────────────────────────
describe("toy2d", () => {
  const pts = (name: string, n = 4000, seed = 0) => {
    const a = sampleToy(name, n, seed);
    return Array.from({ length: n }, (_, i) => [a[2 * i]!, a[2 * i + 1]!] as const);
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  test("every toy: shape, finite, reproducible from the seed, different across seeds", () => {
    expect(toyNames.length).toBe(7);
    for (const name of toyNames) {
      for (const n of [0, 7, 301]) {
        const a = sampleToy(name, n, 5);
        expect(a).toBeInstanceOf(Float32Array);
        expect(a.length).toBe(2 * n);
        expect(a.every(Number.isFinite)).toBe(true);
        expect(sampleToy(name, n, 5)).toEqual(a);
      }
      expect(sampleToy(name, 64, 6)).not.toEqual(sampleToy(name, 64, 5));
    }
    expectDataError(() => sampleToy("rings", 10), /unknown toy 'rings' \(expected one of 8gaussians, checkerboard/);
    expectDataError(() => sampleToy("moons", -1), /non-negative integer/);
  });

  test("8gaussians: clusters of std 0.5/1.414 around 8 centres at radius 4/1.414, equally used", () => {
    const s = Math.SQRT1_2;
    const centres = [[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]].map(([a, b]) => [(4 * a!) / 1.414, (4 * b!) / 1.414]);
    const counts = new Array<number>(8).fill(0);
    const d2: number[] = [];
    for (const [x, y] of pts("8gaussians")) {
      const ds = centres.map(([a, b]) => (x - a!) ** 2 + (y - b!) ** 2);
      const k = ds.indexOf(Math.min(...ds));
      counts[k]!++;
      d2.push(ds[k]!);
    }
    // E|0.5 z / 1.414|² = 0.25·2/1.414² ≈ 0.25
    expect(mean(d2)).toBeGreaterThan(0.22);
    expect(mean(d2)).toBeLessThan(0.28);
    for (const c of counts) expect(Math.abs(c - 500)).toBeLessThan(5 * 21); // Binomial(4000, 1/8): sd ≈ 21
  });

  test("checkerboard: only the 8 cells with ⌊x/2⌋ + ⌊y/2⌋ even of [−4, 4)², equally filled", () => {
    const cells = new Map<string, number>();
    for (const [x, y] of pts("checkerboard")) {
      expect(Math.abs(x)).toBeLessThanOrEqual(4);
      expect(Math.abs(y)).toBeLessThanOrEqual(4);
      const cx = Math.floor(x / 2), cy = Math.floor(y / 2);
      expect((((cx + cy) % 2) + 2) % 2).toBe(0);
      cells.set(`${cx},${cy}`, (cells.get(`${cx},${cy}`) ?? 0) + 1);
    }
    expect(cells.size).toBe(8);
    for (const c of cells.values()) expect(Math.abs(c - 500)).toBeLessThan(5 * 21);
  });

  test("moons: points lie near one of the two unit half-circles (after undoing ×2 and the shift)", () => {
    let upper = 0;
    const err: number[] = [];
    for (const [px, py] of pts("moons")) {
      const x = (px + 1) / 2, y = (py + 0.2) / 2;
      const a = Math.abs(Math.hypot(x, y) - 1), b = Math.abs(Math.hypot(x - 1, y - 0.5) - 1);
      err.push(Math.min(a, b));
      if (a < b) upper++;
    }
    expect(mean(err)).toBeLessThan(0.09); // radial noise |N(0, 0.1²)| has mean 0.08
    expect(Math.abs(upper - 2000)).toBeLessThan(200);
  });

  test("circles: half the points at radius 3, half at 1.5 (noise 0.08·3)", () => {
    let outer = 0, inner = 0;
    for (const [x, y] of pts("circles")) {
      const r = Math.hypot(x, y) / 3;
      if (Math.abs(r - 1) < 0.25) outer++;
      else if (Math.abs(r - 0.5) < 0.25) inner++;
    }
    expect(outer + inner).toBeGreaterThan(0.99 * 4000);
    expect(Math.abs(outer - 2000)).toBeLessThan(40);
  });

  test("swissroll: 5·radius ≈ t ∈ [1.5π, 4.5π]; pinwheel radius ≈ 2; 2spirals symmetric", () => {
    const r5 = pts("swissroll").map(([x, y]) => 5 * Math.hypot(x, y));
    for (const r of r5) {
      expect(r).toBeGreaterThan(1.5 * Math.PI - 5);
      expect(r).toBeLessThan(4.5 * Math.PI + 5);
    }
    expect(Math.abs(mean(r5) - 3 * Math.PI)).toBeLessThan(0.3);
    const pr = pts("pinwheel").map(([x, y]) => Math.hypot(x, y));
    expect(Math.abs(mean(pr) - 2.01)).toBeLessThan(0.05);
    const sp = pts("2spirals");
    expect(Math.abs(mean(sp.map((p) => p[0])))).toBeLessThan(0.1);
    expect(Math.abs(mean(sp.map((p) => p[1])))).toBeLessThan(0.1);
    expect(Math.max(...sp.map(([x, y]) => Math.hypot(x, y)))).toBeLessThan(4.5);
  });
});
