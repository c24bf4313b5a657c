/**
 * Softmax and log-softmax over rows, in one dispatch:
 *
 *   m = max_r x_r,   s = Σ_r exp(x_r − m),   softmax_r = exp(x_r − m) / s,   logSoftmax_r = (x_r − m) − log s
 *
 * where x_r = prologue.element(o, r). Subtracting the row max keeps every exp argument ≤ 0, so
 * nothing overflows for any finite input (±80, ±1e30), and s ≥ 1 (the max term is exp(0)), so
 * log s is finite. Each row is read three times from global memory (max, sum, write) by the
 * segment of threads that owns it; the two reductions use the same fixed-shape tree as
 * shaders/reduce.ts, so results are deterministic.
 *
 * Edge case: rows whose max is not finite follow PyTorch and come out all NaN: a NaN anywhere,
 * a +inf (inf − inf = NaN), or a row of only −inf (exp(−inf − (−inf)) = exp(NaN)). The kernel
 * writes the NaN explicitly rather than trusting the driver's inf arithmetic.
 */
import {
  DEFAULT_ROW_WORKGROUP,
  ELEMS_PER_LANE,
  checkRowWorkgroup,
  mergeRowBuffers,
  rowIndexing,
  rowLanes,
  rowLaunch,
  rowParams,
  rowPrelude,
  rowTree,
  type EmptyParams,
  type RowKernel,
  type RowParams,
  type RowPrologue,
} from "./reduce.js";
import { defineKernel, type Params } from "./kernel.js";
import { raw, wgsl } from "./wgsl.js";

/**
 * A softmax kernel: `out[o·R + r] = softmax_r(prologue.element(o, r))` (or log-softmax with
 * `log: true`), `out` an `array<f32>` of outer·R values.
 * @example
 * const k = softmaxKernel({ log: true, prologue: { inputs: { x: "f32" }, element: (o, r) => wgsl`x[${o} * params.R + ${r}]` } });
 * const { params, workgroups } = k.launch(rows, R, dev.limits.maxComputeWorkgroupsPerDimension);
 */
export function softmaxKernel<P extends Params = EmptyParams>(opts: {
  log: boolean;
  prologue: RowPrologue<P>;
  workgroupSize?: number;
  /** Lane policy used by `launch` (not part of the WGSL). */
  elemsPerLane?: number;
}): RowKernel<RowParams & P> {
  const wg = opts.workgroupSize ?? DEFAULT_ROW_WORKGROUP;
  const perLane = opts.elemsPerLane ?? ELEMS_PER_LANE;
  const name = opts.log ? "log_softmax" : "softmax";
  checkRowWorkgroup(name, wg);
  const prelude = raw(/* wgsl */ `
var<workgroup> rw_val: array<f32, ${wg}>;
${rowPrelude(opts.prologue as RowPrologue<Params>)}
fn rw_max(rw_a: f32, rw_b: f32) -> f32 {
  if (rw_isnan(rw_a)) { return rw_a; }
  if (rw_isnan(rw_b)) { return rw_b; }
  return select(rw_b, rw_a, rw_a > rw_b);
}
`);
  // d = x − m ≤ 0; softmax = exp(d) / s, log-softmax = d − log s.
  const result = opts.log ? raw(`(rw_x - rw_m) - rw_logs`) : raw(`exp(rw_x - rw_m) / rw_sum`);
  const body = wgsl/* wgsl */ `${rowIndexing(wg)}
  let rw_base = lid.x - rw_lane;

  // Pass 1: row max (NaN-propagating).
  var rw_p = -inf_f32();
  if (rw_live) {
    for (var rw_r = rw_lane; rw_r < params.R; rw_r = rw_r + rw_lanes) { rw_p = rw_max(rw_p, rw_element(rw_o, rw_r)); }
  }
  rw_val[lid.x] = rw_p;
  ${rowTree(raw(`rw_val[rw_a] = rw_max(rw_val[rw_a], rw_val[rw_b]);`))}
  let rw_m = rw_val[rw_base];
  let rw_ok = rw_finite(rw_m);
  // Every lane must have read the max before the sum pass overwrites the slots.
  if (rw_lanes > 1u) { workgroupBarrier(); }

  // Pass 2: Σ exp(x − m). Skipped for rows that will be written as NaN anyway.
  var rw_q = 0.0;
  if (rw_live && rw_ok) {
    for (var rw_r = rw_lane; rw_r < params.R; rw_r = rw_r + rw_lanes) { rw_q = rw_q + exp(rw_element(rw_o, rw_r) - rw_m); }
  }
  rw_val[lid.x] = rw_q;
  ${rowTree(raw(`rw_val[rw_a] = rw_val[rw_a] + rw_val[rw_b];`))}
  let rw_sum = rw_val[rw_base];
  let rw_logs = log(rw_sum);

  // Pass 3: write.
  if (rw_live) {
    let rw_row = rw_o * params.R;
    for (var rw_r = rw_lane; rw_r < params.R; rw_r = rw_r + rw_lanes) {
      var rw_y = nan_f32();
      if (rw_ok) {
        let rw_x = rw_element(rw_o, rw_r);
        rw_y = ${result};
      }
      out[rw_row + rw_r] = rw_y;
    }
  }`;
  const k = defineKernel({
    name,
    params: rowParams(name, opts.prologue.params),
    inputs: mergeRowBuffers(name, ["out", "params"], opts.prologue.inputs),
    outputs: { out: "f32" },
    workgroupSize: wg,
    prelude,
    body,
  });
  return { ...k, launch: (outer, R, maxPerDim = 65535) => rowLaunch(outer, R, wg, maxPerDim, rowLanes(R, wg, perLane)) };
}
