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
 * Why this shape of kernel: both CPU Vulkan drivers run invocations as SIMD lanes, and the costly
 * part is loads, not multiply-adds. lavapipe turns every storage load into a bounds-checked branch
 * (a divergent one into a loop over the lanes); a load whose address is the same for the whole
 * workgroup is done once and broadcast, and a vec4 load pays the check once for four values. So a
 * workgroup owns `tm` rows, the same for all its lanes, read as vec4s from a copy of the weights
 * packed so that the tm rows of one k step are contiguous (`packed`, see convPackKernel), and
 * every lane owns `tn` columns: per k step a lane does tn loads of B, tm/4 uniform vec4 loads of
 * A and tm·tn multiply-adds. Measured on lavapipe: packing 1.7× faster than scalar weight loads.
 * No invocation returns early (past-the-edge lanes clamp their coordinates and skip only the
 * final store), and no `if` guards the hot loops: lavapipe executes an `if` body with masked
 * stores, which halved the speed of the first input-gradient kernel.
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
  readonly mask: ConvMask;
  /**
   * Read the row operand ("A") as vec4s from a packed copy whose tm rows of one k step are
   * contiguous (see convPackKernel) instead of as scalars from the tensor itself. Needs tm % 4 == 0.
   * Why: lavapipe turns every scalar load into a bounds-checked branch, and a uniform vec4 load
   * pays that once for four values; measured ~1.7× on the whole kernel (bench/conv-kernels.ts).
   */
  readonly packed: boolean;
}

/** Geometry uniforms shared by the three kernels (sizes in elements; ph/pw may be negative). */
export const CONV_PARAMS = {
  kh: "u32",
  kw: "u32",
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
  /** Weight grad: image rows (n, oy) per split-K chunk. Unused otherwise. */
  extra: "u32",
  /** Packed row operand: rows per k step, padded to a multiple of tm (unused when not packed). */
  rowsP: "u32",
  /** Input grad: this dispatch's phase (input pixels with iy ≡ ry mod sh, ix ≡ rx mod sw). */
  ry: "u32",
  rx: "u32",
  /**
   * Input grad: the taps that reach this phase are i ≡ iFirst (mod iStep), j ≡ jFirst (mod jStep),
   * iFirst < iStep (iFirst ≥ kh when none does; likewise j).
   */
  iFirst: "u32",
  iStep: "u32",
  jFirst: "u32",
  jStep: "u32",
  /** Weight grad: kept taps per input channel, first kernel row of this dispatch, row units per channel. */
  nTaps: "u32",
  iLo: "u32",
  unitsPerC: "u32",
} as const;
export type ConvParams = typeof CONV_PARAMS;

/** Number of kept taps of a kh×kw kernel under a mask (a raster-order prefix). */
export function keptTaps(kh: number, kw: number, mask: ConvMask): number {
  if (mask === "none") return kh * kw;
  const centre = (kh >> 1) * kw + (kw >> 1);
  return mask === "A" ? centre : centre + 1;
}

const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
const U = (x: number) => u32(x) as string;

/**
 * The kept taps as rectangles [i0, i1) × [j0, j1) in WGSL, from the runtime kernel size: all of
 * it, or (masked) the rows above the centre and the centre row's prefix.
 *
 * Why the size is a uniform and not baked in: one pipeline then serves every kernel size, and
 * the compiler does not unroll 25–49 taps around a register block (lavapipe took seconds per
 * pipeline for that); constant 3×3 loops measured no faster (same GFLOP per CPU-second).
 */
function regionBounds(mask: ConvMask): [string, string, string, string][] {
  if (mask === "none") return [["0u", "params.kh", "0u", "params.kw"]];
  const ci = "(params.kh / 2u)";
  return [
    ["0u", ci, "0u", "params.kw"],
    [ci, `(${ci} + 1u)`, "0u", `(params.kw / 2u${mask === "B" ? " + 1u" : ""})`],
  ];
}

/**
 * Loops over the kept taps; `body` sees u32 `i`, `j` and `tap = i·kw + j`. With `progression`,
 * only the taps i ≡ iFirst (mod iStep), j ≡ jFirst (mod jStep) are visited: the loops start at
 * the first such tap of each region and step over the others (the input gradient's phases).
 */
