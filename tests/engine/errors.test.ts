/**
 * Named errors: every user mistake raises a specific class whose message names the op and the
 * shapes (or dtypes) involved; a lost device and a missing adapter are named too, and never hang.
 */
import { describe, expect, test } from "vitest";
import {
  DTypeError, DeviceLostError, ShapeError, WebGPUUnavailableError, cat, full, gather, init, logSoftmax, scope, split, sum, tensor, type Device,
} from "../../engine/index.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

/** Asserts `fn` throws `cls` with a message containing every fragment. */
function expectError(fn: () => unknown, cls: new (...a: never[]) => Error, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${cls.name}`).toBeInstanceOf(cls);
  const err = caught as Error;
  expect(err.name).toBe(cls.name);
  for (const f of fragments) expect(err.message, `message of ${cls.name}`).toContain(f);
}

describe("ShapeError", () => {
  test("names the op and both shapes", async () => {
    await withDevice(() =>
      scope(async () => {
        const a = tensor([[1, 2, 3], [4, 5, 6]]);
        const b = tensor([1, 2, 3, 4]);
        expectError(() => a.add(b), ShapeError, "add", "[2, 3]", "[4]");
        expectError(() => a.reshape([4, 2]), ShapeError, "reshape", "[2, 3]", "[4, 2]");
        expectError(() => a.reshape([-1, 4]), ShapeError, "reshape", "[2, 3]");
        expectError(() => a.reshape([-1, -1]), ShapeError, "reshape");
        expectError(() => a.slice([5]), ShapeError, "slice", "index 5", "[2, 3]");
        expectError(() => a.slice([null, -4]), ShapeError, "slice", "[2, 3]");
        expectError(() => a.slice([null, null, null]), ShapeError, "slice", "[2, 3]");
        expectError(() => a.slice([[0, 2, 0]]), ShapeError, "slice", "step");
        expectError(() => a.permute([0, 0]), ShapeError, "permute", "[2, 3]");
        expectError(() => a.permute([0]), ShapeError, "permute", "[2, 3]");
        expectError(() => a.permute([0, 2]), ShapeError, "permute", "rank 2");
        expectError(() => cat([a, tensor([[1, 2, 3, 4]])], 0), ShapeError, "cat", "[2, 3]", "[1, 4]");
        expectError(() => cat([a, tensor([1, 2, 3])], 0), ShapeError, "cat", "[2, 3]", "[3]");
        expectError(() => gather(a, 1, tensor([0, 1], undefined, { dtype: "i32" })), ShapeError, "gather", "[2, 3]", "[2]");
        expectError(() => gather(a, 1, tensor([[0], [1], [0]], undefined, { dtype: "i32" })), ShapeError, "gather", "[2, 3]", "[3, 1]");
        expectError(() => a.expand([4, 3]), ShapeError, "expand", "[2, 3]", "[4, 3]");
        expectError(() => a.narrow(1, 2, 2), ShapeError, "narrow", "[2, 3]");
        expectError(() => split(a, [1, 1], 1), ShapeError, "split", "[2, 3]");
        expectError(() => a.pad([[0, 0], [0, 0], [1, 1]]), ShapeError, "pad", "[2, 3]");
        expectError(() => a.pad([[-1, 0]]), ShapeError, "pad");
        expectError(() => sum(a, 2), ShapeError, "sum", "rank 2");
        expectError(() => sum(a, [1, -1]), ShapeError, "sum", "repeated");
        expectError(() => logSoftmax(a, 3), ShapeError, "logSoftmax", "rank 2");
        expectError(() => a.where(tensor([1, 0]), 0), ShapeError, "where", "[2, 3]", "[2]");
        expectError(() => tensor([1, 2, 3], [2, 2]), ShapeError, "tensor", "[2, 2]");
      }),
    );
  });
});

describe("DTypeError", () => {
  test("names the op and both dtypes", async () => {
    await withDevice(() =>
      scope(async () => {
        const i = tensor([1, 2, 3], undefined, { dtype: "i32" });
        const f = tensor([[1, 2], [3, 4]]);
        expectError(() => i.log(), DTypeError, "log", "f32", "i32");
        expectError(() => i.exp(), DTypeError, "exp", "i32");
        expectError(() => gather(f, 1, tensor([[0, 1], [1, 0]])), DTypeError, "gather", "f32");
        expectError(() => f.indexSelect(0, tensor([0.0, 1.0])), DTypeError, "gather", "f32");
        expectError(() => i.requiresGrad_(), DTypeError, "requiresGrad_", "i32");
        expectError(() => i.softmax(), DTypeError, "softmax", "i32");
        expectError(() => full([2], 0.5, { dtype: "i32" }), DTypeError, "full", "i32", "0.5");
        await expect(f.item()).rejects.toThrow(DTypeError);
      }),
    );
  });
});

describe("DeviceLostError", () => {
  test("ops and readbacks on a destroyed device reject with DeviceLostError (and do not hang)", { timeout: 20_000 }, async () => {
    const dev: Device = await init({ makeDefault: false, label: "doomed" });
    const a = tensor([1, 2, 3], undefined, { device: dev });
    const b = a.mul(2);
    await b.realize();
    expect([...(await b.toArray())]).toEqual([2, 4, 6]);
    // another device's tensors cannot meet these
    const other = await testDevice();
    expect(() => a.add(tensor([1, 1, 1], undefined, { device: other }))).toThrow(/different devices/);

    dev.gpu.destroy();
    await expect(b.toArray(), "readback of a realized tensor").rejects.toThrow(DeviceLostError);
    await expect(a.add(b).exp().toArray(), "a new kernel").rejects.toThrow(DeviceLostError);
    expect(() => tensor([1], undefined, { device: dev }), "an upload").toThrow(DeviceLostError);
    expect(dev.isLost).toBe(true);
  });

  test("a kernel compiled right after the loss (before the lost promise settles) still reports DeviceLostError", { timeout: 20_000 }, async () => {
    const dev: Device = await init({ makeDefault: false, label: "doomed 2" });
    const a = tensor([1, 2, 3, 4], undefined, { device: dev });
    dev.gpu.destroy();
    // no await between destroy() and the realize: the engine must not mistake this for a compile error
    await expect(a.sin().mul(3).add(a).toArray()).rejects.toThrow(DeviceLostError);
  });
});

describe("WebGPUUnavailableError", () => {
  test("a GPU whose requestAdapter() resolves to null", async () => {
    const fake = { requestAdapter: async () => null } as unknown as GPU;
    const p = init({ gpu: fake, makeDefault: false });
    await expect(p).rejects.toThrow(WebGPUUnavailableError);
    await expect(p).rejects.toThrow(/requestAdapter\(\) returned null/);
  });
});
