/**
 * Buffer pool. Training loops allocate the same sizes thousands of times, so released buffers go
 * back to a size bucket and are reused. `live` counts buffers handed out and not yet released:
 * tests assert that it returns to its baseline.
 */
import { BufferUsage } from "./gpu-constants.js";

/** Coarse size classes (powers of two and 1.5× between them), ≥ 16 B. */
export function bucketSize(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.ceil(Math.log2(b));
  const mid = (p / 4) * 3;
  return b <= mid && mid >= 16 && Number.isInteger(mid) ? mid : p;
}

export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #live = new Set<GPUBuffer>();
  #bytesLive = 0;
  #peak = 0;
  constructor(
    private readonly device: GPUDevice,
    private readonly maxPerBucket = 16,
  ) {}

  /** While tracing, released buffers are never destroyed (the recording refers to them). */
  noEvict = false;
  #quarantine: GPUBuffer[] | null = null;

  /**
   * While tracing, a released buffer is not handed out again until the trace ends, so that every
   * buffer plays one role in the recording (the memory plan does the reuse, knowing live ranges).
   */
  beginQuarantine(): void {
    this.#quarantine = [];
  }
  endQuarantine(): void {
    const q = this.#quarantine ?? [];
    this.#quarantine = null;
    for (const b of q) {
      const bucket = this.#free.get(b.size) ?? [];
      bucket.push(b);
      this.#free.set(b.size, bucket);
    }
  }
  /** Observer used by compiled-step tracing. */
  onAcquire?: (buf: GPUBuffer, bytes: number) => void;

  static readonly usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    const buf = this.#free.get(size)?.pop() ?? this.device.createBuffer({ size, label, usage: BufferPool.usage });
    this.onAcquire?.(buf, bytes);
    buf.label = label;
    this.#live.add(buf);
    this.#bytesLive += size;
    this.#peak = Math.max(this.#peak, this.#bytesLive);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.#live.delete(buf)) throw new Error(`BufferPool: buffer '${buf.label}' released twice (latent bug)`);
    this.#bytesLive -= buf.size;
    if (this.#quarantine) {
      this.#quarantine.push(buf);
      return;
    }
    const bucket = this.#free.get(buf.size) ?? [];
    if (bucket.length >= this.maxPerBucket && !this.noEvict) return buf.destroy();
    bucket.push(buf);
    this.#free.set(buf.size, bucket);
  }

  /** Buffers handed out and not released. */
  get live(): number {
    return this.#live.size;
  }
  get bytesLive(): number {
    return this.#bytesLive;
  }
  get peakBytes(): number {
    return this.#peak;
  }
  resetPeak(): void {
    this.#peak = this.#bytesLive;
  }
  /** Labels of the buffers still live (for leak reports). */
  liveLabels(): string[] {
    return [...this.#live].map((b) => b.label);
  }

  /**
   * Takes `buf` out of the free lists for good (a compiled step owns it now); returns whether it
   * was free. Claimed buffers count as live until `unclaim`.
   */
  claim(buf: GPUBuffer): boolean {
    const bucket = this.#free.get(buf.size);
    const i = bucket?.indexOf(buf) ?? -1;
    if (i < 0) return false;
    bucket!.splice(i, 1);
    this.#live.add(buf);
    this.#bytesLive += buf.size;
    return true;
  }

  /** Frees the cached (not live) buffers. */
  trim(): void {
    for (const bucket of this.#free.values()) for (const b of bucket) b.destroy();
    this.#free.clear();
  }
}
