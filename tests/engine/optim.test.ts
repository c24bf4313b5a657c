/**
 * Optimizers, clipping, EMA and schedules against float64 references written here (never derived
 * from the WGSL). Every GPU test runs in withDevice, which fails on leaked pool buffers, so each
 * test disposes the optimizers and tensors it keeps outside a scope.
 */
import { describe, expect, test } from "vitest";
import { testDevice, withDevice } from "../helpers/gpu.js";
import { expectAllclose, randnArray } from "../helpers/numeric.js";
import {
  Adam,
  AdamW,
  clipGradNorm,
  compile,
  cosineSchedule,
  DisposedError,
  EMA,
  fromTyped,
  linearWarmup,
  LRScheduler,
  mean,
  scope,
  SGD,
  ShapeError,
  type Optimizer,
  type Tensor,
} from "../../engine/index.js";

const f32 = (xs: ArrayLike<number>) => Float64Array.from(Float32Array.from(xs as number[]));
const randF32 = (n: number, seed: number) => f32(randnArray([n], seed).data);
const param = (v: Float64Array, shape: number[]) => fromTyped(Float32Array.from(v), shape, "f32", { requiresGrad: true });

// ── float64 references (PyTorch's update rules, written out) ──────────────────────────────────────
interface SgdRef {
  lr?: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}
function sgdRef(p: Float64Array, g: Float64Array, buf: Float64Array, t: number, lr: number, o: SgdRef): void {
  for (let i = 0; i < p.length; i++) {
    let d = g[i]! + o.weightDecay * p[i]!;
    if (o.momentum > 0) {
      buf[i] = t === 1 ? d : o.momentum * buf[i]! + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buf[i]! : buf[i]!;
    }
    p[i] = p[i]! - lr * d;
  }
}
interface AdamRef {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}
function adamRef(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number, lr: number, o: AdamRef): void {
  const [b1, b2] = o.betas;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - lr * o.weightDecay);
    else gi += o.weightDecay * p[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * gi;
    v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + o.eps;
    p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
  }
}

const LRS = [0.1, 0.05, 0.2, 0.01, 0.1, 0.03];
const SHAPES: number[][] = [[3, 5], [300]]; // 300 > one 256-wide workgroup

/**
 * Runs `make(params)` for LRS.length steps with fixed random gradients (a third parameter never
 * gets one) and compares parameters and state slots with `ref` after every step. Checks that the
 * pipeline count does not grow when lr changes, that buffers stay the same objects, and that the
 * state buffers are counted by the pool and released by dispose().
 */
