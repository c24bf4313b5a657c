/**
 * Checkpoints: bit-exact safetensors round trips through the GPU, validated in-place loads that
 * change nothing on failure, optimizer state that resumes training identically, and atomic files.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { randnArray } from "../helpers/numeric.js";
import {
  Adam,
  CheckpointError,
  fromTyped,
  loadInto,
  loadSafetensors,
  loadSafetensorsWithMetadata,
  mean,
  saveSafetensors,
  scope,
  SGD,
  type OptimizerState,
  type Tensor,
} from "../../engine/index.js";
import { decodeSafetensors, encodeSafetensors } from "../../engine/safetensors.js";
import { loadCheckpointFile, saveCheckpointFile } from "../../engine/node-checkpoint.js";

const bits = async (t: Tensor) => Array.from(new Uint32Array((await t.toArray()).buffer.slice(0)));
const u32bits = (a: ArrayBufferView) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
const f32t = (xs: number[], shape: number[]) => fromTyped(Float32Array.from(xs), shape, "f32");

/** f32 values that a careless float path would change: NaN payloads, −0, ±∞, subnormals, extremes. */
const SPECIAL = new Float32Array(new Uint32Array([0x7fc00001, 0xffc01234, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x7f7fffff, 0x3f800000, 0xbeaaaaab]).buffer);

describe("safetensors through the GPU", () => {
  test("save → load is bit-exact for f32, i32, u32, scalars, empty and lazy tensors", async () => {
    await testDevice();
    await withDevice(async () => {
      await scope(async () => {
        const a = fromTyped(SPECIAL, [2, 5], "f32");
        const i = fromTyped(Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 42]), [3, 2], "i32");
        const u = fromTyped(Uint32Array.from([0, 1, 0xffffffff, 0x80000000]), [4], "u32");
        const s = f32t([Math.PI], []);
        const empty = fromTyped(new Float32Array(0), [0, 3], "f32");
        const lazy = f32t([1, 2, 3], [3]).mul(0.1).add(1); // realized by the save
        const big = fromTyped(Float32Array.from(randnArray([700], 3).data), [7, 100], "f32");
        const tensors = { "layer.0/weight": a, ints: i, uints: u, scalar: s, empty, lazy, big };
        const bytes = await saveSafetensors(tensors, { step: "7", note: "héllo" });
        expect(await saveSafetensors(tensors, { note: "héllo", step: "7" }), "deterministic").toEqual(bytes);

        const { tensors: raw, metadata } = decodeSafetensors(bytes);
        expect(metadata).toEqual({ step: "7", note: "héllo" });
        expect(raw["layer.0/weight"]!.dtype).toBe("F32");
        expect(raw.ints!.dtype).toBe("I32");
        expect(raw.uints!.dtype).toBe("U32");
        expect(raw.scalar!.shape).toEqual([]);
        expect(raw.empty!.shape).toEqual([0, 3]);
        expect(u32bits(raw["layer.0/weight"]!.data)).toEqual(u32bits(SPECIAL));
        expect(Array.from(raw.lazy!.data as Float32Array)).toEqual(Array.from(await lazy.toArray()));

        const back = loadSafetensors(bytes);
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, t] of Object.entries(tensors)) {
          const b = back[k]!;
          expect([b.shape, b.dtype, b.name], k).toEqual([t.shape, t.dtype, k]);
          expect(await bits(b), k).toEqual(await bits(t));
        }
      });
    });
  });

  test("unsupported dtypes raise CheckpointError before anything is uploaded; convert loads floats", async () => {
    await withDevice(async (dev) => {
      await scope(async () => {
        const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]).buffer);
        const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
        const bytes = encodeSafetensors({
          a: { dtype: "F32", shape: [2], data: Float32Array.from([1, 2]) },
          d: { dtype: "F64", shape: [2], data: Float64Array.from([0.1, -3]) },
          h: { dtype: "F16", shape: [5], data: half },
          b: { dtype: "BF16", shape: [2], data: bf16 },
        });
        const live = dev.pool.live;
        expect(() => loadSafetensors(bytes)).toThrow(CheckpointError);
        expect(() => loadSafetensors(bytes)).toThrow(/F64.*convert: true/);
        expect(dev.pool.live, "nothing uploaded").toBe(live);
        const t = loadSafetensors(bytes, { convert: true });
        expect(Array.from(await t.d!.toArray())).toEqual([Math.fround(0.1), -3]);
        expect(Array.from(await t.h!.toArray())).toEqual([1, -2, 0.5, 2 ** -24, Infinity]);
        expect(Array.from(await t.b!.toArray())).toEqual([1, -3]);
        const i64 = encodeSafetensors({ x: { dtype: "I64", shape: [1], data: BigInt64Array.from([1n]) } });
        expect(() => loadSafetensors(i64, { convert: true })).toThrow(/I64 is not supported/);
      });
    });
  });
});

