/**
 * matmul through the engine: torch.matmul semantics (1-D promotion, batch broadcasting),
 * transposed operands folded into strides, gradients, and the fused bias+activation epilogue.
 */
import { afterAll, beforeAll, describe, expect, test, vi, type MockInstance } from "vitest";
import { NdArray, matmul as refMatmul, map, zip, transpose as refT } from "../../engine/cpu.js";
import { matmul, realize, scope, transpose } from "../../engine/index.js";
import { CommandBatch } from "../../engine/dispatch.js";
import { checkOp, upload, asF32 } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randnArray } from "../helpers/numeric.js";

await testDevice();
let spy: MockInstance<CommandBatch["dispatch"]>;
beforeAll(() => void (spy = vi.spyOn(CommandBatch.prototype, "dispatch")));
afterAll(() => vi.restoreAllMocks());

const cases: [string, number[], number[]][] = [
  ["2-D", [5, 7], [7, 3]],
  ["odd sizes", [17, 33], [33, 65]],
  ["vector @ matrix", [7], [7, 4]],
  ["matrix @ vector", [4, 7], [7]],
  ["vector @ vector", [9], [9]],
  ["batched", [3, 5, 6], [3, 6, 4]],
  ["broadcast batch", [2, 1, 5, 6], [3, 6, 4]],
  ["batched @ 2-D", [4, 5, 6], [6, 2]],
];

describe.each(cases)("matmul %s", (_label, sa, sb) => {
  test("forward and gradients", async () => {
    await checkOp({ label: `matmul ${sa} @ ${sb}`, fn: (a, b) => matmul(a!, b!), ref: (a, b) => refMatmul(a!, b!), inputs: [randnArray(sa, 1), randnArray(sb, 2)], rtol: 1e-4, atol: 1e-4 });
  });
});

test("transposed operands (views) give the same result", async () => {
  await checkOp({
    label: "Aᵀ Bᵀ",
    fn: (a, b) => matmul(transpose(a!), transpose(b!)),
    ref: (a, b) => refMatmul(refT(a!, 0, 1), refT(b!, 0, 1)),
    inputs: [randnArray([6, 5], 3), randnArray([4, 6], 4)],
    rtol: 1e-4,
    atol: 1e-4,
  });
});

test("bias + activation after a matmul is one kernel", async () => {
  await withDevice(async () => {
    await scope(async () => {
      const xs = asF32(randnArray([8, 16], 5)), ws = asF32(randnArray([12, 16], 6)), bs = asF32(randnArray([12], 7));
      const x = upload(xs), w = upload(ws), b = upload(bs);
      await realize(x, w, b);
      const before = spy.mock.calls.length;
      const y = matmul(x, transpose(w)).add(b).tanh();
      await realize(y);
      expect(spy.mock.calls.length - before).toBe(1);
      const ref = map(zip(refMatmul(xs, refT(ws, 0, 1)), bs, (u, v) => u + v), Math.tanh);
      expectAllclose(await y.toArray(), ref, { rtol: 1e-4, atol: 1e-5 });
    });
  });
});

test("an epilogue with its own constants and a second matmul input", async () => {
  await withDevice(async () => {
    await scope(async () => {
      const as = asF32(randnArray([2, 5, 6], 8)), bs = asF32(randnArray([2, 6, 3], 9)), cs = asF32(randnArray([2, 5, 3], 10));
      const y = matmul(upload(as), upload(bs)).mul(0.5).add(upload(cs)).relu();
      const ref = map(zip(map(refMatmul(as, bs), (v) => v * 0.5), cs, (u, v) => u + v), (v) => Math.max(v, 0));
      expectAllclose(await y.toArray(), ref, { rtol: 1e-4, atol: 1e-5 });
      void NdArray;
    });
  });
});

test("autotune measures candidates once per shape class and stays correct", async () => {
  const dev = await testDevice();
  const { autotuneMatmul } = await import("../../engine/tuning.js");
  await withDevice(async () => {
    const before = dev.cache.size;
    await autotuneMatmul(dev, { M: 96, N: 80, K: 72, batch: 1, transA: false, transB: false });
    expect(dev.cache.size).toBe(before + 1);
    await autotuneMatmul(dev, { M: 100, N: 70, K: 65, batch: 1, transA: false, transB: false }); // same class
    expect(dev.cache.size).toBe(before + 1);
    await scope(async () => {
      const as = asF32(randnArray([96, 72], 21)), bs = asF32(randnArray([72, 80], 22));
      expectAllclose(await matmul(upload(as), upload(bs)).toArray(), refMatmul(as, bs), { rtol: 1e-4, atol: 1e-4 });
    });
  });
});
