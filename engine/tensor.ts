/**
 * Tensor: a node of the lazy graph. Ops build nodes; nothing runs until a readback or an explicit
 * `realize()`, which lowers the graph to fused WGSL kernels (engine/realize.ts). A realized tensor
 * owns one pool buffer holding its values contiguously (row-major).
 *
 * The class is a thin handle: shape checks and math live in engine/ops/*.
 */
import { currentDevice, type Device } from "./device.js";
import { DisposedError } from "./errors.js";
import { numel, type Shape } from "./shape.js";
import type { OpDef } from "./ops/op.js";

export type DType = "f32" | "i32" | "u32";
export const DTYPE_BYTES: Record<DType, number> = { f32: 4, i32: 4, u32: 4 };

let nextId = 1;

// ── grad mode and scopes: module state, never globalThis ────────────────────────────────────────
let gradEnabled = true;
export const isGradEnabled = () => gradEnabled;

/**
 * Runs `fn` without recording gradients (like torch.no_grad). Only the synchronous part of `fn`
 * is covered: grad mode is one switch, and keeping it off across an `await` would silently turn
 * gradients off for any training step that runs meanwhile. Build graphs inside, await outside.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

interface ScopeFrame {
  made: Tensor[];
}
const scopes: ScopeFrame[] = [];

/** Tensors garbage-collected while still holding a GPU buffer (the safety net's count). */
export const reclaimed = { count: 0, warned: false };
const registry =
  typeof FinalizationRegistry !== "undefined"
    ? new FinalizationRegistry<{ buf: GPUBuffer; dev: Device; label: string }>((h) => {
        reclaimed.count++;
        if (!reclaimed.warned) {
          reclaimed.warned = true;
          console.warn(`latent: a tensor (${h.label}) was garbage-collected without dispose(); its GPU buffer was reclaimed. Use scope() or dispose().`);
        }
        if (!h.dev.isLost) h.dev.pool.release(h.buf);
      })
    : undefined;

export class Tensor {
  readonly id = nextId++;
  /** Gradient filled in by backward() for leaves with requiresGrad. */
  grad: Tensor | null = null;
  /** Realized storage (contiguous, row-major). */
  #buffer: GPUBuffer | null = null;
  #disposed = false;
  /** Buffers an unrealized tensor needs kept alive after its scope ended. */
  retains: Tensor[] | null = null;
  /** How many unrealized tensors retain this one (closeFrame); released when it drops to 0. */
  holders = 0;
  /** Optional name used in kernel labels and checkpoints. */
  name?: string;

  constructor(
    readonly op: OpDef,
    public inputs: readonly Tensor[],
    readonly shape: Shape,
    readonly dtype: DType,
    readonly attrs: Readonly<Record<string, unknown>>,
    public requiresGrad: boolean,
    readonly device: Device,
  ) {
    scopes.at(-1)?.made.push(this);
  }

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  get isRealized(): boolean {
    return this.#buffer !== null;
  }
  get isDisposed(): boolean {
    return this.#disposed;
  }
  get isLeaf(): boolean {
    return this.op.kind === "source";
  }

