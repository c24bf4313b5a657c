import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { CheckpointError } from "../../engine/errors.js";
import { readFileBytes, writeFileAtomic } from "../../engine/node-fs.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type SafeTensorInput,
} from "../../engine/safetensors.js";

// Fault injection for the atomic-write tests: with a flag set, rename() fails, or the temp
// file's write stops halfway with ENOSPC. Everything else passes through to the real module.
const faults = vi.hoisted(() => ({ rename: false, write: false }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const simulated = (code: string) => Object.assign(new Error(`${code}: simulated failure`), { code });
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (faults.rename) throw simulated("EIO");
      return real.rename(from, to);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (faults.write) {
        const write = handle.writeFile.bind(handle);
        handle.writeFile = (async (data: Uint8Array) => {
          await write(data.subarray(0, data.length >> 1));
          throw simulated("ENOSPC");
        }) as typeof handle.writeFile;
      }
      return handle;
    },
  };
});

// ---------------------------------------------------------------------------------------------
// Helpers that build files straight from the spec, without the encoder under test.

/** [u64 LE header length][header bytes][data]. `claimedLen` overrides the length field. */
function rawFile(header: string | Uint8Array, data: ArrayLike<number> = [], claimedLen?: number): Uint8Array {
  const h = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  const len = claimedLen ?? h.length;
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len % 2 ** 32, true);
  dv.setUint32(4, Math.floor(len / 2 ** 32), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A file with one header entry per tensor and `dataLen` zero bytes of data. */
const fileWith = (entries: Record<string, unknown>, dataLen: number): Uint8Array =>
  rawFile(JSON.stringify(entries), new Uint8Array(dataLen));

const headerOf = (bytes: Uint8Array): { len: number; text: string } => {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { len, text: new TextDecoder().decode(bytes.subarray(8, 8 + len)) };
};

const expectCorrupt = (bytes: Uint8Array, message: RegExp) => {
  expect(() => decodeSafetensors(bytes)).toThrow(CheckpointError);
  expect(() => decodeSafetensors(bytes)).toThrow(message);
};

// ---------------------------------------------------------------------------------------------

describe("safetensors round trip", () => {
  const f16Bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]); // 1, -2, 65504 in IEEE half
  const tensors: Record<string, SafeTensor> = {
    "enc.fc1.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Infinity]) },
    "enc.fc1.bias": { dtype: "F64", shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    step: { dtype: "I64", shape: [], data: new BigInt64Array([-(2n ** 62n)]) },
    seed: { dtype: "U64", shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    ids: { dtype: "I32", shape: [2, 2], data: new Int32Array([-1, 2 ** 31 - 1, -(2 ** 31), 0]) },
    counts: { dtype: "U32", shape: [2], data: new Uint32Array([2 ** 32 - 1, 7]) },
    small: { dtype: "I16", shape: [1, 1, 3], data: new Int16Array([-32768, 32767, 1]) },
    usmall: { dtype: "U16", shape: [2], data: new Uint16Array([65535, 256]) },
    bytes: { dtype: "I8", shape: [3], data: new Int8Array([-128, 127, 0]) },
    pixels: { dtype: "U8", shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
    mask: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    half: { dtype: "F16", shape: [3], data: f16Bytes },
    brain: { dtype: "BF16", shape: [2], data: new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) }, // 1, -2
    scalar: { dtype: "F32", shape: [], data: new Float32Array([42]) },
    empty: { dtype: "F32", shape: [0, 5], data: new Float32Array(0) },
    "empty.too": { dtype: "I64", shape: [3, 0], data: new BigInt64Array(0) },
    "ünï/çødé ✓": { dtype: "U8", shape: [1], data: new Uint8Array([9]) },
    "10": { dtype: "U8", shape: [1], data: new Uint8Array([10]) },
    "2": { dtype: "U8", shape: [1], data: new Uint8Array([2]) },
  };
  // A tensor named `__proto__` must stay a plain key (in a literal it would set the prototype).
  Object.defineProperty(tensors, "__proto__", {
    value: { dtype: "U8", shape: [1], data: new Uint8Array([3]) },
    enumerable: true, writable: true, configurable: true,
  });

  test("every dtype, scalars and empty tensors survive encode → decode", () => {
    const meta = { format: "latent/1", "ünï": "✓ \"quoted\"\n", step: "1000" };
    const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, meta));
    expect(metadata).toEqual(meta);
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back[name]!;
      expect(b.dtype, name).toBe(t.dtype);
      expect(b.shape, name).toEqual(t.shape);
      expect(b.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(b.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    expect(Object.is((back["enc.fc1.weight"]!.data as Float32Array)[4], -0)).toBe(true);
  });

  test("decoded arrays are aligned copies, whatever the input's alignment", () => {
    const file = encodeSafetensors({
      a: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },   // puts b at an odd offset
      b: { dtype: "F64", shape: [2], data: new Float64Array([0.5, -7]) },
    });
    // Same bytes at an odd offset inside a larger buffer, and as a Node Buffer.
    const shifted = new Uint8Array(file.length + 1).subarray(1);
    shifted.set(file);
    for (const input of [file, shifted, file.slice().buffer, Buffer.from(file)]) {
      const { tensors: t } = decodeSafetensors(input);
      const b = t.b!;
      expect(b.data).toBeInstanceOf(Float64Array);
      expect(b.data.byteOffset).toBe(0);
      expect(Array.from(b.data as Float64Array)).toEqual([0.5, -7]);
    }
    const buf = Buffer.from(file);
    const { tensors: t } = decodeSafetensors(buf);
    buf.fill(0);
    expect(Array.from(t.a!.data as Uint8Array)).toEqual([1, 2, 3]);    // not a view of the input
  });

  test("typed data may also be given as raw little-endian bytes", () => {
    const f = new Float32Array([1.5, -3]);
    const raw = new Uint8Array(f.buffer);
    const a = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: f } });
    const b = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: raw } });
    expect(b).toEqual(a);
    // A view into a larger buffer writes only its own elements.
    const big = new Float32Array([9, 1.5, -3, 9]);
    expect(encodeSafetensors({ w: { dtype: "F32", shape: [2], data: big.subarray(1, 3) } })).toEqual(a);
  });
});

