/**
 * GpuAccumulator: sums scalars (losses) on the GPU so a training loop can read them back every N
 * steps instead of stalling on every step. Works inside compiled steps (the add is recorded and
 * replayed; the count is kept by a replay hook).
 */
import { defineKernel } from "../shaders/kernel.js";
import { raw } from "../shaders/wgsl.js";
import { currentDevice, type Device } from "./device.js";
import { CommandBatch, readback } from "./dispatch.js";
import { ShapeError } from "./errors.js";
import { realize } from "./realize.js";
import type { Tensor } from "./tensor.js";
import { onReplay } from "./trace.js";

const ACCUMULATE = defineKernel({
  name: "accumulate",
  params: { n: "u32" },
  inputs: { x: "f32" },
  outputs: { acc: "f32" },
  workgroupSize: 1,
  // acc[0] += Σ x (n is tiny: a scalar or a few values)
  body: raw(`  var s = acc[0];\n  for (var i = 0u; i < params.n; i++) { s += x[i]; }\n  acc[0] = s;`),
});

export class GpuAccumulator {
  readonly dev: Device;
  #buf: GPUBuffer;
  #count = 0;
  constructor(dev: Device = currentDevice()) {
    this.dev = dev;
    this.#buf = dev.pool.acquire(16, "accumulator");
    dev.gpu.queue.writeBuffer(this.#buf, 0, new Float32Array(4));
  }
  /** Adds Σ t (t usually a scalar loss). No readback. */
  async add(t: Tensor): Promise<void> {
    if (t.size > 1024) throw new ShapeError("GpuAccumulator.add", "expects a scalar or a small tensor", t.shape);
    await realize(t);
    const k = await this.dev.pipelines.get(ACCUMULATE.name, ACCUMULATE.source, 1, 1);
    const b = new CommandBatch(this.dev, "accumulate");
    b.dispatch(k, ACCUMULATE.pack({ n: t.size }), [t.buffer!, this.#buf], [1, 1, 1]);
    b.submit();
    this.#count++;
    onReplay(() => this.#count++);
  }
  get count(): number {
    return this.#count;
  }
  /** Mean of everything added since the last read, then resets. One readback. */
  async read(): Promise<{ mean: number; count: number; sum: number }> {
    const [sum] = new Float32Array(await readback(this.dev, this.#buf, 4));
    const count = this.#count;
    this.reset();
    return { mean: count ? sum! / count : NaN, count, sum: sum! };
  }
  reset(): void {
    this.dev.gpu.queue.writeBuffer(this.#buf, 0, new Float32Array(4));
    this.#count = 0;
  }
  dispose(): void {
    this.dev.pool.release(this.#buf);
  }
}