function tapLoops(o: ConvKernelOptions, body: string[], progression = false): string[] {
  const out: string[] = [];
  const loop = (v: "i" | "j", lo: string, hi: string, inner: string[]): string[] => {
    if (!progression) return [`for (var ${v} = ${lo}; ${v} < ${hi}; ${v}++) {`, ...inner.map((l) => "  " + l), `}`];
    // first v ≥ lo with v ≡ first (mod step); first ≥ step (no tap reaches the phase) keeps the loop empty
    const first = `params.${v}First`, step = `params.${v}Step`;
    const start = lo === "0u" ? first : `(${lo} + (${first} + ${step} - ${lo} % ${step}) % ${step} + select(0u, ${first}, ${first} >= ${step}))`;
    return [`for (var ${v} = ${start}; ${v} < ${hi}; ${v} += ${step}) {`, ...inner.map((l) => "  " + l), `}`];
  };
  for (const [i0, i1, j0, j1] of regionBounds(o.mask)) {
    out.push(...loop("i", i0, i1, loop("j", j0, j1, [`let tap = i * params.kw + j;`, ...body])));
  }
  return out;
}

function check(o: ConvKernelOptions): void {
  for (const v of [o.tm, o.tn, o.wg]) if (!Number.isInteger(v) || v < 1) throw new RangeError(`conv kernel options ${JSON.stringify(o)}: sizes must be positive integers`);
  if (o.packed && o.tm % 4) throw new RangeError(`conv kernel options ${JSON.stringify(o)}: packed needs tm % 4 == 0`);
}

const tag = (kind: string, o: ConvKernelOptions) =>
  `conv2d_${kind}${o.mask === "none" ? "" : `_mask${o.mask}`}_t${o.tm}x${o.tn}_wg${o.wg}${o.packed ? "_packed" : ""}`;

/**
 * Loads of the row operand for one k step. Scalar: `scalar(m)` is the element index of row m.
 * Packed: `vecIndex` is the index of the step's first vec4 (rows r0..r0+3 of the block).
 */
function rowLoads(o: ConvKernelOptions, indent: string, name: string, src: string, scalar: (m: number) => string, vecIndex: string): string[] {
  if (!o.packed) return seq(o.tm).map((m) => `${indent}let ${name}${m} = ${src}[${scalar(m)}];`);
  return [
    `${indent}let ${name}i = ${vecIndex};`,
    ...seq(o.tm / 4).map((q) => `${indent}let ${name}q${q} = ${src}[${name}i + ${U(q)}];`),
    ...seq(o.tm).map((m) => `${indent}let ${name}${m} = ${name}q${m >> 2}[${m & 3}];`),
  ];
}

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
  const KK = "(params.kh * params.kw)";
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
    `let wStride = params.CinG * ${KK};`,
    // Rows past the group's end read the group's last row (clamped) and are never stored.
    ...(o.packed
      ? [`let RP4 = params.rowsP / 4u;`, `let wA = g * wStride * RP4 + (rb % params.rowBlocks) * ${U(tm / 4)};`]
      : seq(tm).map((m) => `let wb${m} = min(co0 + ${U(m)}, coEnd - 1u) * wStride;`)),
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
        // u32(negative) wraps to a huge value, so one unsigned compare tests both ends. (`&`, not
        // `&&`: a short-circuit is control flow, which lavapipe executes with masked stores.)
        `let ok${t} = (u32(yy${t}) < params.H) & (u32(xx${t}) < params.W);`,
        `let a${t} = select(0u, xb${t} + u32(yy${t}) * params.W + u32(xx${t}), ok${t});`,
      ]),
      `for (var c = 0u; c < params.CinG; c++) {`,
      `  let xo = c * HW;`,
      `  let wo = c * ${KK} + tap;`,
      ...seq(tn).map((t) => `  let v${t} = select(0.0, x[a${t} + xo], ok${t});`),
      ...rowLoads(o, "  ", "w", "w", (m) => `wb${m} + wo`, `wA + wo * RP4`),
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
    inputs: { x: "f32", w: o.packed ? "vec4<f32>" : "f32" },
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
 * therefore split into sh·sw phases (ry, rx), one dispatch each: within a phase the taps that
 * contribute are an arithmetic progression in i and in j (sh | ry + ph − i·dh), so the tap loops
 * step over the others instead of multiplying them by zero (3/4 of them at stride 2). Loop
 * bounds rather than an `if`: lavapipe runs the body of an `if` with masked stores, which
 * measured at half the speed.
 *
 * Workgroup L = pixelBlock + colBlocks·rowBlock, rowBlock over (group, channel block).
 * Bindings: dy, w → dx.
 */
