/**
 * Per-adapter kernel choices. Defaults come from measurements on each driver (bench/RESULTS.md);
 * `LATENT_MATMUL_TILING` forces one by index for experiments.
 */
import { matmulTilings, type MatmulTiling } from "../shaders/matmul.js";
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
  const key = "matmul.tilings";
  let list = dev.cache.get(key) as MatmulTiling[] | undefined;
  if (!list) {
    list = matmulTilings(dev.limits);
    dev.cache.set(key, list);
  }
  const forced = typeof process !== "undefined" ? process.env?.LATENT_MATMUL_TILING : undefined;
  if (forced !== undefined && list[Number(forced)]) return list[Number(forced)]!;
  const software = dev.info.driver;
  const want = software === "swiftshader" || (software === "browser" && /swiftshader/i.test(dev.info.description)) ? "regblock" : "tiled";
  return list.find((t) => t.kind === want) ?? list[0]!;
}
