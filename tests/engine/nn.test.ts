/**
 * nn modules (engine/nn/conv.ts, norm.ts, misc.ts): PyTorch default inits and forward against the
 * float64 conv, spectral norm's σ against a float64 power iteration, a state dict with conv +
 * batch norm through safetensors bit for bit, and a small conv net overfitting one MNIST batch.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { Adam, flushInPlace, fromTyped, loadSafetensors, mseLoss, nn, saveSafetensors, scope, type Tensor } from "../../engine/index.js";
import { loadMnist } from "../../models/data/index.js";
import { upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randnArray } from "../helpers/numeric.js";

await testDevice();

const nd = async (t: Tensor) => new NdArray(Float64Array.from(await t.toArray()), t.shape);
const maxAbs = (x: NdArray) => x.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("nn modules", () => {
  test("Conv2d / ConvTranspose2d: PyTorch init bounds and forward vs float64", async () => {
    await withDevice(async () => {
      const conv = new nn.Conv2d(4, 6, 3, { padding: 1, groups: 2, seed: 1 });
      const convT = new nn.ConvTranspose2d(4, 6, 2, { stride: 2, groups: 2, seed: 2 });
      expect(conv.weight.shape).toEqual([6, 2, 3, 3]);
      expect(convT.weight.shape).toEqual([4, 3, 2, 2]);
      // conv: fanIn = in/groups·k² = 18; convT: fanIn = shape[1]·k² = 12
      const [w, b, wt, bt] = await Promise.all([conv.weight, conv.bias!, convT.weight, convT.bias!].map(nd));
      expect(maxAbs(w!)).toBeLessThanOrEqual(1 / Math.sqrt(18));
      expect(maxAbs(w!)).toBeGreaterThan(0.6 / Math.sqrt(18));
      expect(maxAbs(b!)).toBeLessThanOrEqual(1 / Math.sqrt(18));
      expect(maxAbs(wt!)).toBeLessThanOrEqual(1 / Math.sqrt(12));
      expect(maxAbs(bt!)).toBeLessThanOrEqual(1 / Math.sqrt(12));
      const x = randnArray([1, 4, 3, 3], 3);
      await scope(async () => {
        expectAllclose(await conv.forward(upload(x)).toArray(), cpu.conv2d(x, w!, b!, { padding: 1, groups: 2 }), { rtol: 1e-4, atol: 1e-5 }, "conv");
        expectAllclose(await convT.forward(upload(x)).toArray(), cpu.convTranspose2d(x, wt!, bt!, { stride: 2, groups: 2 }), { rtol: 1e-4, atol: 1e-5 }, "convT");
      });
      conv.dispose();
      convT.dispose();
    });
  });

  test("MaskedConv2d, weightNorm, Embedding, LayerNorm and Dropout modules", async () => {
    await withDevice(async () => {
      const mc = new nn.MaskedConv2d(2, 3, 3, { mask: "A", seed: 4 });
      const x = randnArray([1, 2, 4, 4], 6);
      // float64 reference: the full conv with the weight's centre and later taps zeroed (mask A)
      const w = await nd(mc.weight);
      const wm = new NdArray(Float64Array.from(w.data), w.shape);
      for (let o = 0; o < 3; o++) for (let c = 0; c < 2; c++) for (let k = 4; k < 9; k++) wm.data[(o * 2 + c) * 9 + k] = 0;
      const wn = await nn.weightNorm(new nn.Linear(3, 2, { seed: 5 }));
      const emb = new nn.Embedding(5, 3, { seed: 6 });
      const ln = new nn.LayerNorm(4);
      const drop = new nn.Dropout(0.5, { seed: 7 });
      await scope(async () => {
        expectAllclose(await mc.forward(upload(x)).toArray(), cpu.conv2d(x, wm, await nd(mc.bias!), { padding: 1 }), { rtol: 1e-4, atol: 1e-5 }, "masked conv A");
        // weight norm starts at g = ‖v‖: the same function as the plain Linear
        const xi = upload(randnArray([2, 3], 8));
        const lin = wn.module as nn.Linear;
        const plain = cpu.zip(cpu.matmul(await nd(xi), cpu.transpose(await nd(lin.weight), 0, 1)), await nd(lin.bias!), (a, c) => a + c);
        const y = wn.forward(xi);
        expectAllclose(await y.toArray(), plain, { rtol: 1e-4, atol: 1e-5 }, "weightNorm initial function");
        y.sum().backward();
        expect(wn.g.grad).not.toBeNull();
        expect(lin.weight.grad).not.toBeNull();
        expect(emb.forward(fromTyped(new Int32Array([1, 4, 0]), [3], "i32")).shape).toEqual([3, 3]);
        expect(ln.forward(upload(randnArray([2, 4], 9))).shape).toEqual([2, 4]);
        const xd = upload(NdArray.full([64], 1));
        const a = await drop.forward(xd).toArray();
        expect(new Set(a)).toEqual(new Set([0, 2]));
        drop.eval();
        expect(Array.from(await drop.forward(xd).toArray())).toEqual(Array(64).fill(1));
      });
      for (const m of [mc, wn, emb, ln]) m.dispose();
    });
  });

  test("spectralNorm: σ converges to the largest singular value", async () => {
    await withDevice(async () => {
      const lin = new nn.Linear(5, 4, { seed: 3 });
      const sn = nn.spectralNorm(lin);
      const W = await nd(lin.weight);
      // float64 reference: power iteration on WᵀW to convergence
      let v = NdArray.full([5, 1], 1);
      for (let i = 0; i < 2000; i++) {
        const wv = cpu.matmul(cpu.transpose(W, 0, 1), cpu.matmul(W, v));
        const n = Math.sqrt(wv.data.reduce((s, a) => s + a * a, 0));
        v = cpu.map(wv, (a) => a / n);
      }
      const wv = cpu.matmul(W, v);
      const sigmaRef = Math.sqrt(wv.data.reduce((s, a) => s + a * a, 0));
      const x = upload(randnArray([2, 5], 4));
      let sigma = 0;
      for (let i = 0; i < 25; i++) {
        sigma = await scope(async () => {
          const y = sn.forward(x);
          await y.toArray();
          const s = (await sn.sigma!.toArray())[0]!;
          await flushInPlace();
          return s;
        });
      }
      expect(Math.abs(sigma - sigmaRef) / sigmaRef).toBeLessThan(1e-3);
      // the output uses W/σ: y = x (W/σ)ᵀ + b
      await scope(async () => {
        sn.eval();
        const y = await sn.forward(x).toArray();
        const ref = cpu.zip(cpu.matmul(await nd(x), cpu.transpose(cpu.map(W, (a) => a / sigmaRef), 0, 1)), await nd(lin.bias!), (a, c) => a + c);
        expectAllclose(y, ref, { rtol: 1e-3, atol: 1e-4 }, "spectral-normalised output");
      });
      x.dispose();
      sn.dispose();
    });
  });

  test("stateDict with Conv2d + BatchNorm2d round-trips through safetensors bit for bit", async () => {
    await withDevice(async () => {
      const make = (seed: number) => new nn.Sequential(new nn.Conv2d(1, 2, 3, { seed }), new nn.BatchNorm2d(2));
      const a = make(1);
      await scope(async () => {
        await a.forward(upload(randnArray([2, 1, 4, 4], 5))).toArray();
        await flushInPlace();
      });
      const bytes = await saveSafetensors(a.stateDict());
      const loaded = loadSafetensors(bytes);
      const b = make(2);
      b.loadStateDict(loaded);
      const sa = a.stateDict();
      const sb = b.stateDict();
      expect(Object.keys(sb).sort()).toEqual(["0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight"]);
      for (const k of Object.keys(sa)) {
        const [x, y] = [await sa[k]!.toArray(), await sb[k]!.toArray()];
        expect(new Uint8Array(y.buffer, y.byteOffset, y.byteLength), k).toEqual(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      }
      for (const t of Object.values(loaded)) t.dispose();
      a.dispose();
      b.dispose();
    });
  });

  test("a small conv net overfits one MNIST batch", { timeout: 300_000 }, async () => {
    const data = await loadMnist({ split: "test", limit: 16 });
    await withDevice(async () => {
      const net = new nn.Sequential(
        new nn.Conv2d(1, 8, 3, { stride: 2, padding: 1, seed: 1 }),
        new nn.GroupNorm(2, 8),
        new nn.SiLU(),
        new nn.Conv2d(8, 8, 3, { padding: 1, seed: 2 }),
        new nn.SiLU(),
        new nn.ConvTranspose2d(8, 1, 4, { stride: 2, padding: 1, seed: 3 }),
      );
      const x = fromTyped(Float32Array.from(data.images, (v) => v / 255), [16, 1, 28, 28], "f32");
      const opt = new Adam(net.parameters(), { lr: 1e-2 });
      const losses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const l = await scope(async () => {
          const loss = mseLoss(net.forward(x), x);
          loss.backward();
          await opt.step({ realize: [loss] });
          opt.zeroGrad();
          return (await loss.toArray())[0]!;
        });
        losses.push(l);
      }
      console.log(`MNIST overfit: loss ${losses[0]!.toFixed(4)} → ${losses.at(-1)!.toFixed(4)}`);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
      opt.dispose();
      x.dispose();
      net.dispose();
    });
  });
});