describe("loadInto", () => {
  test("copies in place; rejects missing, unexpected, mis-shaped, mis-typed and corrupt input without changing anything", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const w = f32t([1, 2, 3, 4, 5, 6], [2, 3]);
        const b = f32t([7, 8, 9], [3]);
        const wBuf = w.buffer;
        const target = { w, b };
        const good = encodeSafetensors({
          w: { dtype: "F32", shape: [2, 3], data: Float32Array.from([6, 5, 4, 3, 2, 1]) },
          b: { dtype: "F32", shape: [3], data: Float32Array.from([-1, -2, -3]) },
        });
        const r = loadInto(target, good);
        expect(r).toEqual({ missing: [], unexpected: [], metadata: {} });
        expect(w.buffer, "same buffer, written in place").toBe(wBuf);
        const snapshot = async () => [await w.toNested(), await b.toNested()];
        const before = await snapshot();
        expect(before).toEqual([[[6, 5, 4], [3, 2, 1]], [-1, -2, -3]]);

        const W = { dtype: "F32" as const, shape: [2, 3], data: new Float32Array(6).fill(9) };
        const B = { dtype: "F32" as const, shape: [3], data: new Float32Array(3).fill(9) };
        const bad: [string, Uint8Array, RegExp][] = [
          ["missing key", encodeSafetensors({ w: W }), /missing key "b" \(expected f32 \[3\]\)/],
          ["unexpected key", encodeSafetensors({ w: W, b: B, extra: B }), /unexpected key "extra"/],
          ["wrong shape", encodeSafetensors({ w: { ...W, shape: [3, 2] }, b: B }), /key "w": expected F32 \[2, 3\], found F32 \[3, 2\]/],
          ["wrong dtype", encodeSafetensors({ w: W, b: { dtype: "I32", shape: [3], data: new Int32Array(3) } }), /key "b": expected F32 \[3\], found I32 \[3\]/],
          ["truncated", good.slice(0, good.length - 4), /safetensors:/],
          ["garbage header", new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 34, 120, 34, 58, 49, 125, 32]), /safetensors:/],
          ["too short", new Uint8Array(3), /safetensors:/],
        ];
        for (const [label, bytes, msg] of bad) {
          expect(() => loadInto(target, bytes), label).toThrow(CheckpointError);
          expect(() => loadInto(target, bytes), label).toThrow(msg);
          expect(await snapshot(), `${label}: targets unchanged`).toEqual(before);
        }

        // non-strict: load what matches, report the rest; shapes are still checked
        const partial = loadInto(target, encodeSafetensors({ w: W, extra: B }), { strict: false });
        expect([partial.missing, partial.unexpected]).toEqual([["b"], ["extra"]]);
        expect(await snapshot()).toEqual([[[9, 9, 9], [9, 9, 9]], [-1, -2, -3]]);
        expect(() => loadInto(target, encodeSafetensors({ w: { ...W, shape: [6] } }), { strict: false })).toThrow(/expected F32 \[2, 3\], found F32 \[6\]/);

        // an unrealized target becomes the loaded data
        const lazy = f32t([0, 0, 0], [3]).add(5);
        loadInto({ lazy }, encodeSafetensors({ lazy: B }));
        expect(Array.from(await lazy.toArray())).toEqual([9, 9, 9]);
      });
    });
  });
});

