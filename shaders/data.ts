/**
 * The dataset gather: rows of a byte dataset, packed four pixels per u32, turned into f32 batches
 * with an optional per-pixel transform. Bytes instead of f32 because 60 000 × 784 MNIST pixels are
 * 47 MB as bytes but 188 MB as f32, more than one storage binding may hold (128 MiB by default).
 *
 * Buffer `pixels` (one binding, owned by the dataset):
 *
 *   words [0, ⌈n·D/4⌉)        byte q of the dataset is bits 8(q mod 4) … 8(q mod 4)+7 of word ⌊q/4⌋
 *   words [lut, lut + 256)    the f32 bit patterns of fround(v / 255), v = 0 … 255
 *
 * The table makes `float` and the Bernoulli probability exactly the CPU's fround(v / 255): WGSL
 * allows 2.5 ulp of error in f32 division, and GPUs use that freedom.
 *
 * Output element i = b·D + j (batch row b, pixel j) reads example e = index[b], byte p, and draws
 * its randomness from counter (base + e)·D + j of the given key and stream — one Philox call per
 * pixel, addressed by the example's position in its file so that every batch composition gives the
 * example the same draw for the same key:
 *
 *   float      p / 255
 *   binary     1 if rng_uniform < p / 255, else 0            (bit-identical to engine/random bernoulliAt)
 *   dequant    (p + u′) / 256 with u′ = (⌊w / 2^17⌋ + ½)·2^-15, w the Philox word: the uniform on a
 *              2^15-point midpoint grid. Then p + u′ needs 8 + 16 bits and is exact in f32, so
 *              x ∈ [p/256, (p+1)/256) holds exactly — with a 23-bit u, p + u would round up to p + 1
 *              for p ≥ 128 about once in 2^17 draws. u′ = (⌊u·2^15⌋ + ½)·2^-15 for u = uniformAt.
 *   + logit    y = log(s) − log(t), s = λ + (1 − 2λ)x, t = λ + (1 − 2λ)(1 − x), with 1 − x computed
 *              exactly as (255 − p + 1 − u′)/256, so y keeps its precision near x = 1.
 *
 * An index outside [0, n) writes NaN (a kernel cannot throw), which makes the bug visible.
 */
import { defineKernel, type KernelSource } from "./kernel.js";
import { PHILOX_WGSL } from "./philox.js";
import { f32, raw, type Wgsl } from "./wgsl.js";

export type PixelTransform = "float" | "binary" | "dequantise";

export const DATA_WG = 64;

const params = {
  total: "u32",
  D: "u32",
  n: "u32",
  lut: "u32",
  base: "u32",
  key0: "u32",
  key1: "u32",
  stream: "u32",
  lambda: "f32",
} as const;
export type DataBatchParams = typeof params;

/** The per-pixel expression, given byte `p: u32` and counter `ctr: u32` in scope. */
function transformBody(t: PixelTransform, logit: boolean): Wgsl {
  const key = "vec2<u32>(params.key0, params.key1)";
  switch (t) {
    case "float":
      return raw(`  out[i] = bitcast<f32>(pixels[params.lut + p]);`);
    case "binary":
      return raw(`  out[i] = rng_bernoulli(${key}, ctr, params.stream, bitcast<f32>(pixels[params.lut + p]));`);
    case "dequantise": {
      const noise = `  let w = philox4x32_10(vec4<u32>(ctr, params.stream, 0u, 0u), ${key}).x;
  let u = (f32(w >> 17u) + 0.5) * ${f32(2 ** -15)};
  let x = (f32(p) + u) * ${f32(1 / 256)};`;
      if (!logit) return raw(`${noise}\n  out[i] = x;`);
      return raw(`${noise}
  let xbar = (f32(255u - p) + (1.0 - u)) * ${f32(1 / 256)};
  let a = 1.0 - 2.0 * params.lambda;
  out[i] = log(params.lambda + a * x) - log(params.lambda + a * xbar);`);
    }
    default:
      return t satisfies never;
  }
}

const cache = new Map<string, KernelSource<DataBatchParams>>();

/** The gather kernel for one transform (memoised: the source is the pipeline-cache key anyway). */
export function dataBatchKernel(t: PixelTransform, logit = false): KernelSource<DataBatchParams> {
  const name = `data.${t}${logit ? ".logit" : ""}`;
  let k = cache.get(name);
  if (!k) {
    k = defineKernel({
      name,
      params,
      inputs: { pixels: "u32", index: "i32" },
      outputs: { out: "f32" },
      workgroupSize: DATA_WG,
      prelude: t === "float" ? undefined : PHILOX_WGSL,
      body: raw(`  let i = gid.x + gid.y * nwg.x * ${DATA_WG}u;
  if (i >= params.total) { return; }
  let b = i / params.D;
  let j = i - b * params.D;
  let e = index[b];
  if (e < 0i || u32(e) >= params.n) { out[i] = nan_f32(); return; }
  let q = u32(e) * params.D + j;
  let p = (pixels[q >> 2u] >> ((q & 3u) * 8u)) & 0xffu;
  let ctr = (params.base + u32(e)) * params.D + j;
${transformBody(t, logit)}`),
    });
    cache.set(name, k);
  }
  return k;
}
