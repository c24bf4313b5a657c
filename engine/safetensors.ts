/**
 * The safetensors checkpoint format (https://github.com/huggingface/safetensors), in plain
 * TypeScript so the same code runs in the browser and in Node.
 *
 * Layout of a file:
 *
 *   [ N: u64 little-endian ][ N bytes of UTF-8 JSON header, space-padded ][ data section ]
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }`, with
 * offsets counted from the start of the data section, plus an optional
 * `"__metadata__": { string: string }`. Tensors are row-major and little-endian. The spec
 * requires the tensors to tile the data section exactly: no overlaps and no holes.
 *
 * We write deterministically: `__metadata__` first, then tensor names in sorted order, with
 * their data contiguous in that same order, and the header padded with spaces so the data
 * section starts at a multiple of 8 bytes.
 */

import { CheckpointError } from "./errors.js";

/** Element types of the safetensors spec that latent reads and writes. */
export type SafeDType =
  | "F64" | "F32" | "F16" | "BF16"
  | "I64" | "I32" | "I16" | "I8"
  | "U64" | "U32" | "U16" | "U8"
  | "BOOL";

/**
 * The JS array that holds each dtype's elements. JS has no half-precision array that works
 * everywhere, so F16 and BF16 stay raw little-endian bytes (2 per element); BOOL is one byte
 * per element, 0 or 1.
 */
export interface SafeArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint8Array;
  BF16: Uint8Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/** Any of the arrays in {@link SafeArrays}. */
export type SafeTensorData = SafeArrays[SafeDType];

/**
 * One tensor. A union discriminated by `dtype`, so `if (t.dtype === "F32") t.data` is a
 * `Float32Array`.
 */
export type SafeTensor = {
  [D in SafeDType]: { dtype: D; shape: number[]; data: SafeArrays[D] };
}[SafeDType];

/**
 * What {@link encodeSafetensors} accepts: a {@link SafeTensor}, or any dtype given as raw
 * little-endian bytes in a `Uint8Array` (e.g. F32 data read back from the GPU as bytes).
 */
export interface SafeTensorInput {
  dtype: SafeDType;
  shape: readonly number[];
  data: SafeTensorData;
}

/** Bytes per element, and the name of the typed array that holds the dtype in JS. */
const DTYPES: { readonly [D in SafeDType]: { readonly size: number; readonly array: string } } = {
  F64: { size: 8, array: "Float64Array" },
  F32: { size: 4, array: "Float32Array" },
  F16: { size: 2, array: "Uint8Array" },
  BF16: { size: 2, array: "Uint8Array" },
  I64: { size: 8, array: "BigInt64Array" },
  I32: { size: 4, array: "Int32Array" },
  I16: { size: 2, array: "Int16Array" },
  I8: { size: 1, array: "Int8Array" },
  U64: { size: 8, array: "BigUint64Array" },
  U32: { size: 4, array: "Uint32Array" },
  U16: { size: 2, array: "Uint16Array" },
  U8: { size: 1, array: "Uint8Array" },
  BOOL: { size: 1, array: "Uint8Array" },
};

const METADATA_KEY = "__metadata__";

/** Same limit as the reference Rust reader: a larger header means a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

/** The data section starts at a multiple of this, so an mmap'd file could be viewed in place. */
const ALIGN = 8;

/** Typed arrays use the host's byte order; the file is little-endian. Every current JS host is
 * little-endian, but a big-endian one must swap. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const isDType = (s: unknown): s is SafeDType => typeof s === "string" && Object.hasOwn(DTYPES, s);

/** The class name of a typed array. Unlike `instanceof`, this works across realms (iframes,
 * workers) and sees Node's `Buffer` as the `Uint8Array` it is. */
const arrayName = (x: unknown): string => Object.prototype.toString.call(x).slice(8, -1);

/** Lone UTF-16 surrogates cannot be encoded as UTF-8; TextEncoder would silently turn them
 * into U+FFFD and the name would not survive a round trip. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const show = (x: unknown): string => {
  if (Array.isArray(x)) return `array ${JSON.stringify(x)}`;
  if (x === null) return "null";
  const s = typeof x === "object" ? JSON.stringify(x) : String(x);
  return `${typeof x} ${s.length > 60 ? `${s.slice(0, 57)}...` : s}`;
};

const isShape = (s: unknown): s is number[] =>
  Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);

/** Number of elements; NaN if it exceeds 2^53 (no such tensor can exist in memory anyway). */
const numel = (shape: readonly number[]): number => {
  const n = shape.reduce((a, d) => a * d, 1);
  return Number.isSafeInteger(n) ? n : NaN;
};