export function conv2dInputGradKernel(o: ConvKernelOptions): KernelSource<ConvParams> {
  check(o);
  const { tm, tn, wg } = o;
  const KK = "(params.kh * params.kw)";
  const body = [
    `let L = wid.x + wid.y * nwg.x;`,
    `if (L >= params.total) { return; }`,
    `let pb = L % params.colBlocks;`,
    `let rb = L / params.colBlocks;`,
    `let g = rb / params.rowBlocks;`,
    `let ci0 = (rb % params.rowBlocks) * ${U(tm)};`,
    `let ry = params.ry;`,
    `let rx = params.rx;`,
    // pixels of this phase: iy = ry + qy·sh for qy < Hq (Hq = 0 when the phase lies past the edge)
    `let Hq = select(0u, (params.H - ry + params.sh - 1u) / params.sh, ry < params.H);`,
    `let Wq = select(0u, (params.W - rx + params.sw - 1u) / params.sw, rx < params.W);`,
    `let HqWq = Hq * Wq;`,
    `let NP = params.N * HqWq;`,
    `let HW = params.H * params.W;`,
    `let HoWo = params.Ho * params.Wo;`,
    `let KKc = params.CinG * ${KK};`,
    `let wg0 = g * params.CoutG * KKc;`,
    ...(o.packed
      ? [`let RP4 = params.rowsP / 4u;`, `let wA = g * params.CoutG * ${KK} * RP4 + ci0 / 4u;`]
      : seq(tm).map((m) => `let wb${m} = wg0 + min(ci0 + ${U(m)}, params.CinG - 1u) * ${KK};`)),
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
    ...tapLoops(
      o,
      [
        // the loops only visit taps with sh | ty and sw | tx, so the quotients are exact
        // (truncating division is exact on exact multiples, negative ones included)
        `let oyOff = (i32(ry) + params.ph - i32(i * params.dh)) / sh;`,
        `let oxOff = (i32(rx) + params.pw - i32(j * params.dw)) / sw;`,
        ...seq(tn).flatMap((t) => [
          `let oy${t} = i32(qy${t}) + oyOff;`,
          `let ox${t} = i32(qx${t}) + oxOff;`,
          `let ok${t} = (u32(oy${t}) < params.Ho) & (u32(ox${t}) < params.Wo);`,
          `let a${t} = select(0u, db${t} + u32(oy${t}) * params.Wo + u32(ox${t}), ok${t});`,
        ]),
        `for (var k = 0u; k < params.CoutG; k++) {`,
        `  let dyo = k * HoWo;`,
        `  let wo = k * KKc + tap;`,
        ...seq(tn).map((t) => `  let v${t} = select(0.0, dy[a${t} + dyo], ok${t});`),
        ...rowLoads(o, "  ", "w", "w", (m) => `wb${m} + wo`, `wA + (k * ${KK} + tap) * RP4`),
        ...seq(tm).flatMap((m) => seq(tn).map((t) => `  acc${m}_${t} += w${m} * v${t};`)),
        `}`,
      ],
      true,
    ),
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
    inputs: { dy: "f32", w: o.packed ? "vec4<f32>" : "f32" },
    outputs: { dx: "f32" },
    workgroupSize: wg,
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
}

/** Compile-time shape of the weight-gradient kernel. */
export interface ConvWeightGradOptions {
  /**
   * The kernel rows one lane holds, as their numbers of kept taps: [3, 3, 3] is a whole 3×3
   * kernel per lane, [3, 1] a whole mask-A 3×3, [7] one row of a 7×7 (the lane's first row then
   * comes from the params: iLo + unit·rows.length). Accumulators: tm × Σ rows.
   */
  readonly rows: readonly number[];
  /** Output channels per workgroup (uniform rows); with `packed`, a multiple of 4. */
  readonly tm: number;
  /** Lanes per workgroup, one row unit (channel c, rows i0 …) each. */
  readonly wg: number;
  /** Horizontal stride and dilation are 1: slide a register window along each row instead of reloading every tap. */
  readonly slide: boolean;
}

/**
 * Weight gradient: dW[o, c, tap] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, g·CinG + c, oy·sh − ph + i·dh, ox·sw − pw + j·dw].
 *
 * Rows are output channels (a workgroup's tm rows load dy uniformly). Every lane owns a "row
 * unit": one input channel c and `rows.length` consecutive kernel rows starting at i0, with
 * their kept taps — for small kernels the whole kernel (i0 = 0), so the lane's tm × nTaps
 * accumulators cover it and the masked taps are simply not among them; for large kernels one
 * row, and a masked kernel's centre row gets its own dispatch with its own (shorter) row. The
 * long k dimension is the N·Ho·Wo output pixels, walked as (n, oy) rows and then ox, which
 * keeps divisions out of the inner loop.
 *
 * With horizontal stride and dilation 1 (`slide`), the taps of one kernel row read x[.., ix + j]
 * and the next pixel reads the same values shifted by one, so each row keeps a register window
 * and loads one new value per pixel: one load per kernel row instead of one per tap.
 *
 * The output is small and k is long, so k is split into chunks of `extra` image rows over
 * workgroups (split-K): chunk s writes partial sums to part[s, o, c·nTaps + tap]; the caller sums
 * the chunks with convWeightGradFinishKernel, or binds dW directly when there is a single chunk
 * and no mask (part[0] is then exactly dW's layout).
 *
 * Workgroup L = unitBlock + colBlocks·(rowBlock + rowBlocks·G·chunk). Bindings: x, dy → part.
 */
export function conv2dWeightGradKernel(o: ConvWeightGradOptions): KernelSource<ConvParams> {
  for (const v of [...o.rows, o.tm, o.wg]) if (!Number.isInteger(v) || v < 1) throw new RangeError(`conv weight-grad options ${JSON.stringify(o)}: sizes must be positive integers`);
  const { tm, wg } = o;
  const rows = o.rows.map((jEnd, di) => ({ di, jEnd }));
  const acc = (m: number, di: number, j: number) => `acc${m}_${di}_${j}`;
  const fmas: Fmas = (di, j, v) => seq(tm).map((m) => `    ${acc(m, di, j)} += d${m} * ${v};`);
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
    `let HW = params.H * params.W;`,
    `let HoWo = params.Ho * params.Wo;`,
    `let R = params.N * params.Ho;`,
    `let r0 = chunk * params.extra;`,
    `let r1 = min(r0 + params.extra, R);`,
    `let unit = cb * ${U(wg)} + lid.x;`,
    `let units = params.CinG * params.unitsPerC;`,
    // lanes past the last unit repeat it and store nothing
    `let uc = min(unit, units - 1u);`,
    `let c = uc / params.unitsPerC;`,
    `let i0 = params.iLo + (uc - c * params.unitsPerC) * ${U(rows.length)};`,
    `let xc = (g * params.CinG + c) * HW;`,
    // output channels past the group's end read its last channel and store nothing
    ...seq(tm).map((m) => `let dc${m} = min(co0 + ${U(m)}, coEnd - 1u) * HoWo;`),
    ...rows.flatMap(({ di, jEnd }) => seq(jEnd).map((j) => seq(tm).map((m) => `var ${acc(m, di, j)} = 0.0;`).join(" "))),
    `for (var r = r0; r < r1; r++) {`,
    `  let n = r / params.Ho;`,
    `  let oy = r - n * params.Ho;`,
    `  let dRow = n * params.Cout * HoWo + oy * params.Wo;`,
    `  let xn = n * params.Cin * HW + xc;`,
    ...rows.flatMap(({ di }) => [
      `  let yy${di} = i32(oy * params.sh) - params.ph + i32((i0 + ${U(di)}) * params.dh);`,
      `  let yok${di} = u32(yy${di}) < params.H;`,
      `  let xr${di} = xn + u32(yy${di}) * params.W;`,
    ]),
    ...(o.slide ? slideLoop(o, rows, fmas) : directLoop(o, rows, fmas)),
    `}`,
    `let NCOL = params.CinG * params.nTaps;`,
    `let pBase = chunk * params.Cout * NCOL + c * params.nTaps + i0 * params.kw;`,
    `if (unit < units) {`,
    ...seq(tm).flatMap((m) => [
      `  if (co0 + ${U(m)} < coEnd) {`,
      `    let po = pBase + (co0 + ${U(m)}) * NCOL;`,
      ...rows.flatMap(({ di, jEnd }) => seq(jEnd).map((j) => `    part[po + ${di ? `${U(di)} * params.kw + ` : ""}${U(j)}] = ${acc(m, di, j)};`)),
      `  }`,
    ]),
    `}`,
  ];
  return defineKernel({
    name: `conv2d_wgrad_rows${o.rows.join("_")}_t${tm}_wg${wg}${o.slide ? "_slide" : ""}`,
    params: CONV_PARAMS,
    inputs: { x: "f32", dy: "f32" },
    outputs: { part: "f32" },
    workgroupSize: wg,
    body: raw(body.map((l) => "  " + l).join("\n")),
  });
}

