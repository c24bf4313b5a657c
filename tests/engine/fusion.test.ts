/**
 * Lowering: elementwise chains (with broadcasts) fuse into one kernel and compute the same numbers
 * as the unfused graph; a reduction absorbs its elementwise prologue; a fused expression that
 * reads more tensors than the adapter can bind is split and stays correct; and every WGSL source
 * the engine generated in this file parses (wgsl_reflect) with the binding layout the pipeline
 * cache was asked for.
 *
 * Kernels are counted by spying on CommandBatch.dispatch (every dispatch in latent goes through
 * it); sources are collected by spying on the public PipelineCache.get. Neither needs engine hooks.
 */
import { afterAll, beforeAll, describe, expect, test, vi, type MockInstance } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { NdArray } from "../../engine/cpu.js";
import { CommandBatch } from "../../engine/dispatch.js";
import { cat, realize, scope, softmax, stack, sum, type Device, type Tensor } from "../../engine/index.js";
import { asF32, upload } from "../helpers/check-op.js";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randnArray } from "../helpers/numeric.js";

const dev: Device = await testDevice();

/**
 * wgsl_reflect's package.json says "type": "module" but its "main" is a CommonJS build, which
 * Vitest resolves and cannot load ("exports is not defined"). Its ES build has no .d.ts of its own,
 * so it is imported through a computed specifier and typed with the package's declarations.
 */
const WGSL_REFLECT_ESM = "wgsl_reflect/wgsl_reflect.module.js";
const { WgslReflect } = (await import(/* @vite-ignore */ WGSL_REFLECT_ESM)) as typeof import("wgsl_reflect");
type WgslReflect = InstanceType<typeof WgslReflect>;

interface Generated {
  label: string;
  code: string;
  inputs: number;
  outputs: number;
}
const generated = new Map<string, Generated>();
let dispatchSpy: MockInstance<CommandBatch["dispatch"]>;

beforeAll(() => {
  const get = dev.pipelines.get.bind(dev.pipelines);
  vi.spyOn(dev.pipelines, "get").mockImplementation((label, code, inputs, outputs) => {
    generated.set(code, { label, code, inputs, outputs });
    return get(label, code, inputs, outputs);
  });
  dispatchSpy = vi.spyOn(CommandBatch.prototype, "dispatch");
});
afterAll(() => vi.restoreAllMocks());

/** Dispatches (and their bound buffer counts) made while `fn` runs. */
async function kernelsOf(fn: () => Promise<unknown>): Promise<{ count: number; buffers: number[]; labels: string[] }> {
  const before = dispatchSpy.mock.calls.length;
  await fn();
  const calls = dispatchSpy.mock.calls.slice(before);
  return { count: calls.length, buffers: calls.map((c) => c[2].length), labels: calls.map((c) => c[4] ?? c[0].label) };
}

const rn = (shape: number[], seed: number) => asF32(randnArray(shape, seed));

// ten elementwise ops over three broadcast operands: x [4, 8], b [8], c [4, 1]
type Step = (t: Tensor, b: Tensor, c: Tensor) => Tensor;
const STEPS: Step[] = [
  (t, b) => t.add(b),
  (t, _, c) => t.mul(c),
  (t) => t.tanh(),
  (t, b) => t.sub(b),
  (t) => t.mul(0.5),
  (t) => t.exp(),
  (t, _, c) => t.add(c),
  (t) => t.abs(),
  (t) => t.sqrt(),
  (t, b) => t.div(b.abs().add(1)),
  (t) => t.neg(),
];
const STEPS_REF: ((v: number, b: number, c: number) => number)[] = [
  (v, b) => v + b,
  (v, _, c) => v * c,
  Math.tanh,
  (v, b) => v - b,
  (v) => v * 0.5,
  Math.exp,
  (v, _, c) => v + c,
  Math.abs,
  Math.sqrt,
  (v, b) => v / (Math.abs(b) + 1),
  (v) => -v,
];

