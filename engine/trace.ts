/**
 * Recording of GPU work for compiled steps (engine/compile.ts). While a trace is active, every
 * dispatch, copy and upload that latent issues is appended to it, in queue order; readbacks are
 * refused (a step that needs data on the CPU mid-way cannot be replayed). Values that must change
 * from call to call — RNG streams, optimizer hyper-parameters and step counts — are recorded as
 * closures and re-evaluated at each replay.
 */
import type { CompiledKernel } from "./pipelines.js";

/** Uniform bytes now, or a function that makes them at each replay. */
export type ParamSource = ArrayBuffer | (() => ArrayBuffer);

export type Rec =
  | { kind: "dispatch"; kernel: CompiledKernel; params: ParamSource; buffers: GPUBuffer[]; workgroups: [number, number, number]; label: string }
  | { kind: "copy"; src: GPUBuffer; dst: GPUBuffer; bytes: number; srcOffset: number; dstOffset: number }
  | { kind: "write"; dst: GPUBuffer; data: Uint8Array };

/** A random draw whose key/stream is re-drawn at each replay (in creation order). */
export interface RngSlot {
  key: [number, number];
  stream: number;
  readonly next: () => { key: readonly [number, number]; stream: number };
}

export class CompileError extends Error {
  override name = "CompileError";
}

export class Trace {
  readonly recs: Rec[] = [];
  readonly hooks: (() => void)[] = [];
  readonly rng: RngSlot[] = [];
  /** Buffers acquired from the pool during the trace. */
  readonly acquired = new Set<GPUBuffer>();
  bytesRequested = 0;
  constructor(readonly label: string) {}
}

let active: Trace | null = null;
export const activeTrace = (): Trace | null => active;
export function setActiveTrace(t: Trace | null): void {
  active = t;
}

/** Registers work to redo before each replay (e.g. an optimizer's step counter). No-op eagerly. */
export function onReplay(cb: () => void): void {
  active?.hooks.push(cb);
}

/** Called by readback paths: refuses while tracing. */
export function refuseReadback(what: string): void {
  if (active) {
    throw new CompileError(
      `compiled step '${active.label}' reads data back to the CPU (${what}) in the middle of the step. A compiled step must run entirely on the GPU: return the tensor from the step and read it after the call (or every N calls).`,
    );
  }
}