type KeptRows = readonly { readonly di: number; readonly jEnd: number }[];
type Fmas = (di: number, j: number, v: string) => string[];

/**
 * The tm dy values of pixel ox, the same for the whole workgroup. (A packed vec4 copy of dy, as
 * the other kernels use for their weights, measured no faster here: the lane's tm × taps
 * multiply-adds dominate, not these loads.)
 */
function dyLoads(o: ConvWeightGradOptions): string[] {
  return seq(o.tm).map((m) => `    let d${m} = dy[dRow + dc${m} + ox];`);
}

/** x at (lane row di, column expression ix): zero outside the image. */
function xAt(di: number, ix: string): string {
  const ok = `yok${di} & (u32(${ix}) < params.W)`;
  return `select(0.0, x[select(0u, xr${di} + u32(${ix}), ${ok})], ${ok})`;
}

/** Any stride and dilation: every kept tap loads its own value. */
function directLoop(o: ConvWeightGradOptions, rows: KeptRows, fmas: Fmas): string[] {
  return [
    `  for (var ox = 0u; ox < params.Wo; ox++) {`,
    `    let xs = i32(ox * params.sw) - params.pw;`,
    ...dyLoads(o),
    ...rows.flatMap(({ di, jEnd }) =>
      seq(jEnd).flatMap((j) => [`    let v${di}_${j} = ${xAt(di, `xs + ${j}i * i32(params.dw)`)};`, ...fmas(di, j, `v${di}_${j}`)]),
    ),
    `  }`,
  ];
}

