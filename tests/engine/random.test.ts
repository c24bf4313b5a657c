import { describe, expect, test } from "vitest";
import {
  Rng,
  bernoulliAt,
  normalArray,
  normalAt,
  philox4x32_10,
  randintAt,
  seedToKey,
  uniformArray,
  uniformAt,
  type PhiloxKey,
} from "../../engine/random.js";
import { defineKernel } from "../../shaders/kernel.js";
import { PHILOX_WGSL } from "../../shaders/philox.js";
import { raw } from "../../shaders/wgsl.js";
import { runKernel, withDevice } from "../helpers/gpu.js";

const U32_MAX = 0xffffffff;

/**
 * Second, independent Philox4x32-10 in BigInt (exact 64-bit products, key bumped *before* rounds
 * 1..9 as in Random123's code), so the known-answer vectors are not the only oracle.
 */
function philoxBig(ctr: readonly number[], key: readonly number[]): number[] {
  const mask = 0xffffffffn;
  let [c0, c1, c2, c3] = ctr.map(BigInt) as [bigint, bigint, bigint, bigint];
  let [k0, k1] = key.map(BigInt) as [bigint, bigint];
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + 0x9e3779b9n) & mask;
      k1 = (k1 + 0xbb67ae85n) & mask;
    }
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & mask, (p0 >> 32n) ^ c3 ^ k1, p0 & mask];
  }
  return [c0, c1, c2, c3].map(Number);
}

