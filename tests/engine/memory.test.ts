/**
 * Buffer lifetime: scope() / openScope() release what they made except what leaves them, keep()
 * pins a tensor, dispose() is final (DisposedError afterwards), and a tensor that leaves a scope
 * unrealized keeps exactly the buffers its graph still reads until it is realized or disposed.
 * The live-buffer count (liveBuffers) must come back to its baseline every time.
 */
import { describe, expect, test } from "vitest";
import { DisposedError, liveBuffers, openScope, scope, sum, tensor, type Tensor } from "../../engine/index.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

await testDevice();

describe("scope()", () => {
  test("releases everything made inside except the returned value (in arrays/objects/Maps) and keep()-ed tensors", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const inner: Record<string, Tensor> = {};
      const out = await scope(async () => {
        const a = tensor([1, 2, 3]);
        const b = tensor([4, 5, 6]);
        const c = a.add(b);
        const d = a.mul(b);
        const m = a.sub(b);
        await Promise.all([c.realize(), d.realize(), m.realize()]);
        const k = tensor([9, 9]).keep();
        const e = tensor([0]);
        Object.assign(inner, { a, b, c, d, m, k, e });
        return { list: [c], nested: { deep: [d] }, map: new Map([["m", m]]) };
      });
      const { a, b, c, d, m, k, e } = inner as Record<string, Tensor>;
      for (const t of [a!, b!, e!]) expect(t.isDisposed, `${t.describe()} disposed`).toBe(true);
      for (const t of [c!, d!, m!, k!]) expect(t.isDisposed, `${t.describe()} alive`).toBe(false);
      expect(liveBuffers() - base).toBe(4);
      expect(await out.list[0]!.toNested()).toEqual([5, 7, 9]);
      expect(await out.nested.deep[0]!.toNested()).toEqual([4, 10, 18]);
      expect(await out.map.get("m")!.toNested()).toEqual([-3, -3, -3]);
      expect(await k!.toNested()).toEqual([9, 9]);
      for (const t of [c!, d!, m!, k!]) t.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("sync scope; nested scopes hand results to the enclosing one", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      let fromInner: Tensor | undefined;
      const outer = scope(() => {
        fromInner = scope(() => {
          const t = tensor([1, 2]);
          tensor([3]); // dropped by the inner scope
          return t;
        });
        expect(liveBuffers() - base).toBe(1);
        return tensor([5]);
      });
      // the inner result was not returned by the outer scope, so the outer scope released it
      expect(fromInner!.isDisposed).toBe(true);
      expect(liveBuffers() - base).toBe(1);
      expect(await outer.item()).toBe(5);
      outer.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("a throwing scope still releases what it made, and the error propagates", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      expect(() =>
        scope(() => {
          tensor([1, 2, 3]);
          throw new RangeError("boom");
        }),
      ).toThrow(RangeError);
      await expect(
        scope(async () => {
          const t = tensor([1]);
          await t.add(1).realize();
          throw new RangeError("async boom");
        }),
      ).rejects.toThrow(RangeError);
      expect(liveBuffers()).toBe(base);
    });
  });

  test("a training-style loop does not grow the live-buffer count", async () => {
    await withDevice(async () => {
      const w = tensor([0.5, -0.5, 1], undefined, { requiresGrad: true });
      const x = tensor([[1, 2, 3], [4, 5, 6]]);
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) {
        const loss = await scope(async () => {
          const l = sum(x.mul(w).tanh());
          l.backward();
          await w.grad!.realize();
          const v = await l.item();
          w.grad = null;
          return v;
        });
        expect(Number.isFinite(loss)).toBe(true);
        counts.push(liveBuffers());
      }
      expect(new Set(counts).size, `live buffers per iteration: ${counts.join(", ")}`).toBe(1);
      w.dispose();
      x.dispose();
    });
  });
});

