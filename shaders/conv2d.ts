/**
 * 2-D convolution kernels (NCHW, PyTorch semantics), all three as implicit GEMMs: nothing like
 * im2col is ever materialised, every invocation gathers the operand it needs straight from the
 * tensors and accumulates a small register block.
 *
 * Notation: x [N, Cin, H, W], w [Cout, Cin/G, kh, kw], y [N, Cout, Ho, Wo], G groups, and
 *   y[n, o, oy, ox] = Σ_{c, i, j} x[n, g·CinG + c, oy·sh − ph + i·dh, ox·sw − pw + j·dw] · w[o, c, i, j]
 * with g = ⌊o / CoutG⌋ and zeros outside the image. Read as a matrix product per group, the
 * "A" operand is a weight (or gradient) row and the "B" operand a column of the implicit im2col
 * matrix. The three kernels are the three products of that matrix:
 *
 *   forward      y  = W · X          rows: output channels   columns: output pixels   k: (c, tap)
 *   input grad   dx = Wᵀ · dY        rows: input channels    columns: input pixels    k: (o, tap)
 *   weight grad  dW = dY · Xᵀ        rows: output channels   columns: (c, tap)        k: output pixels
 *
 * Why this shape of kernel: both CPU Vulkan drivers run invocations as SIMD lanes, so a load
 * whose address differs per lane is a gather, and one whose address is the same for the whole
 * workgroup is a single scalar load plus a broadcast (lavapipe proves uniformity when control flow
 * is uniform; shaders/matmul.ts measured the same effect). So a workgroup owns `tm` rows, the
 * same for all its lanes, and every lane owns `tn` columns: per k step a lane does tn gathers of
 * B, tm uniform loads of A and tm·tn multiply-adds. No invocation ever returns early (past-the-
 * edge lanes clamp their coordinates and skip only the final store), which keeps control flow
 * uniform.
 *
 * Masks (PixelCNN): "A" keeps the taps strictly before the kernel centre in raster order, "B"
 * also keeps the centre. The mask is a compile-time property: the tap loops are generated over
 * the kept taps only, so a masked tap is never visited (not multiplied by zero). Because the kept
 * taps are a raster-order prefix, "kept" is simply `tap < nTaps`.
 *
 * Workgroups are numbered linearly (wid.x + wid.y·nwg.x) so any count fits the 65535-per-dimension
 * limit with a 2-D grid; the decomposition into blocks is uniform integer arithmetic.
 */
import { defineKernel, type KernelSource } from "./kernel.js";
import { raw, u32 } from "./wgsl.js";

export type ConvMask = "none" | "A" | "B";

/** Compile-time shape of a conv kernel. */
export interface ConvTiling {
  /** Rows (channels) per workgroup, shared by all its lanes. */
  readonly tm: number;
  /** Columns per lane. */
  readonly tn: number;
  /** Lanes per workgroup (≤ 256 keeps SwiftShader happy). */
  readonly wg: number;
}

export interface ConvKernelOptions extends ConvTiling {
  readonly kh: number;
  readonly kw: number;
  readonly mask: ConvMask;
}

/** Geometry uniforms shared by the three kernels (sizes in elements; ph/pw may be negative). */
export const CONV_PARAMS = {
  N: "u32",
  Cin: "u32",
  H: "u32",
  W: "u32",
  Cout: "u32",
  Ho: "u32",
  Wo: "u32",
  CinG: "u32",
  CoutG: "u32",
  sh: "u32",
  sw: "u32",
  ph: "i32",
  pw: "i32",
  dh: "u32",
  dw: "u32",
  /** Column blocks per row block. */
  colBlocks: "u32",
  /** Row blocks per group. */
  rowBlocks: "u32",
  /** Workgroups that do work (the grid may round up). */
  total: "u32",
  /** Weight grad: rows (n, oy) per split-K chunk. Input grad: phases (sh·sw). Unused otherwise. */
  extra: "u32",
} as const;
export type ConvParams = typeof CONV_PARAMS;

/** Number of kept taps of a kh×kw kernel under a mask (a raster-order prefix). */
export function keptTaps(kh: number, kw: number, mask: ConvMask): number {
  if (mask === "none") return kh * kw;
  const centre = (kh >> 1) * kw + (kw >> 1);
  return mask === "A" ? centre : centre + 1;
}

