/**
 * Composites (engine/ops/composite.ts) against float64 references written here, independently of
 * the engine's formulas: forward and gradient (checkOp: central differences of the reference
 * under a random cotangent), then value and gradient at the edges ±80 and exactly 0, where each
 * must stay finite and agree with the analytic derivative.
 */
import { describe, expect, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { clamp, elu, gelu, leakyRelu, logSigmoid, relu, scope, sigmoid, silu, softplus, square, sum, type Tensor } from "../../engine/index.js";
import { checkOp, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { mulberry32 } from "../helpers/numeric.js";

await testDevice();

// ── float64 references ─────────────────────────────────────────────────────────────────────────

/** Logistic function, evaluated on the side where exp cannot overflow. */
const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** log(1 + e^x): for large x, log(e^x (1 + e^{−x})) = x + log1p(e^{−x}). */
const softplusRef = (x: number) => (x > 20 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** log σ(x) = −log(1 + e^{−x}); for very negative x, x − log(1 + e^x). */
const logSigRef = (x: number) => (x < -20 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x)));

/** Standard normal density. */
const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);

/**
 * Standard normal CDF Φ(x) = ½ + ∫₀ˣ φ(t) dt by composite Simpson's rule (2000 panels). The error
 * is ~ x⁵ max|φ⁗| / (180 n⁴) < 1e-12 for |x| ≤ 4; beyond ±8, Φ is 0 or 1 to double precision.
 */
function Phi(x: number): number {
  if (x > 8) return 1;
  if (x < -8) return 0;
  const n = 2000;
  const h = x / n;
  let s = phi(0) + phi(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
  return 0.5 + (s * h) / 3;
}

interface Composite {
  name: string;
  gpu: (x: Tensor) => Tensor;
  ref: (x: number) => number;
  /** Analytic derivative, for the edge checks. */
  d: (x: number) => number;
  /** Points to keep samples away from (kinks), and a sample range. */
  kinks?: number[];
  tol?: number;
}

const COMPOSITES: Composite[] = [
  { name: "relu", gpu: relu, ref: (x) => (x > 0 ? x : 0), d: (x) => (x > 0 ? 1 : 0), kinks: [0] },
  { name: "relu (method)", gpu: (x) => x.relu(), ref: (x) => Math.max(x, 0), d: (x) => (x > 0 ? 1 : 0), kinks: [0] },
  { name: "leakyRelu", gpu: (x) => leakyRelu(x), ref: (x) => (x > 0 ? x : 0.01 * x), d: (x) => (x > 0 ? 1 : 0.01), kinks: [0] },
  { name: "leakyRelu slope 0.2", gpu: (x) => leakyRelu(x, 0.2), ref: (x) => (x > 0 ? x : 0.2 * x), d: (x) => (x > 0 ? 1 : 0.2), kinks: [0] },
  { name: "elu", gpu: (x) => elu(x), ref: (x) => (x > 0 ? x : Math.exp(x) - 1), d: (x) => (x > 0 ? 1 : Math.exp(x)), kinks: [0] },
  { name: "elu alpha 1.5", gpu: (x) => elu(x, 1.5), ref: (x) => (x > 0 ? x : 1.5 * (Math.exp(x) - 1)), d: (x) => (x > 0 ? 1 : 1.5 * Math.exp(x)), kinks: [0] },
  { name: "sigmoid", gpu: sigmoid, ref: sig, d: (x) => sig(x) * (1 - sig(x)) },
  { name: "softplus", gpu: softplus, ref: softplusRef, d: sig },
  { name: "logSigmoid", gpu: logSigmoid, ref: logSigRef, d: (x) => sig(-x) },
  { name: "silu", gpu: silu, ref: (x) => x * sig(x), d: (x) => sig(x) * (1 + x * (1 - sig(x))) },
  { name: "gelu", gpu: gelu, ref: (x) => x * Phi(x), d: (x) => Phi(x) + x * phi(x), tol: 1e-4 },
  { name: "square", gpu: square, ref: (x) => x * x, d: (x) => 2 * x },
  { name: "clamp(-0.5, 1)", gpu: (x) => clamp(x, -0.5, 1), ref: (x) => Math.min(Math.max(x, -0.5), 1), d: (x) => (x > -0.5 && x < 1 ? 1 : 0), kinks: [-0.5, 1] },
  { name: "clamp(lo only)", gpu: (x) => x.clamp(0.3), ref: (x) => Math.max(x, 0.3), d: (x) => (x > 0.3 ? 1 : 0), kinks: [0.3] },
  { name: "clamp(hi only)", gpu: (x) => x.clamp(undefined, -0.3), ref: (x) => Math.min(x, -0.3), d: (x) => (x < -0.3 ? 1 : 0), kinks: [-0.3] },
];

/** Samples in (−3, 3), at least 0.05 from every kink so central differences never straddle one. */
function sample(shape: number[], seed: number, kinks: number[] = []): NdArray {
  const r = mulberry32(seed);
  const out = NdArray.zeros(shape);
  for (let i = 0; i < out.size; i++) {
    let v: number;
    do v = 6 * r() - 3;
    while (kinks.some((k) => Math.abs(v - k) < 0.05));
    out.data[i] = v;
  }
  return out;
}

describe.each(COMPOSITES)("$name", (c) => {
  test("forward and gradient match the float64 reference", () =>
    checkOp({
      label: c.name,
      fn: (x) => c.gpu(x!),
      ref: (x) => cpu.map(x!, c.ref),
      inputs: [sample([4, 6], c.name.length * 7 + 1, c.kinks)],
      rtol: c.tol ?? 1e-5,
      atol: 1e-6,
      gradRtol: c.tol ? 10 * c.tol : 2e-3,
    }));

  test.each([-80, 80, 0])("stays finite in value and gradient at %d", async (v) => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([v, v, v]), [3]), "f32", true);
        const y = c.gpu(x);
        const got = (await y.toArray())[0]!;
        expect(Number.isFinite(got), `${c.name}(${v}) = ${got}`).toBe(true);
        const want = c.ref(v);
        expect(Math.abs(got - want), `${c.name}(${v}) = ${got}, expected ${want}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
        sum(y).backward();
        const g = await x.grad!.toArray();
        expect([...g].every(Number.isFinite), `d${c.name}(${v}) = ${g[0]}`).toBe(true);
        expect(Math.abs(g[0]! - c.d(v)), `d${c.name}(${v}) = ${g[0]}, expected ${c.d(v)}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(c.d(v)));
      });
    });
  });
});