  /** The GPU buffer, once realized. Throws if disposed. */
  get buffer(): GPUBuffer | null {
    if (this.#disposed) throw new DisposedError(`tensor #${this.id} ${this.describe()}`);
    return this.#buffer;
  }

  /** Attaches realized storage (engine-internal). */
  setBuffer(buf: GPUBuffer): void {
    if (this.#buffer) throw new Error(`tensor #${this.id} realized twice (latent bug)`);
    this.#buffer = buf;
    registry?.register(this, { buf, dev: this.device, label: this.describe() }, this);
    this.retains?.forEach((t) => t.unhold());
    this.retains = null;
  }

  /** Drops one retention; the last one releases the buffer (engine-internal). */
  unhold(): void {
    if (--this.holders <= 0) this.#release();
  }

  /** Replaces this tensor's storage (in-place optimizer updates); the old buffer is released. */
  swapBuffer(buf: GPUBuffer): void {
    const old = this.#buffer;
    if (old) {
      registry?.unregister(this);
      this.device.pool.release(old);
    }
    this.#buffer = null;
    this.setBuffer(buf);
  }

  /** Moves this tensor's storage out (engine-internal, for in-place updates); marks it disposed. */
  takeBuffer(): GPUBuffer {
    const b = this.#buffer;
    if (!b) throw new Error(`takeBuffer on unrealized ${this.describe()} (latent bug)`);
    registry?.unregister(this);
    this.#buffer = null;
    this.#disposed = true;
    return b;
  }

  describe(): string {
    return `${this.name ?? this.op.name}${this.dtype === "f32" ? "" : `:${this.dtype}`}[${this.shape.join(",")}]`;
  }

  /** Releases the GPU buffer now. Using the tensor afterwards throws DisposedError. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#release();
    this.retains?.forEach((t) => t.unhold());
    this.retains = null;
    this.grad = null;
  }

  #release(): void {
    if (this.#buffer) {
      registry?.unregister(this);
      if (!this.device.isLost) this.device.pool.release(this.#buffer);
      this.#buffer = null;
      if (!this.#disposed) this.#disposed = true;
    }
  }

  /** Keeps this tensor alive past the enclosing scope. */
  keep(): this {
    for (const f of scopes) {
      const i = f.made.indexOf(this);
      if (i >= 0) f.made.splice(i, 1);
    }
    return this;
  }
}

/** Deep-collects tensors from a value returned by a scope (arrays, plain objects, Maps). */
function collectTensors(v: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== "object" || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Tensor) {
    out.add(v);
    if (v.grad) out.add(v.grad);
    return;
  }
  if (Array.isArray(v)) v.forEach((x) => collectTensors(x, out, seen));
  else if (v instanceof Map) v.forEach((x, k) => (collectTensors(k, out, seen), collectTensors(x, out, seen)));
  else if (Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => collectTensors(x, out, seen));
}

/** Ends a scope frame: disposes what it made except `keepers`, which carry what they still need. */
function closeFrame(frame: ScopeFrame, keepers: Set<Tensor>): void {
  const made = new Set(frame.made);
  // Anything that leaves the scope but is not realized still needs the realized tensors its graph
  // reads; those are retained by it until it is realized or disposed.
  const retained = new Set<Tensor>();
  for (const k of keepers) {
    if (k.isRealized || k.isDisposed) continue;
    const need: Tensor[] = [];
    const stack = [...k.inputs];
    const seen = new Set<Tensor>();
    while (stack.length) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      if (made.has(t) && !keepers.has(t)) {
        need.push(t);
        t.holders++;
        retained.add(t);
      }
      if (!t.isRealized) stack.push(...t.inputs);
    }
    if (need.length) k.retains = [...(k.retains ?? []), ...need];
  }
  for (const t of retained) made.delete(t);
  const parent = scopes.at(-1);
  for (const t of made) {
    if (keepers.has(t)) parent?.made.push(t);
    else t.dispose();
  }
}

/**
 * Runs `fn` and then releases every tensor created inside it, except what it returns (found in
 * arrays, objects and Maps) and what was `keep()`-ed. Works with sync and async functions.
 * Tensors that leave the scope unrealized keep alive the buffers their graph reads.
 * @example const loss = await scope(async () => { const l = model.loss(x); l.backward(); opt.step(); return l; });
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopeFrame = { made: [] };
  scopes.push(frame);
  const finish = (r: unknown) => {
    const i = scopes.lastIndexOf(frame);
    if (i >= 0) scopes.splice(i, 1);
    const keepers = new Set<Tensor>();
    collectTensors(r, keepers);
    closeFrame(frame, keepers);
  };
  let r: T;
  try {
    r = fn();
  } catch (e) {
    finish(undefined);
    throw e;
  }
  if (r instanceof Promise) {
    return r.then(
      (v) => (finish(v), v),
      (e) => {
        finish(undefined);
        throw e;
      },
    ) as T;
  }
  finish(r);
  return r;
}

/** `using s = openScope()` form: everything created until disposal is released, except keep(). */
export function openScope(): { keep<T>(v: T): T; [Symbol.dispose](): void } {
  const frame: ScopeFrame = { made: [] };
  scopes.push(frame);
  const keepers = new Set<Tensor>();
  return {
    keep<T>(v: T): T {
      collectTensors(v, keepers);
      return v;
    },
    [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() {
      const i = scopes.lastIndexOf(frame);
      if (i >= 0) scopes.splice(i, 1);
      closeFrame(frame, keepers);
    },
  };
}

/** Number of pool buffers currently handed out on the default device. */
export function liveBuffers(dev: Device = currentDevice()): number {
  return dev.pool.live;
}