/** Deterministic test inputs (xorshift32), independent of the code under test. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

// Random123 kat_vectors: counter[4], key[2] → output[4]
const KAT: readonly { ctr: number[]; key: number[]; out: number[] }[] = [
  { ctr: [0, 0, 0, 0], key: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
  { ctr: [U32_MAX, U32_MAX, U32_MAX, U32_MAX], key: [U32_MAX, U32_MAX], out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd] },
  {
    ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    key: [0xa4093822, 0x299f31d0],
    out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  },
];

const moments = (xs: ArrayLike<number>) => {
  let s = 0, s2 = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  const mean = s / xs.length;
  for (let i = 0; i < xs.length; i++) s2 += (xs[i]! - mean) ** 2;
  return { mean, variance: s2 / (xs.length - 1) };
};

describe("philox4x32_10 on the CPU", () => {
  test.each(KAT)("Random123 known answer %#", ({ ctr, key, out }) => {
    expect([...philox4x32_10(ctr, key)]).toEqual(out);
    expect(philoxBig(ctr, key)).toEqual(out);
  });

  test("matches an independent BigInt implementation", () => {
    const next = xorshift(2024);
    const edges = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, U32_MAX - 1, U32_MAX];
    for (let t = 0; t < 2000; t++) {
      const pick = () => (t % 3 === 0 ? edges[next() % edges.length]! : next());
      const ctr = [pick(), pick(), pick(), pick()], key = [pick(), pick()];
      expect([...philox4x32_10(new Uint32Array(ctr), key)]).toEqual(philoxBig(ctr, key));
    }
  });

  test("rejects words that are not u32", () => {
    expect(() => philox4x32_10([0, 0, 0], [0, 0])).toThrow(RangeError);
    expect(() => philox4x32_10([0, 0, 0, 2 ** 32], [0, 0])).toThrow(RangeError);
    expect(() => philox4x32_10([0, 0, 0, 0], [-1, 0])).toThrow(RangeError);
    expect(() => uniformAt([0, 0], 0.5, 0)).toThrow(RangeError);
  });
});

describe("seeds and derived draws", () => {
  test("seedToKey maps integers modulo 2^64 and other numbers by their bits", () => {
    expect(seedToKey(0)).toEqual([0, 0]);
    expect(seedToKey(7)).toEqual([7, 0]);
    expect(seedToKey(U32_MAX)).toEqual([U32_MAX, 0]);
    expect(seedToKey(2 ** 32)).toEqual([0, 1]);
    expect(seedToKey(2 ** 40 + 3)).toEqual([3, 256]);
    expect(seedToKey(Number.MAX_SAFE_INTEGER)).toEqual([U32_MAX, 0x1fffff]);
    expect(seedToKey(2 ** 63 + 2 ** 40)).toEqual([0, 0x80000100]);
    expect(seedToKey(2 ** 64)).toEqual([0, 0]);
    expect(seedToKey(-1)).toEqual([U32_MAX, U32_MAX]);
    expect(seedToKey(-(2 ** 32))).toEqual([0, U32_MAX]);
    expect(seedToKey(0.5)).toEqual([0, 0x3fe00000]); // float64 bits of 0.5
    expect(seedToKey(-0)).toEqual([0, 0]);
    for (const bad of [NaN, Infinity, -Infinity]) expect(() => seedToKey(bad)).toThrow(RangeError);
  });

  test("uniforms come from word 0, are exact f32 values and strictly inside (0, 1)", () => {
    const key = seedToKey(99);
    for (let i = 0; i < 200; i++) {
      const w0 = philox4x32_10([i, 3, 0, 0], key)[0]!;
      const u = uniformAt(key, i, 3);
      expect(u).toBe(((w0 >>> 9) + 0.5) * 2 ** -23);
      expect(Math.fround(u)).toBe(u);
    }
    const us = uniformArray(100_000, key, 5);
    let lo = 1, hi = 0;
    for (const u of us) (lo = Math.min(lo, u)), (hi = Math.max(hi, u));
    expect(lo).toBeGreaterThanOrEqual(2 ** -24);
    expect(hi).toBeLessThanOrEqual(1 - 2 ** -24);
    expect(us[17]).toBe(uniformAt(key, 17, 5));
    expect(Math.abs(moments(us).mean - 0.5)).toBeLessThan(0.005); // σ/√n ≈ 0.0009
    expect(Math.abs(moments(us).variance - 1 / 12)).toBeLessThan(0.002);
  });

  test("normals follow Box–Muller from words 0 and 1, with mean 0 and variance 1", () => {
    const key = seedToKey(2 ** 33 + 5);
    const w = philox4x32_10([12, 4, 0, 0], key);
    const u0 = ((w[0]! >>> 9) + 0.5) * 2 ** -23, u1 = ((w[1]! >>> 9) + 0.5) * 2 ** -23;
    expect(normalAt(key, 12, 4)).toBe(Math.sqrt(-2 * Math.log(u0)) * Math.cos(2 * Math.PI * u1));
    const zs = normalArray(100_000, key, 4);
    expect(zs[12]).toBe(normalAt(key, 12, 4));
    const { mean, variance } = moments(zs);
    expect(Math.abs(mean)).toBeLessThan(0.015); // σ/√n ≈ 0.0032
    expect(Math.abs(variance - 1)).toBeLessThan(0.025); // √(2/n) ≈ 0.0045
    let zMax = 0;
    for (const z of zs) zMax = Math.max(zMax, Math.abs(z));
    expect(zMax).toBeLessThanOrEqual(Math.sqrt(-2 * Math.log(2 ** -24)));
  });

  test("bernoulli and randint follow the uniform", () => {
    const key = seedToKey(3);
    let ones = 0;
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const b = bernoulliAt(key, i, 0, 0.25);
      expect(b).toBe(uniformAt(key, i, 0) < 0.25 ? 1 : 0);
      ones += b;
      const r = randintAt(key, i, 1, -3, 7);
      // the product is rounded to f32 as on the GPU, which may round up onto the next integer
      expect(r).toBe(-3 + Math.min(Math.floor(Math.fround(uniformAt(key, i, 1) * 10)), 9));
      counts[r + 3]!++;
    }
    expect(Math.abs(ones / 20_000 - 0.25)).toBeLessThan(0.015);
    for (const c of counts) expect(Math.abs(c / 20_000 - 0.1)).toBeLessThan(0.012);
    expect(randintAt(key, 0, 0, 5, 6)).toBe(5);
    expect(() => randintAt(key, 0, 0, 3, 3)).toThrow(RangeError);
  });
});

describe("Rng", () => {
  test("hands out the seed's key with increasing streams", () => {
    const rng = new Rng(2 ** 32 + 9);
    expect(rng.next()).toEqual({ key: [9, 1], stream: 0 });
    expect(rng.next()).toEqual({ key: [9, 1], stream: 1 });
    const d = rng.next();
    d.key[0] = 0; // the returned key is a copy
    expect(rng.next()).toEqual({ key: [9, 1], stream: 3 });
  });

  test("forks are deterministic, distinct and do not consume parent streams", () => {
    const a = new Rng(5), b = new Rng(5);
    a.next();
    const fa1 = a.fork(), fa2 = a.fork(), fb1 = b.fork();
    expect(fa1.next()).toEqual(fb1.next()); // same seed, same fork index → same child
    const k1 = fa1.next().key, k2 = fa2.next().key;
    expect(k1).not.toEqual(k2);
    expect(k1).not.toEqual([5, 0]);
    expect(a.next()).toEqual({ key: [5, 0], stream: 1 });
    expect(fa1.fork().next().key).not.toEqual(k1);
    // the child's draws are unrelated to the parent's: crude correlation check
    const x = normalArray(20_000, [5, 0], 0), y = normalArray(20_000, k1, 0);
    let dot = 0;
    for (let i = 0; i < x.length; i++) dot += x[i]! * y[i]!;
    expect(Math.abs(dot / x.length)).toBeLessThan(0.03);
  });

  test("state round-trips, and streams never repeat past 2^32", () => {
    const rng = new Rng(11);
    rng.next();
    rng.fork();
    const copy = Rng.fromState(JSON.parse(JSON.stringify(rng.state())));
    expect(copy.next()).toEqual(rng.next());
    expect(copy.fork().next()).toEqual(rng.fork().next());

    const late = Rng.fromState({ key: [11, 0], stream: U32_MAX, forks: 0 });
    expect(late.next()).toEqual({ key: [11, 0], stream: U32_MAX });
    const after = late.next();
    expect(after.stream).toBe(0);
    expect(after.key).not.toEqual([11, 0]);
    expect(() => Rng.fromState({ key: [1, 2], stream: -1, forks: 0 })).toThrow(RangeError);
  });
});

// Writes philox words for per-element counters and keys; out1[0] evaluates all-ones *constants*,
// checking that a compiler which inlines and folds the call does not trip over u32 overflow.
const philoxBits = defineKernel({
  name: "test.philox_bits",
  params: { n: "u32" },
  inputs: { ctrs: "vec4<u32>", keys: "vec4<u32>" },
  outputs: { out: "vec4<u32>", out1: "vec4<u32>" },
  workgroupSize: 64,
  prelude: PHILOX_WGSL,
  body: raw(/* wgsl */ `
  let i = gid.x;
  if (i == 0u) { out1[0] = philox4x32_10(vec4<u32>(0xffffffffu), vec2<u32>(0xffffffffu, 0xffffffffu)); }
  if (i >= params.n) { return; }
  out[i] = philox4x32_10(ctrs[i], keys[i].xy);`),
});