async function checkOptimizer(
  make: (ps: Tensor[]) => Optimizer,
  slots: string[],
  ref: (p: Float64Array, g: Float64Array, state: Float64Array[], t: number, lr: number) => void,
) {
  await withDevice(async (dev) => {
    await scope(async () => {
      const init = SHAPES.map((s, k) => randF32(s.reduce((a, b) => a * b), 10 + k));
      const ps = init.map((v, k) => param(v, SHAPES[k]!));
      const idle = param(randF32(4, 99), [4]);
      const live0 = dev.pool.live;
      const opt = make([...ps, idle]);
      // state is allocated up front (one buffer per slot per parameter) and never during a step
      const liveWithState = dev.pool.live;
      expect(liveWithState - live0).toBe(slots.length * (ps.length + 1));
      try {
        const bufs = ps.map((p) => p.buffer);
        const want = init.map((v) => Float64Array.from(v));
        const state = init.map((v) => slots.map(() => new Float64Array(v.length)));
        let pipes = -1;
        for (let t = 1; t <= LRS.length; t++) {
          opt.lr = LRS[t - 1]!;
          await scope(async () => {
            const gs = init.map((v, k) => randF32(v.length, 100 * t + k));
            ps.forEach((p, k) => (p.grad = fromTyped(Float32Array.from(gs[k]!), SHAPES[k]!, "f32")));
            await opt.step();
            opt.zeroGrad();
            gs.forEach((g, k) => ref(want[k]!, g, state[k]!, t, LRS[t - 1]!));
          });
          expect(dev.pool.live, "a step allocates nothing that outlives it").toBe(liveWithState);
          if (t === 1) pipes = dev.pipelines.size;
          else expect(dev.pipelines.size, "changing lr must not compile anything").toBe(pipes);
          for (let k = 0; k < ps.length; k++) {
            expectAllclose(await ps[k]!.toArray(), want[k]!, { rtol: 2e-5, atol: 2e-6 }, `step ${t} param ${k}`);
            const sd = opt.stateDict();
            for (let j = 0; j < slots.length; j++) {
              expectAllclose(await sd.tensors[`${k}.${slots[j]}`]!.toArray(), state[k]![j]!, { rtol: 2e-5, atol: 2e-6 }, `step ${t} param ${k} ${slots[j]}`);
            }
          }
        }
        expect(ps.map((p) => p.buffer)).toEqual(bufs);
        expect(Array.from(await idle.toArray())).toEqual(Array.from(Float32Array.from(randF32(4, 99))));
        const sd = opt.stateDict();
        expect(sd.meta.step).toBe(LRS.length);
        expect(sd.meta.paramSteps).toEqual({ "0": LRS.length, "1": LRS.length });
        expect(Object.keys(sd.tensors).sort()).toEqual(ps.flatMap((_, k) => slots.map((s) => `${k}.${s}`)).sort());
        opt.dispose();
        expect(dev.pool.live).toBe(live0);
        await expect(opt.step()).rejects.toThrow(DisposedError);
      } finally {
        opt.dispose();
      }
    });
  });
}

describe("optimizers match float64 references", () => {
  test("SGD with weight decay", async () => {
    await testDevice();
    const o = { momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false };
    await checkOptimizer((ps) => new SGD(ps, o), [], (p, g, _s, t, lr) => sgdRef(p, g, new Float64Array(0), t, lr, o));
  });

  test("SGD with momentum, dampening and weight decay", async () => {
    const o = { momentum: 0.9, dampening: 0.1, weightDecay: 0.05, nesterov: false };
    await checkOptimizer((ps) => new SGD(ps, o), ["momentum_buffer"], (p, g, [b], t, lr) => sgdRef(p, g, b!, t, lr, o));
  });

  test("SGD with Nesterov momentum", async () => {
    const o = { momentum: 0.8, dampening: 0, weightDecay: 0.01, nesterov: true };
    await checkOptimizer((ps) => new SGD(ps, o), ["momentum_buffer"], (p, g, [b], t, lr) => sgdRef(p, g, b!, t, lr, o));
  });

  test("Adam with L2 weight decay", async () => {
    const o: AdamRef = { betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1, decoupled: false };
    await checkOptimizer((ps) => new Adam(ps, { betas: o.betas, eps: o.eps, weightDecay: o.weightDecay }), ["exp_avg", "exp_avg_sq"], (p, g, [m, v], t, lr) => adamRef(p, g, m!, v!, t, lr, o));
  });

  test("Adam defaults", async () => {
    const o: AdamRef = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupled: false };
    await checkOptimizer((ps) => new Adam(ps), ["exp_avg", "exp_avg_sq"], (p, g, [m, v], t, lr) => adamRef(p, g, m!, v!, t, lr, o));
  });

  test("AdamW with decoupled weight decay", async () => {
    const o: AdamRef = { betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.3, decoupled: true };
    await checkOptimizer((ps) => new AdamW(ps, { betas: o.betas, weightDecay: o.weightDecay }), ["exp_avg", "exp_avg_sq"], (p, g, [m, v], t, lr) => adamRef(p, g, m!, v!, t, lr, o));
  });

  test("defaults and validation follow PyTorch", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const p = param(f32([1, 2]), [2]);
        const w = new AdamW([p]);
        expect([w.lr, w.betas, w.eps, w.weightDecay]).toEqual([1e-3, [0.9, 0.999], 1e-8, 0.01]);
        const a = new Adam({ p });
        expect(a.weightDecay).toBe(0);
        const s = new SGD([p]);
        expect([s.lr, s.momentum, s.nesterov]).toEqual([1e-3, 0, false]);
        expect(() => new SGD([p], { nesterov: true })).toThrow(RangeError);
        expect(() => new Adam([p], { betas: [1, 0.9] })).toThrow(RangeError);
        expect(() => (a.lr = -1)).toThrow(RangeError);
        // a gradient of the wrong shape is caught before anything runs
        p.grad = fromTyped(new Float32Array(3), [3], "f32");
        await expect(a.step()).rejects.toThrow(ShapeError);
        p.grad = null;
        await a.step(); // no gradients: nothing to do
        expect(a.stepCount).toBe(1);
        for (const o of [w, a, s]) o.dispose();
      });
    });
  });
});

