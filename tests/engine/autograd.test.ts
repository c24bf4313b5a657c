/**
 * Reverse mode: accumulation at fan-out, broadcasting undone, the functional API (grad,
 * valueAndGrad), stopping gradients (detach, noGrad), `.grad` accumulation across backward calls,
 * double backward (a gradient differentiated again, compared with central differences of the
 * float64 first derivative), and a deep chain.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { ShapeError, gradients, grad, logsumexp, mul, noGrad, scope, sum, tanh, valueAndGrad, type Tensor } from "../../engine/index.js";
import { checkOp, upload, asF32 } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, numericGrad, randnArray } from "../helpers/numeric.js";

await testDevice();

const arr = (values: number[], shape: number[]) => new NdArray(Float64Array.from(values), shape);
/** Runs `body` inside withDevice + scope (leaks and validation errors fail the test). */
const gpu = (body: () => Promise<void>) => withDevice(() => scope(body));

describe("accumulation and broadcasting", () => {
  test("fan-out: x used three times accumulates three contributions", () =>
    checkOp({
      label: "x·x + exp(x)",
      fn: (x) => x!.mul(x!).add(x!.exp()),
      ref: (x) => cpu.map(x!, (v) => v * v + Math.exp(v)),
      inputs: [randnArray([3, 4], 1)],
    }));

  test("fan-out across branches that meet again after a reduction", () =>
    checkOp({
      label: "x − mean(x) scaled by x",
      fn: (x) => x!.sub(x!.mean(1, { keepDims: true })).mul(x!),
      ref: (x) => cpu.zip(cpu.zip(x!, cpu.mean(x!, 1, true), (a, m) => a - m), x!, (a, b) => a * b),
      inputs: [randnArray([3, 5], 2)],
    }));

  test("a [1,4] bias added to [3,4] gets the column sums; a [4] bias too", async () => {
    await checkOp({
      label: "tanh(x + b[1,4])",
      fn: (x, b) => x!.add(b!).tanh(),
      ref: (x, b) => cpu.map(cpu.zip(x!, b!, (u, v) => u + v), Math.tanh),
      inputs: [randnArray([3, 4], 3), randnArray([1, 4], 4)],
    });
    await checkOp({
      label: "x · w[4] + b[3,1]",
      fn: (x, w, b) => x!.mul(w!).add(b!),
      ref: (x, w, b) => cpu.zip(cpu.zip(x!, w!, (u, v) => u * v), b!, (u, v) => u + v),
      inputs: [randnArray([3, 4], 5), randnArray([4], 6), randnArray([3, 1], 7)],
    });
  });

  test("a scalar-shaped [] tensor broadcast everywhere", () =>
    checkOp({
      label: "x * s[]",
      fn: (x, s) => x!.mul(s!),
      ref: (x, s) => cpu.map(x!, (v) => v * s!.data[0]!),
      inputs: [randnArray([2, 3], 8), arr([1.7], [])],
    }));
});

describe("functional API", () => {
  test("grad(f) returns ∂f/∂xᵢ for every argument, zeros for an unused one, and leaves .grad alone", async () => {
    await gpu(async () => {
      const a = upload(arr([1, 2, 3], [3]));
      const b = upload(arr([-1, 0.5, 2], [3]));
      const unused = upload(arr([7, 7], [2]));
      const [ga, gb, gu] = grad((x: Tensor, y: Tensor, _z: Tensor) => sum(x.mul(y).mul(y)))(a, b, unused);
      expectAllclose(await ga!.toArray(), [1, 0.25, 4], {}, "∂/∂a = b²");
      expectAllclose(await gb!.toArray(), [-2, 2, 12], {}, "∂/∂b = 2ab");
      expect([...(await gu!.toArray())]).toEqual([0, 0]);
      expect(a.grad).toBeNull();
      expect(b.grad).toBeNull();
    });
  });

  test("valueAndGrad(f) returns the value as well", async () => {
    await gpu(async () => {
      const x = upload(arr([0.5, -1, 2], [3]));
      const [v, [g]] = valueAndGrad((t: Tensor) => sum(t.exp()))(x);
      expect(await v.item()).toBeCloseTo(Math.exp(0.5) + Math.exp(-1) + Math.exp(2), 5);
      expectAllclose(await g!.toArray(), [0.5, -1, 2].map(Math.exp), { rtol: 1e-6 }, "d Σ eˣ");
    });
  });

  test("gradients(root, seed) seeds a non-scalar output; backward without a seed needs a scalar", async () => {
    await gpu(async () => {
      const x = upload(arr([1, 2, 3, 4], [2, 2]), "f32", true);
      const y = x.mul(x);
      expect(() => y.backward()).toThrow(ShapeError);
      const seed = upload(arr([1, 0, -1, 2], [2, 2]));
      expectAllclose(await gradients(y, seed).get(x)!.toArray(), [2, 0, -6, 16], {}, "seeded");
      y.backward(seed);
      expectAllclose(await x.grad!.toArray(), [2, 0, -6, 16], {}, "seeded backward");
    });
  });
});

