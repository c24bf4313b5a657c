/**
 * Row reductions and softmax on a real device, checked against float64 references written here
 * (independent of the WGSL). Run also with LATENT_VK_ICD=swiftshader (256 invocations max).
 */
import { describe, expect, test } from "vitest";
import type { Device } from "../../engine/device.js";
import type { Params } from "../../shaders/kernel.js";
import { reduceKernel, reduceWorkgroups, rowLanes, rowLaunch, rowTuning, type ReduceOp, type RowKernel, type RowParams } from "../../shaders/reduce.js";
import { softmaxKernel } from "../../shaders/softmax.js";
import { u32, wgsl } from "../../shaders/wgsl.js";
import { runKernel, withDevice } from "../helpers/gpu.js";

// ── float64 references ──────────────────────────────────────────────────────────────────────

const NO_INDEX = 0xffffffff;

/** torch semantics: NaN propagates through max/min and is the extreme for argmax/argmin. */
function refReduce(op: ReduceOp, row: ArrayLike<number>): number {
  const xs = Array.from(row);
  switch (op) {
    case "sum":
      return xs.reduce((a, b) => a + b, 0);
    case "prod":
      return xs.reduce((a, b) => a * b, 1);
    case "max":
      return Math.max(...xs);
    case "min":
      return Math.min(...xs);
    case "argmax":
    case "argmin": {
      if (!xs.length) return NO_INDEX;
      const nan = xs.findIndex(Number.isNaN);
      if (nan >= 0) return nan;
      return xs.indexOf(op === "argmax" ? Math.max(...xs) : Math.min(...xs));
    }
    default:
      return op satisfies never;
  }
}

function refSoftmax(row: ArrayLike<number>, log: boolean): number[] {
  const xs = Array.from(row);
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return xs.map(() => NaN); // PyTorch: NaN, +inf or all −inf rows are NaN
  const s = xs.reduce((a, x) => a + Math.exp(x - m), 0);
  return xs.map((x) => (log ? x - m - Math.log(s) : Math.exp(x - m) / s));
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

/** mulberry32: small seeded PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values per op: many exact ties for the comparison ops, near-1 factors for prod. */
function sample(op: ReduceOp, n: number, seed: number): Float32Array {
  const u = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (op === "sum") x[i] = u() * 2 - 1;
    else if (op === "prod") x[i] = 1 + (u() - 0.5) * 0.02;
    else x[i] = Math.round(u() * 40 - 20) / 4;
  }
  return x;
}

const rowsOf = (x: ArrayLike<number>, outer: number, R: number) =>
  Array.from({ length: outer }, (_, o) => Array.from({ length: R }, (_, r) => x[o * R + r]!));

/** Collects mismatches (NaN matches NaN, ±inf must match exactly) and fails with the first few. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: (want: number, i: number) => number, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= tol(w, i);
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${w}`);
  }
  expect(bad, label).toEqual([]);
}

async function runRows<P extends Params>(
  dev: Device,
  k: RowKernel<RowParams & P>,
  outer: number,
  R: number,
  inputs: readonly ArrayBufferView[],
  outElems: number,
  extra: { readonly [K in keyof P]: number },
  maxPerDim = dev.limits.maxComputeWorkgroupsPerDimension,
): Promise<ArrayBuffer> {
  const { params, workgroups } = k.launch(outer, R, maxPerDim);
  const [out] = await runKernel(dev, k, { ...params, ...extra } as { readonly [K in keyof (RowParams & P)]: number }, inputs, [Math.max(4, outElems * 4)], workgroups);
  return out!;
}

const OPS: readonly ReduceOp[] = ["sum", "prod", "max", "min", "argmax", "argmin"];
const RS = [1, 7, 64, 255, 256, 1000, 4097];
const rowMajor = { inputs: { x: "f32" }, element: (o, r) => wgsl`x[${o} * params.R + ${r}]` } as const satisfies Parameters<typeof reduceKernel>[0]["prologue"];

/** Tolerance vs float64: sums scale with Σ|x|, products relatively; comparisons are exact. */
function tolFor(op: ReduceOp, rows: number[][]): (w: number, i: number) => number {
  if (op === "sum") return (_w, i) => 2e-6 * rows[i]!.reduce((a, x) => a + Math.abs(x), 0) + 1e-7;
  if (op === "prod") return (w) => 1e-5 * Math.abs(w);
  return () => 0;
}

const decode = (op: ReduceOp, buf: ArrayBuffer) => (op.startsWith("arg") ? new Uint32Array(buf) : new Float32Array(buf));

// ── tests ───────────────────────────────────────────────────────────────────────────────────