/** Kept taps as rectangles [i0, i1) × [j0, j1): full rows above the centre, then the centre row's prefix. */
function tapRegions(kh: number, kw: number, mask: ConvMask): [number, number, number, number][] {
  const n = keptTaps(kh, kw, mask);
  const full = Math.floor(n / kw);
  const regions: [number, number, number, number][] = [];
  if (full > 0) regions.push([0, full, 0, kw]);
  if (n % kw) regions.push([full, full + 1, 0, n % kw]);
  return regions;
}

const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
const U = (x: number) => u32(x) as string;

/** Loops over the kept taps; `body` sees u32 `i`, `j` and `tap = i·kw + j`. */
function tapLoops(o: ConvKernelOptions, body: string[]): string[] {
  const out: string[] = [];
  for (const [i0, i1, j0, j1] of tapRegions(o.kh, o.kw, o.mask)) {
    const inner = [`let tap = i * ${U(o.kw)} + j;`, ...body];
    const jLoop = j1 - j0 === 1 ? [`{`, `  let j = ${U(j0)};`, ...inner.map((l) => "  " + l), `}`] : [`for (var j = ${U(j0)}; j < ${U(j1)}; j++) {`, ...inner.map((l) => "  " + l), `}`];
    if (i1 - i0 === 1) out.push(`{`, `  let i = ${U(i0)};`, ...jLoop.map((l) => "  " + l), `}`);
    else out.push(`for (var i = ${U(i0)}; i < ${U(i1)}; i++) {`, ...jLoop.map((l) => "  " + l), `}`);
  }
  return out;
}

function check(o: ConvKernelOptions): void {
  for (const v of [o.kh, o.kw, o.tm, o.tn, o.wg]) if (!Number.isInteger(v) || v < 1) throw new RangeError(`conv kernel options ${JSON.stringify(o)}: sizes must be positive integers`);
}

const tag = (kind: string, o: ConvKernelOptions) => `conv2d_${kind}_${o.kh}x${o.kw}${o.mask === "none" ? "" : `_mask${o.mask}`}_t${o.tm}x${o.tn}_wg${o.wg}`;

const accDecls = (tm: number, tn: number) => seq(tm).flatMap((m) => seq(tn).map((t) => `var acc${m}_${t} = 0.0;`));

/**
 * Forward: y = conv2d(x, w). Workgroup → (pixel block, channel block within a group); lane →
 * tn output pixels p = block·wg·tn + t·wg + lane (neighbouring lanes, neighbouring pixels, so a
 * gather touches nearby addresses). Loop order tap → c: the bounds test and the base address of a
 * tap are computed once and reused for all CinG channels.
 *
 * Bindings: x, w → y.
 */
