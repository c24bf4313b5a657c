/**
 * Encoding, submission and readback. Every dispatch in latent goes through a CommandBatch, so
 * labels, uniform buffers and the 65535-workgroup split live in one place.
 */
import type { Device } from "./device.js";
import type { CompiledKernel } from "./pipelines.js";
import { BufferUsage, MapMode } from "./gpu-constants.js";
import { debugLevel } from "./debug.js";
import { activeTrace, refuseReadback, type ParamSource } from "./trace.js";

/**
 * Splits a 1-D workgroup count into a 2-D grid that respects maxComputeWorkgroupsPerDimension.
 * Edge case: kernels must then compute their linear index as gid.x + gid.y * nwg.x * WG and
 * bounds-check it, since the grid may overshoot.
 */
export function grid1d(workgroups: number, maxPerDim = 65535): [number, number, number] {
  if (workgroups <= maxPerDim) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  const x = Math.ceil(workgroups / y);
  if (y > maxPerDim) throw new RangeError(`dispatch of ${workgroups} workgroups exceeds ${maxPerDim}² (tensor too large)`);
  return [x, y, 1];
}

/** Compute passes timed per batch at DEBUG ≥ 4 (when the adapter has timestamp-query). */
const MAX_TIMED = 256;

export class CommandBatch {
  readonly encoder: GPUCommandEncoder;
  #uniforms: GPUBuffer[] = [];
  #count = 0;
  #timing: { set: GPUQuerySet; labels: string[] } | null = null;
  constructor(
    readonly dev: Device,
    label = "latent batch",
  ) {
    dev.check();
    this.encoder = dev.gpu.createCommandEncoder({ label });
  }

  uniform(data: ArrayBuffer, label: string): GPUBuffer {
    const u = this.dev.gpu.createBuffer({ size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label, mappedAtCreation: true });
    new Uint8Array(u.getMappedRange()).set(new Uint8Array(data));
    u.unmap();
    this.#uniforms.push(u);
    return u;
  }

  /** Encodes one compute pass. `params` may be a function, re-evaluated when a compiled step replays. */
  dispatch(k: CompiledKernel, params: ParamSource, buffers: readonly GPUBuffer[], workgroups: readonly [number, number, number], label = k.label): void {
    activeTrace()?.recs.push({ kind: "dispatch", kernel: k, params, buffers: [...buffers], workgroups: [workgroups[0], workgroups[1], workgroups[2]], label });
    const u = this.uniform(typeof params === "function" ? params() : params, `${label}.params`);
    const bg = this.dev.gpu.createBindGroup({
      label,
      layout: k.layout,
      entries: [{ binding: 0, resource: { buffer: u } }, ...buffers.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))],
    });
    const pass = this.encoder.beginComputePass({ label, timestampWrites: this.#timestamp(label) });
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    pass.end();
    this.#count++;
    if (debugLevel() >= 4) console.info(`[latent] dispatch ${label} wg=${workgroups.join("×")} buffers=${buffers.map((b) => b.label).join(", ")}`);
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    activeTrace()?.recs.push({ kind: "copy", src, dst, bytes, srcOffset, dstOffset });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  get dispatches(): number {
    return this.#count;
  }

  /** DEBUG ≥ 4: a timestamp pair around each pass, printed once the GPU is done. */
  #timestamp(label: string): GPUComputePassTimestampWrites | undefined {
    if (debugLevel() < 4 || !this.dev.features.has("timestamp-query")) return undefined;
    this.#timing ??= { set: this.dev.gpu.createQuerySet({ type: "timestamp", count: 2 * MAX_TIMED, label: "dispatch timings" }), labels: [] };
    const i = this.#timing.labels.length;
    if (i >= MAX_TIMED) return undefined;
    this.#timing.labels.push(label);
    return { querySet: this.#timing.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  #resolveTimings(): (() => Promise<void>) | null {
    const t = this.#timing;
    if (!t || !t.labels.length) return null;
    const bytes = t.labels.length * 16;
    const resolved = this.dev.gpu.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC, label: "timings" });
    const staging = this.dev.gpu.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: "timings readback" });
    this.encoder.resolveQuerySet(t.set, 0, 2 * t.labels.length, resolved, 0);
    this.encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    return async () => {
      await staging.mapAsync(MapMode.READ);
      const ns = new BigUint64Array(staging.getMappedRange());
      t.labels.forEach((l, i) => console.info(`[latent] ${l}: ${(Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6).toFixed(3)} ms (GPU)`));
      staging.destroy();
      resolved.destroy();
      t.set.destroy();
    };
  }

  submit(): void {
    const report = this.#resolveTimings();
    this.dev.gpu.queue.submit([this.encoder.finish()]);
    if (report) void report().catch(() => undefined);
    const us = this.#uniforms;
    this.#uniforms = [];
    // destroy() after submit is safe: WebGPU keeps the memory alive until the work completes.
    for (const u of us) u.destroy();
  }
}

/** Uploads bytes into a pool buffer. */
export function upload(dev: Device, data: ArrayBufferView, label: string): GPUBuffer {
  dev.check();
  const buf = dev.pool.acquire(data.byteLength, label);
  const bytes = Math.ceil(data.byteLength / 4) * 4;
  const tr = activeTrace();
  if (tr) {
    const copy = new Uint8Array(bytes);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    tr.recs.push({ kind: "write", dst: buf, data: copy });
  }
  if (bytes === data.byteLength) dev.gpu.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  else {
    const padded = new Uint8Array(bytes);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    dev.gpu.queue.writeBuffer(buf, 0, padded);
  }
  return buf;
}

/** Reads `bytes` from a storage buffer. Stalls until the GPU is done: call sparingly. */
export async function readback(dev: Device, buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
  refuseReadback(`'${buf.label}'`);
  dev.check();
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const staging = dev.gpu.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: `readback ${buf.label}` });
  try {
    const enc = dev.gpu.createCommandEncoder({ label: "readback" });
    enc.copyBufferToBuffer(buf, offset, staging, 0, size);
    dev.gpu.queue.submit([enc.finish()]);
    await dev.guard(staging.mapAsync(MapMode.READ));
    dev.check();
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}
