/**
 * Checkpoints: tensors to and from safetensors bytes (engine/safetensors.ts does the format).
 * Browser-safe: nothing here imports `node:*`; the file helpers live in engine/node-checkpoint.ts.
 *
 * @example
 * const bytes = await saveSafetensors({ ...model.namedParameters(), ...prefix("opt.", opt.stateDict().tensors) }, { step: "1000" });
 * await loadInto(model.namedParameters(), bytes);            // in place, validated first
 * const t = loadSafetensors(bytes);                           // new tensors
 */
import { currentDevice, type Device } from "./device.js";
import { CommandBatch } from "./dispatch.js";
import { CheckpointError } from "./errors.js";
import { BufferUsage, MapMode } from "./gpu-constants.js";
import { fromTyped, TYPED_ARRAY, type TypedData } from "./ops/node.js";
import { realize } from "./realize.js";
import { decodeSafetensors, encodeSafetensors, type SafeDType, type SafeTensor, type SafeTensorInput } from "./safetensors.js";
import { sameShape, shapeStr } from "./shape.js";
import type { DType, Tensor } from "./tensor.js";
import { refuseReadback } from "./trace.js";

const TO_SAFE: Record<DType, SafeDType> = { f32: "F32", i32: "I32", u32: "U32" };
const FROM_SAFE: Partial<Record<SafeDType, DType>> = { F32: "f32", I32: "i32", U32: "u32" };

/** Options of {@link loadSafetensors}. */
export interface LoadOptions {
  /** Device to upload to (default: the current device). */
  device?: Device;
  /**
   * Convert float tensors latent cannot hold natively (F64, F16, BF16) to f32 instead of
   * rejecting them — handy for weights exported from PyTorch in half precision. Default false.
   */
  convert?: boolean;
}

/**
 * Reads the values of `tensors` back from the GPU: one realize() for all of them, then the
 * buffers are copied into staging buffers of up to 64 MiB (never above maxBufferSize), each
 * mapped once, so a model of many small tensors costs one stall instead of one per tensor.
 */
async function readAll(tensors: readonly Tensor[]): Promise<Uint8Array[]> {
  refuseReadback("saveSafetensors");
  if (!tensors.length) return [];
  await realize(...tensors);
  const dev = tensors[0]!.device;
  const cap = Math.min(dev.limits.maxBufferSize, 64 << 20);
  const out: Uint8Array[] = tensors.map(() => new Uint8Array(0));
  // greedy groups in order; a tensor bigger than `cap` gets a group (and staging buffer) of its own
  const groups: number[][] = [];
  let bytes = Infinity;
  tensors.forEach((t, i) => {
    const n = t.size * 4;
    if (n === 0) return;
    if (bytes + n > cap) (groups.push([]), (bytes = 0));
    groups.at(-1)!.push(i);
    bytes += n;
  });
  for (const group of groups) {
    // every dtype is 4 bytes, so offsets stay 4-aligned as copyBufferToBuffer requires
    const offsets: number[] = [];
    let total = 0;
    for (const i of group) (offsets.push(total), (total += tensors[i]!.size * 4));
    const staging = dev.gpu.createBuffer({ size: total, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: "checkpoint readback" });
    try {
      const batch = new CommandBatch(dev, "checkpoint readback");
      group.forEach((i, j) => batch.copy(tensors[i]!.buffer!, staging, tensors[i]!.size * 4, 0, offsets[j]!));
      batch.submit();
      await dev.guard(staging.mapAsync(MapMode.READ));
      dev.check();
      const all = new Uint8Array(staging.getMappedRange().slice(0));
      group.forEach((i, j) => (out[i] = all.subarray(offsets[j]!, offsets[j]! + tensors[i]!.size * 4)));
    } finally {
      staging.destroy();
    }
  }
  return out;
}

/**
 * Serialises tensors to safetensors bytes (F32 / I32 / U32), reading them back from the GPU in one
 * batch. Lazy tensors are realized first. Values are copied bit for bit (NaN payloads, −0 and
 * denormals included). Output is deterministic (sorted names; see encodeSafetensors).
 * @param metadata string → string pairs stored in the header (`__metadata__`).
 * @throws CheckpointError on an invalid name or metadata value.
 * @example const bytes = await saveSafetensors({ "fc.weight": w, "fc.bias": b }, { step: "100" });
 */
export async function saveSafetensors(tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): Promise<Uint8Array> {
  const names = Object.keys(tensors);
  const values = await readAll(names.map((k) => tensors[k]!));
  const out: Record<string, SafeTensorInput> = {};
  names.forEach((k, i) => {
    const t = tensors[k]!;
    out[k] = { dtype: TO_SAFE[t.dtype], shape: [...t.shape], data: values[i]! };
  });
  return encodeSafetensors(out, metadata);
}