describe("training", () => {
  test("Adam + cosine schedule fits y = 3x − 1 (one weight, one bias)", async () => {
    await withDevice(async (dev) => {
      await scope(async () => {
        const xs = Array.from({ length: 16 }, (_, i) => -1 + (2 * i) / 15);
        const x = fromTyped(Float32Array.from(xs), [16], "f32");
        const y = fromTyped(Float32Array.from(xs.map((v) => 3 * v - 1)), [16], "f32");
        const w = param(f32([0]), [1]);
        const b = param(f32([0]), [1]);
        const opt = new Adam({ w, b }, { lr: 0.1 });
        const sched = new LRScheduler(opt, cosineSchedule({ base: 0.1, min: 0.001, total: 100 }));
        const losses: number[] = [];
        let pipes = 0;
        try {
          for (let i = 0; i < 100; i++) {
            await scope(async () => {
              const loss = mean(x.mul(w).add(b).sub(y).square());
              loss.backward();
              await opt.step({ realize: [loss] });
              losses.push(await loss.item());
              opt.zeroGrad();
            });
            sched.step();
            if (i === 1) pipes = dev.pipelines.size;
          }
          expect(dev.pipelines.size, "no compiles after the first steps although lr changes every step").toBe(pipes);
          expect(losses[49]!, "after 50 steps").toBeLessThan(losses[0]! * 0.01);
          expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.001);
          expect((await w.item()) - 3).toBeCloseTo(0, 1);
          expect((await b.item()) + 1).toBeCloseTo(0, 1);
        } finally {
          opt.dispose();
        }
      });
    });
  });

  test("AdamW trains a 1-8-1 tanh MLP on 16 points with clipping and EMA", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const xs = Array.from({ length: 16 }, (_, i) => -1.5 + (3 * i) / 15);
        const x = fromTyped(Float32Array.from(xs), [16, 1], "f32");
        const y = fromTyped(Float32Array.from(xs.map((v) => Math.sin(2 * v))), [16, 1], "f32");
        const w1 = param(f32(randnArray([8], 1).data), [1, 8]);
        const b1 = param(new Float64Array(8), [8]);
        const w2 = param(f32(randnArray([8], 2).data.map((v) => v * 0.3)), [8, 1]);
        const b2 = param(new Float64Array(1), [1]);
        const params = { w1, b1, w2, b2 };
        const opt = new AdamW(params, { lr: 0.05, weightDecay: 1e-4 });
        const ema = new EMA(params, { decay: 0.9 });
        const losses: number[] = [];
        const mse = () => mean(x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sub(y).square());
        try {
          for (let i = 0; i < 50; i++) {
            await scope(async () => {
              const loss = mse();
              loss.backward();
              const norm = clipGradNorm(params, 5);
              await opt.step({ realize: [loss, norm] });
              expect(Number.isFinite(await norm.item())).toBe(true);
              losses.push(await loss.item());
              opt.zeroGrad();
            });
            await ema.update();
          }
          expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.25);
          // the averaged weights are a sensible model too
          await ema.copyTo(params);
          const emaLoss = await scope(() => mse().item());
          expect(emaLoss).toBeLessThan(losses[0]! * 0.5);
        } finally {
          opt.dispose();
          ema.dispose();
        }
      });
    });
  });
});