describe("safetensors output bytes", () => {
  test("byte-exact: sorted keys, metadata first, compact JSON, space padding, contiguous data", () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: "I16", shape: [], data: new Int16Array([-3]) },
        a: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
      },
      { z: "1", k: "v" },
    );
    const json =
      '{"__metadata__":{"k":"v","z":"1"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I16","shape":[],"data_offsets":[8,10]}}';
    const pad = (8 - ((8 + json.length) % 8)) % 8;
    const expected = rawFile(json + " ".repeat(pad), [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0xfd, 0xff]);
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });

  test("deterministic: insertion order of tensors and metadata does not matter", () => {
    const t1 = { dtype: "F32", shape: [1], data: new Float32Array([1]) } as const;
    const t2 = { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) } as const;
    const x = encodeSafetensors({ "layer.10": t1, "layer.2": t2, "1": t2, "0": t1 }, { b: "2", a: "1" });
    const y = encodeSafetensors({ "0": t1, "1": t2, "layer.2": t2, "layer.10": t1 }, { a: "1", b: "2" });
    expect(y).toEqual(x);
    // Integer-like names are sorted as strings too, not enumerated first as JS objects would.
    // (Read from the raw text: JSON.parse would reorder them again.)
    const names = [...headerOf(x).text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(names).toEqual(["0", "1", "layer.10", "layer.2"]);
    expect(headerOf(x).text.startsWith('{"__metadata__":{"a":"1","b":"2"},')).toBe(true);
  });

  test("empty metadata and no metadata give the same bytes", () => {
    const t = { w: { dtype: "U8", shape: [1], data: new Uint8Array([1]) } } as const;
    expect(encodeSafetensors(t, {})).toEqual(encodeSafetensors(t));
    expect(headerOf(encodeSafetensors(t)).text).not.toContain("__metadata__");
  });

  test.each([0, 1, 2, 3, 5, 7, 8, 13])("data section is 8-byte aligned (name length %i)", (n) => {
    const name = "x".repeat(n + 1);
    const bytes = encodeSafetensors({ [name]: { dtype: "U8", shape: [n], data: new Uint8Array(n) } });
    const { len, text } = headerOf(bytes);
    expect((8 + len) % 8).toBe(0);
    expect(text.trimEnd()).toMatch(/}$/);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);           // padding is spaces only
    expect(bytes.length).toBe(8 + len + n);
  });

  test("an empty checkpoint is a valid file", () => {
    const bytes = encodeSafetensors({});
    expect(headerOf(bytes).text.trim()).toBe("{}");
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: {} });
  });
});