describe("dispose()", () => {
  test("using a disposed tensor throws DisposedError (ops, readback, and lazy consumers)", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const x = tensor([1, 2, 3]);
      const lazy = x.mul(2);
      x.dispose();
      x.dispose(); // idempotent
      expect(x.isDisposed).toBe(true);
      expect(liveBuffers()).toBe(base);
      expect(() => x.add(1)).toThrow(DisposedError);
      expect(() => x.buffer).toThrow(DisposedError);
      await expect(x.toArray()).rejects.toThrow(DisposedError);
      await expect(lazy.toArray()).rejects.toThrow(DisposedError);
      const y = tensor([4]);
      y.dispose();
      await expect(y.item()).rejects.toThrow(/used after dispose/);
    });
  });
});

describe("unrealized tensors leaving a scope", () => {
  test("compute correctly after the scope closed; retained inputs are released once realized", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const outside = tensor([10, 20, 30]); // the caller's tensor: not the scope's to retain or free
      let a: Tensor | undefined, mid: Tensor | undefined;
      const y = await scope(async () => {
        a = tensor([1, 2, 3]);
        const b = tensor([4, 5, 6]);
        mid = a.add(b); // realized inside: its buffer must survive for y
        await mid.realize();
        tensor([0, 0]); // unrelated: released
        return mid.mul(a).add(outside);
      });
      expect(y.isRealized).toBe(false);
      // y still needs a (read directly) and mid (realized); b is only read through mid
      expect(liveBuffers() - base).toBe(3);
      expect(a!.isDisposed).toBe(false);
      expect(await y.toNested()).toEqual([15, 34, 57]);
      // realized: y owns one buffer; what it retained is gone
      expect(liveBuffers() - base).toBe(2);
      expect(a!.isDisposed).toBe(true);
      expect(mid!.isDisposed).toBe(true);
      y.dispose();
      outside.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("two unrealized results reading the same scope tensor: realizing one does not free it for the other", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const [p, q] = scope(() => {
        const a = tensor([1, 2, 3]);
        return [a.exp(), a.neg()];
      });
      expect(await p!.toNested()).toEqual([1, 2, 3].map((v) => Math.fround(Math.exp(v))).map((v) => expect.closeTo(v, 4)));
      expect(await q!.toNested()).toEqual([-1, -2, -3]);
      p!.dispose();
      q!.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("disposing an unrealized result releases what it retained", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const y = scope(() => {
        const a = tensor([1, 2]);
        return a.exp();
      });
      expect(liveBuffers() - base).toBe(1);
      y.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("a returned gradient graph can be realized after its scope", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const w = tensor([1, 2, 3], undefined, { requiresGrad: true });
      const g = scope(() => {
        const c = tensor([0.5, 0.5, 2]);
        w.mul(w).mul(c).sum().backward();
        return w.grad!;
      });
      expect(await g.toNested()).toEqual([1, 2, 12]);
      g.dispose();
      w.grad = null;
      w.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });
});

describe("openScope()", () => {
  test("`using` releases everything but keep()-ed values when the block ends", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      let kept: Tensor;
      let dropped: Tensor;
      {
        using s = openScope();
        const a = tensor([1, 2, 3]);
        dropped = tensor([7]);
        kept = s.keep(a.mul(3));
        await kept.realize();
      }
      expect(dropped.isDisposed).toBe(true);
      expect(await kept.toNested()).toEqual([3, 6, 9]);
      kept.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });

  test("explicit [Symbol.dispose]() works the same, keeping values nested in objects", async () => {
    await withDevice(async () => {
      const base = liveBuffers();
      const s = openScope();
      const a = tensor([2, 4]);
      const out = s.keep({ half: a.div(2) });
      s[Symbol.dispose]();
      // `half` is unrealized and reads `a`, which the scope therefore retains for it
      expect(liveBuffers() - base).toBe(1);
      expect(await out.half.toNested()).toEqual([1, 2]);
      out.half.dispose();
      expect(liveBuffers()).toBe(base);
    });
  });
});
