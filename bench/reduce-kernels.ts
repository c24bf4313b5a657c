/**
 * Row-reduction and softmax kernels: median wall time per dispatch and effective bandwidth.
 *
 *   npx tsx bench/reduce-kernels.ts                # every workgroup size the device allows
 *   npx tsx bench/reduce-kernels.ts --wg 64,256    # chosen workgroup sizes
 *   npx tsx bench/reduce-kernels.ts --per-lane 4,64   # compare lane policies (target elements per lane)
 *   LATENT_VK_ICD=swiftshader npx tsx bench/reduce-kernels.ts
 *
 * After two warm-up runs, each rep submits a batch of identical dispatches and awaits
 * onSubmittedWorkDone; the median over reps of the per-dispatch time is reported. GB/s counts the unique bytes a kernel must
 * move (input once + output), so softmax's three reads of each row show up as lower GB/s.
 * Results feed rowWorkgroupSize() and ELEMS_PER_LANE in shaders/reduce.ts.
 */
import { init, type Device } from "../engine/device.js";
import { CommandBatch, upload } from "../engine/dispatch.js";
import { reduceKernel, rowLanes, rowLaunch, rowTuning, type RowKernel, type RowParams } from "../shaders/reduce.js";
import { softmaxKernel } from "../shaders/softmax.js";
import { wgsl } from "../shaders/wgsl.js";

const REPS = 7;
const WARMUP = 2;

const args = process.argv.slice(2);
const list = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1]!.split(",").map(Number) : undefined);
const wgArg = list("--wg");
const perLaneArg = list("--per-lane");
const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : REPS;

interface Case {
  label: string;
  kind: "sum" | "softmax";
  outer: number;
  R: number;
}
const CASES: Case[] = [
  { label: "softmax 128×1024", kind: "softmax", outer: 128, R: 1024 },
  { label: "sum rows 128×1024", kind: "sum", outer: 128, R: 1024 },
  { label: "sum rows 1024×128", kind: "sum", outer: 1024, R: 128 },
  { label: "sum rows 1×1e6", kind: "sum", outer: 1, R: 1_000_000 },
  { label: "sum rows 65536×8", kind: "sum", outer: 65536, R: 8 },
];

const element = { inputs: { x: "f32" }, element: (o, r) => wgsl`x[${o} * params.R + ${r}]` } as const satisfies Parameters<typeof reduceKernel>[0]["prologue"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeCase(dev: Device, c: Case, wg: number, lanes: number): Promise<number> {
  const k: RowKernel<RowParams> = c.kind === "sum" ? reduceKernel({ op: "sum", prologue: element, workgroupSize: wg }) : softmaxKernel({ log: false, prologue: element, workgroupSize: wg });
  const compiled = await dev.pipelines.get(k.name, k.source, k.inputs.length, k.outputs.length);
  const x = upload(dev, Float32Array.from({ length: c.outer * c.R }, (_, i) => Math.sin(i)), "bench.x");
  const out = dev.pool.acquire(4 * (c.kind === "sum" ? c.outer : c.outer * c.R), "bench.out");
  const { params, workgroups } = rowLaunch(c.outer, c.R, wg, dev.limits.maxComputeWorkgroupsPerDimension, lanes);
  // Node's Dawn binding only notices finished work when it polls (engine/poll.ts backs off to
  // ~1 ms timers), so one short dispatch per submit measures the poll, not the kernel. Each rep
  // therefore submits `inner` back-to-back dispatches (≈ 20 ms of work) and reports the mean.
  const run = async (inner: number) => {
    const t0 = performance.now();
    const batch = new CommandBatch(dev, "bench");
    for (let j = 0; j < inner; j++) batch.dispatch(compiled, k.pack(params), [x, out], workgroups, `${c.label} wg=${wg}`);
    batch.submit();
    await dev.gpu.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / inner;
  };
  const times: number[] = [];
  try {
    let inner = 1;
    for (let i = 0; i < WARMUP; i++) inner = Math.max(1, Math.min(64, Math.ceil(20 / (await run(inner)))));
    for (let i = 0; i < reps; i++) times.push(await run(inner));
  } finally {
    dev.pool.release(x);
    dev.pool.release(out);
  }
  return median(times);
}

function bytesMoved(c: Case): number {
  return 4 * (c.kind === "sum" ? c.outer * c.R + c.outer : 2 * c.outer * c.R);
}

async function main() {
  const dev = await init({ label: "reduce bench" });
  const maxWg = dev.limits.maxComputeInvocationsPerWorkgroup;
  console.log(`device: ${dev.info.driver} (${dev.info.description || dev.info.device}), max invocations ${maxWg}`);
  const tuned = rowTuning(dev.info.driver, maxWg);
  console.log(`rowTuning(): workgroupSize ${tuned.workgroupSize}, elemsPerLane ${tuned.elemsPerLane}`);
  const sizes = wgArg ?? [32, 64, 128, 256, 512, 1024].filter((w) => w <= maxWg);
  const perLane = perLaneArg ?? [tuned.elemsPerLane];
  for (const c of CASES) {
    for (const pl of perLane) {
      const cells: string[] = [];
      for (const wg of sizes) {
        const lanes = rowLanes(c.R, wg, pl);
        const ms = await timeCase(dev, c, wg, lanes);
        cells.push(`wg ${String(wg).padStart(4)}: ${ms.toFixed(2).padStart(7)} ms ${(bytesMoved(c) / ms / 1e6).toFixed(2).padStart(6)} GB/s`);
      }
      const policy = ` (≥${pl}/lane)`;
      console.log(`${(c.label + policy).padEnd(32)} ${cells.join(" | ")}`);
    }
  }
  dev.destroy();
}

await main();
