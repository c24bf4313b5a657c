/**
 * compile(fn): trace a step (forward, backward, optimizer update) once per input signature, then
 * replay it: the same pipelines and bind groups, one command buffer per call, no graph building
 * and no allocation in JavaScript beyond the returned tensors.
 *
 * The trace runs `fn` eagerly while engine/trace.ts records every dispatch, copy and upload. The
 * recording then gets a static memory plan: each intermediate buffer's live range (first write to
 * last read) is known, so intervals are packed onto as few physical buffers as possible.
 * Arguments are copied into step-owned input slots at the start of each call and results copied
 * out into fresh tensors at the end, so callers may pass and keep any tensors.
 */
import { currentDevice, type Device } from "./device.js";
import { BufferUsage } from "./gpu-constants.js";
import { realize } from "./realize.js";
import { BUFFER } from "./ops/node.js";
import { scope, Tensor } from "./tensor.js";
import { CompileError, setActiveTrace, Trace, activeTrace, type Rec } from "./trace.js";
import { bucketSize } from "./pool.js";

export { CompileError, onReplay } from "./trace.js";

export interface CompiledStats {
  /** Dispatches per call. */
  dispatches: number;
  /** Bytes of intermediates the step allocated while tracing (their plain sum). */
  intermediateBytes: number;
  /** Bytes the step owns after the memory plan (its peak for intermediates and slots). */
  plannedBytes: number;
  /** Signatures traced so far. */
  traces: number;
}

export interface CompiledStep<A extends Tensor[], R> {
  (...args: A): Promise<R>;
  /** Releases every buffer the compiled step owns. */
  dispose(): void;
  stats(): CompiledStats;
}

type Slot = { kind: "arg"; index: number } | { kind: "buffer"; buf: GPUBuffer };

interface Program {
  dev: Device;
  recs: Rec[];
  inputSlots: GPUBuffer[];
  /** Where each output tensor's values live after a replay, with its shape and dtype. */
  outputs: { buf: GPUBuffer; shape: readonly number[]; dtype: Tensor["dtype"] }[];
  structure: unknown;
  owned: GPUBuffer[];
  uniforms: { buf: GPUBuffer; fn?: () => ArrayBuffer }[];
  bindGroups: (GPUBindGroup | null)[];
  staging: (GPUBuffer | null)[];
  hooks: (() => void)[];
  rng: Trace["rng"];
  intermediateBytes: number;
  plannedBytes: number;
}

const signature = (args: readonly Tensor[]) => args.map((a) => `${a.dtype}[${a.shape.join(",")}]${a.requiresGrad ? "g" : ""}`).join("|");

/** Marks where an output tensor sits in the returned structure. */
class OutMark {}

/** Replaces tensors (and OutMarks) in a returned structure. */
function mapTensors(v: unknown, f: (t: Tensor | OutMark) => unknown): unknown {
  if (v instanceof Tensor || v instanceof OutMark) return f(v);
  if (Array.isArray(v)) return v.map((x) => mapTensors(x, f));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, mapTensors(x, f)]));
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapTensors(x, f)]));
  return v;
}
function listTensors(v: unknown, out: Tensor[] = []): Tensor[] {
  mapTensors(v, (t) => t instanceof Tensor && out.push(t));
  return out;
}

/**
 * Compiles a step function. Every call with the same argument shapes replays the first call's
 * GPU work; a new shape signature traces again.
 * @example
 *   const step = compile(async (x: Tensor) => { const l = model.loss(x); l.backward(); await opt.step(); opt.zeroGrad(); return l; });
 *   for (...) losses.push(await step(batch));   // read losses back every N steps, not every step
 */
export function compile<A extends Tensor[], R>(fn: (...args: A) => R | Promise<R>, opts: { label?: string } = {}): CompiledStep<A, R> {
  const programs = new Map<string, Program>();
  const label = opts.label ?? (fn.name || "step");

  const call = async (...args: A): Promise<R> => {
    if (activeTrace()) throw new CompileError(`compiled step '${label}' was called while another step is being traced`);
    await realize(...args);
    const key = signature(args);
    let prog = programs.get(key);
    if (!prog) {
      const { program, first } = await trace(label, fn, args);
      programs.set(key, program);
      return first as R;
    }
    return replay(prog, args) as R;
  };
  const dispose = () => {
    for (const p of programs.values()) disposeProgram(p);
    programs.clear();
  };
  const stats = (): CompiledStats => {
    const ps = [...programs.values()];
    const last = ps.at(-1);
    return {
      dispatches: last ? last.recs.filter((r) => r.kind === "dispatch").length : 0,
      intermediateBytes: last?.intermediateBytes ?? 0,
      plannedBytes: last?.plannedBytes ?? 0,
      traces: ps.length,
    };
  };
  return Object.assign(call, { dispose, stats });
}