describe("composites in context", () => {
  test("relu's gradient at exactly 0 is 0", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([-1, 0, 0, 2]), [4]), "f32", true);
        relu(x).mul(upload(new NdArray(Float64Array.from([5, 6, 7, 8]), [4]))).sum().backward();
        expect([...(await x.grad!.toArray())]).toEqual([0, 0, 0, 8]);
      });
    });
  });

  test("clamp passes the gradient at its bounds (PyTorch: lo ≤ x ≤ hi gets 1)", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const x = upload(new NdArray(Float64Array.from([-1, -0.5, 0, 1, 2]), [5]), "f32", true);
        clamp(x, -0.5, 1).sum().backward();
        expect([...(await x.grad!.toArray())]).toEqual([0, 1, 1, 1, 0]);
      });
    });
  });

  test("clamp with tensor bounds (gradient flows to the chosen bound)", () =>
    checkOp({
      label: "clamp(x, lo, hi) tensors",
      fn: (x, lo, hi) => clamp(x!, lo!, hi!),
      ref: (x, lo, hi) => cpu.zip(cpu.zip(x!, lo!, Math.max), hi!, Math.min),
      inputs: [sample([3, 4], 11), cpu.map(sample([4], 12), (v) => v / 3 - 1.2), cpu.map(sample([3, 1], 13), (v) => v / 3 + 1.2)],
    }));

  test("a composite of composites: softplus(silu(x)) − logSigmoid(gelu(x))²", () =>
    checkOp({
      label: "nested composites",
      fn: (x) => softplus(silu(x!)).sub(square(logSigmoid(gelu(x!)))),
      ref: (x) => cpu.map(x!, (v) => softplusRef(v * sig(v)) - logSigRef(v * Phi(v)) ** 2),
      inputs: [sample([3, 5], 14)],
      rtol: 1e-4,
      atol: 1e-5,
      gradRtol: 1e-3,
    }));
});
