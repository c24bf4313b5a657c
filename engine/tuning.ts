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

export function pickMatmulTiling(dev: Device, _shape: MatmulShape): MatmulTiling {
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