describe("stopping gradients", () => {
  test("detach: x · detach(x) has gradient x, not 2x", async () => {
    await gpu(async () => {
      const x = upload(arr([1, -2, 3], [3]), "f32", true);
      const d = x.detach();
      expect(d.requiresGrad).toBe(false);
      sum(x.mul(d)).backward();
      expect([...(await x.grad!.toArray())]).toEqual([1, -2, 3]);
    });
  });

  test("noGrad: results do not require grad; mixing gives the partial gradient only", async () => {
    await gpu(async () => {
      const x = upload(arr([0.5, 1.5], [2]), "f32", true);
      const e = noGrad(() => x.exp());
      expect(e.requiresGrad).toBe(false);
      expect(() => sum(e).backward()).toThrow(ShapeError);
      sum(x.mul(e)).backward();
      expectAllclose(await x.grad!.toArray(), [0.5, 1.5].map((v) => Math.fround(Math.exp(Math.fround(v)))), { rtol: 1e-6 }, "d(x · stop(eˣ))");
      // the async form restores grad mode after the promise settles
      const later = await noGrad(async () => x.mul(2));
      expect(later.requiresGrad).toBe(false);
      expect(x.mul(2).requiresGrad).toBe(true);
    });
  });
});

describe(".backward() accumulates into .grad", () => {
  test("two calls add up, across different functions too", async () => {
    await gpu(async () => {
      const x = upload(arr([1, 2, 3], [3]), "f32", true);
      sum(x.mul(x)).backward();
      sum(x.mul(x)).backward();
      expect([...(await x.grad!.toArray())]).toEqual([4, 8, 12]);
      sum(x.mul(10)).backward();
      expect([...(await x.grad!.toArray())]).toEqual([14, 18, 22]);
    });
  });
});

// ── double backward ─────────────────────────────────────────────────────────────────────────────
//
// For f and a fixed cotangent c: h(x) = Σ c ⊙ ∇f(x). The GPU computes ∇f as a graph, then ∇h from
// that graph; the reference is a central difference of the float64 h (whose ∇f is written out
// analytically), so nothing on the reference side differentiates twice.

interface DoubleCase {
  name: string;
  shapes: number[][];
  f: (...xs: Tensor[]) => Tensor;
  /** ∇f in float64, one array per input. */
  df: (...xs: NdArray[]) => NdArray[];
}

const T = (v: number) => Math.tanh(v);
const DOUBLE: DoubleCase[] = [
  {
    name: "tanh",
    shapes: [[3, 4]],
    // f = Σ tanh(x): ∇f = 1 − tanh²x, so ∇h = c · (−2 tanh x (1 − tanh²x))
    f: (x) => sum(tanh(x!)),
    df: (x) => [cpu.map(x!, (v) => 1 - T(v) ** 2)],
  },
  {
    name: "mul",
    shapes: [[2, 3], [2, 3], [3]],
    // f = Σ w x² y: ∇ₓf = 2 w x y, ∇ᵧf = w x², ∇_w f = Σ_rows x² y
    f: (x, y, w) => sum(mul(mul(mul(x!, x!), y!), w!)),
    df: (x, y, w) => [
      cpu.zip(cpu.zip(x!, y!, (a, b) => 2 * a * b), w!, (a, b) => a * b),
      cpu.zip(x!, w!, (a, b) => a * a * b),
      cpu.sum(cpu.zip(x!, y!, (a, b) => a * a * b), 0),
    ],
  },
  {
    name: "logsumexp",
    shapes: [[3, 5]],
    // f = Σ_rows k_r · logsumexp(x_r): ∇f = k_r · softmax(x_r)
    f: (x) => sum(logsumexp(x!, 1).mul(upload(arr([1, -2, 0.5], [3])))),
    df: (x) => [cpu.zip(cpu.softmax(x!, 1), arr([1, -2, 0.5], [3, 1]), (a, b) => a * b)],
  },
];

