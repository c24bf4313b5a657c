/**
 * Movement ops (views) and the ops built from them: every case runs the GPU forward against the
 * float64 oracle (engine/cpu.ts) and the gradient against central differences under a random
 * cotangent (checkOp). Views have no kernels of their own, so each case also exercises the index
 * arithmetic the fused kernel generates for it.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { cat, chunk, flatten, narrow, pad, permute, scope, split, squeeze, stack, sum, transpose, unsqueeze, where } from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { randnArray } from "../helpers/numeric.js";

await testDevice();

const rn = (shape: number[], seed: number) => randnArray(shape, seed);
/** Integer-valued NdArray (index tensors, masks). */
const ints = (values: number[], shape: number[]) => new NdArray(Float64Array.from(values), shape);
/**
 * The oracle's gather rejects non-integer indices, and numericGrad perturbs every input by ±ε
 * (the index too, even though its gradient is never compared), so the reference rounds first.
 */
const rounded = (x: NdArray) => cpu.map(x, Math.round);

describe("reshape", () => {
  test("with -1", () =>
    checkOp({ label: "reshape [2,3,4]→[4,-1]", fn: (x) => x!.reshape([4, -1]), ref: (x) => cpu.reshape(x!, [4, 6]), inputs: [rn([2, 3, 4], 1)] }));

  test("adding and removing size-1 dims", () =>
    checkOp({ label: "reshape [3,1,5]→[1,3,5,1]", fn: (x) => x!.reshape([1, 3, 5, 1]), ref: (x) => cpu.reshape(x!, [1, 3, 5, 1]), inputs: [rn([3, 1, 5], 2)] }));

  test("of a non-contiguous source (reshape of a permute)", () =>
    checkOp({
      label: "permute([2,0,1]).reshape([4,6])",
      fn: (x) => x!.permute([2, 0, 1]).reshape([4, 6]),
      ref: (x) => cpu.reshape(cpu.permute(x!, [2, 0, 1]), [4, 6]),
      inputs: [rn([2, 3, 4], 3)],
    }));

  test("of a transposed matrix, regrouping across the swapped axes", () =>
    checkOp({
      label: "T.reshape([3,2,5])",
      fn: (x) => x!.T.reshape([3, 2, 5]),
      ref: (x) => cpu.reshape(cpu.transpose(x!, 0, 1), [3, 2, 5]),
      inputs: [rn([5, 6], 4)],
    }));
});

describe("permute / transpose", () => {
  test("rank-4 permute", () =>
    checkOp({ label: "permute [3,1,0,2]", fn: (x) => permute(x!, [3, 1, 0, 2]), ref: (x) => cpu.permute(x!, [3, 1, 0, 2]), inputs: [rn([2, 3, 4, 5], 5)] }));

  test("negative axes in the permutation", () =>
    checkOp({ label: "permute [-1,0,1]", fn: (x) => x!.permute([-1, 0, 1]), ref: (x) => cpu.permute(x!, [2, 0, 1]), inputs: [rn([2, 3, 4], 6)] }));

  test("transpose(0, 2) and .T", async () => {
    await checkOp({ label: "transpose(0,2)", fn: (x) => transpose(x!, 0, 2), ref: (x) => cpu.transpose(x!, 0, 2), inputs: [rn([2, 3, 4], 7)] });
    await checkOp({ label: ".T", fn: (x) => x!.T, ref: (x) => cpu.transpose(x!, 0, 1), inputs: [rn([3, 5], 8)] });
  });

  test("permute of a permute of a permute is the composed permutation", () =>
    checkOp({
      label: "permute∘permute∘permute",
      fn: (x) => x!.permute([1, 2, 0]).permute([2, 0, 1]).permute([0, 2, 1]),
      ref: (x) => cpu.permute(cpu.permute(cpu.permute(x!, [1, 2, 0]), [2, 0, 1]), [0, 2, 1]),
      inputs: [rn([2, 3, 4], 9)],
    }));
});

describe("expand", () => {
  test("size-1 dims and new leading dims (gradient sums the copies)", () =>
    checkOp({ label: "expand [3,1]→[2,3,4]", fn: (x) => x!.expand([2, 3, 4]), ref: (x) => cpu.expand(x!, [2, 3, 4]), inputs: [rn([3, 1], 10)] }));

  test("-1 keeps a dimension", () =>
    checkOp({ label: "expand [1,4]→[3,-1]", fn: (x) => x!.expand([3, -1]), ref: (x) => cpu.expand(x!, [3, 4]), inputs: [rn([1, 4], 11)] }));
});

