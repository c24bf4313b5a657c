/**
 * Reductions, logsumexp and softmax: GPU forward against the float64 oracle and gradients against
 * central differences (checkOp), over single axes, several axes, all axes, with and without
 * keepDims, on rank 1–4 inputs with odd sizes; plus the numerically delicate cases (±80, rows of
 * −∞, ties in amax).
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { amax, amin, argmax, argmin, logSoftmax, logsumexp, mean, prod, scope, softmax, sum, variance, type Tensor } from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, mulberry32, randnArray } from "../helpers/numeric.js";

await testDevice();

type Axes = number | number[] | undefined;
interface Case {
  shape: number[];
  axes: Axes;
  keepDims: boolean;
}

/** Rank 1–4, odd sizes, single / several / all axes (undefined), negative axes, both keepDims. */
const CASES: Case[] = [
  { shape: [7], axes: 0, keepDims: false },
  { shape: [7], axes: undefined, keepDims: true },
  { shape: [3, 5], axes: 1, keepDims: false },
  { shape: [3, 5], axes: -2, keepDims: true },
  { shape: [3, 5, 7], axes: [0, 2], keepDims: false },
  { shape: [3, 5, 7], axes: 1, keepDims: true },
  { shape: [3, 1, 5, 3], axes: [1, 3], keepDims: true },
  { shape: [3, 1, 5, 3], axes: [-1, 0, 2], keepDims: false },
  { shape: [3, 5, 3], axes: undefined, keepDims: false },
];

const desc = (c: Case) => `[${c.shape}] axes ${c.axes === undefined ? "all" : JSON.stringify(c.axes)} keepDims ${c.keepDims}`;
const label = (c: Case) => desc(c);

/** Normal samples; for prod, moved away from 0 so that Π x / x_i is well conditioned. */
function input(shape: number[], seed: number, awayFromZero = false): NdArray {
  const x = randnArray(shape, seed);
  if (!awayFromZero) return x;
  return cpu.map(x, (v) => (v < 0 ? -1 : 1) * (0.6 + 0.4 * Math.abs(Math.tanh(v))));
}

type GpuReduce = (x: Tensor, axes: Axes, opts: { keepDims: boolean }) => Tensor;
type CpuReduce = (x: NdArray, axes: Axes, keepDims: boolean) => NdArray;

const OPS: [string, GpuReduce, CpuReduce, { away?: boolean; rtol?: number; gradRtol?: number }][] = [
  ["sum", (x, a, o) => sum(x, a, o), (x, a, k) => cpu.sum(x, a, k), {}],
  ["mean", (x, a, o) => mean(x, a, o), (x, a, k) => cpu.mean(x, a, k), {}],
  ["amax", (x, a, o) => amax(x, a, o), (x, a, k) => cpu.amax(x, a, k), {}],
  ["amin", (x, a, o) => amin(x, a, o), (x, a, k) => cpu.amin(x, a, k), {}],
  ["prod", (x, a, o) => prod(x, a, o), (x, a, k) => cpu.prod(x, a, k), { away: true, rtol: 1e-5 }],
  ["var", (x, a, o) => variance(x, a, o), (x, a, k) => cpu.varOf(x, a, { keepDims: k }), { rtol: 1e-4 }],
  ["logsumexp", (x, a, o) => logsumexp(x, a, o), (x, a, k) => cpu.logsumexp(x, a, k), { rtol: 1e-5 }],
];

describe.each(OPS)("%s", (name, gpu, ref, o) => {
  test.each(CASES.map((c, i) => [desc(c), c, i] as const))("%s", async (_, c, i) => {
    await checkOp({
      label: `${name} ${label(c)}`,
      fn: (x) => gpu(x!, c.axes, { keepDims: c.keepDims }),
      ref: (x) => ref(x!, c.axes, c.keepDims),
      inputs: [input(c.shape, 100 + i, o.away)],
      rtol: o.rtol ?? 1e-5,
      atol: 1e-5,
      gradRtol: o.gradRtol ?? 2e-3,
    });
  });
});