describe("elementwise fusion", () => {
  test("a chain of 10+ elementwise ops with broadcasts is one kernel and matches the unfused graph", async () => {
    await withDevice(() =>
      scope(async () => {
        const [xa, ba, ca] = [rn([4, 8], 1), rn([8], 2), rn([4, 1], 3)];
        const [x, b, c] = [upload(xa), upload(ba), upload(ca)];
        let fused: Tensor = x;
        for (const s of STEPS) fused = s(fused, b, c);
        const k = await kernelsOf(() => fused.realize());
        expect(k.count, `kernels: ${k.labels.join(", ")}`).toBe(1);

        // unfused: realize every intermediate on its own
        let step: Tensor = x;
        let unfusedKernels = 0;
        for (const s of STEPS) {
          step = s(step, b, c);
          unfusedKernels += (await kernelsOf(() => step.realize())).count;
        }
        expect(unfusedKernels).toBeGreaterThanOrEqual(STEPS.length);
        const [f, u] = [await fused.toArray(), await step.toArray()];
        expectAllclose(f, u, { rtol: 1e-6, atol: 1e-7 }, "fused vs unfused");

        // and both against float64
        const ref = NdArray.zeros([4, 8]);
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 8; j++) {
            let v = xa.data[i * 8 + j]!;
            for (const r of STEPS_REF) v = r(v, ba.data[j]!, ca.data[i]!);
            ref.data[i * 8 + j] = v;
          }
        expectAllclose(f, ref, { rtol: 1e-5, atol: 1e-6 }, "fused vs float64");
      }),
    );
  });

  test("a realized tensor is not recomputed; views and constants fuse into their consumer", async () => {
    await withDevice(() =>
      scope(async () => {
        const x = upload(rn([3, 5], 4));
        const y = x.T.mul(2).slice([[1, 4]]).pad([[1, 0]], 7).add(1);
        expect((await kernelsOf(() => y.realize())).count).toBe(1);
        expect((await kernelsOf(() => y.realize())).count).toBe(0);
        expect((await kernelsOf(() => realize(y, y.add(0)))).count).toBe(1);
      }),
    );
  });
});

describe("reduction prologues", () => {
  test("sum of an elementwise expression with broadcasts is one kernel", async () => {
    await withDevice(() =>
      scope(async () => {
        const [xa, ca] = [rn([5, 7], 5), rn([5, 1], 6)];
        const y = upload(xa).mul(upload(ca)).exp().sub(1).sum(1);
        const k = await kernelsOf(() => y.realize());
        expect(k.count, `kernels: ${k.labels.join(", ")}`).toBe(1);
        expectAllclose(await y.toArray(), cpu.sum(cpu.zip(xa, ca, (a, c) => Math.exp(a * c) - 1), 1), { rtol: 1e-5, atol: 1e-5 }, "sum(exp(x·c) − 1)");
      }),
    );
  });

  test("the same with keepDims (no squeeze after the reduction) is one kernel", async () => {
    await withDevice(() =>
      scope(async () => {
        const [xa, ca] = [rn([5, 7], 5), rn([5, 1], 6)];
        const y = upload(xa).mul(upload(ca)).exp().sub(1).sum(1, { keepDims: true });
        const k = await kernelsOf(() => y.realize());
        expect(k.count, `kernels: ${k.labels.join(", ")}`).toBe(1);
        expectAllclose(await y.toArray(), cpu.sum(cpu.zip(xa, ca, (a, c) => Math.exp(a * c) - 1), 1, true), { rtol: 1e-5, atol: 1e-5 }, "sum(exp(x·c) − 1)");
      }),
    );
  });

  test("softmax of a permuted, scaled input is one kernel", async () => {
    await withDevice(() =>
      scope(async () => {
        const xa = rn([4, 6], 7);
        const y = softmax(upload(xa).T.mul(3), -1);
        const k = await kernelsOf(() => y.realize());
        expect(k.count, `kernels: ${k.labels.join(", ")}`).toBe(1);
        expectAllclose(await y.toArray(), cpu.softmax(cpu.map(cpu.transpose(xa, 0, 1), (v) => 3 * v), 1), { rtol: 1e-5, atol: 1e-6 }, "softmax(3xᵀ)");
      }),
    );
  });
});