const rngDraws = defineKernel({
  name: "test.rng_draws",
  params: { n: "u32", base: "u32", key_lo: "u32", key_hi: "u32", stream: "u32" },
  inputs: {},
  outputs: { uni: "f32", nrm: "f32", ber: "f32", rint: "i32" },
  workgroupSize: 256,
  prelude: PHILOX_WGSL,
  body: raw(/* wgsl */ `
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let key = vec2<u32>(params.key_lo, params.key_hi);
  let idx = params.base + i;
  uni[i] = rng_uniform(key, idx, params.stream);
  nrm[i] = rng_normal(key, idx, params.stream);
  ber[i] = rng_bernoulli(key, idx, params.stream, 0.3);
  rint[i] = rng_randint(key, idx, params.stream, -3, 7);`),
});

// The WGSL ln and cos behind rng_normal, on every exponent of u and at both ends of (0, 1).
const mathHelpers = defineKernel({
  name: "test.rng_math",
  params: { n: "u32" },
  inputs: { u: "f32" },
  outputs: { ln: "f32", cs: "f32" },
  workgroupSize: 64,
  prelude: PHILOX_WGSL,
  body: raw(/* wgsl */ `
  let i = gid.x;
  if (i >= params.n) { return; }
  ln[i] = rng_ln_unit(u[i]);
  cs[i] = rng_cos_2pi(u[i]);`),
});