/**
 * Stride and dilation 1: row di's tap j reads x at ox − pw + j. Window slot k holds that value for
 * j = k; every pixel loads the last slot, uses the window, then shifts it down by one.
 */
function slideLoop(o: ConvWeightGradOptions, rows: KeptRows, fmas: Fmas): string[] {
  return [
    ...rows.flatMap(({ di, jEnd }) => seq(jEnd - 1).map((k) => `  var w${di}_${k} = ${xAt(di, `${k}i - params.pw`)};`)),
    `  for (var ox = 0u; ox < params.Wo; ox++) {`,
    `    let xs = i32(ox) - params.pw;`,
    ...dyLoads(o),
    ...rows.flatMap(({ di, jEnd }) => [
      `    let w${di}_${jEnd - 1} = ${xAt(di, `xs + ${jEnd - 1}i`)};`,
      ...seq(jEnd).flatMap((j) => fmas(di, j, `w${di}_${j}`)),
      ...seq(jEnd - 1).map((k) => `    w${di}_${k} = w${di}_${k + 1};`),
    ]),
    `  }`,
  ];
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

/** Uniforms of convPackKernel. */
export const CONV_PACK_PARAMS = { total: "u32", rows: "u32", rowsP: "u32", nb: "u32", nc: "u32", sa: "u32", sb: "u32", rowStride: "u32" } as const;

/**
 * Packs a weight for the `packed` kernels: out[(o, r)] = r < rows ? src[a·sa + b·sb + c + r·rowStride] : 0
 * for r < rowsP and o = (a·nb + b)·nc + c. The two uses (G groups, K = kh·kw):
 *   forward             o = (g, c, tap), r = output channel in g:  nb = 1, nc = CinG·K, sa = CoutG·CinG·K, rowStride = CinG·K
 *   input gradient      o = (g·CoutG + k, tap), r = input channel: nb = 1, nc = K, sa = CinG·K, rowStride = K
 * Rows past `rows` are zero, so a block that overhangs the channel count multiplies zeros.
 * Bindings: src → out.
 */
export function convPackKernel(wg = 64): KernelSource<typeof CONV_PACK_PARAMS> {
  return defineKernel({
    name: `conv2d_pack_wg${wg}`,
    params: CONV_PACK_PARAMS,
    inputs: { src: "f32" },
    outputs: { out: "f32" },
    workgroupSize: wg,
    body: raw(
      [
        `let e = gid.x + gid.y * nwg.x * ${U(wg)};`,
        `if (e >= params.total) { return; }`,
        `let r = e % params.rowsP;`,
        `let o = e / params.rowsP;`,
        `let c = o % params.nc;`,
        `let ab = o / params.nc;`,
        `let b = ab % params.nb;`,
        `let a = ab / params.nb;`,
        `var v = 0.0;`,
        `if (r < params.rows) { v = src[a * params.sa + b * params.sb + c + r * params.rowStride]; }`,
        `out[e] = v;`,
      ]
        .map((l) => "  " + l)
        .join("\n"),
    ),
  });
}