describe("slice", () => {
  test("steps", () =>
    checkOp({
      label: "x[::2, 1::3]",
      fn: (x) => x!.slice([[0, undefined, 2], [1, undefined, 3]]),
      ref: (x) => cpu.slice(x!, [[0, null, 2], [1, null, 3]]),
      inputs: [rn([5, 8], 12)],
    }));

  test("negative bounds and an index that drops its dimension", () =>
    checkOp({
      label: "x[-1, -4:-1, ::2]",
      fn: (x) => x!.slice([-1, [-4, -1], [0, undefined, 2]]),
      ref: (x) => cpu.reshape(cpu.slice(x!, [[2, 3], [-4, -1], [0, null, 2]]), [3, 3]),
      inputs: [rn([3, 5, 5], 13)],
    }));

  test("out-of-range bounds clamp like Python; a trailing missing spec means the whole dim", () =>
    checkOp({
      label: "x[1:100]",
      fn: (x) => x!.slice([[1, 100]]),
      ref: (x) => cpu.slice(x!, [[1, 100]]),
      inputs: [rn([4, 3], 14)],
    }));

  test("an empty slice has a zero-size shape and reads back nothing", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(rn([4, 3], 15));
        const y = x.slice([[3, 1]]);
        expect(y.shape).toEqual([0, 3]);
        expect((await y.toArray()).length).toBe(0);
      });
    });
  });

  test("narrow", () =>
    checkOp({ label: "narrow(1, 2, 3)", fn: (x) => narrow(x!, 1, 2, 3), ref: (x) => cpu.slice(x!, [null, [2, 5]]), inputs: [rn([3, 6], 16)] }));

  test("slice of a reduction's output (a kernel root read through a view)", () =>
    checkOp({
      label: "sum(x, 2)[:, 1::2]",
      fn: (x) => sum(x!, 2).slice([null, [1, undefined, 2]]),
      ref: (x) => cpu.slice(cpu.sum(x!, 2), [null, [1, null, 2]]),
      inputs: [rn([3, 5, 4], 17)],
    }));
});

describe("pad", () => {
  test("constant value ≠ 0 on several dims", () =>
    checkOp({
      label: "pad [[1,2],[0,3]] value 2.5",
      fn: (x) => pad(x!, [[1, 2], [0, 3]], 2.5),
      ref: (x) => cpu.pad(x!, [[1, 2], [0, 3]], 2.5),
      inputs: [rn([3, 4], 18)],
    }));

  test("missing trailing pad pairs leave those dims alone", () =>
    checkOp({
      label: "pad [[2,0]] of rank 3",
      fn: (x) => x!.pad([[2, 0]], -1),
      ref: (x) => cpu.pad(x!, [[2, 0], [0, 0], [0, 0]], -1),
      inputs: [rn([2, 3, 2], 19)],
    }));

  test("pad of a pad, then sliced back into the padding", () =>
    checkOp({
      label: "pad(pad(x)).slice",
      fn: (x) => x!.pad([[1, 1]], 3).pad([[0, 0], [2, 1]], -2).slice([[0, 4], [1, 6]]),
      ref: (x) => cpu.slice(cpu.pad(cpu.pad(x!, [[1, 1], [0, 0]], 3), [[0, 0], [2, 1]], -2), [[0, 4], [1, 6]]),
      inputs: [rn([3, 4], 20)],
    }));
});

describe("squeeze / unsqueeze / flatten", () => {
  test("squeeze all, squeeze one dim, unsqueeze, flatten ranges", async () => {
    const x = rn([1, 3, 1, 4], 21);
    await checkOp({ label: "squeeze()", fn: (t) => squeeze(t!), ref: (t) => cpu.reshape(t!, [3, 4]), inputs: [x] });
    await checkOp({ label: "squeeze(2)", fn: (t) => t!.squeeze(2), ref: (t) => cpu.reshape(t!, [1, 3, 4]), inputs: [x] });
    await checkOp({ label: "squeeze([0,-2])", fn: (t) => t!.squeeze([0, -2]), ref: (t) => cpu.reshape(t!, [3, 4]), inputs: [x] });
    await checkOp({ label: "squeeze(1) keeps a non-1 dim", fn: (t) => t!.squeeze(1), ref: (t) => t!.clone(), inputs: [x] });
    await checkOp({ label: "unsqueeze(-1)", fn: (t) => unsqueeze(t!, -1), ref: (t) => cpu.reshape(t!, [1, 3, 1, 4, 1]), inputs: [x] });
    await checkOp({ label: "flatten()", fn: (t) => flatten(t!), ref: (t) => cpu.reshape(t!, [12]), inputs: [rn([2, 3, 2], 22)] });
    await checkOp({ label: "flatten(1)", fn: (t) => t!.flatten(1), ref: (t) => cpu.reshape(t!, [2, 6]), inputs: [rn([2, 3, 2], 23)] });
    await checkOp({ label: "flatten(0, 1)", fn: (t) => t!.flatten(0, 1), ref: (t) => cpu.reshape(t!, [6, 2]), inputs: [rn([2, 3, 2], 24)] });
  });

  test("flatten of a permuted tensor", () =>
    checkOp({ label: "permute.flatten", fn: (x) => x!.permute([1, 0, 2]).flatten(), ref: (x) => cpu.reshape(cpu.permute(x!, [1, 0, 2]), [-1]), inputs: [rn([2, 3, 2], 25)] }));
});