describe("optimizer state in checkpoints", () => {
  /** Three steps of full-batch least squares; returns nothing, mutates the parameters. */
  async function train(opt: Adam | SGD, w: Tensor, b: Tensor, x: Tensor, y: Tensor, steps: number) {
    for (let i = 0; i < steps; i++) {
      await scope(async () => {
        const loss = mean(x.matmul(w).add(b).sub(y).square());
        loss.backward();
        await opt.step({ realize: [loss] });
        opt.zeroGrad();
      });
      opt.lr *= 0.9;
    }
  }
  const prefixed = (p: string, r: Record<string, Tensor>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [p + k, v]));
  const unprefixed = (p: string, r: Record<string, Tensor>) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));

  const cases: [string, (ps: Record<string, Tensor>) => Adam | SGD][] = [
    ["adam", (ps) => new Adam(ps, { lr: 0.05, weightDecay: 0.01 })],
    ["sgd", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
  ];
  for (const [kind, make] of cases) {
    test(`save mid-training, restore into fresh objects, continue identically (${kind})`, async () => {
      await withDevice(async () => {
        await scope(async () => {
          const x = fromTyped(Float32Array.from(randnArray([8, 4], 1).data), [8, 4], "f32");
          const y = fromTyped(Float32Array.from(randnArray([8, 3], 2).data), [8, 3], "f32");
          const w = fromTyped(Float32Array.from(randnArray([4, 3], 3).data), [4, 3], "f32", { requiresGrad: true });
          const b = fromTyped(new Float32Array(3), [3], "f32", { requiresGrad: true });
          const opt = make({ w, b });
          let opt2: Adam | SGD | undefined;
          try {
            await train(opt, w, b, x, y, 3);
            const sd = opt.stateDict();
            const bytes = await saveSafetensors({ "model.w": w, "model.b": b, ...prefixed("optim.", sd.tensors) }, { optim: JSON.stringify(sd.meta) });
            await train(opt, w, b, x, y, 3);
            const want = [await bits(w), await bits(b)];

            const { tensors, metadata } = loadSafetensorsWithMetadata(bytes);
            const w2 = tensors["model.w"]!.requiresGrad_();
            const b2 = tensors["model.b"]!.requiresGrad_();
            opt2 = make({ w: w2, b: b2 });
            const state: OptimizerState = { meta: JSON.parse(metadata.optim!), tensors: unprefixed("optim.", tensors) };
            await opt2.loadStateDict(state);
            expect(opt2.lr).toBeCloseTo(0.05 * 0.9 ** 3, 12);
            expect(opt2.stepCount).toBe(3);
            expect(opt2.kind).toBe(kind);
            await train(opt2, w2, b2, x, y, 3);
            expect([await bits(w2), await bits(b2)], "bit-identical continuation").toEqual(want);

            // validation: nothing changes when the state does not fit
            const other = kind === "adam" ? new SGD({ w: w2 }) : new Adam({ w: w2 });
            await expect(other.loadStateDict(state)).rejects.toThrow(/state is for a/);
            other.dispose();
            const bad = { meta: state.meta, tensors: { ...state.tensors } };
            const [k0] = Object.keys(bad.tensors);
            bad.tensors[k0!] = fromTyped(new Float32Array(2), [2], "f32");
            await expect(opt2.loadStateDict(bad)).rejects.toThrow(new RegExp(`state tensor "${k0!.replace(".", "\\.")}": expected f32 \\[`));
            await expect(opt2.loadStateDict({ meta: { ...state.meta, paramSteps: { ...state.meta.paramSteps, nope: 1 } }, tensors: state.tensors })).rejects.toThrow(/unexpected parameter "nope"/);
            const { [k0!]: _dropped, ...fewer } = state.tensors;
            await expect(opt2.loadStateDict({ meta: state.meta, tensors: fewer })).rejects.toThrow(CheckpointError);
          } finally {
            opt.dispose();
            opt2?.dispose();
          }
        });
      });
    });
  }
});

describe("checkpoint files (Node)", () => {
  test("atomic save and load in a temp dir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "latent-ckpt-"));
    try {
      await withDevice(async () => {
        await scope(async () => {
          const path = join(dir, "model.safetensors");
          const w = f32t([1.5, -2.5, 3.25], [3]);
          const n = fromTyped(Int32Array.from([7, -7]), [2], "i32");
          await saveCheckpointFile(path, { w, n }, { epoch: "3" });
          expect(await readdir(dir), "no temp files left behind").toEqual(["model.safetensors"]);
          const { tensors, metadata } = await loadCheckpointFile(path);
          expect(metadata).toEqual({ epoch: "3" });
          expect(await tensors.w!.toNested()).toEqual([1.5, -2.5, 3.25]);
          expect(await tensors.n!.toNested()).toEqual([7, -7]);
          // overwrite in place
          await saveCheckpointFile(path, { w: w.mul(2) });
          expect(await (await loadCheckpointFile(path)).tensors.w!.toNested()).toEqual([3, -5, 6.5]);
          expect(await readdir(dir)).toEqual(["model.safetensors"]);
          await expect(saveCheckpointFile(join(dir, "missing-dir", "x.safetensors"), { w })).rejects.toThrow(CheckpointError);
          await expect(loadCheckpointFile(join(dir, "nope.safetensors"))).rejects.toThrow(/no such file/);
        });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
