/**
 * Tensor creation: from data (nested arrays, typed arrays, scalars; ragged input is a ShapeError),
 * constants and ranges, and the counter-based random ops, which must reproduce the CPU Philox
 * (engine/random.ts) element for element: key = seedToKey(seed), stream 0, counter = [i, 0, 0, 0].
 */
import { describe, expect, test } from "vitest";
import {
  DTypeError, Rng, ShapeError, arange, bernoulli, eye, full, fullLike, linspace, ones, onesLike, rand, randint, randn, scope, seedToKey, tensor, zeros, zerosLike,
} from "../../engine/index.js";
import { bernoulliAt, normalAt, randintAt, uniformAt } from "../../engine/random.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose } from "../helpers/numeric.js";

await testDevice();

const gpu = (body: () => Promise<void>) => withDevice(() => scope(body));

describe("tensor()", () => {
  test("from nested arrays, flat arrays with a shape, typed arrays and scalars", async () => {
    await gpu(async () => {
      const a = tensor([[1, 2, 3], [4, 5, 6]]);
      expect(a.shape).toEqual([2, 3]);
      expect(a.dtype).toBe("f32");
      expect(await a.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);

      const b = tensor([[[1], [2]], [[3], [4]]]);
      expect(b.shape).toEqual([2, 2, 1]);
      expect(await b.toNested()).toEqual([[[1], [2]], [[3], [4]]]);

      const flat = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
      expect(await flat.toNested()).toEqual([[1, 2], [3, 4], [5, 6]]);

      const f = tensor(new Float32Array([0.5, -1.25, 3]), [3, 1]);
      expect(f.shape).toEqual([3, 1]);
      expect([...(await f.toArray())]).toEqual([0.5, -1.25, 3]);

      const i = tensor(new Int32Array([-3, 7, 2 ** 30]));
      expect(i.dtype).toBe("i32");
      expect(i.shape).toEqual([3]);
      expect([...(await i.toArray())]).toEqual([-3, 7, 2 ** 30]);

      const u = tensor(new Uint32Array([0, 2 ** 32 - 1]));
      expect(u.dtype).toBe("u32");
      expect([...(await u.toArray())]).toEqual([0, 2 ** 32 - 1]);

      const s = tensor(3.5);
      expect(s.shape).toEqual([]);
      expect(s.rank).toBe(0);
      expect(await s.item()).toBe(3.5);
      expect(await s.toNested()).toBe(3.5);

      const cast = tensor([1.7, -1.7, 2], undefined, { dtype: "i32" });
      expect(cast.dtype).toBe("i32");
      expect([...(await cast.toArray())]).toEqual([1, -1, 2]);

      const named = tensor([1], undefined, { name: "w", requiresGrad: true });
      expect(named.name).toBe("w");
      expect(named.requiresGrad).toBe(true);
      expect(named.isLeaf).toBe(true);
    });
  });

  test("empty tensors", async () => {
    await gpu(async () => {
      const e = tensor([]);
      expect(e.shape).toEqual([0]);
      expect((await e.toArray()).length).toBe(0);
      const e2 = tensor([[], []]);
      expect(e2.shape).toEqual([2, 0]);
      expect(await e2.toNested()).toEqual([[], []]);
    });
  });

  test.each([
    ["[[1, 2], [3]]", [[1, 2], [3]]],
    ["[[1], [2, 3]]", [[1], [2, 3]]],
    ["[[1, 2], 3]", [[1, 2], 3]],
    ["[1, [2, 3]]", [1, [2, 3]]],
    ["[1, [2]]", [1, [2]]],
    ["[[[1, 2]], [[3], [4]]]", [[[1, 2]], [[3], [4]]]],
  ] as [string, unknown][])("ragged %s is a ShapeError", async (_, data) => {
    await gpu(async () => {
      expect(() => tensor(data as number[])).toThrow(ShapeError);
    });
  });
});

