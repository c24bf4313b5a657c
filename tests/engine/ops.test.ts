/**
 * Every elementwise primitive in the registry, generated: forward against its float64 reference
 * (with broadcasting), gradients against central differences, and finiteness at its edge values.
 */
import { describe, expect, test } from "vitest";
import { NdArray, map, zip, zip3 } from "../../engine/cpu.js";
import { ELEMENTWISE, scope, sum, type Tensor } from "../../engine/index.js";
import type { ElementwiseDef } from "../../engine/ops/op.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { mulberry32, randnArray } from "../helpers/numeric.js";

await testDevice();

/** Inputs in the op's domain, kept away from kinks (|x| ≥ 0.2, away from integers for floor). */
function sample(def: ElementwiseDef, shape: number[], seed: number): NdArray {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (def.domain ?? "real") {
      case "positive": v = 0.3 + 2 * r(); break;
      case "unit": v = 0.1 + 0.8 * r(); break;
      case "nonzero": v = (0.3 + 1.7 * r()) * (r() < 0.5 ? -1 : 1); break;
      default: v = 4 * r() - 2;
    }
    if (def.name === "floor" || def.name === "int") v = Math.floor(v * 2) / 2 + 0.25;
    out[i] = v;
  }
  return new NdArray(out, shape);
}

const entries = Object.entries(ELEMENTWISE) as [string, ((...a: Tensor[]) => Tensor) & { def: ElementwiseDef }][];

describe.each(entries)("%s", (name, fn) => {
  const def = fn.def;
  const differentiable = def.differentiable !== false && def.backward !== undefined;

  test("forward matches f64 and gradient matches central differences", async () => {
    if (def.arity === 1) {
      await checkOp({
        label: name,
        fn: (x) => fn(x!),
        ref: (x) => map(x!, (v) => def.cpu(v)),
        inputs: [sample(def, [3, 5], 1)],
        grad: [differentiable],
        rtol: def.tol ?? 1e-5,
        gradRtol: def.tol ? 10 * def.tol : 2e-3,
      });
    } else if (def.arity === 2) {
      // broadcasting: [3, 5] with [5]
      await checkOp({
        label: name,
        fn: (a, b) => fn(a!, b!),
        ref: (a, b) => zip(a!, b!, (u, v) => def.cpu(u, v)),
        inputs: [sample(def, [3, 5], 2), name === "pow" ? sample(def, [5], 3) : sample(def, [5], 3)],
        grad: [differentiable, differentiable],
        rtol: def.tol ?? 1e-5,
        gradRtol: def.tol ? 10 * def.tol : 2e-3,
      });
    } else {
      const r = mulberry32(4);
      const cond = new NdArray(Float64Array.from({ length: 15 }, () => (r() < 0.5 ? 1 : 0)), [3, 5]);
      await checkOp({
        label: name,
        fn: (c, a, b) => fn(c!, a!, b!),
        ref: (c, a, b) => zip3(c!, a!, b!, (x, y, z) => def.cpu(x, y, z)),
        inputs: [cond, sample(def, [3, 5], 5), sample(def, [1, 5], 6)],
        dtypes: ["u32", "f32", "f32"],
        grad: [false, true, true],
      });
    }
  });

  if (def.edge?.length) {
    test.each(def.edge)("stays finite in value and gradient at %s", async (v) => {
      await withDevice(async () => {
        await scope(async () => {
          const x = upload(new NdArray(new Float64Array([v, v]), [2]), "f32", true);
          const args = Array.from({ length: def.arity }, () => x);
          const y = fn(...args);
          const yv = await y.toArray();
          expect([...yv].every(Number.isFinite), `${name}(${v}) = ${yv[0]}`).toBe(true);
          const ref = def.cpu(...args.map(() => Math.fround(v)));
          expect(Math.abs(yv[0]! - ref) / Math.max(1, Math.abs(ref)), `${name}(${v}) = ${yv[0]} vs ${ref}`).toBeLessThan(1e-5);
          if (differentiable) {
            sum(y).backward();
            const g = await x.grad!.toArray();
            expect([...g].every(Number.isFinite), `d${name}(${v}) = ${g[0]}`).toBe(true);
          }
        });
      });
    });
  }
});

test("integer arithmetic stays integer", async () => {
  await withDevice(async () => {
    await scope(async () => {
      const a = upload(new NdArray(new Float64Array([1, -2, 3]), [3]), "i32");
      const b = ELEMENTWISE.add(ELEMENTWISE.mul(a, 3), 1);
      expect(b.dtype).toBe("i32");
      expect([...(await b.toArray())]).toEqual([4, -5, 10]);
      const m = ELEMENTWISE.cmplt(a, 0);
      expect(m.dtype).toBe("u32");
      expect([...(await m.toArray())]).toEqual([0, 1, 0]);
    });
  });
});

void randnArray;