describe("storage-buffer limit", () => {
  const N = 20;
  const maxIn = () => dev.maxStorageBuffers - 1;

  test(`sum of ${N} separately uploaded tensors is split under the limit and still correct`, async () => {
    expect(N).toBeGreaterThan(maxIn()); // the case must actually exceed the adapter's limit
    await withDevice(() =>
      scope(async () => {
        const arrays = Array.from({ length: N }, (_, i) => rn([3, 5], 100 + i));
        const ts = arrays.map((a) => upload(a));
        const y = ts.reduce((acc, t, i) => acc.add(t.mul(i + 1)));
        const k = await kernelsOf(() => y.realize());
        expect(k.count).toBeGreaterThanOrEqual(2);
        for (const n of k.buffers) expect(n, `buffers bound (limit ${dev.maxStorageBuffers})`).toBeLessThanOrEqual(dev.maxStorageBuffers);
        const ref = NdArray.zeros([3, 5]);
        arrays.forEach((a, i) => a.data.forEach((v, j) => (ref.data[j] += (i === 0 ? 1 : i + 1) * v)));
        expectAllclose(await y.toArray(), ref, { rtol: 1e-5, atol: 1e-5 }, "Σ (i+1) xᵢ");
      }),
    );
  });

  test(`a reduction whose prologue reads ${N} tensors, and a cat/stack of ${N} tensors`, async () => {
    await withDevice(() =>
      scope(async () => {
        const arrays = Array.from({ length: N }, (_, i) => rn([2, 3], 200 + i));
        const ts = arrays.map((a) => upload(a));
        const r = sum(ts.reduce((acc, t) => acc.mul(0.5).add(t)), 1);
        const kr = await kernelsOf(() => r.realize());
        for (const n of kr.buffers) expect(n).toBeLessThanOrEqual(dev.maxStorageBuffers);
        let acc = arrays[0]!;
        for (const a of arrays.slice(1)) acc = cpu.zip(acc, a, (u, v) => 0.5 * u + v);
        expectAllclose(await r.toArray(), cpu.sum(acc, 1), { rtol: 1e-5, atol: 1e-5 }, "reduction prologue");

        const c = cat(ts, 1);
        const s = stack(ts, 0);
        const kc = await kernelsOf(() => realize(c, s));
        for (const n of kc.buffers) expect(n).toBeLessThanOrEqual(dev.maxStorageBuffers);
        expectAllclose(await c.toArray(), cpu.cat(arrays, 1), { rtol: 0, atol: 0 }, "cat");
        expectAllclose(await s.toArray(), cpu.stack(arrays, 0), { rtol: 0, atol: 0 }, "stack");
      }),
    );
  });

  test("the split also holds for gradients: d/dxᵢ of Σ_i (i+1)·xᵢ·w", async () => {
    await withDevice(() =>
      scope(async () => {
        const ts = Array.from({ length: N }, (_, i) => upload(rn([4], 300 + i), "f32", true));
        const wa = rn([4], 400);
        sum(ts.reduce((acc, t, i) => acc.add(t.mul(i + 1)), ts[0]!.mul(0)).mul(upload(wa))).backward();
        const grads = ts.map((t) => t.grad!);
        const k = await kernelsOf(() => realize(...grads));
        for (const n of k.buffers) expect(n).toBeLessThanOrEqual(dev.maxStorageBuffers);
        for (let i = 0; i < N; i++) expectAllclose(await grads[i]!.toArray(), cpu.map(wa, (v) => (i + 1) * v), { rtol: 1e-6, atol: 1e-6 }, `grad ${i}`);
      }),
    );
  });
});

describe("generated WGSL", () => {
  test("every source generated in this file parses with wgsl_reflect and declares the bindings it is compiled with", () => {
    expect(generated.size).toBeGreaterThan(5);
    for (const g of generated.values()) {
      let r: WgslReflect;
      try {
        r = new WgslReflect(g.code);
      } catch (e) {
        throw new Error(`WGSL for '${g.label}' does not parse: ${String(e)}\n${g.code}`);
      }
      expect(r.entry.compute.map((e) => e.name), g.label).toContain("main");
      const storage = [...r.storage].sort((a, b) => a.binding - b.binding);
      expect(storage.length, `${g.label}: storage bindings`).toBe(g.inputs + g.outputs);
      storage.forEach((v, i) => {
        expect(v.group, g.label).toBe(0);
        expect(v.binding, `${g.label}: ${v.name}`).toBe(i + 1);
        expect(v.access, `${g.label}: ${v.name}`).toBe(i < g.inputs ? "read" : "read_write");
      });
      expect(r.uniforms.every((u) => u.group === 0 && u.binding === 0), `${g.label}: uniforms`).toBe(true);
    }
  });
});
