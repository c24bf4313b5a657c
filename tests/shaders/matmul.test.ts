import { describe, expect, test } from "vitest";
import {
  defaultMatmulTiling,
  fixedSubgroupSize,
  matmulKernel,
  matmulTilings,
  matmulWorkgroups,
  vec4Eligible,
  type MatmulEpilogue,
  type MatmulShape,
  type MatmulTiling,
} from "../../shaders/matmul.js";
import { wgsl, type Wgsl } from "../../shaders/wgsl.js";
import { runKernel, testDevice, withDevice } from "../helpers/gpu.js";
import type { Device } from "../../engine/device.js";

interface Case extends MatmulShape {
  batch: number;
}

/** Deterministic values in [-1, 1) (a small LCG keeps failures reproducible). */
function randoms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Elements a flat operand needs: offset + (batch-1)·stride + rows·cols. */
const extent = (offset: number, stride: number, batch: number, size: number) => offset + (batch - 1) * stride + size;

/**
 * float64 reference, written from the definition (independent of the WGSL): returns C and, per
 * element, Σ_k |A||B|, the scale the f32 rounding error is measured against.
 */
function reference(c: Case, transA: boolean, transB: boolean, a: Float32Array, b: Float32Array, bias?: Float32Array) {
  const { M, N, K, batch } = c;
  const out = new Float64Array(batch * M * N);
  const scale = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          const av = a[c.aOffset + bi * c.aBatchStride + (transA ? k * M + m : m * K + k)]!;
          const bv = b[c.bOffset + bi * c.bBatchStride + (transB ? n * K + k : k * N + n)]!;
          s += av * bv;
          abs += Math.abs(av * bv);
        }
        if (bias) s = Math.max(s + bias[n]!, 0);
        out[(bi * M + m) * N + n] = s;
        scale[(bi * M + m) * N + n] = abs + (bias ? Math.abs(bias[n]!) : 0);
      }
    }
  }
  return { out, scale };
}

const biasRelu: MatmulEpilogue = {
  inputs: { bias: "f32" },
  apply: (v, _b, _m, n) => wgsl`max(${v} + bias[${n}], ${0})`,
};

async function check(dev: Device, tiling: MatmulTiling, transA: boolean, transB: boolean, vec4: boolean, c: Case, withBias = false) {
  const kernel = matmulKernel({ transA, transB, tiling, vec4, epilogue: withBias ? biasRelu : undefined });
  const a = randoms(extent(c.aOffset, c.aBatchStride, c.batch, c.M * c.K), 1 + c.M * 7 + c.K);
  const b = randoms(extent(c.bOffset, c.bBatchStride, c.batch, c.K * c.N), 2 + c.N * 13 + c.K);
  const bias = withBias ? randoms(c.N, 3) : undefined;
  const outBytes = c.batch * c.M * c.N * 4;
  const [bytes] = await runKernel(dev, kernel, { ...c }, bias ? [a, b, bias] : [a, b], [outBytes], matmulWorkgroups({ tiling }, c.M, c.N, c.batch));
  const got = new Float32Array(bytes!);
  const want = reference(c, transA, transB, a, b, bias);
  let bad = 0;
  let first = "";
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want.out[i]!);
    if (!(err <= 1e-4 * want.scale[i]! + 1e-30)) {
      if (!bad) first = `index ${i}: got ${got[i]}, want ${want.out[i]}`;
      bad++;
    }
  }
  expect(bad, `${kernel.name} ${JSON.stringify(c)}: ${bad} wrong, first ${first}`).toBe(0);
}

const plain = (M: number, N: number, K: number): Case => ({ M, N, K, batch: 1, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 });

/** Shapes for the scalar kernels: odd edges everywhere, a broadcast batch, nonzero offsets. */
const SHAPES: Case[] = [
  plain(1, 1, 1),
  plain(3, 5, 7),
  plain(17, 33, 65),
  plain(64, 64, 64),
  plain(128, 96, 40),
  // batch 3: A broadcast (stride 0), B strided with a gap, both offset by odd amounts
  { M: 9, N: 19, K: 21, batch: 3, aOffset: 5, bOffset: 3, aBatchStride: 0, bBatchStride: 21 * 19 + 7 },
];

/**
 * The vec4 variant needs each operand's contiguous dimension, offset and stride divisible by 4;
 * round just those up, so the other dimensions keep their odd edges.
 */
function forVec4(c: Case, transA: boolean, transB: boolean): Case {
  const up = (x: number) => Math.ceil(x / 4) * 4;
  let { M, N, K } = c;
  if (transA) M = up(M);
  else K = up(K);
  if (transB) K = up(K);
  else N = up(N);
  const out: Case = {
    ...c,
    M,
    N,
    K,
    aOffset: up(c.aOffset),
    bOffset: up(c.bOffset),
    aBatchStride: c.aBatchStride && up(M * K + 1),
    bBatchStride: c.bBatchStride && up(K * N + 1),
  };
  expect(vec4Eligible({ transA, transB }, out)).toBe(true);
  return out;
}

const TRANS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