describe("reduceKernel", () => {
  test("launch geometry: lanes, rows per workgroup and the 2-D split", () => {
    expect(rowLanes(0, 256)).toBe(1);
    expect(rowLanes(1, 256)).toBe(1);
    expect(rowLanes(4097, 256)).toBe(256);
    expect(rowLanes(4097, 64)).toBe(64);
    const lanes = rowLanes(64, 256);
    expect(reduceWorkgroups(1000, 64, 256)).toEqual([Math.ceil(1000 / (256 / lanes)), 1, 1]);
    const [x, y] = reduceWorkgroups(70000, 4096, 256);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(70000);
    expect(() => reduceKernel({ op: "sum", prologue: rowMajor, workgroupSize: 96 })).toThrow(RangeError);
  });

  for (const op of OPS) {
    test(`${op} matches float64 for R in {${RS.join(", ")}}, outer in {1, 3, 70000}`, async () => {
      await withDevice(async (dev) => {
        const k = reduceKernel({ op, prologue: rowMajor });
        const cases: [number, number][] = [...RS.flatMap((R) => [[1, R], [3, R]] as [number, number][]), [70000, 1], [70000, 7]];
        for (const [outer, R] of cases) {
          const x = sample(op, outer * R, outer * 7919 + R);
          const rows = rowsOf(x, outer, R);
          // Cheap long grids also go through a forced 2-D split (with an overshooting last row of workgroups).
          const out = await runRows(dev, k, outer, R, [x], outer, {}, outer > 1000 ? 97 : undefined);
          expectClose(decode(op, out), rows.map((row) => refReduce(op, row)), tolFor(op, rows), `${op} outer=${outer} R=${R}`);
        }
      });
    });
  }

  test("more than 65535 workgroups (one row per workgroup) use the 2-D grid", async () => {
    await withDevice(async (dev) => {
      const outer = 70000, R = 32;
      const k = reduceKernel({ op: "sum", prologue: rowMajor, workgroupSize: 8 });
      const { workgroups } = k.launch(outer, R, dev.limits.maxComputeWorkgroupsPerDimension);
      expect(workgroups[1]).toBeGreaterThan(1);
      const x = sample("sum", outer * R, 5);
      const rows = rowsOf(x, outer, R);
      const out = await runRows(dev, k, outer, R, [x], outer, {});
      expectClose(new Float32Array(out), rows.map((row) => refReduce("sum", row)), tolFor("sum", rows), "sum 70000×32");
    });
  });

  test("every lane count (rows per workgroup from 1 to 256) gives the same answer", async () => {
    await withDevice(async (dev) => {
      const outer = 5, R = 1000;
      for (const op of ["sum", "argmin"] as const) {
        const k = reduceKernel({ op, prologue: rowMajor });
        const x = sample(op, outer * R, 17);
        const rows = rowsOf(x, outer, R);
        for (let lanes = 1; lanes <= 256; lanes *= 2) {
          const { params, workgroups } = rowLaunch(outer, R, 256, 65535, lanes);
          const [out] = await runKernel(dev, k, params, [x], [outer * 4], workgroups);
          expectClose(decode(op, out!), rows.map((row) => refReduce(op, row)), tolFor(op, rows), `${op} lanes=${lanes}`);
        }
      }
    });
  });

  test("the per-driver tuning is a valid launch policy", async () => {
    await withDevice(async (dev) => {
      const t = rowTuning(dev.info.driver, dev.limits.maxComputeInvocationsPerWorkgroup);
      expect(t.workgroupSize).toBeLessThanOrEqual(dev.limits.maxComputeInvocationsPerWorkgroup);
      const outer = 300, R = 333;
      const x = sample("max", outer * R, 23);
      const rows = rowsOf(x, outer, R);
      for (const op of ["max", "argmax"] as const) {
        const out = await runRows(dev, reduceKernel({ op, prologue: rowMajor, ...t }), outer, R, [x], outer, {});
        expectClose(decode(op, out), rows.map((row) => refReduce(op, row)), () => 0, `${op} tuned`);
      }
      const sm = new Float32Array(await runRows(dev, softmaxKernel({ log: true, prologue: rowMajor, ...t }), outer, R, [x], outer * R, {}));
      expectClose(sm, rows.flatMap((row) => refSoftmax(row, true)), (w) => 2e-6 * (Math.abs(w) + 1), "logSoftmax tuned");
    });
  });

  test("empty rows give the identity (sum 0, prod 1, max -inf, min +inf, arg 0xffffffff)", async () => {
    await withDevice(async (dev) => {
      const want: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity, argmax: NO_INDEX, argmin: NO_INDEX };
      for (const op of OPS) {
        const out = await runRows(dev, reduceKernel({ op, prologue: rowMajor }), 3, 0, [new Float32Array(1)], 3, {});
        expect([...decode(op, out)], op).toEqual([want[op], want[op], want[op]]);
      }
    });
  });

  test("NaN and ±inf: NaN propagates, the first NaN is the arg extreme, ties give the first index", async () => {
    const I = Infinity;
    const short = [
      [1, NaN, 3, 5, 2],
      [-I, -I, -I, -I, -I],
      [I, 1, I, -I, 0],
      [2, 7, 7, NaN, NaN],
      [0, 0, 0, 0, 0],
      [I, I, I, I, I],
      [-3, 5, -3, 5, 1],
    ];
    // A long row: ties and NaNs in different lanes, the later index sitting in the lower lane.
    const long = new Array<number>(1000).fill(0);
    long[300] = 9; // lane 44 of 256, second sweep
    long[10] = 9; // lane 10, first sweep: the first occurrence
    long[555] = -9;
    long[43] = -9;
    const longNaN = long.slice();
    longNaN[900] = NaN;
    longNaN[700] = NaN;
    await withDevice(async (dev) => {
      for (const op of OPS) {
        const k = reduceKernel({ op, prologue: rowMajor });
        for (const [label, rows] of [["short", short], ["long", [long, longNaN]]] as const) {
          const R = rows[0]!.length;
          const out = await runRows(dev, k, rows.length, R, [new Float32Array(rows.flat())], rows.length, {});
          expectClose(decode(op, out), rows.map((row) => refReduce(op, row)), tolFor(op, rows.map((r) => [...r])), `${op} ${label}`);
        }
      }
    });
  });

  test("sum of R = 100000 values near 1 stays within 1e-6 of float64", async () => {
    await withDevice(async (dev) => {
      const R = 100000, outer = 2;
      const u = rng(11);
      const x = Float32Array.from({ length: outer * R }, () => 1 + (u() - 0.5) * 0.5);
      const k = reduceKernel({ op: "sum", prologue: rowMajor });
      const out = new Float32Array(await runRows(dev, k, outer, R, [x], outer, {}));
      const want = rowsOf(x, outer, R).map((row) => refReduce("sum", row));
      // A naive running f32 sum is off by ~1e-4 relative here; lanes + tree keep it near 1e-7.
      expectClose(out, want, (w) => 1e-6 * Math.abs(w), "sum R=100000");
    });
  });

  test("results are bit-identical across runs", async () => {
    await withDevice(async (dev) => {
      const R = 100000, outer = 3;
      const u = rng(3);
      const x = Float32Array.from({ length: outer * R }, () => (u() - 0.5) * 1e3);
      for (const op of ["sum", "argmax"] as const) {
        const k = reduceKernel({ op, prologue: rowMajor });
        const runs = [];
        for (let i = 0; i < 3; i++) runs.push([...new Uint32Array(await runRows(dev, k, outer, R, [x], outer, {}))]);
        expect(runs[1], op).toEqual(runs[0]);
        expect(runs[2], op).toEqual(runs[0]);
      }
      const sm = softmaxKernel({ log: false, prologue: rowMajor });
      const a = new Uint32Array(await runRows(dev, sm, 2, 5000, [x.subarray(0, 10000)], 10000, {}));
      const b = new Uint32Array(await runRows(dev, sm, 2, 5000, [x.subarray(0, 10000)], 10000, {}));
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    });
  });

  test("a prologue reading two inputs with broadcasting, and an epilogue with its own input", async () => {
    await withDevice(async (dev) => {
      const outer = 5, R = 300;
      const x = sample("sum", outer * R, 1), y = sample("sum", R, 2), bias = sample("sum", outer, 3);
      // mean_r(x[o, r] · y[r]) + bias[o]. The arrays are bound as `r` and `v`, names a kernel could
      // easily use for its own locals: the kernel must not shadow the caller's bindings.
      const k = reduceKernel({
        op: "sum",
        prologue: { inputs: { x: "f32", r: "f32" }, element: (o, r) => wgsl`(x[${o} * params.R + ${r}] * r[${r}])` },
        epilogue: { inputs: { v: "f32" }, apply: (val, o) => wgsl`(${val} / f32(params.R) + v[${o}])` },
      });
      expect(k.inputs).toEqual(["x", "r", "v"]);
      const out = new Float32Array(await runRows(dev, k, outer, R, [x, y, bias], outer, {}));
      const want = rowsOf(x, outer, R).map((row, o) => row.reduce((a, v, r) => a + v * y[r]!, 0) / R + bias[o]!);
      expectClose(out, want, () => 1e-6, "mean(x·y) + bias");
    });
  });

  test("reducing the middle axis of [A, B, C] by index math (uniform and literal strides)", async () => {
    const A = 3, B = 50, C = 7;
    const x = sample("argmax", A * B * C, 9);
    // Row o = a·C + c runs over b: element (o, b) = x[a·B·C + b·C + c].
    const want = (op: ReduceOp) =>
      Array.from({ length: A * C }, (_, o) => {
        const a = Math.floor(o / C), c = o % C;
        return refReduce(op, Array.from({ length: B }, (_, b) => x[a * B * C + b * C + c]!));
      });
    await withDevice(async (dev) => {
      for (const op of ["sum", "argmax"] as const) {
        const viaParam = reduceKernel({
          op,
          prologue: { inputs: { x: "f32" }, params: { C: "u32" }, element: (o, r) => wgsl`x[(${o} / params.C) * params.R * params.C + ${r} * params.C + ${o} % params.C]` },
        });
        const viaLiteral = reduceKernel({
          op,
          prologue: { inputs: { x: "f32" }, element: (o, r) => wgsl`x[(${o} / ${u32(C)}) * ${u32(B * C)} + ${r} * ${u32(C)} + ${o} % ${u32(C)}]` },
        });
        const a = decode(op, await runRows(dev, viaParam, A * C, B, [x], A * C, { C }));
        const b = decode(op, await runRows(dev, viaLiteral, A * C, B, [x], A * C, {}));
        const tol = tolFor(op, Array.from({ length: A * C }, () => new Array<number>(B).fill(10)));
        expectClose(a, want(op), tol, `${op} middle axis (param)`);
        expectClose(b, want(op), tol, `${op} middle axis (literal)`);
      }
    });
  });
});