describe("chains of views", () => {
  test("permute → slice → reshape → expand", () =>
    checkOp({
      label: "permute→slice→reshape→expand",
      fn: (x) =>
        x!
          .permute([2, 0, 1]) // [5, 4, 3]
          .slice([[1, 5, 2], null, [0, 2]]) // [2, 4, 2]
          .reshape([2, 1, 8])
          .expand([2, 3, 8]),
      ref: (x) => cpu.expand(cpu.reshape(cpu.slice(cpu.permute(x!, [2, 0, 1]), [[1, 5, 2], null, [0, 2]]), [2, 1, 8]), [2, 3, 8]),
      inputs: [rn([4, 3, 5], 26)],
    }));

  test("expand → permute → slice → reshape, with arithmetic between the views", () =>
    checkOp({
      label: "expand→permute→mul→slice→reshape",
      fn: (x, y) =>
        x!
          .expand([4, 3, 5])
          .permute([2, 1, 0])
          .mul(y!)
          .slice([[-3], null, [1, 4]])
          .reshape([-1]),
      ref: (x, y) => cpu.reshape(cpu.slice(cpu.zip(cpu.permute(cpu.expand(x!, [4, 3, 5]), [2, 1, 0]), y!, (a, b) => a * b), [[-3, null], null, [1, 4]]), [-1]),
      inputs: [rn([3, 1], 27), rn([5, 3, 4], 28)],
    }));
});

describe("cat / stack / split / chunk", () => {
  test("cat along the middle axis, uneven sizes", () =>
    checkOp({
      label: "cat axis 1",
      fn: (a, b, c) => cat([a!, b!, c!], 1),
      ref: (a, b, c) => cpu.cat([a!, b!, c!], 1),
      inputs: [rn([2, 1, 3], 29), rn([2, 3, 3], 30), rn([2, 2, 3], 31)],
    }));

  test("cat along a negative axis, with the same tensor twice", () =>
    checkOp({ label: "cat [x, y, x] axis -1", fn: (x, y) => cat([x!, y!, x!], -1), ref: (x, y) => cpu.cat([x!, y!, x!], -1), inputs: [rn([3, 2], 32), rn([3, 4], 33)] }));

  test("stack at axis 1 and at the end", async () => {
    const ins = [rn([3, 4], 34), rn([3, 4], 35), rn([3, 4], 36)];
    await checkOp({ label: "stack axis 1", fn: (a, b, c) => stack([a!, b!, c!], 1), ref: (a, b, c) => cpu.stack([a!, b!, c!], 1), inputs: ins });
    await checkOp({ label: "stack axis -1", fn: (a, b, c) => stack([a!, b!, c!], -1), ref: (a, b, c) => cpu.stack([a!, b!, c!], 2), inputs: ins });
  });

  test("split by sizes, pieces reassembled in another order", () =>
    checkOp({
      label: "split [1,3,1]",
      fn: (x) => {
        const [a, b, c] = split(x!, [1, 3, 1], 1);
        expect([a!.shape, b!.shape, c!.shape]).toEqual([[2, 1], [2, 3], [2, 1]]);
        return cat([c!.mul(2), a!, b!.neg()], 1);
      },
      ref: (x) =>
        cpu.cat(
          [cpu.map(cpu.slice(x!, [null, [4, 5]]), (v) => 2 * v), cpu.slice(x!, [null, [0, 1]]), cpu.map(cpu.slice(x!, [null, [1, 4]]), (v) => -v)],
          1,
        ),
      inputs: [rn([2, 5], 37)],
    }));

  test("split by a size leaves a smaller last piece; chunk like torch.chunk", async () => {
    await checkOp({
      label: "split(2) of 5",
      fn: (x) => {
        const parts = x!.split(2, 0);
        expect(parts.map((p) => p.shape[0])).toEqual([2, 2, 1]);
        return cat([parts[2]!, parts[0]!.mul(3)], 0);
      },
      ref: (x) => cpu.cat([cpu.slice(x!, [[4, 5]]), cpu.map(cpu.slice(x!, [[0, 2]]), (v) => 3 * v)], 0),
      inputs: [rn([5, 2], 38)],
    });
    await checkOp({
      label: "chunk(3) of 7 along axis 1",
      fn: (x) => {
        const parts = chunk(x!, 3, 1);
        expect(parts.map((p) => p.shape[1])).toEqual([3, 3, 1]);
        return parts[1]!.sub(parts[0]!).mul(parts[2]!);
      },
      ref: (x) => {
        const p = (a: number, b: number) => cpu.slice(x!, [null, [a, b]]);
        return cpu.zip(cpu.zip(p(3, 6), p(0, 3), (u, v) => u - v), p(6, 7), (u, v) => u * v);
      },
      inputs: [rn([2, 7], 39)],
    });
  });
});