describe("matmul kernels", async () => {
  const dev = await testDevice();
  const tilings = matmulTilings(dev.limits, fixedSubgroupSize(dev.gpu));

  test("offers both tilings within this adapter's limits, subgroup sharing first", () => {
    expect(tilings[0]).toEqual(defaultMatmulTiling(dev.limits, fixedSubgroupSize(dev.gpu)));
    expect(tilings[0]!.kind === "regblock" && tilings[0]!.subgroup).toBe(fixedSubgroupSize(dev.gpu));
    expect(tilings.some((t) => t.kind === "regblock")).toBe(true);
    expect(tilings.some((t) => t.kind === "tiled")).toBe(true);
    for (const t of tilings) expect(t.wgX * t.wgY).toBeLessThanOrEqual(dev.limits.maxComputeInvocationsPerWorkgroup);
    const small = matmulTilings({ maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupStorageSize: 4096 });
    for (const t of small) expect(t.wgX * t.wgY).toBeLessThanOrEqual(64);
  });

  for (const tiling of tilings) {
    const label = JSON.stringify(tiling).replace(/"/g, "");
    for (const [transA, transB] of TRANS) {
      for (const vec4 of [false, true]) {
        test(`${label} transA=${transA} transB=${transB} vec4=${vec4}`, async () => {
          await withDevice(async (d) => {
            for (const s of SHAPES) await check(d, tiling, transA, transB, vec4, vec4 ? forVec4(s, transA, transB) : s);
          });
        });
      }
    }
  }

  test("fused bias + relu epilogue", async () => {
    await withDevice(async (d) => {
      // one tiling of each kind; the epilogue code is shared by all of them
      for (const tiling of tilings.filter((t, i, all) => all.findIndex((u) => u.kind === t.kind) === i)) {
        await check(d, tiling, false, true, false, plain(17, 33, 65), true);
        await check(d, tiling, true, false, true, forVec4(SHAPES[5]!, true, false), true);
      }
    });
  });

  test("a subgroup kernel built for the wrong subgroup size poisons its output with NaN", async () => {
    const sg = fixedSubgroupSize(dev.gpu);
    expect(sg, "the CPU drivers report one subgroup size").toBeDefined();
    const tiling: MatmulTiling = { kind: "regblock", wgX: 16, wgY: 1, tm: 16, tn: 4, subgroup: sg === 4 ? 8 : 4 };
    await withDevice(async (d) => {
      const kernel = matmulKernel({ transA: false, transB: false, tiling });
      const c = plain(16, 64, 8);
      const [out] = await runKernel(d, kernel, { ...c }, [randoms(128, 1), randoms(512, 2)], [16 * 64 * 4], matmulWorkgroups({ tiling }, 16, 64, 1));
      expect(new Float32Array(out!).every(Number.isNaN)).toBe(true);
    });
  });

  test("K = 0 gives the epilogue of zero", async () => {
    await withDevice(async (d) => {
      const kernel = matmulKernel({ transA: false, transB: false, tiling: tilings[0]!, epilogue: { inputs: {}, apply: (v) => wgsl`${v} + ${1}` } });
      const [out] = await runKernel(d, kernel, { ...plain(2, 3, 0) }, [new Float32Array(1), new Float32Array(1)], [24], matmulWorkgroups({ tiling: tilings[0]! }, 2, 3, 1));
      expect([...new Float32Array(out!)]).toEqual([1, 1, 1, 1, 1, 1]);
    });
  });
});

describe("matmul helpers", () => {
  test("vec4Eligible follows the contiguous dimension", () => {
    const s = { M: 3, N: 8, K: 12, aOffset: 4, bOffset: 0, aBatchStride: 0, bBatchStride: 96 };
    expect(vec4Eligible({ transA: false, transB: false }, s)).toBe(true);
    expect(vec4Eligible({ transA: true, transB: false }, s)).toBe(false); // Aᵀ is contiguous along M = 3
    expect(vec4Eligible({ transA: false, transB: false }, { ...s, aOffset: 2 })).toBe(false);
    expect(vec4Eligible({ transA: false, transB: true }, { ...s, bBatchStride: 98 })).toBe(false);
  });

  test("the grid covers the output and refuses batches past 65535", () => {
    const tiling: MatmulTiling = { kind: "regblock", wgX: 8, wgY: 8, tm: 4, tn: 4 };
    expect(matmulWorkgroups({ tiling }, 33, 65, 2)).toEqual([3, 2, 2]);
    expect(() => matmulWorkgroups({ tiling }, 4, 4, 70000)).toThrow(RangeError);
  });

  test("rejects tilings the generator cannot emit", () => {
    expect(() => matmulKernel({ transA: false, transB: false, tiling: { kind: "regblock", wgX: 8, wgY: 8, tm: 3, tn: 4 } })).toThrow(RangeError);
    expect(() =>
      matmulKernel({ transA: false, transB: false, tiling: { kind: "regblock", wgX: 8, wgY: 8, tm: 4, tn: 4 }, epilogue: { inputs: { a: "f32" }, apply: (v) => v } }),
    ).toThrow(RangeError);
    const shadowed = { inputs: { m: "f32" as const }, apply: (v: Wgsl) => v };
    expect(() => matmulKernel({ transA: false, transB: false, tiling: { kind: "regblock", wgX: 8, wgY: 8, tm: 4, tn: 4 }, epilogue: shadowed })).toThrow(/clashes/);
  });
});
