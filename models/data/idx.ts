/**
 * IDX files (LeCun's format for MNIST and friends), parsed from raw bytes.
 *
 * Layout, all integers big-endian:
 *
 *   byte 0, 1   0x00 0x00                     (the "magic" prefix)
 *   byte 2      element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte 3      number of dimensions d
 *   4·d bytes   the dimensions, u32 each
 *   rest        ∏ dims elements, row-major, big-endian
 *
 * The payload is returned as a view of the input bytes (no copy), so parsing the 47 MB MNIST
 * training file costs nothing beyond reading it.
 */
import { DataError } from "../../engine/errors.js";

export type IdxDType = "u8" | "i8" | "i16" | "i32" | "f32" | "f64";

const CODES: Readonly<Record<number, IdxDType>> = { 0x08: "u8", 0x09: "i8", 0x0b: "i16", 0x0c: "i32", 0x0d: "f32", 0x0e: "f64" };
const SIZE: Readonly<Record<IdxDType, number>> = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 };

export interface IdxFile {
  readonly dims: number[];
  readonly dtype: IdxDType;
  /** The payload bytes (big-endian for multi-byte types); a view into the parsed buffer. */
  readonly data: Uint8Array;
}

export interface IdxExpect {
  /** Required element type. */
  readonly dtype?: IdxDType;
  /** Required dimensions; `null` leaves one free (e.g. `[null, 28, 28]`). */
  readonly dims?: readonly (number | null)[];
}

const fmt = (d: readonly (number | null)[]) => `[${d.map((x) => x ?? "*").join(", ")}]`;

/**
 * Parses an IDX file.
 *
 * @param bytes the whole file
 * @param name used in error messages (e.g. the file name)
 * @param expect optional checks of dtype and dims
 * @throws DataError on a bad magic prefix or unknown type code, a truncated header or payload,
 *   trailing bytes after the payload, or dims/dtype different from `expect`.
 * @example
 * const { dims, data } = parseIdx(bytes, "train-images", { dtype: "u8", dims: [null, 28, 28] });
 */
export function parseIdx(bytes: Uint8Array, name = "IDX file", expect: IdxExpect = {}): IdxFile {
  if (bytes.length < 4) throw new DataError(`${name}: truncated header (${bytes.length} bytes, an IDX header needs at least 4)`);
  const code = bytes[2]!;
  const dtype = CODES[code];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !dtype) {
    const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(`${name}: bad magic number ${magic} (expected 00 00 <type 08|09|0b|0c|0d|0e> <ndims>) — not an IDX file, or still gzipped?`);
  }
  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new DataError(`${name}: truncated header (${rank} dims need ${headerBytes} bytes, file has ${bytes.length})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  // Products of u32 dims can exceed 2^53 only for absurd files, which then fail the length check.
  const payload = dims.reduce((a, d) => a * d, 1) * SIZE[dtype];
  const have = bytes.length - headerBytes;
  if (have < payload) throw new DataError(`${name}: truncated data — dims ${fmt(dims)} of ${dtype} need ${payload} bytes, file has ${have}`);
  if (have > payload) throw new DataError(`${name}: dims mismatch — dims ${fmt(dims)} of ${dtype} account for ${payload} bytes, but ${have} follow the header`);
  if (expect.dtype && expect.dtype !== dtype) throw new DataError(`${name}: expected ${expect.dtype} elements, got ${dtype}`);
  const want = expect.dims;
  if (want && (want.length !== rank || want.some((d, i) => d !== null && d !== dims[i]))) {
    throw new DataError(`${name}: dims mismatch — expected ${fmt(want)}, got ${fmt(dims)}`);
  }
  return { dims, dtype, data: bytes.subarray(headerBytes, headerBytes + payload) };
}

/**
 * The payload decoded to numbers in host byte order (a copy for multi-byte types; `u8` returns
 * the payload view itself).
 */
export function idxValues(f: IdxFile): Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array {
  const n = f.data.length / SIZE[f.dtype];
  const v = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
  switch (f.dtype) {
    case "u8":
      return f.data;
    case "i8":
      return new Int8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    case "i16":
      return Int16Array.from({ length: n }, (_, i) => v.getInt16(2 * i, false));
    case "i32":
      return Int32Array.from({ length: n }, (_, i) => v.getInt32(4 * i, false));
    case "f32":
      return Float32Array.from({ length: n }, (_, i) => v.getFloat32(4 * i, false));
    case "f64":
      return Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i, false));
    default:
      return f.dtype satisfies never;
  }
}

/** Builds an IDX file (the inverse of parseIdx for `u8`): for tests and for writing small datasets. */
export function encodeIdxU8(dims: readonly number[], data: Uint8Array): Uint8Array {
  const n = dims.reduce((a, d) => a * d, 1);
  if (n !== data.length) throw new DataError(`encodeIdxU8: dims ${fmt(dims)} hold ${n} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const v = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