describe("gather / indexSelect", () => {
  test("gather along axis 1 with an index smaller than the input on the other dims", () =>
    checkOp({
      label: "gather axis 1, index [2,3,2] into [3,4,3]",
      fn: (x, i) => x!.gather(1, i!),
      ref: (x, i) => cpu.gather(x!, 1, rounded(i!)),
      inputs: [rn([3, 4, 3], 40), ints([0, 3, 3, 1, 2, 0, 2, 2, 1, 0, 0, 3], [2, 3, 2])],
      dtypes: ["f32", "i32"],
      grad: [true, false],
    }));

  test("gather along axis 0 and along axis -1 (repeated indices accumulate)", async () => {
    await checkOp({
      label: "gather axis 0",
      fn: (x, i) => x!.gather(0, i!),
      ref: (x, i) => cpu.gather(x!, 0, rounded(i!)),
      inputs: [rn([3, 4], 41), ints([2, 0, 2, 1, 1, 1, 0, 2, 2, 2, 2, 0], [3, 4])],
      dtypes: ["f32", "i32"],
      grad: [true, false],
    });
    await checkOp({
      label: "gather axis -1 (u32 index, more picks than the axis holds)",
      fn: (x, i) => x!.gather(-1, i!),
      ref: (x, i) => cpu.gather(x!, 1, rounded(i!)),
      inputs: [rn([2, 3], 42), ints([0, 0, 2, 1, 2, 2, 2, 0], [2, 4])],
      dtypes: ["f32", "u32"],
      grad: [true, false],
    });
  });

  test("indexSelect as an embedding lookup with repeated rows: the gradient accumulates", () =>
    checkOp({
      label: "embedding lookup",
      fn: (w, i) => w!.indexSelect(0, i!),
      ref: (w, i) => cpu.indexSelect(w!, 0, rounded(i!)),
      inputs: [rn([6, 4], 43), ints([2, 0, 2, 5, 2], [5])],
      dtypes: ["f32", "i32"],
      grad: [true, false],
    }));

  test("indexSelect along the last axis of a rank-3 tensor", () =>
    checkOp({
      label: "indexSelect axis 2",
      fn: (x, i) => x!.indexSelect(2, i!),
      ref: (x, i) => cpu.indexSelect(x!, 2, rounded(i!)),
      inputs: [rn([2, 3, 4], 44), ints([3, 1, 3], [3])],
      dtypes: ["f32", "i32"],
      grad: [true, false],
    }));

  test("gather whose index is itself computed (argmax) and whose source is a view", () =>
    checkOp({
      label: "x.T.gather(1, argmax)",
      fn: (x) => x!.T.gather(1, x!.T.argmax(1, { keepDims: true })),
      ref: (x) => cpu.amax(cpu.transpose(x!, 0, 1), 1, true),
      inputs: [rn([5, 3], 45)],
    }));
});

describe("where", () => {
  test("condition, branches and result all broadcast", () =>
    checkOp({
      label: "where([3,1], [1,4], [3,4])",
      fn: (c, a, b) => where(c!, a!, b!),
      ref: (c, a, b) => cpu.where(c!, a!, b!),
      inputs: [ints([1, 0, 1], [3, 1]), rn([1, 4], 46), rn([3, 4], 47)],
      dtypes: ["u32", "f32", "f32"],
      grad: [false, true, true],
    }));

  test("scalar branch and a comparison mask; method form", () =>
    checkOp({
      label: "x.where(x > 0.2, -1)",
      fn: (x) => x!.where(x!.gt(0.2), -1),
      ref: (x) => cpu.map(x!, (v) => (Math.fround(v) > Math.fround(0.2) ? v : -1)),
      inputs: [rn([4, 5], 48)],
    }));

  test("a [2,1,3] mask against [4,1] values and a [3] other branch", () =>
    checkOp({
      label: "where 3-way broadcast",
      fn: (c, a, b) => where(c!.gt(0), a!, b!),
      ref: (c, a, b) => cpu.where(cpu.map(c!, (v) => (v > 0 ? 1 : 0)), a!, b!),
      inputs: [rn([2, 1, 3], 49), rn([4, 1], 50), rn([3], 51)],
      grad: [false, true, true],
    }));
});