describe("inside compile()", () => {
  test("Adam + schedule + clipping + EMA replayed by a compiled step equal eager training bit for bit", async () => {
    await withDevice(async (dev) => {
      await scope(async () => {
        const x = fromTyped(Float32Array.from(randnArray([12, 5], 1).data), [12, 5], "f32");
        const y = fromTyped(Float32Array.from(randnArray([12, 2], 2).data), [12, 2], "f32");
        const w0 = f32(randnArray([10], 3).data);
        const make = () => {
          const ps = { w: param(w0, [5, 2]), b: param(new Float64Array(2), [2]) };
          const opt = new Adam(ps, { lr: 0.05, weightDecay: 0.01 });
          const sched = new LRScheduler(opt, cosineSchedule({ base: 0.05, total: 6, warmup: 2 }));
          const ema = new EMA(ps, { decay: 0.8, warmup: true });
          const fn = async (xx: Tensor, yy: Tensor) => {
            const loss = mean(xx.matmul(ps.w).add(ps.b).sub(yy).square());
            loss.backward();
            const norm = clipGradNorm(ps, 0.5);
            await opt.step({ realize: [loss, norm] });
            opt.zeroGrad();
            await ema.update();
            return loss;
          };
          return { ps, opt, sched, ema, fn };
        };
        const eager = make(), comp = make();
        const step = compile(comp.fn);
        try {
          for (let i = 0; i < 5; i++) {
            const le = await scope(async () => (await eager.fn(x, y)).item());
            const compiles = dev.pipelines.compiles;
            const lc = await (await step(x, y)).item();
            if (i > 0) expect(dev.pipelines.compiles, "replays compile nothing").toBe(compiles);
            expect(lc, `loss ${i}`).toBe(le);
            for (const k of ["w", "b"] as const) {
              expect(Array.from(await comp.ps[k].toArray()), `${k} after step ${i}`).toEqual(Array.from(await eager.ps[k].toArray()));
              expect(Array.from(await comp.ema.shadow[k]!.toArray()), `ema ${k} after step ${i}`).toEqual(Array.from(await eager.ema.shadow[k]!.toArray()));
            }
            expect(comp.opt.stateDict().meta).toEqual(eager.opt.stateDict().meta);
            expect(comp.ema.updates).toBe(i + 1);
            eager.sched.step();
            comp.sched.step();
          }
          expect(step.stats().traces).toBe(1);
        } finally {
          step.dispose();
          for (const m of [eager, comp]) (m.opt.dispose(), m.ema.dispose());
        }
      });
    });
  });
});

describe("clipGradNorm", () => {
  test("scales every gradient by min(1, max / (‖g‖ + 1e-6)) and returns ‖g‖ lazily", async () => {
    await withDevice(async () => {
      await scope(async () => {
        const g1 = randF32(6, 1), g2 = randF32(300, 2);
        const total = Math.sqrt([...g1, ...g2].reduce((a, v) => a + v * v, 0));
        for (const maxNorm of [1, total * 2]) {
          await scope(async () => {
            const a = param(new Float64Array(6), [2, 3]);
            const b = param(new Float64Array(300), [300]);
            const c = param(new Float64Array(2), [2]); // no gradient: ignored
            a.grad = fromTyped(Float32Array.from(g1), [2, 3], "f32");
            b.grad = fromTyped(Float32Array.from(g2), [300], "f32");
            const norm = clipGradNorm([a, b, c], maxNorm);
            expect(norm.isRealized, "nothing is read back or run").toBe(false);
            expect(norm.shape).toEqual([]);
            expect(await norm.item()).toBeCloseTo(total, 4);
            const coef = Math.min(1, maxNorm / (total + 1e-6));
            expectAllclose(await a.grad!.toArray(), g1.map((v) => v * coef), { rtol: 1e-5, atol: 1e-7 }, `a.grad (max ${maxNorm})`);
            expectAllclose(await b.grad!.toArray(), g2.map((v) => v * coef), { rtol: 1e-5, atol: 1e-7 }, `b.grad (max ${maxNorm})`);
            expect(c.grad).toBeNull();
          });
        }
        const none = clipGradNorm([param(new Float64Array(2), [2])], 1);
        expect(await none.item()).toBe(0);
      });
    });
  });
});