describe("Philox in WGSL", () => {
  test("rng_normal's own ln and cos are accurate where the built-ins are not", async () => {
    // WGSL only promises |error| ≤ 2^-21 for log near 1 and ≤ 2^-11 for cos; lavapipe's log is
    // off by 70% relative near 1 and SwiftShader's cos by 2e-4, both far beyond 1e-5 in z.
    const next = xorshift(5), n = 8192, u = new Float32Array(n);
    for (let t = 0; t < n; t++) {
      const k = t < 2048 ? t : t < 4096 ? 2 ** 23 - 1 - (t - 2048) : next() >>> 9;
      u[t] = (k + 0.5) * 2 ** -23;
    }
    u.set([1, 0.5, 0.25, 0.75, 0.125, 0.875, Math.fround(Math.SQRT1_2), 2 ** -20], 4096);
    await withDevice(async (dev) => {
      const [lnOut, csOut] = await runKernel(dev, mathHelpers, { n }, [u], [4 * n, 4 * n], [n / 64, 1, 1]);
      const ln = new Float32Array(lnOut!), cs = new Float32Array(csOut!);
      let lnRel = 0, lnAbs = 0, csAbs = 0;
      for (let t = 0; t < n; t++) {
        const L = Math.log(u[t]!);
        lnAbs = Math.max(lnAbs, Math.abs(ln[t]! - L));
        if (L !== 0) lnRel = Math.max(lnRel, Math.abs(ln[t]! / L - 1));
        csAbs = Math.max(csAbs, Math.abs(cs[t]! - Math.cos(2 * Math.PI * u[t]!)));
      }
      expect(ln[4096]).toBe(0); // ln 1
      expect(lnRel).toBeLessThan(1e-6);
      expect(lnAbs).toBeLessThan(2e-6); // ≈ 1 ulp of |ln 2^-24| ≈ 16.6
      expect(csAbs).toBeLessThan(3e-7);
    });
  });

  test("GPU philox4x32_10 words equal the CPU's bit for bit", async () => {
    const n = 4096, next = xorshift(77);
    const ctrs = new Uint32Array(4 * n), keys = new Uint32Array(4 * n);
    const put = (t: number, ctr: readonly number[], key: readonly number[]) => {
      ctrs.set(ctr, 4 * t);
      keys.set([key[0]!, key[1]!, 0, 0], 4 * t);
    };
    KAT.forEach((v, t) => put(t, v.ctr, v.key));
    for (let t = KAT.length; t < n; t++) {
      const q = t >> 10; // four regimes of 1024 elements
      if (q === 0) put(t, [t, 0, 0, 0], seedToKey(42)); // idx 3..1023 of stream 0
      else if (q === 1) put(t, [U32_MAX - (t & 1023), U32_MAX - (t & 7), 0, 0], seedToKey(1234)); // idx and stream near 2^32
      else if (q === 2) put(t, [next(), next(), next(), next()], [next(), next()]); // anything
      else put(t, [t, 0x80000000 + t, 0, 0], [U32_MAX, U32_MAX]); // key bumps wrap at runtime
    }
    await withDevice(async (dev) => {
      const [out, out1] = await runKernel(dev, philoxBits, { n }, [ctrs, keys], [16 * n, 16], [n / 64, 1, 1]);
      const gpu = new Uint32Array(out!);
      let mismatches = 0;
      for (let t = 0; t < n; t++) {
        const cpu = philox4x32_10(ctrs.subarray(4 * t, 4 * t + 4), keys.subarray(4 * t, 4 * t + 2));
        for (let j = 0; j < 4; j++) if (gpu[4 * t + j] !== cpu[j]) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect([...gpu.subarray(0, 12)]).toEqual(KAT.flatMap((v) => v.out));
      expect([...new Uint32Array(out1!)]).toEqual(KAT[1]!.out);
    });
  });

  const cases: readonly { name: string; n: number; base: number; key: PhiloxKey; stream: number }[] = [
    { name: "100k draws from index 0", n: 100_000, base: 0, key: seedToKey(20240611), stream: 0 },
    { name: "indices up to 2^32 − 1, large stream", n: 4096, base: 2 ** 32 - 4096, key: [0xdeadbeef, U32_MAX], stream: 0xfffffff0 },
  ];

  test.each(cases)("GPU rng_* agree with the CPU: $name", async ({ n, base, key, stream }) => {
    await withDevice(async (dev) => {
      const params = { n, base, key_lo: key[0], key_hi: key[1], stream };
      const wgs = Math.ceil(n / 256);
      const [uni, nrm, ber, rint] = await runKernel(dev, rngDraws, params, [], [4 * n, 4 * n, 4 * n, 4 * n], [wgs, 1, 1]);
      const u = new Float32Array(uni!), z = new Float32Array(nrm!), b = new Float32Array(ber!), r = new Int32Array(rint!);
      let uBad = 0, bBad = 0, rBad = 0, zErr = 0, lo = 1, hi = 0;
      for (let i = 0; i < n; i++) {
        // every step of the uniform is exact in f32, so the GPU must match bit for bit
        if (u[i] !== uniformAt(key, base + i, stream)) uBad++;
        zErr = Math.max(zErr, Math.abs(z[i]! - normalAt(key, base + i, stream)));
        if (b[i] !== bernoulliAt(key, base + i, stream, 0.3)) bBad++;
        if (r[i] !== randintAt(key, base + i, stream, -3, 7)) rBad++;
        lo = Math.min(lo, u[i]!);
        hi = Math.max(hi, u[i]!);
      }
      expect({ uBad, bBad, rBad }).toEqual({ uBad: 0, bBad: 0, rBad: 0 });
      // measured ~4e-7 on lavapipe and SwiftShader (own ln/cos, see shaders/philox.ts)
      expect(zErr).toBeLessThan(2e-6);
      expect(lo).toBeGreaterThan(0);
      expect(hi).toBeLessThan(1);
      if (n >= 100_000) {
        const m = moments(z);
        expect(Math.abs(m.mean)).toBeLessThan(0.015);
        expect(Math.abs(m.variance - 1)).toBeLessThan(0.025);
        expect(Math.abs(moments(u).mean - 0.5)).toBeLessThan(0.005);
      }
    });
  });
});
