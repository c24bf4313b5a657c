/**
 * Max-pooling kernels (NCHW). Max pooling is written as two linear maps selected by a key tensor:
 *
 *   select(key, v)[p, oy, ox] = v[p, a(p, oy, ox)]          a = first argmax of key over the window
 *   scatter(key, d)[p, iy, ix] = Σ_{(oy, ox) : a(p, oy, ox) = (iy, ix)} d[p, oy, ox]
 *
 * maxPool2d(x) = select(x, x); the gradient of select in v is scatter and vice versa, so double
 * backward needs nothing else (the key only picks positions and gets no gradient).
 *
 * Window of output (oy, ox): rows oy·sh − ph + i·dh, columns ox·sw − pw + j·dw, i < kh, j < kw;
 * positions outside the image are padding and never win (PyTorch pads with −∞ and requires every
 * window to hold a real pixel). Ties go to the first position in raster order of the window, NaN
 * beats everything (PyTorch propagates NaN through max pooling) and the first NaN wins.
 * p runs over the N·C planes; all sizes are uniforms, so one pipeline serves every pooling.
 */
import { defineKernel, type KernelSource } from "./kernel.js";
import { raw, u32 } from "./wgsl.js";

export const POOL_PARAMS = {
  planes: "u32",
  H: "u32",
  W: "u32",
  Ho: "u32",
  Wo: "u32",
  kh: "u32",
  kw: "u32",
  sh: "u32",
  sw: "u32",
  ph: "i32",
  pw: "i32",
  dh: "u32",
  dw: "u32",
} as const;
export type PoolParams = typeof POOL_PARAMS;

/** Index within the plane (iy·W + ix) of the window's first maximum of `key` (assumes one real pixel). */
const ARGMAX_FN = /* wgsl */ `
fn window_argmax(plane: u32, oy: u32, ox: u32) -> u32 {
  var best = 0.0;
  var at = 0u;
  var found = false;
  let y0 = i32(oy * params.sh) - params.ph;
  let x0 = i32(ox * params.sw) - params.pw;
  for (var i = 0u; i < params.kh; i++) {
    let iy = y0 + i32(i * params.dh);
    if (u32(iy) >= params.H) { continue; }
    for (var j = 0u; j < params.kw; j++) {
      let ix = x0 + i32(j * params.dw);
      if (u32(ix) >= params.W) { continue; }
      let idx = u32(iy) * params.W + u32(ix);
      let v = key[plane + idx];
      // strict '>' keeps the first of equal values; a NaN wins once and then is never beaten
      let take = !found || v > best || (isnan_f32(v) && !isnan_f32(best));
      if (take) { best = v; at = idx; found = true; }
    }
  }
  return at;
}`;

const U = (x: number) => u32(x) as string;

/** select(key, v): one invocation per output. Bindings: key, v → out. */
export function poolSelectKernel(wg = 64): KernelSource<PoolParams> {
  return defineKernel({
    name: `maxpool_select_wg${wg}`,
    params: POOL_PARAMS,
    inputs: { key: "f32", v: "f32" },
    outputs: { out: "f32" },
    workgroupSize: wg,
    prelude: raw(ARGMAX_FN),
    body: raw(
      [
        `let e = gid.x + gid.y * nwg.x * ${U(wg)};`,
        `let HoWo = params.Ho * params.Wo;`,
        `if (e >= params.planes * HoWo) { return; }`,
        `let p = e / HoWo;`,
        `let r = e - p * HoWo;`,
        `let oy = r / params.Wo;`,
        `let plane = p * params.H * params.W;`,
        `out[e] = v[plane + window_argmax(plane, oy, r - oy * params.Wo)];`,
      ]
        .map((l) => "  " + l)
        .join("\n"),
    ),
  });
}

/** First step of scatter: the argmax index of every window. Bindings: key → arg (u32). */
export function poolArgmaxKernel(wg = 64): KernelSource<PoolParams> {
  return defineKernel({
    name: `maxpool_argmax_wg${wg}`,
    params: POOL_PARAMS,
    inputs: { key: "f32" },
    outputs: { arg: "u32" },
    workgroupSize: wg,
    prelude: raw(ARGMAX_FN),
    body: raw(
      [
        `let e = gid.x + gid.y * nwg.x * ${U(wg)};`,
        `let HoWo = params.Ho * params.Wo;`,
        `if (e >= params.planes * HoWo) { return; }`,
        `let p = e / HoWo;`,
        `let r = e - p * HoWo;`,
        `let oy = r / params.Wo;`,
        `arg[e] = window_argmax(p * params.H * params.W, oy, r - oy * params.Wo);`,
      ]
        .map((l) => "  " + l)
        .join("\n"),
    ),
  });
}

/**
 * Second step of scatter, one invocation per input pixel (no atomics): it visits the windows
 * that contain it, oy·sh = iy + ph − i·dh for some tap i (likewise x), and adds d of those whose
 * argmax it is. Bindings: arg (u32), d → out.
 */
export function poolScatterKernel(wg = 64): KernelSource<PoolParams> {
  return defineKernel({
    name: `maxpool_scatter_wg${wg}`,
    params: POOL_PARAMS,
    inputs: { arg: "u32", d: "f32" },
    outputs: { out: "f32" },
    workgroupSize: wg,
    body: raw(
      [
        `let e = gid.x + gid.y * nwg.x * ${U(wg)};`,
        `let HW = params.H * params.W;`,
        `if (e >= params.planes * HW) { return; }`,
        `let p = e / HW;`,
        `let idx = e - p * HW;`,
        `let iy = idx / params.W;`,
        `let ix = idx - iy * params.W;`,
        `let ob = p * params.Ho * params.Wo;`,
        `let sh = i32(params.sh);`,
        `let sw = i32(params.sw);`,
        `var acc = 0.0;`,
        `for (var i = 0u; i < params.kh; i++) {`,
        `  let ty = i32(iy) + params.ph - i32(i * params.dh);`,
        `  if (ty < 0 || ty % sh != 0 || u32(ty / sh) >= params.Ho) { continue; }`,
        `  for (var j = 0u; j < params.kw; j++) {`,
        `    let tx = i32(ix) + params.pw - i32(j * params.dw);`,
        `    if (tx < 0 || tx % sw != 0 || u32(tx / sw) >= params.Wo) { continue; }`,
        `    let o = ob + u32(ty / sh) * params.Wo + u32(tx / sw);`,
        `    if (arg[o] == idx) { acc += d[o]; }`,
        `  }`,
        `}`,
        `out[e] = acc;`,
      ]
        .map((l) => "  " + l)
        .join("\n"),
    ),
  });
}
