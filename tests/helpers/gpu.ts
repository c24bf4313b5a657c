/**
 * GPU test harness. Tests run on a real WebGPU device (Dawn over lavapipe or SwiftShader in Node).
 * A test that needs WebGPU and finds none fails loudly; it never skips.
 */
import { expect } from "vitest";
import { init, setDefaultDevice, type Device } from "../../engine/device.js";
import { CommandBatch, readback, upload } from "../../engine/dispatch.js";
import type { KernelSource, Params } from "../../shaders/kernel.js";

let shared: Promise<Device> | undefined;

/** One device per test file (creating devices is slow on software drivers). */
export function testDevice(): Promise<Device> {
  shared ??= init({ label: "latent tests" });
  return shared.then((d) => {
    setDefaultDevice(d);
    return d;
  });
}

/**
 * Runs `body` with error scopes pushed and asserts afterwards that WebGPU reported no validation
 * or out-of-memory error and that the live-buffer count returned to its baseline.
 */
export async function withDevice(body: (dev: Device) => Promise<void>): Promise<void> {
  const dev = await testDevice();
  const baseline = dev.pool.live;
  const before = new Set(dev.pool.liveLabels());
  dev.gpu.pushErrorScope("validation");
  dev.gpu.pushErrorScope("out-of-memory");
  let failed: unknown;
  try {
    await body(dev);
    await dev.gpu.queue.onSubmittedWorkDone();
  } catch (e) {
    failed = e;
  } finally {
    const oom = await dev.gpu.popErrorScope();
    const invalid = await dev.gpu.popErrorScope();
    if (failed) throw failed;
    expect(invalid?.message, "WebGPU validation error").toBeUndefined();
    expect(oom?.message, "WebGPU out-of-memory error").toBeUndefined();
    const leaked = dev.pool.liveLabels().filter((l) => !before.has(l));
    expect(dev.pool.live - baseline, `GPU buffers not released: ${leaked.join(", ")}`).toBe(0);
  }
}

/** Runs one raw kernel: uploads inputs, allocates outputs, dispatches, reads outputs back. */
export async function runKernel<P extends Params>(
  dev: Device,
  kernel: KernelSource<P>,
  params: { readonly [K in keyof P]: number },
  inputs: readonly ArrayBufferView[],
  outputBytes: readonly number[],
  workgroups: readonly [number, number, number],
): Promise<ArrayBuffer[]> {
  const compiled = await dev.pipelines.get(kernel.name, kernel.source, kernel.inputs.length, kernel.outputs.length);
  const ins = inputs.map((d, i) => upload(dev, d, `${kernel.name}.in${i}`));
  const outs = outputBytes.map((b, i) => dev.pool.acquire(b, `${kernel.name}.out${i}`));
  try {
    const batch = new CommandBatch(dev, kernel.name);
    batch.dispatch(compiled, kernel.pack(params), [...ins, ...outs], workgroups);
    batch.submit();
    return await Promise.all(outs.map((o, i) => readback(dev, o, outputBytes[i]!)));
  } finally {
    for (const b of [...ins, ...outs]) dev.pool.release(b);
  }
}