describe("safetensors decoding a hand-built file", () => {
  test("reads every field as the spec defines it", () => {
    // Header written in an unsorted order, with padding, extra whitespace and a BF16 entry.
    const header =
      '{ "w": {"dtype":"F32","shape":[2],"data_offsets":[0,8]},\n' +
      '  "__metadata__": {"epoch": "3"},\n' +
      '  "s": {"shape":[],"dtype":"I16","data_offsets":[8,10]},\n' +
      '  "h": {"dtype":"BF16","shape":[1,1],"data_offsets":[10,12]},\n' +
      '  "e": {"dtype":"U32","shape":[0],"data_offsets":[12,12]},\n' +
      '  "u": {"dtype":"U16","shape":[2],"data_offsets":[12,16]} }     ';
    const data = [
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, // w = [1, -2] as F32 LE
      0xfd, 0xff, //                                     s = -3 as I16 LE
      0x80, 0x3f, //                                     h = 1.0 as BF16 LE
      0x01, 0x00, 0x00, 0x01, //                         u = [1, 256] as U16 LE
    ];
    const { tensors, metadata } = decodeSafetensors(rawFile(header, data));
    expect(metadata).toEqual({ epoch: "3" });
    const { w, s, h, e, u } = tensors;
    expect(w).toEqual({ dtype: "F32", shape: [2], data: new Float32Array([1, -2]) });
    expect(s).toEqual({ dtype: "I16", shape: [], data: new Int16Array([-3]) });
    expect(h).toEqual({ dtype: "BF16", shape: [1, 1], data: new Uint8Array([0x80, 0x3f]) });
    expect(e).toEqual({ dtype: "U32", shape: [0], data: new Uint32Array(0) });
    expect(u).toEqual({ dtype: "U16", shape: [2], data: new Uint16Array([1, 256]) });
  });
});