async function trace<A extends Tensor[]>(label: string, fn: (...args: A) => unknown, args: A): Promise<{ program: Program; first: unknown }> {
  const dev = args[0]?.device ?? currentDevice();
  dev.check();
  // step-owned input slots, filled by copies (before the trace starts, so not recorded)
  const inputSlots = args.map((a) => dev.pool.acquire(Math.max(4, a.size * 4), `${label}.arg`));
  const enc = dev.gpu.createCommandEncoder({ label: `${label} args` });
  args.forEach((a, i) => enc.copyBufferToBuffer(a.buffer!, 0, inputSlots[i]!, 0, Math.max(4, a.size * 4)));
  dev.gpu.queue.submit([enc.finish()]);
  const slotTensors = args.map((a, i) => {
    const t = new Tensor(BUFFER, [], a.shape, a.dtype, {}, a.requiresGrad, dev).keep();
    t.setBuffer(inputSlots[i]!);
    return t;
  });

  const tr = new Trace(label);
  const prevHook = dev.pool.onAcquire;
  dev.pool.onAcquire = (b, bytes) => {
    tr.acquired.add(b);
    tr.bytesRequested += bucketSize(bytes);
  };
  setActiveTrace(tr);
  dev.pool.noEvict = true;
  dev.pool.beginQuarantine();
  let result: unknown;
  try {
    result = await scope(async () => {
      const r = await fn(...(slotTensors as A));
      await realize(...listTensors(r));
      return r;
    });
  } catch (e) {
    slotTensors.forEach((t) => t.dispose());
    throw e;
  } finally {
    setActiveTrace(null);
    dev.pool.onAcquire = prevHook;
    dev.pool.endQuarantine();
    dev.pool.noEvict = false;
  }
  // the slot tensors' buffers now belong to the program
  slotTensors.forEach((t) => t.takeBuffer());

  // outputs: buffers made during the trace are taken over; others (a parameter...) are referenced
  const outTensors = listTensors(result);
  const outputs = outTensors.map((t) => ({ buf: tr.acquired.has(t.buffer!) ? t.takeBuffer() : t.buffer!, shape: t.shape, dtype: t.dtype }));

  // Every buffer acquired during the trace and free again now becomes the program's. Buffers still
  // held by tensors (a lazy tensor from outside realized inside the step, a .grad left on a
  // parameter) stay theirs; replays keep writing the step's values into them.
  const owned = new Set<GPUBuffer>([...inputSlots, ...outputs.map((o) => o.buf).filter((b) => tr.acquired.has(b))]);
  for (const b of tr.acquired) if (!owned.has(b) && dev.pool.claim(b)) owned.add(b);

  const program = plan(dev, label, tr, inputSlots, outputs, owned);
  program.structure = mapTensors(result, () => new OutMark());
  const first = emitOutputs(program, dev.gpu.createCommandEncoder({ label: `${label} outputs` }), program.structure);
  return { program, first };
}

