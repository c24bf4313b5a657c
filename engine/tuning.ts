/**
 * Per-adapter kernel choices. The defaults come from measurements on each driver
 * (bench/matmul-kernels.ts, bench/reduce-kernels.ts; figures in bench/RESULTS.md): a subgroup-
 * sharing register-blocked matmul wins on both lavapipe (subgroup 8) and SwiftShader (subgroup 4);
 * workgroup-memory tiles were 2–5× slower on both. `LATENT_MATMUL_TILING=<index>` forces one of
 * `matmulTilings()` for experiments.
 */
import { defaultMatmulTiling, fixedSubgroupSize, matmulKernel, matmulTilings, matmulWorkgroups, vec4Eligible, type MatmulTiling } from "../shaders/matmul.js";
import { CommandBatch } from "./dispatch.js";
import type { Device } from "./device.js";

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
}

/**
 * Small problems get a small register block: the big subgroup kernels take 1–2.5 s each to
 * compile on lavapipe (LLVM unrolls 128 accumulators), far more than they could save on a
 * 64³-sized product, and tests and toy models are full of those.
 */
const SMALL: MatmulTiling = { kind: "regblock", wgX: 8, wgY: 8, tm: 4, tn: 4 };
const SMALL_WORK = 64 * 64 * 64;

/** Shapes are tuned per class: each dimension rounded up to a power of two, plus transposes. */
const shapeClass = (s: MatmulShape) =>
  `matmul.tuned ${[s.M, s.N, s.K].map((d) => 2 ** Math.ceil(Math.log2(Math.max(1, d)))).join("x")}${s.transA ? "T" : "N"}${s.transB ? "T" : "N"}`;

export function pickMatmulTiling(dev: Device, shape: MatmulShape): MatmulTiling {
  const tuned = dev.cache.get(shapeClass(shape)) as MatmulTiling | undefined;
  if (tuned) return tuned;
  if (shape.M * shape.N * shape.K <= SMALL_WORK && SMALL.wgX * SMALL.wgY <= dev.limits.maxComputeInvocationsPerWorkgroup) return SMALL;
  const key = "matmul.tiling";
  let t = dev.cache.get(key) as MatmulTiling | undefined;
  if (!t) {
    const sg = dev.features.has("subgroups") ? fixedSubgroupSize(dev.gpu) : undefined;
    const forced = typeof process !== "undefined" ? process.env?.LATENT_MATMUL_TILING : undefined;
    const list = matmulTilings(dev.limits, sg);
    t = forced !== undefined && list[Number(forced)] ? list[Number(forced)]! : defaultMatmulTiling(dev.limits, sg);
    dev.cache.set(key, t);
  }
  return t;
}

/**
 * Measures every candidate tiling on a product of this shape class and caches the fastest for
 * the device (Device.autotune). Compiling the candidates dominates: seconds, once per class.
 */
export async function autotuneMatmul(dev: Device, shape: MatmulShape): Promise<void> {
  const key = shapeClass(shape);
  if (dev.cache.has(key) || shape.M * shape.N * shape.K <= SMALL_WORK) return;
  const sg = dev.features.has("subgroups") ? fixedSubgroupSize(dev.gpu) : undefined;
  const candidates = [...matmulTilings(dev.limits, sg), SMALL];
  const { M, N, K } = shape;
  const a = dev.pool.acquire(M * K * 4, "autotune.a"), b = dev.pool.acquire(K * N * 4, "autotune.b"), c = dev.pool.acquire(M * N * 4, "autotune.c");
  let best: { t: MatmulTiling; ms: number } | undefined;
  try {
    for (const t of candidates) {
      const geo = { ...shape, batch: 1, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 };
      const opts = { transA: shape.transA, transB: shape.transB, tiling: t, vec4: vec4Eligible(shape, geo) };
      const k = matmulKernel(opts);
      const compiled = await dev.pipelines.get(`autotune ${k.name}`, k.source, k.inputs.length, k.outputs.length);
      const run = async (reps: number) => {
        const batch = new CommandBatch(dev, "autotune");
        for (let i = 0; i < reps; i++) batch.dispatch(compiled, k.pack(geo), [a, b, c], matmulWorkgroups(opts, M, N, 1));
        batch.submit();
        await dev.gpu.queue.onSubmittedWorkDone();
      };
      await run(1); // first dispatch: lavapipe finishes compiling here
      const t0 = performance.now();
      await run(3);
      const ms = (performance.now() - t0) / 3;
      if (!best || ms < best.ms) best = { t, ms };
    }
  } finally {
    for (const x of [a, b, c]) dev.pool.release(x);
  }
  if (best) dev.cache.set(key, best.t);
}