/** Reverses each `size`-byte group in place: little-endian ↔ big-endian. */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes.
 *
 * The output is byte-for-byte deterministic: it depends only on the names, dtypes, shapes,
 * data and metadata, never on the insertion order of `tensors` or `metadata`.
 *
 * @param tensors name → tensor. `data` is the dtype's typed array (see {@link SafeArrays}) or
 *   raw little-endian bytes in a `Uint8Array`; either way it must hold exactly
 *   `product(shape) × bytesPerElement` bytes. A scalar has shape `[]`.
 * @param metadata free-form string → string pairs stored under `__metadata__`.
 * @throws CheckpointError on an invalid name, dtype, shape, data length or metadata value.
 *
 * @example
 * const bytes = encodeSafetensors(
 *   { "fc.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array(6) } },
 *   { step: "1000" },
 * );
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafeTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  // Plain sort compares UTF-16 code units: not locale-dependent, so the order is reproducible.
  const names = Object.keys(tensors).sort();
  const entries: string[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;

  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    const pairs = keys.map((k) => {
      const v: unknown = metadata[k];
      if (typeof v !== "string") {
        throw new CheckpointError(`encodeSafetensors: metadata["${k}"] must be a string, got ${show(v)}`);
      }
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw new CheckpointError(`encodeSafetensors: metadata["${k}"] contains a lone UTF-16 surrogate, which UTF-8 cannot encode`);
      }
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    if (pairs.length) entries.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(",")}}`);
  }

  for (const name of names) {
    const t = tensors[name]!;
    const where = `encodeSafetensors: tensor "${name}"`;
    if (name === "" || name === METADATA_KEY) {
      throw new CheckpointError(`encodeSafetensors: tensor name must be non-empty and not "${METADATA_KEY}", got "${name}"`);
    }
    if (LONE_SURROGATE.test(name)) {
      throw new CheckpointError(`${where}: name contains a lone UTF-16 surrogate, which UTF-8 cannot encode`);
    }
    if (!isDType(t.dtype)) {
      throw new CheckpointError(`${where}: expected dtype one of ${Object.keys(DTYPES).join(", ")}, got ${show(t.dtype)}`);
    }
    if (!isShape(t.shape)) {
      throw new CheckpointError(`${where}: shape must be an array of non-negative integers, got ${show(t.shape)}`);
    }
    const { size, array } = DTYPES[t.dtype];
    const got = arrayName(t.data);
    // Raw bytes are accepted for every dtype; otherwise the array must match the dtype, so an
    // Int32Array is never silently written as F32 bits.
    if (got !== array && got !== "Uint8Array") {
      throw new CheckpointError(`${where}: ${t.dtype} data must be a ${array} or raw bytes in a Uint8Array, got ${got}`);
    }
    const n = numel(t.shape);
    const need = n * size;
    if (t.data.byteLength !== need) {
      throw new CheckpointError(
        `${where}: shape [${t.shape.join(", ")}] of ${t.dtype} needs ${need} bytes (${n} × ${size}), data has ${t.data.byteLength} bytes`,
      );
    }
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (!HOST_LITTLE_ENDIAN && got !== "Uint8Array" && size > 1) {
      bytes = bytes.slice();
      swapBytes(bytes, size);
    }
    chunks.push(bytes);
    // Key order inside the entry is fixed by this literal, so the bytes are reproducible.
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + need] };
    entries.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += need;
  }

  // Built by hand rather than with JSON.stringify(object): JS objects enumerate integer-like
  // keys ("0", "10") first, which would break the sorted order.
  const json = new TextEncoder().encode(`{${entries.join(",")}}`);
  // Pad with spaces (allowed by the spec) so 8 + N is a multiple of ALIGN.
  const headerLen = json.length + ((ALIGN - ((8 + json.length) % ALIGN)) % ALIGN);
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reinterprets freshly copied little-endian bytes (own buffer, offset 0) as the dtype's array. */
function viewAs(dtype: SafeDType, bytes: Uint8Array<ArrayBuffer>): SafeTensorData {
  const size = DTYPES[dtype].size;
  if (!HOST_LITTLE_ENDIAN && size > 1 && dtype !== "F16" && dtype !== "BF16") swapBytes(bytes, size);
  const buf = bytes.buffer;
  switch (dtype) {
    case "F64": return new Float64Array(buf);
    case "F32": return new Float32Array(buf);
    case "I64": return new BigInt64Array(buf);
    case "I32": return new Int32Array(buf);
    case "I16": return new Int16Array(buf);
    case "I8": return new Int8Array(buf);
    case "U64": return new BigUint64Array(buf);
    case "U32": return new Uint32Array(buf);
    case "U16": return new Uint16Array(buf);
    case "F16": case "BF16": case "U8": case "BOOL": return bytes;
    default: return dtype satisfies never;
  }
}

/** Raises the decoder's error; a function declaration so TypeScript narrows after calls. */
function fail(msg: string): never {
  throw new CheckpointError(`safetensors: ${msg}`);
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Parses safetensors bytes and validates them against the spec.
 *
 * Every tensor's data is copied into its own buffer, so it is aligned and later changes to
 * `bytes` cannot reach it. F32/F64/I8…I64/U8…U64 come back as the matching typed array
 * (64-bit integers as `BigInt64Array`/`BigUint64Array`). **F16 and BF16 come back as raw
 * little-endian bytes in a `Uint8Array`** (2 bytes per element), since JS has no portable
 * half-precision array; BOOL is a `Uint8Array` with one byte per element.
 *
 * @throws CheckpointError if the file is truncated, the header is not a UTF-8 JSON object, a
 *   dtype is unknown, a shape or offset is malformed, a tensor's byte length does not match
 *   its shape, the tensors overlap or leave holes in the data section, or a metadata value is
 *   not a string. The message says what was expected and what was found.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * const w = tensors["fc.weight"];
 * if (w?.dtype === "F32") use(w.data);   // w.data: Float32Array
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer): {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  // A plain Uint8Array view: its slice() copies (Node's Buffer#slice would alias).
  const u8 = bytes instanceof Uint8Array
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);

  if (u8.length < 8) fail(`expected at least 8 bytes (the header length), got a ${u8.length}-byte file`);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const headerLen = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (headerLen > MAX_HEADER_BYTES) {
    fail(`header length ${headerLen} bytes is absurd (limit ${MAX_HEADER_BYTES}); the file is corrupt or not safetensors`);
  }
  if (8 + headerLen > u8.length) {
    fail(`header length ${headerLen} bytes is larger than the ${u8.length - 8} bytes after the length field; the file is truncated`);
  }

  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(u8.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(header)) fail(`header must be a JSON object, got ${show(header)}`);
  const h = header;

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(h, METADATA_KEY)) {
    const m = h[METADATA_KEY];
    if (!isRecord(m)) fail(`"${METADATA_KEY}" must be an object of strings, got ${show(m)}`);
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "string") fail(`metadata["${k}"] must be a string, got ${show(v)}`);
      define(metadata, k, v);
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = u8.length - dataStart;
  const infos: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(h)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor "${name}"`;
    if (!isRecord(info)) fail(`${where}: expected an object {dtype, shape, data_offsets}, got ${show(info)}`);
    const { dtype, shape, data_offsets: offs } = info;
    if (!isDType(dtype)) fail(`${where}: unknown dtype ${show(dtype)}; expected one of ${Object.keys(DTYPES).join(", ")}`);
    if (!isShape(shape)) fail(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets must be two non-negative integers [begin, end], got ${show(offs)}`);
    }
    const [begin, end] = offs as [number, number];  // checked just above
    if (end < begin) fail(`${where}: data_offsets end ${end} < begin ${begin}`);
    if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] out of range: the data section has ${dataLen} bytes`);
    const need = numel(shape) * DTYPES[dtype].size;
    if (end - begin !== need) {
      fail(`${where}: shape [${shape.join(", ")}] of ${dtype} needs ${need} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    infos.push({ name, dtype, shape, begin, end });
  }

  // The spec forbids overlaps and holes: sorted by offset, each tensor must start exactly where
  // the previous one ended, and the last must end at the end of the file. Empty tensors
  // (begin = end) may sit anywhere along that chain.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = "the start of the data section";
  for (const t of infos) {
    if (t.begin < cursor) fail(`tensor "${t.name}" at [${t.begin}, ${t.end}] overlaps ${prev}, which ends at ${cursor}`);
    if (t.begin > cursor) fail(`hole in the data section: bytes [${cursor}, ${t.begin}) between ${prev} and tensor "${t.name}" belong to no tensor`);
    cursor = t.end;
    prev = `tensor "${t.name}"`;
  }
  if (cursor !== dataLen) {
    fail(`hole in the data section: bytes [${cursor}, ${dataLen}) after ${prev} belong to no tensor`);
  }

  const tensors: Record<string, SafeTensor> = {};
  for (const t of infos) {
    const data = viewAs(t.dtype, u8.slice(dataStart + t.begin, dataStart + t.end));
    // The cast pairs dtype with data; viewAs guarantees they match.
    define(tensors, t.name, { dtype: t.dtype, shape: t.shape, data } as SafeTensor);
  }
  return { tensors, metadata };
}

/** Sets an own property even for the name "__proto__", which plain assignment would turn into
 * a prototype change. */
function define<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
