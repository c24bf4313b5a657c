/**
 * The oracle's own tests: small cases worked out by hand and identities that must hold exactly
 * (up to float64 rounding). If these pass, GPU tests can trust engine/cpu.ts as ground truth.
 */
import { describe, expect, test } from "vitest";
import {
  NdArray, amax, amin, argmax, broadcastShapes, cat, conv2d, convTranspose2d, dot, expand, gather,
  indexSelect, logSoftmax, logsumexp, map, matmul, mean, pad, permute, prod, reshape, slice, softmax,
  stack, sum, sumToShape, transpose, varOf, where, zip, zip3,
} from "../../engine/cpu.js";
import { ShapeError } from "../../engine/errors.js";
import { allclose, expectAllclose, numericGrad, randArray, randnArray } from "../helpers/numeric.js";

const A = (v: Parameters<typeof NdArray.from>[0], shape?: number[]) => NdArray.from(v, shape);
const arange = (shape: number[]) => NdArray.from(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), shape);

describe("NdArray", () => {
  test("from nested, get/set, toNested, clone", () => {
    const x = A([[1, 2, 3], [4, 5, 6]]);
    expect(x.shape).toEqual([2, 3]);
    expect(x.size).toBe(6);
    expect(x.get(1, 0)).toBe(4);
    const y = x.clone();
    y.set(-1, 0, 2);
    expect(y.toNested()).toEqual([[1, 2, -1], [4, 5, 6]]);
    expect(x.get(0, 2)).toBe(3); // clone is a copy
    expect(A(7).shape).toEqual([]);
    expect(A(7).toNested()).toBe(7);
    expect(A(new Float32Array([1, 2, 3, 4]), [2, 2]).toNested()).toEqual([[1, 2], [3, 4]]);
    expect(NdArray.full([2], 3).toFloat32()).toEqual(new Float32Array([3, 3]));
    expect(NdArray.zeros([0, 3]).size).toBe(0);
  });

  test("rejects ragged input, wrong sizes and bad indices", () => {
    expect(() => A([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => A([1, 2, 3], [2, 2])).toThrow(ShapeError);
    expect(() => A([1, 2]).get(2)).toThrow(RangeError);
    expect(() => A([1, 2]).get(0, 0)).toThrow(ShapeError);
  });
});

describe("broadcasting", () => {
  test("broadcastShapes follows numpy", () => {
    expect(broadcastShapes([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [3])).toEqual([3]);
    expect(broadcastShapes([5, 1], [1, 0])).toEqual([5, 0]);
    expect(broadcastShapes([1], [2, 3], [4, 1, 1])).toEqual([4, 2, 3]);
  });

  test("incompatible shapes throw ShapeError", () => {
    expect(() => broadcastShapes([2, 3], [3, 2])).toThrow(ShapeError);
    expect(() => zip(A([1, 2]), A([1, 2, 3]), (a, b) => a + b)).toThrow(ShapeError);
    expect(() => expand(A([1, 2]), [3, 3])).toThrow(ShapeError);
  });

  test("map, zip, zip3 and where broadcast at any rank", () => {
    expect(map(A([1, 4, 9]), Math.sqrt).toNested()).toEqual([1, 2, 3]);
    const col = A([[10], [20]]);
    const row = A([1, 2, 3]);
    expect(zip(col, row, (a, b) => a + b).toNested()).toEqual([[11, 12, 13], [21, 22, 23]]);
    const r5 = zip(arange([2, 1, 1, 1, 3]), A(100), (a, b) => a + b);
    expect(r5.shape).toEqual([2, 1, 1, 1, 3]);
    expect(Array.from(r5.data)).toEqual([100, 101, 102, 103, 104, 105]);
    expect(zip3(col, row, A(1), (a, b, c) => a * b - c).toNested()).toEqual([[9, 19, 29], [19, 39, 59]]);
    const cond = A([[1], [0]]);
    expect(where(cond, row, A(-1)).toNested()).toEqual([[1, 2, 3], [-1, -1, -1]]);
    expect(where(A([NaN, 0]), A([1, 1]), A([2, 2])).toNested()).toEqual([1, 2]); // NaN is truthy, as in torch
  });
});

describe("reductions", () => {
  const x = A([[1, 2, 3], [4, 5, 6]]);

  test("sum, mean, prod, amax, amin over axes with keepDims", () => {
    expect(sum(x).toNested()).toBe(21);
    expect(sum(x, 0).toNested()).toEqual([5, 7, 9]);
    expect(sum(x, -1, true).toNested()).toEqual([[6], [15]]);
    expect(sum(x, [0, 1], true).shape).toEqual([1, 1]);
    expect(mean(x, 1).toNested()).toEqual([2, 5]);
    expect(prod(x, 0).toNested()).toEqual([4, 10, 18]);
    expect(amax(x, 1).toNested()).toEqual([3, 6]);
    expect(amin(x, 0, true).toNested()).toEqual([[1, 2, 3]]);
    expect(amax(A([1, NaN, 3])).toNested()).toBeNaN();
    const y = arange([2, 3, 4]);
    expect(sum(y, [0, 2]).toNested()).toEqual([0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 * 4 + 6 + 4 * 16 + 6, 4 * 8 + 6 + 4 * 20 + 6]);
    expect(() => sum(x, [1, -1])).toThrow(ShapeError);
    expect(() => sum(x, 2)).toThrow(ShapeError);
  });

  test("varOf with and without Bessel's correction", () => {
    // values 1..4: mean 2.5, Σ(x − μ)² = 2.25 + 0.25 + 0.25 + 2.25 = 5
    const v = A([1, 2, 3, 4]);
    expect(varOf(v).toNested()).toBeCloseTo(5 / 3, 14);
    expect(varOf(v, 0, { correction: 0 }).toNested()).toBeCloseTo(5 / 4, 14);
    expect(varOf(x, 1, { keepDims: true }).toNested()).toEqual([[1], [1]]);
  });

  test("argmax picks the first maximum, NaN wins", () => {
    const y = A([[1, 7, 7], [9, 0, 9], [-Infinity, -Infinity, -Infinity]]);
    expect(argmax(y, 1).toNested()).toEqual([1, 0, 0]);
    expect(argmax(y, 0, true).toNested()).toEqual([[1, 0, 1]]);
    expect(argmax(A([1, NaN, 5, NaN]), 0).toNested()).toBe(1);
  });

  test("logsumexp is stable at ±1000 and handles infinities", () => {
    const big = logsumexp(A([1000, 1000]));
    expect(big.toNested()).toBeCloseTo(1000 + Math.log(2), 10);
    expect(logsumexp(A([-1000, -1000])).toNested()).toBeCloseTo(-1000 + Math.log(2), 10);
    expect(logsumexp(A([[0, Math.log(3)], [1000, -1000]]), 1).toNested()).toEqual([Math.log(4), 1000]);
    expect(logsumexp(A([-Infinity, -Infinity])).toNested()).toBe(-Infinity);
    expect(logsumexp(A([Infinity, 0])).toNested()).toBe(Infinity);
    expect(logsumexp(A([[1, 2], [3, 4]]), [0, 1], true).shape).toEqual([1, 1]);
  });

  test("softmax rows sum to 1 and match exp(logSoftmax)", () => {
    const z = randnArray([4, 5], 1);
    const s = softmax(z, -1);
    expectAllclose(sum(s, 1), NdArray.full([4], 1), { rtol: 0, atol: 1e-15 });
    expectAllclose(s, map(logSoftmax(z, -1), Math.exp), { rtol: 1e-14 });
    expectAllclose(softmax(A([0, Math.log(3)]), 0), [0.25, 0.75], { rtol: 1e-15, atol: 0 });
    const extreme = softmax(A([1000, -1000, 1000]), 0);
    expect(Array.from(extreme.data)).toEqual([0.5, 0, 0.5]);
    expectAllclose(sum(softmax(z, 0), 0), NdArray.full([5], 1), { atol: 1e-15 });
  });
});

describe("matmul", () => {
  /** C[b, i, j] = Σ_p A[b, i, p] B[b, p, j], written with get() so it shares nothing with matmul. */
  function manual(a: NdArray, b: NdArray): NdArray {
    const [nb, m, k] = a.shape;
    const n = b.shape[2];
    const c = NdArray.zeros([nb, m, n]);
    for (let t = 0; t < nb; t++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += a.get(t, i, p) * b.get(t, p, j);
          c.set(acc, t, i, j);
        }
    return c;
  }

  test("2x2 by hand", () => {
    expect(matmul(A([[1, 2], [3, 4]]), A([[5, 6], [7, 8]])).toNested()).toEqual([[19, 22], [43, 50]]);
  });

  test("batched matches the manual loop", () => {
    const a = randnArray([3, 4, 5], 1);
    const b = randnArray([3, 5, 2], 2);
    expectAllclose(matmul(a, b), manual(a, b), { rtol: 1e-14 });
  });

  test("batch axes broadcast", () => {
    const a = randnArray([2, 1, 3, 4], 3);
    const b = randnArray([5, 4, 2], 4);
    const c = matmul(a, b);
    expect(c.shape).toEqual([2, 5, 3, 2]);
    const aB = reshape(expand(a, [2, 5, 3, 4]), [10, 3, 4]);
    const bB = reshape(expand(b, [2, 5, 4, 2]), [10, 4, 2]);
    expectAllclose(c, reshape(manual(aB, bB), [2, 5, 3, 2]), { rtol: 1e-14 });
  });

  test("1-D promotion", () => {
    const m = A([[1, 2], [3, 4], [5, 6]]);
    expect(matmul(A([1, 2, 3]), A([4, 5, 6])).toNested()).toBe(32); // vector · vector → scalar
    expect(matmul(m, A([1, 1])).toNested()).toEqual([3, 7, 11]);
    expect(matmul(A([1, 0, 1]), m).toNested()).toEqual([6, 8]);
    const batch = matmul(A([1, 1, 1]), stack([m, m], 0)); // [3] @ [2, 3, 2] → [2, 2]
    expect(batch.toNested()).toEqual([[9, 12], [9, 12]]);
    expect(() => matmul(A([[1, 2]]), A([[1, 2]]))).toThrow(ShapeError);
  });
});

describe("views", () => {
  test("reshape with -1", () => {
    const x = arange([2, 3, 4]);
    expect(reshape(x, [-1, 4]).shape).toEqual([6, 4]);
    expect(reshape(x, [4, -1]).shape).toEqual([4, 6]);
    expect(reshape(x, [24]).data).toEqual(x.data);
    expect(() => reshape(x, [5, -1])).toThrow(ShapeError);
    expect(() => reshape(x, [-1, -1])).toThrow(ShapeError);
  });

  test("permute and transpose", () => {
    const x = arange([2, 3, 4]);
    const p = permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expect(p.get(k, i, j)).toBe(x.get(i, j, k));
    expect(transpose(A([[1, 2, 3], [4, 5, 6]]), 0, -1).toNested()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(permute(permute(x, [2, 0, 1]), [1, 2, 0]).data).toEqual(x.data); // [1, 2, 0] inverts [2, 0, 1]
    expect(() => permute(x, [0, 0, 1])).toThrow(ShapeError);
  });

  test("expand repeats size-1 axes and prepends new ones", () => {
    expect(expand(A([[1], [2]]), [2, 3]).toNested()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(expand(A([1, 2]), [2, -1]).toNested()).toEqual([[1, 2], [1, 2]]);
    expect(() => expand(A([1, 2]), [-1, 2])).toThrow(ShapeError);
  });

  test("slice follows python semantics", () => {
    const v = arange([10]);
    const s = (spec: [number | null, number | null, number?]) => Array.from(slice(v, [spec]).data);
    expect(s([2, 5])).toEqual([2, 3, 4]);
    expect(s([-3, null])).toEqual([7, 8, 9]);
    expect(s([null, -7])).toEqual([0, 1, 2]);
    expect(s([1, null, 3])).toEqual([1, 4, 7]);
    expect(s([-100, 100, 4])).toEqual([0, 4, 8]);
    expect(s([6, 2])).toEqual([]);
    const x = arange([3, 4]);
    expect(slice(x, [[1, null]]).toNested()).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]); // trailing axes kept whole
    expect(slice(x, [null, [null, null, 2]]).toNested()).toEqual([[0, 2], [4, 6], [8, 10]]);
    expect(() => slice(v, [[0, 5, 0]])).toThrow(ShapeError);
  });

  test("pad, and slice inverts pad", () => {
    expect(pad(A([[1, 2]]), [[1, 0], [0, 1]], 9).toNested()).toEqual([[9, 9, 9], [1, 2, 9]]);
    const x = randnArray([2, 3, 4], 5);
    const padded = pad(x, [[0, 0], [1, 2], [3, 1]], -7);
    expect(padded.shape).toEqual([2, 6, 8]);
    expect(slice(padded, [null, [1, -2], [3, -1]]).data).toEqual(x.data);
    expect(sum(padded).toNested()).toBeCloseTo(sum(x).toNested() as number + -7 * (2 * 6 * 8 - 24), 10);
    expect(pad(padded, [[0, 0], [-1, -2], [-3, -1]]).data).toEqual(x.data); // negative pads crop
  });

  test("cat and stack", () => {
    const a = A([[1, 2], [3, 4]]);
    const b = A([[5], [6]]);
    expect(cat([a, b], 1).toNested()).toEqual([[1, 2, 5], [3, 4, 6]]);
    expect(cat([a, transpose(b, 0, 1)], 0).toNested()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(() => cat([a, b], 0)).toThrow(ShapeError);
    expect(stack([A([1, 2]), A([3, 4])], 0).toNested()).toEqual([[1, 2], [3, 4]]);
    expect(stack([A([1, 2]), A([3, 4])], -1).toNested()).toEqual([[1, 3], [2, 4]]);
  });

  test("gather matches torch.gather", () => {
    const x = A([[1, 2], [3, 4]]);
    // torch.gather(t, 1, [[0, 0], [1, 0]]) → [[1, 1], [4, 3]] (the example from the PyTorch docs)
    expect(gather(x, 1, A([[0, 0], [1, 0]])).toNested()).toEqual([[1, 1], [4, 3]]);
    expect(gather(x, 0, A([[1, 0]])).toNested()).toEqual([[3, 2]]);
    expect(gather(x, -1, A([[1], [0]])).toNested()).toEqual([[2], [3]]);
    expect(() => gather(x, 1, A([[2, 0], [0, 0]]))).toThrow(RangeError);
    expect(() => gather(x, 1, A([0, 1]))).toThrow(ShapeError);
  });

  test("indexSelect picks and repeats slices", () => {
    const x = arange([3, 2]);
    expect(indexSelect(x, 0, [2, 0, 2]).toNested()).toEqual([[4, 5], [0, 1], [4, 5]]);
    expect(indexSelect(x, -1, A([1])).toNested()).toEqual([[1], [3], [5]]);
    expect(() => indexSelect(x, 0, [3])).toThrow(RangeError);
  });

  test("sumToShape undoes expand and is its adjoint", () => {
    const g = arange([2, 3, 4]);
    // out[j] = Σ_i Σ_k (12i + 4j + k) = 32j + 60
    expect(sumToShape(g, [3, 1]).toNested()).toEqual([[60], [92], [124]]);
    // ⟨expand(x), g⟩ = ⟨x, sumToShape(g)⟩ for every x
    const x = randnArray([3, 1], 7);
    expect(dot(expand(x, [2, 3, 4]), g)).toBeCloseTo(dot(x, sumToShape(g, [3, 1])), 10);
    expect(sumToShape(A([[1, 2], [3, 4]]), [2]).toNested()).toEqual([4, 6]);
    expect(sumToShape(A([[1, 2], [3, 4]]), []).toNested()).toBe(10);
    expect(() => sumToShape(A([[1, 2], [3, 4]]), [3])).toThrow(ShapeError);
  });
});

describe("conv2d", () => {
  test("3x3 input, 2x2 kernel by hand", () => {
    const x = A([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = A([1, 0, 0, -1], [1, 1, 2, 2]); // out = x[i, j] − x[i+1, j+1] = −4 everywhere
    expect(conv2d(x, w).toNested()).toEqual([[[[-4, -4], [-4, -4]]]]);
    expect(conv2d(x, w, A([10])).toNested()).toEqual([[[[6, 6], [6, 6]]]]);
    // padding 1, stride 2: windows at (−1,−1), (−1,1), (1,−1), (1,1)
    expect(conv2d(x, w, undefined, { padding: 1, stride: 2 }).toNested()).toEqual([[[[0 - 1, 0 - 3], [0 - 7, 5 - 9]]]]);
  });

  test("dilation and groups", () => {
    const x = arange([1, 2, 3, 3]);
    const w = A([1, 1, 1, 1, 2, 2, 2, 2], [2, 1, 2, 2]);
    // groups=2: channel o only sees input channel o; dilation 2 takes the 4 corners of the 3x3
    const y = conv2d(x, w, undefined, { dilation: 2, groups: 2 });
    expect(y.toNested()).toEqual([[[[0 + 2 + 6 + 8]], [[2 * (9 + 11 + 15 + 17)]]]]);
    expect(() => conv2d(x, A([1, 1, 1, 1], [1, 1, 2, 2]))).toThrow(ShapeError); // Cin/groups mismatch
  });

  test("equals matmul for a 1x1 kernel", () => {
    const x = randnArray([2, 3, 4, 5], 1);
    const w = randnArray([6, 3, 1, 1], 2);
    const viaMatmul = matmul(reshape(w, [6, 3]), reshape(permute(x, [1, 0, 2, 3]), [3, -1])); // [6, 2·4·5]
    const y = conv2d(x, w);
    expectAllclose(permute(y, [1, 0, 2, 3]), reshape(viaMatmul, [6, 2, 4, 5]), { rtol: 1e-13 });
  });
});

describe("convTranspose2d", () => {
  test("stride 2 scatters the kernel by hand", () => {
    const x = A([1, 2], [1, 1, 1, 2]);
    const w = A([1, 2, 3, 4], [1, 1, 2, 2]);
    // out is 2x4: x[0] stamps w at columns 0-1, x[1] stamps 2w at columns 2-3
    expect(convTranspose2d(x, w, undefined, { stride: 2 }).toNested()).toEqual([[[[1, 2, 2, 4], [3, 4, 6, 8]]]]);
    // stride 1: the stamps overlap in column 1
    expect(convTranspose2d(x, w, A([100])).toNested()).toEqual([[[[101, 104, 104], [103, 110, 108]]]]);
  });

  const configs = [
    { n: 2, cin: 3, cout: 2, h: 5, w: 6, k: [3, 3], stride: 1, padding: 0, dilation: 1, groups: 1 },
    { n: 1, cin: 2, cout: 4, h: 7, w: 6, k: [3, 2], stride: 2, padding: 1, dilation: 1, groups: 1 },
    { n: 1, cin: 4, cout: 6, h: 8, w: 8, k: [3, 3], stride: [2, 3], padding: [1, 2], dilation: 1, groups: 2 },
    { n: 2, cin: 2, cout: 2, h: 9, w: 7, k: [2, 3], stride: 2, padding: 2, dilation: [2, 1], groups: 1 },
    { n: 1, cin: 3, cout: 3, h: 6, w: 5, k: [4, 4], stride: 3, padding: 0, dilation: 1, groups: 3 },
  ] as const;

  test.each(configs)("is the adjoint of conv2d: ⟨conv(x), y⟩ = ⟨x, convT(y)⟩ (%#)", (c) => {
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const x = randnArray([c.n, c.cin, c.h, c.w], 11);
    const w = randnArray([c.cout, c.cin / c.groups, c.k[0], c.k[1]], 12);
    const cx = conv2d(x, w, undefined, opts);
    const y = randnArray([...cx.shape], 13);
    // choose outputPadding so that convT(y) has x's shape again (conv2d's ⌊·⌋ drops up to stride−1 rows)
    const probe = convTranspose2d(y, w, undefined, opts);
    const outputPadding: [number, number] = [c.h - probe.shape[2], c.w - probe.shape[3]];
    const ty = convTranspose2d(y, w, undefined, { ...opts, outputPadding });
    expect(ty.shape).toEqual(x.shape);
    expect(dot(cx, y)).toBeCloseTo(dot(x, ty), 10);
  });

  test("rejects bad outputPadding and channel mismatches", () => {
    const y = randnArray([1, 2, 3, 3], 1);
    expect(() => convTranspose2d(y, randnArray([2, 1, 3, 3], 2), undefined, { stride: 2, outputPadding: 2 })).toThrow(ShapeError);
    expect(() => convTranspose2d(y, randnArray([3, 1, 3, 3], 2))).toThrow(ShapeError);
  });
});

describe("dot", () => {
  test("sums the elementwise product of same-shaped arrays", () => {
    expect(dot(A([[1, 2], [3, 4]]), A([[5, 6], [7, 8]]))).toBe(70);
    expect(() => dot(A([1, 2]), A([[1, 2]]))).toThrow(ShapeError);
  });
});

describe("numeric helpers", () => {
  test("allclose reports the worst index and treats NaN and ±∞ strictly", () => {
    expect(allclose([1, 2, 3], [1, 2, 3 + 1e-9]).ok).toBe(true);
    const r = allclose(A([[1, 2], [3, 4]]), A([[1, 2.001], [3, 5]]));
    expect(r.ok).toBe(false);
    expect(r.worstIndex).toBe(3);
    expect(r.maxAbs).toBe(1);
    expect(r.message).toContain("[1, 1]");
    expect(allclose([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity]).ok).toBe(true);
    expect(allclose([Infinity], [-Infinity]).ok).toBe(false);
    expect(allclose([1e308], [Infinity]).ok).toBe(false);
    expect(allclose([NaN], [0]).ok).toBe(false);
    expect(allclose([1, 2], [1]).ok).toBe(false);
    expect(() => expectAllclose([1, 2], [1, 3], {}, "label")).toThrow(/label: 1 of 2 values differ.*\[1\]/);
  });

  test("seeded arrays are reproducible and look right", () => {
    expect(randnArray([5], 42).data).toEqual(randnArray([5], 42).data);
    expect(randnArray([5], 42).data).not.toEqual(randnArray([5], 43).data);
    const u = randArray([4000], 3, -2, 6);
    expect(amin(u).toNested()).toBeGreaterThanOrEqual(-2);
    expect(amax(u).toNested()).toBeLessThan(6);
    expect(mean(u).toNested()).toBeCloseTo(2, 0);
    const z = randnArray([4000], 9);
    expect(Math.abs(mean(z).toNested() as number)).toBeLessThan(0.1); // 4σ for n = 4000 is 0.063
    expect(Math.abs((varOf(z).toNested() as number) - 1)).toBeLessThan(0.1);
  });

  test("numericGrad matches known gradients and leaves inputs alone", () => {
    // f(a, b) = Σ a² b + sin(a) has ∂f/∂a = 2ab + cos(a), ∂f/∂b = a² (b broadcast over rows)
    const a = randnArray([3, 2], 1);
    const b = randnArray([2], 2);
    const before = a.clone();
    const f = ([p, q]: NdArray[]) => sum(zip(p, q, (u, v) => u * u * v + Math.sin(u))).toNested() as number;
    const [ga, gb] = numericGrad(f, [a, b]);
    expectAllclose(ga, zip(a, b, (u, v) => 2 * u * v + Math.cos(u)), { rtol: 1e-7, atol: 1e-8 });
    expectAllclose(gb, sum(map(a, (u) => u * u), 0), { rtol: 1e-7, atol: 1e-8 });
    expect(a.data).toEqual(before.data);
  });

  test("numericGrad of logsumexp is softmax", () => {
    const x = randnArray([2, 4], 3);
    const [g] = numericGrad(([v]) => logsumexp(v).toNested() as number, [x]);
    expectAllclose(g, softmax(reshape(x, [8]), 0), { rtol: 1e-7, atol: 1e-9 });
  });
});

describe("zip3 and where agree", () => {
  test("where(c, a, b) = c·a + (1 − c)·b for 0/1 conditions", () => {
    const c = map(randArray([3, 1, 4], 1), (u) => (u < 0.5 ? 0 : 1));
    const a = randnArray([2, 1], 2);
    const b = randnArray([4], 3);
    expectAllclose(where(c, a, b), zip3(c, a, b, (ci, ai, bi) => ci * ai + (1 - ci) * bi), { rtol: 0, atol: 0 });
  });
});