describe("constants and ranges", () => {
  test("zeros / ones / full and the *Like forms", async () => {
    await gpu(async () => {
      expect(await zeros([2, 3]).toNested()).toEqual([[0, 0, 0], [0, 0, 0]]);
      expect(await ones([3]).toNested()).toEqual([1, 1, 1]);
      expect(await full([2, 2], -2.5).toNested()).toEqual([[-2.5, -2.5], [-2.5, -2.5]]);
      const fi = full([3], 7, { dtype: "i32" });
      expect(fi.dtype).toBe("i32");
      expect([...(await fi.toArray())]).toEqual([7, 7, 7]);
      expect(() => full([3], 0.5, { dtype: "u32" })).toThrow(DTypeError);
      const ref = tensor(new Int32Array([1, 2, 3, 4]), [2, 2]);
      const zl = zerosLike(ref), ol = onesLike(ref), fl = fullLike(ref, 9);
      for (const t of [zl, ol, fl]) {
        expect(t.shape).toEqual([2, 2]);
        expect(t.dtype).toBe("i32");
      }
      expect([...(await zl.toArray()), ...(await ol.toArray()), ...(await fl.toArray())]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 9, 9, 9, 9]);
      expect(await full([], 4).item()).toBe(4);
    });
  });

  test("arange like torch.arange (one argument, start/end, fractional and negative steps, i32)", async () => {
    await gpu(async () => {
      expect(await arange(5).toNested()).toEqual([0, 1, 2, 3, 4]);
      expect(await arange(2, 7).toNested()).toEqual([2, 3, 4, 5, 6]);
      expect(await arange(1, 2, 0.25).toNested()).toEqual([1, 1.25, 1.5, 1.75]);
      expect(await arange(5, 0, -2).toNested()).toEqual([5, 3, 1]);
      expect(arange(3, 3).shape).toEqual([0]);
      const ai = arange(-2, 3, 1, { dtype: "i32" });
      expect(ai.dtype).toBe("i32");
      expect([...(await ai.toArray())]).toEqual([-2, -1, 0, 1, 2]);
      expect(() => arange(0, 5, 0)).toThrow(ShapeError);
    });
  });

  test("linspace includes both ends; eye is square or rectangular", async () => {
    await gpu(async () => {
      expectAllclose(await linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1], { rtol: 0, atol: 1e-7 }, "linspace(0, 1, 5)");
      expectAllclose(await linspace(-3, 3, 4).toArray(), [-3, -1, 1, 3], { rtol: 0, atol: 1e-6 }, "linspace(-3, 3, 4)");
      expect(await linspace(2, 9, 1).toNested()).toEqual([2]);
      expect(linspace(2, 9, 0).shape).toEqual([0]);
      expect(() => linspace(0, 1, 2.5)).toThrow(ShapeError);
      expect(await eye(3).toNested()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
      expect(await eye(2, 4).toNested()).toEqual([[1, 0, 0, 0], [0, 1, 0, 0]]);
      expect(eye(3).dtype).toBe("f32");
    });
  });
});

describe("random ops match the CPU Philox", () => {
  const SEED = 1234;
  const key = seedToKey(SEED);
  const N = 5 * 7;

  test("rand: bit-identical to uniformAt(key, i, 0), all in (0, 1)", async () => {
    await gpu(async () => {
      const r = rand([5, 7], { seed: SEED });
      expect(r.shape).toEqual([5, 7]);
      const got = await r.toArray();
      const want = Array.from({ length: N }, (_, i) => Math.fround(uniformAt(key, i, 0)));
      expect([...got]).toEqual(want);
      expect([...got].every((v) => v > 0 && v < 1)).toBe(true);
    });
  });

  test("randn: matches normalAt(key, i, 0) to f32 transcendental accuracy", async () => {
    await gpu(async () => {
      const got = await randn([5, 7], { seed: SEED }).toArray();
      const want = Array.from({ length: N }, (_, i) => normalAt(key, i, 0));
      expectAllclose(got, want, { rtol: 1e-5, atol: 1e-5 }, "randn vs normalAt");
    });
  });

  test("randint: exactly randintAt(key, i, 0, lo, hi), i32, in [lo, hi)", async () => {
    await gpu(async () => {
      const t = randint(-3, 5, [6, 6], { seed: SEED });
      expect(t.dtype).toBe("i32");
      const got = [...(await t.toArray())];
      expect(got).toEqual(Array.from({ length: 36 }, (_, i) => randintAt(key, i, 0, -3, 5)));
      expect(got.every((v) => v >= -3 && v < 5)).toBe(true);
      expect(() => randint(3, 3, [2])).toThrow(ShapeError);
    });
  });

  test("bernoulli: exactly bernoulliAt with a scalar p and with a tensor of probabilities", async () => {
    await gpu(async () => {
      const b = bernoulli(0.3, [64], { seed: SEED });
      expect(b.dtype).toBe("f32");
      expect([...(await b.toArray())]).toEqual(Array.from({ length: 64 }, (_, i) => bernoulliAt(key, i, 0, 0.3)));
      const ps = [0, 0.1, 0.5, 0.9, 1, 0.25];
      const bp = bernoulli(tensor(ps), undefined, { seed: SEED + 1 });
      expect(bp.shape).toEqual([6]);
      const k2 = seedToKey(SEED + 1);
      expect([...(await bp.toArray())]).toEqual(ps.map((p, i) => bernoulliAt(k2, i, 0, p)));
    });
  });

  test("the same seed reproduces, different seeds differ, unseeded calls differ", async () => {
    await gpu(async () => {
      const [a, b, c] = await Promise.all([randn([16], { seed: 5 }).toArray(), randn([16], { seed: 5 }).toArray(), randn([16], { seed: 6 }).toArray()]);
      expect([...a]).toEqual([...b]);
      expect([...a]).not.toEqual([...c]);
      const [u, v] = await Promise.all([rand([16]).toArray(), rand([16]).toArray()]);
      expect([...u]).not.toEqual([...v]);
    });
  });

  test("an Rng hands out successive streams and is reproducible from its seed", async () => {
    await gpu(async () => {
      const rng = new Rng(77);
      const first = await rand([8], { rng }).toArray();
      const second = await rand([8], { rng }).toArray();
      const k = seedToKey(77);
      expect([...first]).toEqual(Array.from({ length: 8 }, (_, i) => Math.fround(uniformAt(k, i, 0))));
      expect([...second]).toEqual(Array.from({ length: 8 }, (_, i) => Math.fround(uniformAt(k, i, 1))));
      const again = new Rng(77);
      expect([...(await rand([8], { rng: again }).toArray())]).toEqual([...first]);
    });
  });

  test("a random tensor read by two consumers gives both the same draws", async () => {
    await gpu(async () => {
      const x = randn([32], { seed: 3 });
      const d = x.sub(x.mul(1));
      expect([...(await d.toArray())].every((v) => v === 0)).toBe(true);
      const [y, z] = [x.add(1), x.mul(2)];
      const [xv, yv, zv] = [await x.toArray(), await y.toArray(), await z.toArray()];
      expectAllclose(yv, [...xv].map((v) => v + 1), { rtol: 1e-6, atol: 1e-6 }, "x + 1");
      expect([...zv]).toEqual([...xv].map((v) => 2 * v));
    });
  });
});

