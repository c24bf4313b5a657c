import { describe, expect, test } from "vitest";
import { compile, CompileError, randn, scope, tensor, nn, type Tensor } from "../../engine/index.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose } from "../helpers/numeric.js";

await testDevice();

describe("compile", () => {
  test("replays a forward computation with fresh inputs and equals eager", async () => {
    await withDevice(async (dev) => {
      await scope(async () => {
        const w = randn([8, 4], { seed: 1 });
        const f = (x: Tensor) => x.matmul(w).tanh().sum(-1);
        const step = compile(async (x: Tensor) => f(x));
        for (let i = 0; i < 3; i++) {
          const x = randn([5, 8], { seed: 10 + i });
          const eager = await f(x).toArray();
          const compiles = dev.pipelines.compiles;
          const got = await step(x);
          expectAllclose(await got.toArray(), eager, { rtol: 1e-6 });
          if (i > 0) expect(dev.pipelines.compiles).toBe(compiles);
        }
        expect(step.stats().traces).toBe(1);
        await step(randn([3, 8], { seed: 99 }));
        expect(step.stats().traces).toBe(2);
        step.dispose();
      });
    });
  });

  test("a forward-only model step equals eager for several calls", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const m = new nn.Sequential(new nn.Linear(6, 16, { seed: 3 }), new nn.Tanh(), new nn.Linear(16, 1, { seed: 4 }));
        const lossOf = (xx: Tensor, yy: Tensor) => m.forward(xx).sub(yy).square().mean();
        const step = compile(async (xx: Tensor, yy: Tensor) => lossOf(xx, yy));
        for (let i = 0; i < 3; i++) {
          const x = randn([12, 6], { seed: 5 + i }), y = randn([12, 1], { seed: 6 + i });
          expect(await (await step(x, y)).item()).toBeCloseTo(await lossOf(x, y).item(), 6);
        }
        step.dispose();
        m.dispose();
      });
    });
  });

  test("reading data back inside a step is a CompileError", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const step = compile(async (x: Tensor) => {
          const s = await x.sum().item();
          return x.mul(s);
        });
        await expect(step(tensor([1, 2, 3]))).rejects.toThrow(CompileError);
        step.dispose();
      });
    });
  });

  test("random draws are fresh at every replay; fixed seeds are not", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const step = compile(async (x: Tensor) => x.add(randn(x.shape)));
        const fixed = compile(async (x: Tensor) => x.add(randn(x.shape, { seed: 4 })));
        const x = tensor([0, 0, 0, 0]);
        const a = await (await step(x)).toArray(), b = await (await step(x)).toArray();
        expect([...a]).not.toEqual([...b]);
        const c = await (await fixed(x)).toArray(), d = await (await fixed(x)).toArray();
        expect([...c]).toEqual([...d]);
        step.dispose();
        fixed.dispose();
      });
    });
  });

  test("the memory plan reuses intermediates", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const w = randn([32, 32], { seed: 2 });
        const step = compile(async (x: Tensor) => {
          // a chain of matmuls: every intermediate is its own kernel output, each dead after the next
          let h = x;
          for (let i = 0; i < 8; i++) h = h.matmul(w).tanh();
          return h.sum();
        });
        const x = randn([32, 32], { seed: 1 });
        const first = await (await step(x)).item();
        const again = await (await step(x)).item();
        expect(again).toBeCloseTo(first, 5);
        const s = step.stats();
        expect(s.plannedBytes).toBeLessThan(s.intermediateBytes);
        step.dispose();
      });
    });
  });
});

describe("GpuAccumulator", () => {
  test("accumulates losses on the GPU eagerly and inside compiled steps", async () => {
    const { GpuAccumulator } = await import("../../engine/index.js");
    await withDevice(async () => {
      await scope(async () => {
        const acc = new GpuAccumulator();
        await acc.add(tensor(2));
        await acc.add(tensor([4]));
        expect(await acc.read()).toEqual({ mean: 3, count: 2, sum: 6 });
        const step = compile(async (x: Tensor) => {
          const l = x.square().mean();
          await acc.add(l);
          return l;
        });
        for (const v of [1, 2, 3]) await step(tensor([v, v]));
        expect(await acc.read()).toEqual({ mean: (1 + 4 + 9) / 3, count: 3, sum: 14 });
        step.dispose();
        acc.dispose();
      });
    });
  });
});

test("state allocated inside a trace never shares a buffer with a freed temporary", async () => {
  const { GpuAccumulator, realize } = await import("../../engine/index.js");
  await withDevice(async () => {
    await scope(async () => {
      let acc: InstanceType<typeof GpuAccumulator> | undefined;
      const step = compile(async (x: Tensor) => {
        const tmp = x.mul(3); // 16 bytes, the same size class as the accumulator's buffer
        await realize(tmp);
        tmp.dispose();
        acc ??= new GpuAccumulator();
        await acc.add(x.sum());
        return x.add(1);
      });
      const x = tensor([1, 1, 1, 1]);
      for (let i = 0; i < 3; i++) await step(x);
      expect((await acc!.read()).sum).toBe(12);
      step.dispose();
      acc!.dispose();
    });
  });
});