function doubleRef(c: DoubleCase, xs: NdArray[], cs: NdArray[]): NdArray[] {
  const h = (vs: NdArray[]) => c.df(...vs).reduce((s, g, i) => s + cpu.dot(g, cs[i]!), 0);
  return numericGrad(h, xs, 1e-5);
}

describe.each(DOUBLE)("double backward: $name", (c) => {
  const xs = c.shapes.map((s, i) => asF32(randnArray(s, 20 + i)));
  const cs = c.shapes.map((s, i) => randnArray(s, 40 + i));
  const want = doubleRef(c, xs, cs);

  test("first derivative (grad) matches the analytic float64 gradient", async () => {
    await gpu(async () => {
      const gs = grad(c.f)(...xs.map((x) => upload(x)));
      const ref = c.df(...xs);
      for (let i = 0; i < gs.length; i++) expectAllclose(await gs[i]!.toArray(), ref[i]!, { rtol: 1e-5, atol: 1e-6 }, `∇${i}`);
    });
  });

  test("grad of (Σ c ⊙ grad f) matches central differences of the float64 first derivative", async () => {
    await gpu(async () => {
      const ct = cs.map((x) => upload(x));
      const h = (...ts: Tensor[]) => grad(c.f)(...ts).reduce<Tensor | null>((s, g, i) => (s ? s.add(sum(g.mul(ct[i]!))) : sum(g.mul(ct[i]!))), null)!;
      const hh = grad(h)(...xs.map((x) => upload(x)));
      for (let i = 0; i < hh.length; i++) expectAllclose(await hh[i]!.toArray(), want[i]!, { rtol: 2e-3, atol: 2e-4 }, `∇h ${i} (grad∘grad)`);
    });
  });

  test("same through gradients() and .backward() on leaves", async () => {
    await gpu(async () => {
      const ts = xs.map((x) => upload(x, "f32", true));
      const ct = cs.map((x) => upload(x));
      const g = gradients(c.f(...ts));
      const h = ts.map((t, i) => sum(g.get(t)!.mul(ct[i]!))).reduce((a, b) => a.add(b));
      h.backward();
      for (let i = 0; i < ts.length; i++) expectAllclose(await ts[i]!.grad!.toArray(), want[i]!, { rtol: 2e-3, atol: 2e-4 }, `∇h ${i} (backward)`);
    });
  });
});

describe("deep graphs", () => {
  test("a chain of 300 ops: no stack overflow, value and gradient match float64", async () => {
    await gpu(async () => {
      const x0 = [0.3, -0.7];
      const x = upload(arr(x0, [2]), "f32", true);
      let y: Tensor = x;
      for (let i = 0; i < 100; i++) y = y.mul(1.01).add(0.01).tanh();
      // forward-mode float64 reference: v ← tanh(1.01 v + 0.01), dv ← (1 − v²) · 1.01 dv
      const ref = x0.map((v0) => {
        let v = Math.fround(v0), dv = 1;
        for (let i = 0; i < 100; i++) {
          v = Math.tanh(1.01 * v + 0.01);
          dv *= 1.01 * (1 - v * v);
        }
        return [v, dv] as const;
      });
      expectAllclose(await y.toArray(), ref.map((r) => r[0]), { rtol: 1e-4, atol: 1e-5 }, "value");
      sum(y).backward();
      expectAllclose(await x.grad!.toArray(), ref.map((r) => r[1]), { rtol: 1e-3, atol: 1e-5 }, "gradient");
    });
  });
});