export function conv2dForwardKernel(o: ConvKernelOptions): KernelSource<ConvParams> {
  check(o);
  const { tm, tn, wg } = o;
  const KK = o.kh * o.kw;
  const body = [
    `let L = wid.x + wid.y * nwg.x;`,
    `if (L >= params.total) { return; }`,
    `let pb = L % params.colBlocks;`,
    `let rb = L / params.colBlocks;`,
    `let g = rb / params.rowBlocks;`,
    `let co0 = g * params.CoutG + (rb % params.rowBlocks) * ${U(tm)};`,
    `let coEnd = (g + 1u) * params.CoutG;`,
    `let HW = params.H * params.W;`,
    `let HoWo = params.Ho * params.Wo;`,
    `let NP = params.N * HoWo;`,
    `let wStride = params.CinG * ${U(KK)};`,
    // Rows past the group's end read the group's last row (clamped) and are never stored.
    ...seq(tm).map((m) => `let wb${m} = min(co0 + ${U(m)}, coEnd - 1u) * wStride;`),
    `let xg = g * params.CinG * HW;`,
    ...seq(tn).flatMap((t) => [
      `let p${t} = pb * ${U(wg * tn)} + ${U(t * wg)} + lid.x;`,
      `let q${t} = min(p${t}, NP - 1u);`,
      `let n${t} = q${t} / HoWo;`,
      `let r${t} = q${t} - n${t} * HoWo;`,
      `let oy${t} = r${t} / params.Wo;`,
      `let xb${t} = n${t} * params.Cin * HW + xg;`,
      `let y0${t} = i32(oy${t} * params.sh) - params.ph;`,
      `let x0${t} = i32((r${t} - oy${t} * params.Wo) * params.sw) - params.pw;`,
    ]),
    ...accDecls(tm, tn),
    ...tapLoops(o, [
      ...seq(tn).flatMap((t) => [
        `let yy${t} = y0${t} + i32(i * params.dh);`,
        `let xx${t} = x0${t} + i32(j * params.dw);`,
        // u32(negative) wraps to a huge value, so one unsigned compare tests both ends.
        `let ok${t} = u32(yy${t}) < params.H && u32(xx${t}) < params.W;`,
        `let a${t} = select(0u, xb${t} + u32(yy${t}) * params.W + u32(xx${t}), ok${t});`,
      ]),
      `for (var c = 0u; c < params.CinG; c++) {`,
      `  let xo = c * HW;`,
      `  let wo = c * ${U(KK)} + tap;`,
      ...seq(tn).map((t) => `  let v${t} = select(0.0, x[a${t} + xo], ok${t});`),
      ...seq(tm).map((m) => `  let w${m} = w[wb${m} + wo];`),
      ...seq(tm).flatMap((m) => seq(tn).map((t) => `  acc${m}_${t} += w${m} * v${t};`)),
      `}`,
    ]),
    ...seq(tm).flatMap((m) => [
      `if (co0 + ${U(m)} < coEnd) {`,
      `  let yo = co0 + ${U(m)};`,
      ...seq(tn).map((t) => `  if (p${t} < NP) { y[(n${t} * params.Cout + yo) * HoWo + r${t}] = acc${m}_${t}; }`),
      `}`,
    ]),
  ];
  return defineKernel({
    name: tag("fwd", o),
    params: CONV_PARAMS,
    inputs: { x: "f32", w: "f32" },
    outputs: { y: "f32" },
    workgroupSize: wg,
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
}

/**
 * Input gradient (equivalently conv_transpose2d's forward): dx = Σ_{o, tap} dy · w.
 *
 *   dx[n, g·CinG + c, iy, ix] = Σ_{k < CoutG, i, j} dy[n, g·CoutG + k, oy, ox] · w[g·CoutG + k, c, i, j]
 *   where oy·sh = iy + ph − i·dh and ox·sw = ix + pw − j·dw (both exact, 0 ≤ oy < Ho, 0 ≤ ox < Wo).
 *
 * With a stride, whether a tap contributes depends on iy mod sh (and ix mod sw). Input pixels are
 * therefore split into sh·sw phases (ry, rx) and every workgroup takes one phase: within a phase
 * the divisibility test is the same for the whole workgroup, so taps that cannot contribute are
 * skipped by a uniform branch instead of being multiplied by zero (3/4 of them at stride 2).
 *
 * Workgroup L = pixelBlock + colBlocks·(phase + phases·rowBlock), rowBlock over (group, channel
 * block). Bindings: dy, w → dx. `extra` = sh·sw.
 */
export function conv2dInputGradKernel(o: ConvKernelOptions): KernelSource<ConvParams> {
  check(o);
  const { tm, tn, wg } = o;
  const KK = o.kh * o.kw;
  const body = [
    `let L = wid.x + wid.y * nwg.x;`,
    `if (L >= params.total) { return; }`,
    `let pb = L % params.colBlocks;`,
    `let rest = L / params.colBlocks;`,
    `let phase = rest % params.extra;`,
    `let rb = rest / params.extra;`,
    `let g = rb / params.rowBlocks;`,
    `let ci0 = (rb % params.rowBlocks) * ${U(tm)};`,
    `let ry = phase / params.sw;`,
    `let rx = phase % params.sw;`,
    // pixels of this phase: iy = ry + qy·sh for qy < Hq (Hq = 0 when the phase lies past the edge)
    `let Hq = select(0u, (params.H - ry + params.sh - 1u) / params.sh, ry < params.H);`,
    `let Wq = select(0u, (params.W - rx + params.sw - 1u) / params.sw, rx < params.W);`,
    `let HqWq = Hq * Wq;`,
    `let NP = params.N * HqWq;`,
    `let HW = params.H * params.W;`,
    `let HoWo = params.Ho * params.Wo;`,
    `let KKc = params.CinG * ${U(KK)};`,
    `let wg0 = g * params.CoutG * KKc;`,
    ...seq(tm).map((m) => `let wb${m} = wg0 + min(ci0 + ${U(m)}, params.CinG - 1u) * ${U(KK)};`),
    ...seq(tn).flatMap((t) => [
      `let p${t} = pb * ${U(wg * tn)} + ${U(t * wg)} + lid.x;`,
      `let q${t} = min(p${t}, max(NP, 1u) - 1u);`,
      `let n${t} = q${t} / max(HqWq, 1u);`,
      `let s${t} = q${t} - n${t} * HqWq;`,
      `let qy${t} = s${t} / max(Wq, 1u);`,
      `let qx${t} = s${t} - qy${t} * Wq;`,
      `let db${t} = (n${t} * params.Cout + g * params.CoutG) * HoWo;`,
    ]),
    ...accDecls(tm, tn),
    `let sh = i32(params.sh);`,
    `let sw = i32(params.sw);`,
    ...tapLoops(o, [
      `let ty = i32(ry) + params.ph - i32(i * params.dh);`,
      `let tx = i32(rx) + params.pw - i32(j * params.dw);`,
      // Truncated remainder is 0 exactly when divisible, also for negative numerators, and the
      // quotient is then exact: oy = qy + ty / sh.
      `if (ty % sh == 0 && tx % sw == 0) {`,
      `  let oyOff = ty / sh;`,
      `  let oxOff = tx / sw;`,
      ...seq(tn).flatMap((t) => [
        `  let oy${t} = i32(qy${t}) + oyOff;`,
        `  let ox${t} = i32(qx${t}) + oxOff;`,
        `  let ok${t} = u32(oy${t}) < params.Ho && u32(ox${t}) < params.Wo;`,
        `  let a${t} = select(0u, db${t} + u32(oy${t}) * params.Wo + u32(ox${t}), ok${t});`,
      ]),
      `  for (var k = 0u; k < params.CoutG; k++) {`,
      `    let dyo = k * HoWo;`,
      `    let wo = k * KKc + tap;`,
      ...seq(tn).map((t) => `    let v${t} = select(0.0, dy[a${t} + dyo], ok${t});`),
      ...seq(tm).map((m) => `    let w${m} = w[wb${m} + wo];`),
      ...seq(tm).flatMap((m) => seq(tn).map((t) => `    acc${m}_${t} += w${m} * v${t};`)),
      `  }`,
      `}`,
    ]),
    ...seq(tm).flatMap((m) => [
      `if (ci0 + ${U(m)} < params.CinG) {`,
      `  let cx = g * params.CinG + ci0 + ${U(m)};`,
      ...seq(tn).map(
        (t) => `  if (p${t} < NP) { dx[(n${t} * params.Cin + cx) * HW + (ry + qy${t} * params.sh) * params.W + rx + qx${t} * params.sw] = acc${m}_${t}; }`,
      ),
      `}`,
    ]),
  ];
  return defineKernel({
    name: tag("dgrad", o),
    params: CONV_PARAMS,
    inputs: { dy: "f32", w: "f32" },
    outputs: { dx: "f32" },
    workgroupSize: wg,
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
}

/**
 * Weight gradient: dW[o, c, tap] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, g·CinG + c, oy·sh − ph + i·dh, ox·sw − pw + j·dw].
 *
 * Rows are output channels (a workgroup's tm rows load dy uniformly), columns are the kept
 * (c, tap) pairs (col = c·nTaps + tap), and the long k dimension is the N·Ho·Wo output pixels.
 * Because the output is small and k is long, k is split into chunks of `extra` image rows
 * (n, oy) over workgroups (split-K): chunk s writes partial sums to part[s, o, col]. The caller
 * sums the chunks with `convWeightGradFinishKernel`, or binds the output directly when there is a
 * single chunk and no mask (then part[0, o, col] is exactly dW's layout). Walking (n, oy) rows and
 * then ox keeps divisions out of the inner loop.
 *
 * Workgroup L = colBlock + colBlocks·(rowBlock + rowBlocks·G·chunk). Bindings: x, dy → part.
 */
export function conv2dWeightGradKernel(o: ConvKernelOptions): KernelSource<ConvParams> {
  check(o);
  const { tm, tn, wg } = o;
  const nTaps = keptTaps(o.kh, o.kw, o.mask);
  const body = [
    `let L = wid.x + wid.y * nwg.x;`,
    `if (L >= params.total) { return; }`,
    `let cb = L % params.colBlocks;`,
    `let rest = L / params.colBlocks;`,
    `let G = params.Cin / params.CinG;`,
    `let rb = rest % (params.rowBlocks * G);`,
    `let chunk = rest / (params.rowBlocks * G);`,
    `let g = rb / params.rowBlocks;`,
    `let co0 = g * params.CoutG + (rb % params.rowBlocks) * ${U(tm)};`,
    `let coEnd = (g + 1u) * params.CoutG;`,
    `let NCOL = params.CinG * ${U(nTaps)};`,
    `let HW = params.H * params.W;`,
    `let HoWo = params.Ho * params.Wo;`,
    `let R = params.N * params.Ho;`,
    `let r0 = chunk * params.extra;`,
    `let r1 = min(r0 + params.extra, R);`,
    ...seq(tm).map((m) => `let dc${m} = min(co0 + ${U(m)}, coEnd - 1u) * HoWo;`),
    ...seq(tn).flatMap((t) => [
      `let col${t} = cb * ${U(wg * tn)} + ${U(t * wg)} + lid.x;`,
      `let cc${t} = min(col${t}, NCOL - 1u);`,
      `let c${t} = cc${t} / ${U(nTaps)};`,
      `let tap${t} = cc${t} - c${t} * ${U(nTaps)};`,
      `let ki${t} = tap${t} / ${U(o.kw)};`,
      `let xc${t} = (g * params.CinG + c${t}) * HW;`,
      `let yOff${t} = i32(ki${t} * params.dh) - params.ph;`,
      `let xOff${t} = i32((tap${t} - ki${t} * ${U(o.kw)}) * params.dw) - params.pw;`,
    ]),
    ...accDecls(tm, tn),
    `for (var r = r0; r < r1; r++) {`,
    `  let n = r / params.Ho;`,
    `  let oy = r - n * params.Ho;`,
    `  let dRow = n * params.Cout * HoWo + oy * params.Wo;`,
    `  let xn = n * params.Cin * HW;`,
    ...seq(tn).flatMap((t) => [
      `  let yy${t} = i32(oy * params.sh) + yOff${t};`,
      `  let yok${t} = u32(yy${t}) < params.H;`,
      `  let xr${t} = xn + xc${t} + u32(yy${t}) * params.W;`,
    ]),
    `  for (var ox = 0u; ox < params.Wo; ox++) {`,
    `    let xs = i32(ox * params.sw);`,
    ...seq(tn).flatMap((t) => [
      `    let xx${t} = xs + xOff${t};`,
      `    let ok${t} = yok${t} && u32(xx${t}) < params.W;`,
      `    let v${t} = select(0.0, x[select(0u, xr${t} + u32(xx${t}), ok${t})], ok${t});`,
    ]),
    ...seq(tm).map((m) => `    let d${m} = dy[dRow + dc${m} + ox];`),
    ...seq(tm).flatMap((m) => seq(tn).map((t) => `    acc${m}_${t} += d${m} * v${t};`)),
    `  }`,
    `}`,
    `let pBase = chunk * params.Cout * NCOL;`,
    ...seq(tm).flatMap((m) => [
      `if (co0 + ${U(m)} < coEnd) {`,
      `  let po = pBase + (co0 + ${U(m)}) * NCOL;`,
      ...seq(tn).map((t) => `  if (col${t} < NCOL) { part[po + col${t}] = acc${m}_${t}; }`),
      `}`,
    ]),
  ];
  return defineKernel({
    name: tag("wgrad", o),
    params: CONV_PARAMS,
    inputs: { x: "f32", dy: "f32" },
    outputs: { part: "f32" },
    workgroupSize: wg,
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
}

/** Uniforms of the split-K finishing pass. */
export const WGRAD_FINISH_PARAMS = { total: "u32", chunks: "u32", chunkStride: "u32", nTaps: "u32", KK: "u32" } as const;

/**
 * Sums the split-K partials and expands the kept taps to the full kernel, writing exact zeros at
 * masked taps: dW[o, c, tap] = tap < nTaps ? Σ_s part[s, o, c·nTaps + tap] : 0.
 * One invocation per weight; `total` = Cout·CinG·KK, `chunkStride` = Cout·CinG·nTaps.
 * Bindings: part → dw.
 */
export function convWeightGradFinishKernel(wg = 64): KernelSource<typeof WGRAD_FINISH_PARAMS> {
  return defineKernel({
    name: `conv2d_wgrad_finish_wg${wg}`,
    params: WGRAD_FINISH_PARAMS,
    inputs: { part: "f32" },
    outputs: { dw: "f32" },
    workgroupSize: wg,
    body: raw(
      [
        `let e = gid.x + gid.y * nwg.x * ${U(wg)};`,
        `if (e >= params.total) { return; }`,
        `let oc = e / params.KK;`,
        `let tap = e - oc * params.KK;`,
        `var s = 0.0;`,
        `if (tap < params.nTaps) {`,
        `  let at = oc * params.nTaps + tap;`,
        `  for (var k = 0u; k < params.chunks; k++) { s += part[k * params.chunkStride + at]; }`,
        `}`,
        `dw[e] = s;`,
      ]
        .map((l) => "  " + l)
        .join("\n"),
    ),
  });
}