describe("statistics", () => {
  test("randn over 16384 draws: mean ≈ 0, variance ≈ 1, 68.3% within 1σ, symmetric", async () => {
    await gpu(async () => {
      const n = 16384;
      const t = randn([n], { seed: 2024 });
      const v = await t.toArray();
      let s = 0, s2 = 0, s3 = 0, within = 0;
      for (const x of v) {
        s += x;
        s2 += x * x;
        s3 += x * x * x;
        if (Math.abs(x) < 1) within++;
      }
      const mean = s / n, variance = s2 / n - mean * mean, skew = s3 / n;
      // 5-sigma bands: sd(mean) = 1/√n ≈ 0.0078, sd(var) ≈ √(2/n) ≈ 0.011, sd(frac) ≈ 0.0036, sd(m3) ≈ √(15/n) ≈ 0.03
      expect(Math.abs(mean)).toBeLessThan(0.04);
      expect(Math.abs(variance - 1)).toBeLessThan(0.056);
      expect(Math.abs(within / n - 0.6827)).toBeLessThan(0.018);
      expect(Math.abs(skew)).toBeLessThan(0.15);
      // the engine's own reductions agree with the host-side statistics
      expect(await t.mean().item()).toBeCloseTo(mean, 4);
      expect(await t.var().item()).toBeCloseTo((variance * n) / (n - 1), 3);
    });
  });

  test("rand over 16384 draws: mean ≈ ½, variance ≈ 1/12", async () => {
    await gpu(async () => {
      const n = 16384;
      const v = await rand([128, 128], { seed: 99 }).toArray();
      let s = 0, s2 = 0;
      for (const x of v) (s += x), (s2 += x * x);
      const mean = s / n;
      expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
      expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.006);
    });
  });
});

describe("readback", () => {
  test("toNested at rank 0–3, item on one-element tensors of any rank", async () => {
    await gpu(async () => {
      expect(await tensor(2).toNested()).toBe(2);
      expect(await tensor([[[1, 2]], [[3, 4]]]).toNested()).toEqual([[[1, 2]], [[3, 4]]]);
      expect(await tensor([[5]]).item()).toBe(5);
      expect(await tensor([1, 2, 3]).sum().item()).toBe(6);
      expect(await arange(6).reshape([2, 3]).T.toNested()).toEqual([[0, 3], [1, 4], [2, 5]]);
      await expect(tensor([1, 2]).item()).rejects.toThrow(DTypeError);
    });
  });
});