describe("safetensors rejects corrupt files with CheckpointError", () => {
  const ok = { dtype: "U8", shape: [2], data_offsets: [0, 2] };

  test.each([0, 1, 7])("file of %i bytes is too short", (n) => {
    expectCorrupt(new Uint8Array(n), /at least 8 bytes.*got a \d-byte file/);
  });

  test("header length larger than the file", () => {
    expectCorrupt(rawFile("{}", [], 100), /header length 100 bytes is larger than the 2 bytes/);
  });

  test("absurd header length", () => {
    expectCorrupt(rawFile("{}", [], 2 ** 40), /header length \d+ bytes is absurd/);
    expectCorrupt(rawFile("{}", [], 100_000_001), /absurd/);
  });

  test("header not valid UTF-8", () => {
    expectCorrupt(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8 JSON/);
  });

  test.each(['{"a":', "", "{'a': 1}", "{} x"])("header not JSON: %j", (h) => {
    expectCorrupt(rawFile(h), /not valid UTF-8 JSON/);
  });

  test.each(["[]", "null", "3", '"{}"'])("header not an object: %s", (h) => {
    expectCorrupt(rawFile(h), /header must be a JSON object, got/);
  });

  test("tensor entry not an object", () => {
    expectCorrupt(fileWith({ a: [1, 2] }, 0), /tensor "a": expected an object/);
  });

  test.each([["F128"], [null], [32], ["f32"]])("unknown dtype %j", (dtype) => {
    expectCorrupt(fileWith({ a: { ...ok, dtype } }, 2), /tensor "a": unknown dtype .*expected one of F64, F32/);
  });

  test.each([[2], [[-1]], [[1.5]], [["2"]], [null], [[2, null]]])("shape %j is not non-negative integers", (shape) => {
    expectCorrupt(fileWith({ a: { ...ok, shape } }, 2), /tensor "a": shape must be an array of non-negative integers/);
  });

  test.each([[[0, 1.5]], [[0]], [[0, 2, 4]], [["0", "2"]], [[-2, 0]], [null]])("data_offsets %j malformed", (offs) => {
    expectCorrupt(fileWith({ a: { ...ok, data_offsets: offs } }, 2), /tensor "a": data_offsets must be two non-negative integers/);
  });

  test("data_offsets end < begin", () => {
    expectCorrupt(fileWith({ a: { ...ok, data_offsets: [2, 0] } }, 2), /end 0 < begin 2/);
  });

  test("data_offsets out of range", () => {
    expectCorrupt(fileWith({ a: { ...ok, data_offsets: [0, 2] } }, 1), /\[0, 2\] out of range: the data section has 1 bytes/);
  });

  test("byte length does not match shape × dtype size", () => {
    expectCorrupt(
      fileWith({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, 12),
      /shape \[2, 2\] of F32 needs 16 bytes, but data_offsets \[0, 12\] span 12/,
    );
  });

  test("overlapping tensors", () => {
    const entries = { a: { ...ok, data_offsets: [0, 2] }, b: { ...ok, data_offsets: [1, 3] } };
    expectCorrupt(fileWith(entries, 3), /tensor "b" at \[1, 3\] overlaps tensor "a"/);
    const same = { a: ok, b: ok };
    expectCorrupt(fileWith(same, 2), /overlaps/);
  });

  test("holes in the data section: before, between and after tensors", () => {
    expectCorrupt(fileWith({ a: { ...ok, data_offsets: [1, 3] } }, 3), /hole .*bytes \[0, 1\) .*tensor "a"/);
    expectCorrupt(
      fileWith({ a: ok, b: { ...ok, data_offsets: [3, 5] } }, 5),
      /hole .*bytes \[2, 3\) between tensor "a" and tensor "b"/,
    );
    expectCorrupt(fileWith({ a: ok }, 4), /hole .*bytes \[2, 4\) after tensor "a"/);
    expectCorrupt(fileWith({}, 1), /hole .*bytes \[0, 1\)/);
  });

  test("metadata value not a string", () => {
    expectCorrupt(fileWith({ __metadata__: { epoch: 3 }, a: ok }, 2), /metadata\["epoch"\] must be a string, got number 3/);
    expectCorrupt(fileWith({ __metadata__: { x: null } }, 0), /metadata\["x"\] must be a string, got null/);
  });

  test("metadata not an object", () => {
    expectCorrupt(fileWith({ __metadata__: ["a"] }, 0), /"__metadata__" must be an object of strings, got array/);
  });

  test("a valid file followed by truncation is caught", () => {
    const good = encodeSafetensors({ w: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    expectCorrupt(good.subarray(0, good.length - 1), /out of range/);
    expectCorrupt(good.subarray(0, 20), /larger than/);
  });
});

describe("safetensors encode validation", () => {
  const u8 = (n: number) => new Uint8Array(n);
  const bad = (tensors: Record<string, SafeTensorInput>, message: RegExp, metadata?: Record<string, string>) => {
    expect(() => encodeSafetensors(tensors, metadata)).toThrow(CheckpointError);
    expect(() => encodeSafetensors(tensors, metadata)).toThrow(message);
  };

  test("names", () => {
    bad({ "": { dtype: "U8", shape: [1], data: u8(1) } }, /name must be non-empty/);
    bad({ __metadata__: { dtype: "U8", shape: [1], data: u8(1) } }, /not "__metadata__"/);
    bad({ "a\uD800b": { dtype: "U8", shape: [1], data: u8(1) } }, /lone UTF-16 surrogate/);
  });

  test("dtype", () => {
    bad({ a: { dtype: "F8" as never, shape: [1], data: u8(1) } }, /tensor "a": expected dtype one of .* got string F8/);
  });

  test.each([[[-1]], [[1.5]], [[NaN]], [["2"]], [3]])("shape %j", (shape) => {
    bad({ a: { dtype: "U8", shape: shape as never, data: u8(2) } }, /shape must be an array of non-negative integers/);
  });

  test("data length must match shape", () => {
    bad({ a: { dtype: "F32", shape: [2, 3], data: new Float32Array(5) } }, /shape \[2, 3\] of F32 needs 24 bytes \(6 × 4\), data has 20 bytes/);
    bad({ a: { dtype: "F16", shape: [3], data: u8(3) } }, /needs 6 bytes/);
    bad({ a: { dtype: "F32", shape: [], data: new Float32Array(0) } }, /needs 4 bytes/);
  });

  test("data array must match dtype", () => {
    bad({ a: { dtype: "F32", shape: [2], data: new Int32Array(2) } }, /F32 data must be a Float32Array or raw bytes in a Uint8Array, got Int32Array/);
    bad({ a: { dtype: "I64", shape: [1], data: new Float64Array(1) } }, /got Float64Array/);
  });

  test("metadata values must be strings", () => {
    bad({}, /metadata\["n"\] must be a string, got number 1/, { n: 1 as never });
  });
});

// ---------------------------------------------------------------------------------------------

describe("node-fs", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "latent-safetensors-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    faults.rename = false;
    faults.write = false;
  });

  /** A fresh subdirectory per test, so "no temp files left" can list it exactly. */
  let n = 0;
  const sub = async () => {
    const d = join(dir, `t${n++}`);
    await mkdir(d);
    return d;
  };

  test("writes, reads back, overwrites; leaves no temp files", async () => {
    const d = await sub();
    const path = join(d, "ckpt.safetensors");
    const first = encodeSafetensors({ w: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) } });
    await writeFileAtomic(path, first);
    expect(await readFileBytes(path)).toEqual(first);
    const second = new Uint8Array(100_000).map((_, i) => i * 7);
    await writeFileAtomic(path, second);
    const back = await readFileBytes(path);
    expect(back).toBeInstanceOf(Uint8Array);
    expect(back).toEqual(second);
    expect(await readdir(d)).toEqual(["ckpt.safetensors"]);
    expect(decodeSafetensors(first).tensors.w!.data).toEqual(new Float32Array([1, 2, 3]));
  });

  test("overwriting keeps the file's permission bits", async () => {
    const d = await sub();
    const path = join(d, "private.bin");
    await writeFile(path, "old");
    await chmod(path, 0o600);
    await writeFileAtomic(path, new Uint8Array([1]));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("concurrent writers: the result is one complete file, no temp files", async () => {
    const d = await sub();
    const path = join(d, "race.bin");
    const payloads = [1, 2, 3, 4].map((v) => new Uint8Array(50_000).fill(v));
    await Promise.all(payloads.map((p) => writeFileAtomic(path, p)));
    const back = await readFileBytes(path);
    expect(payloads.some((p) => Buffer.compare(Buffer.from(p), Buffer.from(back)) === 0)).toBe(true);
    expect(await readdir(d)).toEqual(["race.bin"]);
  });

  test("missing target directory: throws CheckpointError naming the path", async () => {
    const path = join(dir, "does-not-exist", "x.safetensors");
    await expect(writeFileAtomic(path, new Uint8Array([1]))).rejects.toThrow(CheckpointError);
    await expect(writeFileAtomic(path, new Uint8Array([1]))).rejects.toThrow(/could not write .*does-not-exist.*ENOENT/);
  });

  test("target is a directory: throws, the directory survives, no temp files", async () => {
    const d = await sub();
    const target = join(d, "taken");
    await mkdir(target);
    await writeFile(join(target, "inside.txt"), "keep me");
    await expect(writeFileAtomic(target, new Uint8Array([1, 2]))).rejects.toThrow(CheckpointError);
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readFile(join(target, "inside.txt"), "utf8")).toBe("keep me");
    expect(await readdir(d)).toEqual(["taken"]);
  });

  test.each(["write", "rename"] as const)("failure during %s leaves the original intact and no temp files", async (fault) => {
    const d = await sub();
    const path = join(d, "model.safetensors");
    const original = new Uint8Array([1, 2, 3, 4]);
    await writeFileAtomic(path, original);
    faults[fault] = true;
    const attempt = writeFileAtomic(path, new Uint8Array(4096).fill(9));
    await expect(attempt).rejects.toThrow(CheckpointError);
    await expect(attempt).rejects.toThrow(fault === "write" ? /ENOSPC: simulated/ : /EIO: simulated/);
    faults[fault] = false;
    expect(await readFileBytes(path)).toEqual(original);
    expect(await readdir(d)).toEqual(["model.safetensors"]);
  });

  test("readFileBytes: missing file or directory raises CheckpointError with the path", async () => {
    const missing = join(dir, "nope.safetensors");
    await expect(readFileBytes(missing)).rejects.toThrow(CheckpointError);
    await expect(readFileBytes(missing)).rejects.toThrow(`cannot read checkpoint ${missing}: no such file`);
    await expect(readFileBytes(dir)).rejects.toThrow(/it is a directory/);
  });
});