describe("EMA", () => {
  test("first update copies, later ones average; warmup ramps the decay", async () => {
    await withDevice(async (dev) => {
      await scope(async () => {
        for (const warmup of [false, true]) {
          const n = 300;
          const p = param(randF32(n, 5), [n]);
          const live0 = dev.pool.live;
          const ema = new EMA([p], { decay: 0.9, warmup });
          expect(dev.pool.live - live0, "one shadow buffer").toBe(1);
          expect(ema.shadow, "nothing to show before the first update").toEqual({});
          try {
            let want = new Float64Array(0);
            for (let k = 0; k < 5; k++) {
              const v = randF32(n, 50 + k);
              dev.gpu.queue.writeBuffer(p.buffer!, 0, Float32Array.from(v));
              const d = ema.currentDecay;
              expect(d).toBeCloseTo(warmup ? Math.min(0.9, (1 + k) / (10 + k)) : 0.9, 12);
              await ema.update();
              want = k === 0 ? Float64Array.from(v) : want.map((s, i) => d * s + (1 - d) * v[i]!);
              expectAllclose(await ema.shadow["0"]!.toArray(), want, { rtol: 1e-5, atol: 1e-6 }, `update ${k} (warmup ${warmup})`);
            }
            expect(dev.pool.live - live0, "updates allocate nothing").toBe(1);
            const target = param(new Float64Array(n), [n]);
            await ema.copyTo([target]);
            expectAllclose(await target.toArray(), want, { rtol: 1e-5, atol: 1e-6 }, "copyTo");
            await expect(ema.copyTo([param(new Float64Array(3), [3])])).rejects.toThrow(ShapeError);
            const before = dev.pool.live;
            ema.dispose();
            expect(before - dev.pool.live, "dispose releases the shadow").toBe(1);
          } finally {
            ema.dispose();
          }
        }
      });
    });
  });
});

describe("schedules", () => {
  test("cosineSchedule with warmup", () => {
    const s = cosineSchedule({ base: 1, min: 0.1, total: 110, warmup: 10 });
    expect(s(0)).toBe(0);
    expect(s(5)).toBeCloseTo(0.5, 12);
    expect(s(10)).toBeCloseTo(1, 12);
    expect(s(35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(s(60)).toBeCloseTo(0.55, 12);
    expect(s(110)).toBeCloseTo(0.1, 12);
    expect(s(500)).toBeCloseTo(0.1, 12);
    expect(cosineSchedule({ base: 1e-3, total: 1000 })(500)).toBeCloseTo(5e-4, 15);
    expect(() => cosineSchedule({ base: 1, total: 5, warmup: 5 })).toThrow(RangeError);
  });

  test("linearWarmup and LRScheduler", () => {
    const w = linearWarmup({ base: 2, warmup: 4 });
    expect([0, 1, 2, 4, 10].map(w)).toEqual([0, 0.5, 1, 2, 2]);
    expect(linearWarmup({ base: 1, warmup: 2, start: 0.5 })(1)).toBeCloseTo(0.75, 12);
    const opt = { lr: 123 };
    const sched = new LRScheduler(opt, w);
    expect(opt.lr).toBe(0);
    expect([sched.step(), sched.step()]).toEqual([0.5, 1]);
    expect(opt.lr).toBe(1);
    expect(sched.lastStep).toBe(2);
    const resumed = new LRScheduler(opt, w, 3);
    expect(opt.lr).toBe(1.5);
    expect(resumed.step()).toBe(2);
  });
});