describe("method forms", () => {
  test("x.sum / mean / amax / amin / var / logsumexp with default (all) axes give scalars", async () => {
    const x = randnArray([3, 5], 1);
    const cases: [string, (t: Tensor) => Tensor, (a: NdArray) => NdArray][] = [
      ["sum", (t) => t.sum(), (a) => cpu.sum(a)],
      ["mean", (t) => t.mean(), (a) => cpu.mean(a)],
      ["amax", (t) => t.amax(), (a) => cpu.amax(a)],
      ["amin", (t) => t.amin(), (a) => cpu.amin(a)],
      ["var", (t) => t.var(), (a) => cpu.varOf(a)],
      ["var correction 0", (t) => t.var(1, { correction: 0, keepDims: true }), (a) => cpu.varOf(a, 1, { correction: 0, keepDims: true })],
      ["logsumexp", (t) => t.logsumexp(), (a) => cpu.logsumexp(a)],
    ];
    for (const [n, f, r] of cases) await checkOp({ label: n, fn: (t) => f(t!), ref: (a) => r(a!), inputs: [x], rtol: 1e-4, atol: 1e-5 });
  });

  test("a reduction over a non-contiguous view (sum of a permute, amax of a slice)", async () => {
    await checkOp({
      label: "permute.sum",
      fn: (x) => x!.permute([2, 0, 1]).sum([1, 2]),
      ref: (x) => cpu.sum(cpu.permute(x!, [2, 0, 1]), [1, 2]),
      inputs: [randnArray([3, 5, 7], 2)],
    });
    await checkOp({
      label: "slice.amax",
      fn: (x) => x!.slice([[1, undefined, 2]]).amax(1),
      ref: (x) => cpu.amax(cpu.slice(x!, [[1, null, 2]]), 1),
      inputs: [randnArray([7, 5], 3)],
    });
  });

  test("rows longer than a workgroup, and many short rows", async () => {
    await checkOp({ label: "sum [3,1500] axis 1", fn: (x) => x!.sum(1), ref: (x) => cpu.sum(x!, 1), inputs: [randnArray([3, 1500], 5)], rtol: 1e-4, atol: 1e-4, grad: [false] });
    await checkOp({ label: "amax [1500,3] axis 0", fn: (x) => x!.amax(0), ref: (x) => cpu.amax(x!, 0), inputs: [randnArray([1500, 3], 6)], grad: [false] });
    await checkOp({ label: "mean [700,3] axis 1", fn: (x) => x!.mean(1), ref: (x) => cpu.mean(x!, 1), inputs: [randnArray([700, 3], 7)], grad: [false] });
  });

  test("a reduction of a reduction (mean of row maxima)", () =>
    checkOp({
      label: "mean(amax(x, 1))",
      fn: (x) => mean(amax(x!, 1)),
      ref: (x) => cpu.mean(cpu.amax(x!, 1)),
      inputs: [randnArray([5, 7], 4)],
    }));

  test("integer sum / amax / amin / prod stay integer and exact", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([1, -2, 3, 4, 5, -6]), [2, 3]), "i32");
        const s = sum(x, 1);
        expect(s.dtype).toBe("i32");
        expect([...(await s.toArray())], "sum of i32 along axis 1").toEqual([2, 3]);
        expect([...(await amax(x, 0).toArray())], "amax of i32").toEqual([4, 5, 3]);
        expect([...(await amin(x).toArray())], "amin of i32").toEqual([-6]);
        expect([...(await prod(x, 1).toArray())], "prod of i32").toEqual([-6, -120]);
      });
    });
  });
});

describe("argmax / argmin", () => {
  test.each([
    [[7], 0],
    [[3, 5], 1],
    [[3, 5], 0],
    [[3, 5, 7], 1],
    [[3, 1, 5, 3], -1],
  ] as [number[], number][])("on %j along %i", async (shape, axis) => {
    await withDevice(async () => {
      await scope(async () => {
        const x = randnArray(shape, shape.length * 10 + axis);
        const t = upload(x);
        const am = argmax(t, axis);
        const an = argmin(t, axis);
        expect(am.dtype).toBe("i32");
        const a = ((axis % shape.length) + shape.length) % shape.length;
        expect(am.shape).toEqual(shape.filter((_, i) => i !== a));
        expect([...(await am.toArray())]).toEqual([...cpu.argmax(x, axis).data]);
        expect([...(await an.toArray())]).toEqual([...cpu.argmax(cpu.map(x, (v) => -v), axis).data]);
        const k = t.argmax(axis, { keepDims: true });
        expect(k.shape).toEqual(shape.map((d, i) => (i === a ? 1 : d)));
      });
    });
  });

  test("ties go to the first index; no axis means the flattened index", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const t = upload(new NdArray(Float64Array.from([1, 3, 3, 0, 2, 2, 2, -1, 5, 5, -2, 5]), [3, 4]));
        expect([...(await argmax(t, 1).toArray())]).toEqual([1, 0, 0]);
        expect([...(await argmin(t, 1).toArray())]).toEqual([3, 3, 2]);
        const u = upload(new NdArray(Float64Array.from([2, -1, -1, 0, 0, 4]), [2, 3]));
        expect([...(await argmin(u, 1).toArray())]).toEqual([1, 0]);
        expect([...(await argmin(u, 0).toArray())]).toEqual([1, 0, 0]);
        expect(await argmax(t).item()).toBe(8);
        expect(await argmin(t).item()).toBe(10);
      });
    });
  });
});