/** Static memory plan + replay resources. */
function plan(dev: Device, label: string, tr: Trace, inputSlots: GPUBuffer[], outputs: Program["outputs"], owned: Set<GPUBuffer>): Program {
  const recs = tr.recs;
  const pinned = new Set<GPUBuffer>([...inputSlots, ...outputs.map((o) => o.buf)]);
  // live ranges of step-owned intermediates
  const first = new Map<GPUBuffer, number>(), last = new Map<GPUBuffer, number>();
  const written = new Set<GPUBuffer>();
  const carried = new Set<GPUBuffer>(); // read before written: holds data from before the step
  recs.forEach((r, i) => {
    const reads = r.kind === "dispatch" ? r.buffers.slice(0, r.buffers.length - outputsOf(r)) : r.kind === "copy" ? [r.src] : [];
    const writes = r.kind === "dispatch" ? r.buffers.slice(r.buffers.length - outputsOf(r)) : [r.dst];
    for (const b of reads) if (owned.has(b) && !written.has(b)) carried.add(b);
    for (const b of [...reads, ...writes]) {
      if (!owned.has(b)) continue;
      if (!first.has(b)) first.set(b, i);
      last.set(b, i);
    }
    for (const b of writes) written.add(b);
  });
  const intermediateBytes = [...owned].filter((b) => !pinned.has(b)).reduce((s, b) => s + b.size, 0);
  // greedy interval packing by size class: a physical buffer is reusable after its last use
  const remap = new Map<GPUBuffer, GPUBuffer>();
  const freeAt: { buf: GPUBuffer; until: number }[] = [];
  const order = [...first.keys()].filter((b) => !pinned.has(b) && !carried.has(b)).sort((a, b) => first.get(a)! - first.get(b)!);
  const kept = new Set<GPUBuffer>(pinned);
  for (const b of carried) kept.add(b);
  for (const b of order) {
    const start = first.get(b)!;
    const j = freeAt.findIndex((f) => f.buf.size === b.size && f.until < start);
    if (j >= 0) {
      const phys = freeAt[j]!.buf;
      remap.set(b, phys);
      freeAt[j]!.until = last.get(b)!;
    } else {
      remap.set(b, b);
      kept.add(b);
      freeAt.push({ buf: b, until: last.get(b)! });
    }
  }
  for (const b of owned) if (!kept.has(b) && !remap.has(b)) kept.add(b); // owned but unused: keep simple
  for (const b of owned) if (!kept.has(b)) dev.pool.release(b);
  const R = (b: GPUBuffer) => remap.get(b) ?? b;
  const newRecs: Rec[] = recs.map((r) =>
    r.kind === "dispatch" ? { ...r, buffers: r.buffers.map(R) } : r.kind === "copy" ? { ...r, src: R(r.src), dst: R(r.dst) } : { ...r, dst: R(r.dst) },
  );
  const plannedBytes = [...kept].reduce((s, b) => s + b.size, 0);

  // replay resources: one uniform buffer and bind group per dispatch, staging for uploads
  const uniforms: Program["uniforms"] = [];
  const bindGroups: (GPUBindGroup | null)[] = [];
  const staging: (GPUBuffer | null)[] = [];
  for (const r of newRecs) {
    if (r.kind === "dispatch") {
      const bytes = typeof r.params === "function" ? r.params() : r.params;
      const u = dev.gpu.createBuffer({ size: bytes.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: `${r.label}.params (compiled)` });
      dev.gpu.queue.writeBuffer(u, 0, bytes);
      uniforms.push({ buf: u, fn: typeof r.params === "function" ? r.params : undefined });
      bindGroups.push(
        dev.gpu.createBindGroup({
          label: `${r.label} (compiled)`,
          layout: r.kernel.layout,
          entries: [{ binding: 0, resource: { buffer: u } }, ...r.buffers.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))],
        }),
      );
      staging.push(null);
    } else if (r.kind === "write") {
      const s = dev.gpu.createBuffer({ size: r.data.byteLength, usage: BufferUsage.COPY_SRC, mappedAtCreation: true, label: `${label} constant` });
      new Uint8Array(s.getMappedRange()).set(r.data);
      s.unmap();
      staging.push(s);
      bindGroups.push(null);
    } else {
      staging.push(null);
      bindGroups.push(null);
    }
  }
  return {
    dev,
    recs: newRecs,
    inputSlots,
    outputs,
    structure: null,
    owned: [...kept],
    uniforms,
    bindGroups,
    staging,
    hooks: tr.hooks,
    rng: tr.rng,
    intermediateBytes: Math.max(tr.bytesRequested - inputSlots.reduce((s, b) => s + b.size, 0), intermediateBytes),
    plannedBytes,
  };
}

/** Number of output (read_write) bindings of a recorded dispatch. */
function outputsOf(r: Extract<Rec, { kind: "dispatch" }>): number {
  return r.kernel.outputs;
}

function emitOutputs(p: Program, enc: GPUCommandEncoder, structure: unknown): unknown {
  const fresh = p.outputs.map((o) => {
    const buf = p.dev.pool.acquire(Math.max(4, o.shape.reduce((a, b) => a * b, 1) * 4), `${o.buf.label} (step output)`);
    enc.copyBufferToBuffer(o.buf, 0, buf, 0, Math.min(o.buf.size, buf.size));
    return buf;
  });
  p.dev.gpu.queue.submit([enc.finish()]);
  let i = 0;
  return mapTensors(structure, () => {
    const o = p.outputs[i]!;
    const t = new Tensor(BUFFER, [], o.shape, o.dtype, {}, false, p.dev);
    t.setBuffer(fresh[i++]!);
    return t;
  });
}

function replay(p: Program, args: readonly Tensor[]): unknown {
  const dev = p.dev;
  dev.check();
  for (const h of p.hooks) h();
  for (const s of p.rng) {
    const d = s.next();
    s.key = [d.key[0], d.key[1]];
    s.stream = d.stream;
  }
  let ui = 0;
  const enc = dev.gpu.createCommandEncoder({ label: "compiled step" });
  args.forEach((a, i) => enc.copyBufferToBuffer(a.buffer!, 0, p.inputSlots[i]!, 0, Math.max(4, a.size * 4)));
  p.recs.forEach((r, i) => {
    if (r.kind === "dispatch") {
      const u = p.uniforms[ui++]!;
      if (u.fn) dev.gpu.queue.writeBuffer(u.buf, 0, u.fn());
      const pass = enc.beginComputePass({ label: r.label });
      pass.setPipeline(r.kernel.pipeline);
      pass.setBindGroup(0, p.bindGroups[i]!);
      pass.dispatchWorkgroups(r.workgroups[0], r.workgroups[1], r.workgroups[2]);
      pass.end();
    } else if (r.kind === "copy") enc.copyBufferToBuffer(r.src, r.srcOffset, r.dst, r.dstOffset, r.bytes);
    else enc.copyBufferToBuffer(p.staging[i]!, 0, r.dst, 0, r.data.byteLength);
  });
  return emitOutputs(p, enc, p.structure);
}

function disposeProgram(p: Program): void {
  if (!p.dev.isLost) for (const b of p.owned) p.dev.pool.release(b);
  for (const u of p.uniforms) u.buf.destroy();
  for (const s of p.staging) s?.destroy();
}
