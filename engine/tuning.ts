/**
 * Per-adapter kernel choices. The defaults come from measurements on each driver
 * (bench/matmul-kernels.ts, bench/reduce-kernels.ts; figures in bench/RESULTS.md): a subgroup-
 * sharing register-blocked matmul wins on both lavapipe (subgroup 8) and SwiftShader (subgroup 4);
 * workgroup-memory tiles were 2–5× slower on both. `LATENT_MATMUL_TILING=<index>` forces one of
 * `matmulTilings()` for experiments.
 */
import { defaultMatmulTiling, fixedSubgroupSize, matmulTilings, type MatmulTiling } from "../shaders/matmul.js";
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

export function pickMatmulTiling(dev: Device, shape: MatmulShape): MatmulTiling {
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