describe("logsumexp at the edges", () => {
  test("±80 rows are finite and exact; gradients match", () =>
    checkOp({
      label: "logsumexp ±80",
      fn: (x) => logsumexp(x!, 1),
      ref: (x) => cpu.logsumexp(x!, 1),
      inputs: [new NdArray(Float64Array.from([80, 79, 78.5, -80, -80, -79, 80, -80, 0]), [3, 3])],
    }));

  test("a row of −∞ gives −∞; a row with some −∞ is finite with zero gradient there", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([-Infinity, -Infinity, -Infinity, 0.5, -Infinity, 1.5]), [2, 3]), "f32", true);
        const y = logsumexp(x, 1);
        const v = await y.toArray();
        expect(v[0]).toBe(-Infinity);
        expect(v[1]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(1.5)), 5);
        // only the finite row carries a cotangent: the all −∞ row's gradient is 0/0 in PyTorch too
        y.mul(upload(new NdArray(Float64Array.from([0, 2]), [2]))).sum().backward();
        const g = await x.grad!.toArray();
        const s = Math.exp(0.5) + Math.exp(1.5);
        expectAllclose(g.slice(3), [2 * Math.exp(0.5) / s, 0, 2 * Math.exp(1.5) / s], { rtol: 1e-5, atol: 1e-6 }, "d logsumexp");
      });
    });
  });
});

describe("softmax / logSoftmax", () => {
  /** [2,3,5] with some ±80 entries so every axis sees a saturated row. */
  function edgy(seed: number): NdArray {
    const x = randnArray([2, 3, 5], seed);
    const r = mulberry32(seed);
    for (let i = 0; i < x.size; i++) if (r() < 0.2) x.data[i] = r() < 0.5 ? 80 : -80;
    x.data[0] = 80;
    x.data[1] = -80;
    return x;
  }

  for (const axis of [0, 1, 2, -1]) {
    test(`softmax along axis ${axis} of [2,3,5] with ±80 entries`, () =>
      checkOp({
        label: `softmax axis ${axis}`,
        fn: (x) => softmax(x!, axis),
        ref: (x) => cpu.softmax(x!, axis),
        inputs: [edgy(200 + axis)],
        atol: 1e-6,
      }));
    test(`logSoftmax along axis ${axis} of [2,3,5] with ±80 entries`, () =>
      checkOp({
        label: `logSoftmax axis ${axis}`,
        fn: (x) => x!.logSoftmax(axis),
        ref: (x) => cpu.logSoftmax(x!, axis),
        inputs: [edgy(300 + axis)],
        rtol: 1e-5,
        atol: 1e-5,
      }));
  }

  test("softmax rows sum to 1 and the method defaults to the last axis", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(randnArray([3, 7], 9));
        const rows = await x.softmax().sum(-1).toArray();
        expectAllclose(rows, [1, 1, 1], { rtol: 0, atol: 1e-6 }, "row sums");
      });
    });
  });

  test("softmax of an elementwise prologue (fused input) and a reduction of softmax", () =>
    checkOp({
      label: "sum(softmax(2x + 1) * x, 1)",
      fn: (x) => softmax(x!.mul(2).add(1), 1).mul(x!).sum(1),
      ref: (x) => cpu.sum(cpu.zip(cpu.softmax(cpu.map(x!, (v) => 2 * v + 1), 1), x!, (a, b) => a * b), 1),
      inputs: [randnArray([4, 6], 10)],
    }));
});

describe("amax / amin gradients with ties", () => {
  test("tied maxima share the gradient equally (PyTorch's amax)", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([1, 3, 3, 2, 2, 2, -1, 0, 4]), [3, 3]), "f32", true);
        const cot = upload(new NdArray(Float64Array.from([6, 3, 12]), [3]));
        amax(x, 1).mul(cot).sum().backward();
        expect([...(await x.grad!.toArray())]).toEqual([0, 3, 3, 1, 1, 1, 0, 0, 12]);
      });
    });
  });

  test("amin ties over all axes, and amax ties across a column", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([0, 5, -2, -2, 7, -2]), [2, 3]), "f32", true);
        amin(x).mul(6).backward();
        expectAllclose(await x.grad!.toArray(), [0, 0, 2, 2, 0, 2], { rtol: 1e-6, atol: 0 }, "amin all-axes ties");
        const y = upload(new NdArray(Float64Array.from([4, 1, 4, 2, 0, 2]), [3, 2]), "f32", true);
        amax(y, 0, { keepDims: true }).mul(upload(new NdArray(Float64Array.from([2, 10]), [1, 2]))).sum().backward();
        expectAllclose(await y.grad!.toArray(), [1, 0, 1, 5, 0, 5], { rtol: 1e-6, atol: 0 }, "amax column ties");
      });
    });
  });
});

describe("long rows are split into two passes", () => {
  test.each([["sum"], ["amax"], ["amin"], ["mean"]] as const)("%s over 100003 elements (and a prologue) matches f64", async (op) => {
    const { randnArray, expectAllclose } = await import("../helpers/numeric.js");
    const { checkOp } = await import("../helpers/check-op.js");
    const cpu = await import("../../engine/cpu.js");
    const ref = { sum: cpu.sum, amax: cpu.amax, amin: cpu.amin, mean: cpu.mean }[op];
    await checkOp({
      label: `${op} split`,
      fn: (x) => (x!.tanh() as Tensor)[op](),
      ref: (x) => ref(cpu.map(x!, Math.tanh)),
      inputs: [randnArray([100003], 12)],
      grad: [false], // numeric gradients over 1e5 inputs would take minutes; smaller rows cover the backward
      rtol: 1e-4,
      atol: 1e-4,
    });
    void expectAllclose;
  });
});