/** IEEE half → float, exactly (every f16 value is representable in f32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal: frac · 2⁻¹⁰ · 2⁻¹⁴
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The tensor's values as an array latent can upload, or a reason it cannot be loaded. */
function toTyped(name: string, t: SafeTensor, convert: boolean): { dtype: DType; data: TypedData } {
  const native = FROM_SAFE[t.dtype];
  if (native) return { dtype: native, data: t.data as TypedData };
  if (convert) {
    switch (t.dtype) {
      case "F64":
        return { dtype: "f32", data: Float32Array.from(t.data) };
      case "F16":
      case "BF16": {
        const bytes = t.data;
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const out = new Float32Array(bytes.byteLength / 2);
        const f32 = new DataView(out.buffer);
        for (let i = 0; i < out.length; i++) {
          const h = dv.getUint16(2 * i, true);
          // bf16 is the top half of an f32, so its bits shift straight into place
          if (t.dtype === "BF16") f32.setUint32(4 * i, h << 16, true);
          else out[i] = halfToFloat(h);
        }
        return { dtype: "f32", data: out };
      }
      default:
        break;
    }
  }
  const hint = convert || !["F64", "F16", "BF16"].includes(t.dtype) ? "" : " (pass { convert: true } to load it as f32)";
  throw new CheckpointError(`tensor "${name}": dtype ${t.dtype} is not supported; latent holds F32, I32 and U32${hint}`);
}

/**
 * Decodes safetensors bytes and uploads every tensor (named after its key), returning the tensors
 * and the header metadata. Everything is validated before anything is uploaded.
 * @throws CheckpointError for corrupt bytes or an unsupported dtype.
 */
export function loadSafetensorsWithMetadata(bytes: Uint8Array | ArrayBuffer, opts: LoadOptions = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const { tensors: raw, metadata } = decodeSafetensors(bytes);
  const typed: [string, number[], { dtype: DType; data: TypedData }][] = [];
  const problems: string[] = [];
  for (const [k, t] of Object.entries(raw)) {
    try {
      typed.push([k, t.shape, toTyped(k, t, opts.convert ?? false)]);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length) throw new CheckpointError(problems.join("; "));
  const device = opts.device ?? currentDevice();
  const tensors: Record<string, Tensor> = {};
  for (const [k, shape, { dtype, data }] of typed) {
    Object.defineProperty(tensors, k, { value: fromTyped(data, shape, dtype, { device, name: k }), enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/**
 * Decodes safetensors bytes into new tensors on the GPU (see {@link loadSafetensorsWithMetadata}
 * for the metadata too). The tensors belong to the enclosing scope, like any other new tensor.
 * @throws CheckpointError for corrupt bytes or an unsupported dtype.
 * @example const { "fc.weight": w } = loadSafetensors(bytes);
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Record<string, Tensor> {
  return loadSafetensorsWithMetadata(bytes, opts).tensors;
}

/** What {@link loadInto} did. */
export interface LoadIntoResult {
  /** Target keys the checkpoint lacks (always empty with strict). */
  missing: string[];
  /** Checkpoint keys with no target (always empty with strict). */
  unexpected: string[];
  /** The checkpoint's `__metadata__`. */
  metadata: Record<string, string>;
}

/**
 * Copies checkpoint values into existing tensors' buffers (like PyTorch's load_state_dict), so
 * models and optimizers keep their references. Everything is validated first: if any key is
 * missing or unexpected (with `strict`, the default), or any shape or dtype differs, a
 * CheckpointError lists every problem, naming the key with the expected and found shape, and no
 * tensor is modified. With `strict: false` missing and unexpected keys are skipped and reported,
 * but shape and dtype mismatches still throw.
 *
 * Writes are queued on the device queue, so work submitted earlier still sees the old values and
 * work submitted later sees the new ones. A target that is not yet realized gets a buffer here.
 * @example const { missing } = loadInto(model.namedParameters(), bytes, { strict: false });
 */
export function loadInto(target: Readonly<Record<string, Tensor>>, bytes: Uint8Array | ArrayBuffer, { strict = true }: { strict?: boolean } = {}): LoadIntoResult {
  const { tensors: file, metadata } = decodeSafetensors(bytes);
  const missing = Object.keys(target).filter((k) => !Object.hasOwn(file, k));
  const unexpected = Object.keys(file).filter((k) => !Object.hasOwn(target, k));
  const problems: string[] = [];
  if (strict) {
    for (const k of missing) problems.push(`missing key "${k}" (expected ${target[k]!.dtype} ${shapeStr(target[k]!.shape)})`);
    for (const k of unexpected) problems.push(`unexpected key "${k}" (found ${file[k]!.dtype} ${shapeStr(file[k]!.shape)})`);
  }
  const writes: [Tensor, TypedData][] = [];
  for (const [k, t] of Object.entries(target)) {
    if (!Object.hasOwn(file, k)) continue;
    const src = file[k]!;
    if (t.isDisposed) {
      problems.push(`key "${k}": the target tensor was disposed`);
      continue;
    }
    if (!sameShape(t.shape, src.shape) || TO_SAFE[t.dtype] !== src.dtype) {
      problems.push(`key "${k}": expected ${TO_SAFE[t.dtype]} ${shapeStr(t.shape)}, found ${src.dtype} ${shapeStr(src.shape)}`);
      continue;
    }
    writes.push([t, src.data as TypedData]);
  }
  if (problems.length) throw new CheckpointError(`loadInto: ${problems.join("; ")}; nothing was loaded`);

  for (const [t, data] of writes) {
    if (t.size === 0) continue;
    const buf = t.buffer;
    if (buf) t.device.gpu.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    else {
      // an unrealized target (e.g. a lazy random init) simply becomes this data
      const up = fromTyped(data instanceof TYPED_ARRAY[t.dtype] ? data : new TYPED_ARRAY[t.dtype](data), t.shape, t.dtype, { device: t.device });
      t.setBuffer(up.takeBuffer());
    }
  }
  return { missing: strict ? [] : missing, unexpected: strict ? [] : unexpected, metadata };
}
