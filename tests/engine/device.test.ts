import { describe, expect, test } from "vitest";
import { defineKernel } from "../../shaders/kernel.js";
import { raw } from "../../shaders/wgsl.js";
import { runKernel, testDevice, withDevice } from "../helpers/gpu.js";
import { init } from "../../engine/device.js";
import { WebGPUUnavailableError } from "../../engine/errors.js";
import { grid1d } from "../../engine/dispatch.js";

const axpy = defineKernel({
  name: "axpy",
  params: { n: "u32", alpha: "f32" },
  inputs: { x: "f32", y: "f32" },
  outputs: { out: "f32" },
  workgroupSize: 64,
  body: raw(`let i = gid.x + gid.y * nwg.x * 64u; if (i >= params.n) { return; } out[i] = params.alpha * x[i] + y[i];`),
});

describe("device", () => {
  test("finds an adapter and reports it", async () => {
    const dev = await testDevice();
    expect(dev.info.isSoftware).toBe(true);
    expect(dev.maxStorageBuffers).toBeGreaterThanOrEqual(8);
  });

  test("runs a declared kernel", async () => {
    await withDevice(async (dev) => {
      const x = new Float32Array([1, 2, 3, 4, 5]), y = new Float32Array([10, 20, 30, 40, 50]);
      const [out] = await runKernel(dev, axpy, { n: 5, alpha: 0.5 }, [x, y], [20], [1, 1, 1]);
      expect([...new Float32Array(out!)]).toEqual([10.5, 21, 31.5, 42, 52.5]);
    });
  });

  test("splits large grids", () => {
    expect(grid1d(10)).toEqual([10, 1, 1]);
    const [x, y] = grid1d(200000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200000);
  });

  test("a missing adapter is a named error", async () => {
    const fake = { requestAdapter: async () => null } as unknown as GPU;
    await expect(init({ gpu: fake, makeDefault: false })).rejects.toThrow(WebGPUUnavailableError);
  });
});