describe("softmaxKernel", () => {
  for (const log of [false, true]) {
    const name = log ? "logSoftmax" : "softmax";
    // softmax: exp is accurate to a few ulp of its result; log-softmax: d − log s, relative to |y| + 1.
    const tol = log ? (w: number) => 2e-6 * (Math.abs(w) + 1) : (w: number) => 1e-7 + 2e-5 * Math.abs(w);

    test(`${name} matches float64 for R in {${RS.join(", ")}} and outer in {3, 70000}`, async () => {
      await withDevice(async (dev) => {
        const k = softmaxKernel({ log, prologue: rowMajor });
        for (const [outer, R] of [...RS.map((R) => [3, R]), [70000, 3]] as [number, number][]) {
          const u = rng(R);
          const x = Float32Array.from({ length: outer * R }, () => (u() - 0.5) * 12);
          const out = new Float32Array(await runRows(dev, k, outer, R, [x], outer * R, {}, outer > 1000 ? 97 : undefined));
          expectClose(out, rowsOf(x, outer, R).flatMap((row) => refSoftmax(row, log)), tol, `${name} outer=${outer} R=${R}`);
        }
      });
    });

    test(`${name}: ±80, ±1e30, -inf entries, and all -inf / NaN / +inf rows (NaN, like PyTorch)`, async () => {
      const I = Infinity;
      const rows = [
        [80, -80, 80, 0, -80, 79.5],
        [1e30, -1e30, 0, 1, -1, 5],
        [-1e30, -1e30, -1e30, -1e30, -1e30, -1e30],
        [-80, -80, -80, -80, -80, -80],
        [3, -I, 1, -I, -I, 2],
        [-I, -I, -I, -I, -I, -I],
        [1, 2, NaN, 3, 4, 5],
        [1, I, 2, 3, 4, 5],
      ];
      await withDevice(async (dev) => {
        const k = softmaxKernel({ log, prologue: rowMajor });
        const out = new Float32Array(await runRows(dev, k, rows.length, 6, [new Float32Array(rows.flat())], rows.length * 6, {}));
        expectClose(out, rows.flatMap((row) => refSoftmax(row, log)), tol, `${name} edge rows`);
        const sums = rowsOf(out, 4, 6).map((row) => row.reduce((a, v) => a + (log ? Math.exp(v) : v), 0));
        expectClose(sums, [1, 1, 1, 1], () => 1e-6, `${name} rows sum to 1`);
      });
    });
  }

  test("softmax of a broadcast prologue: x[o, r] / T + mask[r]", async () => {
    await withDevice(async (dev) => {
      const outer = 4, R = 37, T = 0.5;
      const x = sample("sum", outer * R, 4);
      const mask = Float32Array.from({ length: R }, (_, r) => (r % 5 === 0 ? -Infinity : 0));
      const k = softmaxKernel({
        log: false,
        prologue: { inputs: { x: "f32", mask: "f32" }, element: (o, r) => wgsl`(x[${o} * params.R + ${r}] / ${T} + mask[${r}])` },
      });
      const out = new Float32Array(await runRows(dev, k, outer, R, [x, mask], outer * R, {}));
      const want = rowsOf(x, outer, R).flatMap((row) => refSoftmax(row.map((v, r) => v / T + mask[r]!), false));
      expectClose(out, want, (w) => 1e-7 + 2e-5 * Math.abs(w), "masked softmax");
    });
  });
});
