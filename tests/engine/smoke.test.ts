import { expect, test } from "vitest";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { tensor, randn, scope, arange, exp, add } from "../../engine/index.js";

test("elementwise smoke", async () => {
  await testDevice();
  await withDevice(async () => {
    await scope(async () => {
      const a = tensor([[1, 2, 3], [4, 5, 6]]);
      const b = tensor([10, 20, 30]);
      const c = a.add(b).mul(2).exp().log();
      expect(Array.from(await c.toArray())).toEqual([22, 44, 66, 28, 50, 72].map((v) => Math.fround(v)).map((v) => expect.closeTo(v, 3)));
      const t = a.T.add(1);
      expect(await t.toNested()).toEqual([[2, 5], [3, 6], [4, 7]]);
      const r = randn([4], { seed: 1 });
      const arr = await r.toArray();
      expect(arr.length).toBe(4);
      expect(await arange(5).toNested()).toEqual([0, 1, 2, 3, 4]);
      const p = a.pad([[1, 0], [0, 1]], 9);
      expect(await p.toNested()).toEqual([[9, 9, 9, 9], [1, 2, 3, 9], [4, 5, 6, 9]]);
      const s = a.slice([null, [0, 3, 2]]);
      expect(await s.toNested()).toEqual([[1, 3], [4, 6]]);
      void exp; void add;
    });
  });
});
