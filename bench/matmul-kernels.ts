/**
 * Matmul kernel micro-benchmark: every candidate tiling, with and without vec4 loads, on square
 * problems and one batched problem. Prints the median of a few timed repetitions and GFLOP/s
 * (2·M·N·K·batch / t), with the best repetition's GFLOP/s in parentheses.
 *
 *   npx tsx bench/matmul-kernels.ts                          # lavapipe
 *   LATENT_VK_ICD=swiftshader npx tsx bench/matmul-kernels.ts
 *   ... --sizes 512,8x256,128x400x784 --kind tiled --reps 5 --trans NT --vec4 only|no
 *   ... --tiling '[{"kind":"regblock","wgX":8,"wgY":8,"tm":4,"tn":4}]'   # try other tilings
 *   ... --no-robust                                          # Dawn's bounds clamping off
 *
 * Timing is wall-clock from submit to onSubmittedWorkDone; at these sizes (≥ 30 MFLOP on a CPU
 * driver) the submit overhead is far below 1%. Other processes sharing the CPU come and go over
 * seconds, so the repetitions are interleaved: every round times each variant once, and a burst
 * of outside load then slows all variants alike instead of one variant's whole sample.
 */
import { init, type Device } from "../engine/device.js";
import { CommandBatch, upload } from "../engine/dispatch.js";
import type { CompiledKernel } from "../engine/pipelines.js";
import { fixedSubgroupSize, matmulKernel, matmulTilings, matmulWorkgroups, vec4Eligible, type MatmulTiling } from "../shaders/matmul.js";

interface Problem {
  label: string;
  M: number;
  N: number;
  K: number;
  batch: number;
}

interface Variant {
  tiling: MatmulTiling;
  vec4: boolean;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** "512" is 512³, "8x256" is a batch of 8 × 256³, "128x400x784" is M×N×K. */
function parseProblem(s: string): Problem {
  const xs = s.split("x").map(Number);
  if (xs.length === 3) return { label: `${xs[0]}×${xs[1]}×${xs[2]}`, M: xs[0]!, N: xs[1]!, K: xs[2]!, batch: 1 };
  const [b, n] = xs.length === 2 ? xs : [1, xs[0]];
  return { label: b! > 1 ? `${b}×${n}³` : `${n}³`, M: n!, N: n!, K: n!, batch: b! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const tilingName = (t: MatmulTiling) =>
  t.kind === "regblock" ? `regblock ${t.wgX}x${t.wgY} ${t.tm}x${t.tn}` : `tiled ${t.wgX}x${t.wgY} ${t.tm}x${t.tn} bk${t.bk}`;

/** Times every variant on one problem; returns each variant's repetitions in ms (empty if ineligible). */
async function timeProblem(dev: Device, variants: Variant[], transA: boolean, transB: boolean, p: Problem, reps: number): Promise<number[][]> {
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = upload(dev, fill(p.batch * p.M * p.K), "bench.a");
  const b = upload(dev, fill(p.batch * p.K * p.N), "bench.b");
  const c = dev.pool.acquire(p.batch * p.M * p.N * 4, "bench.c");
  const shape = { M: p.M, N: p.N, K: p.K, batch: p.batch, aOffset: 0, bOffset: 0, aBatchStride: p.M * p.K, bBatchStride: p.K * p.N };
  try {
    const runs: ((() => Promise<number>) | undefined)[] = [];
    for (const v of variants) {
      if (v.vec4 && !vec4Eligible({ transA, transB }, shape)) {
        runs.push(undefined);
        continue;
      }
      const kernel = matmulKernel({ transA, transB, tiling: v.tiling, vec4: v.vec4 });
      const compiled: CompiledKernel = await dev.pipelines.get(kernel.name, kernel.source, kernel.inputs.length, kernel.outputs.length);
      const params = kernel.pack(shape);
      const grid = matmulWorkgroups(v, p.M, p.N, p.batch);
      runs.push(async () => {
        const batch = new CommandBatch(dev, kernel.name);
        batch.dispatch(compiled, params, [a, b, c], grid);
        const t0 = performance.now();
        batch.submit();
        await dev.gpu.queue.onSubmittedWorkDone();
        return performance.now() - t0;
      });
    }
    const times: number[][] = variants.map(() => []);
    let warmTotal = 0;
    for (const run of runs) if (run) warmTotal += await run();
    // Keep one problem to well under a minute: slow drivers on big problems get fewer rounds.
    const rounds = Math.max(3, Math.min(reps, Math.floor(20000 / Math.max(1, warmTotal))));
    for (let r = 0; r < rounds; r++) {
      for (const [i, run] of runs.entries()) if (run) times[i]!.push(await run());
    }
    return times;
  } finally {
    for (const buf of [a, b, c]) dev.pool.release(buf);
  }
}

async function main() {
  const dawnToggles = process.argv.includes("--no-robust") ? ["disable_robustness"] : [];
  const dev = await init({ label: "matmul bench", dawnToggles });
  const reps = Number(arg("reps") ?? 5);
  const problems = (arg("sizes") ?? "256,512,1024,8x256").split(",").map(parseProblem);
  const trans = arg("trans") ?? "NN";
  const [transA, transB] = [trans[0] === "T", trans[1] === "T"];
  const custom = arg("tiling");
  const kind = arg("kind");
  let tilings: MatmulTiling[] = custom ? [JSON.parse(custom) as MatmulTiling | MatmulTiling[]].flat() : matmulTilings(dev.limits, fixedSubgroupSize(dev.gpu));
  if (kind) tilings = tilings.filter((t) => t.kind === kind);
  const vec4s = arg("vec4") === "only" ? [true] : arg("vec4") === "no" ? [false] : [false, true];
  const variants = tilings.flatMap((tiling) => vec4s.map((vec4) => ({ tiling, vec4 })));

  const results: number[][][] = [];
  for (const p of problems) results.push(await timeProblem(dev, variants, transA, transB, p, reps));

  const robust = dawnToggles.length ? ", robustness off" : "";
  console.log(`# ${dev.info.driver} (${dev.info.description || dev.info.device}), ${trans}, median of ≤${reps} interleaved rounds${robust}`);
  console.log(["tiling", "vec4", ...problems.map((p) => `${p.label} ms`), ...problems.map((p) => `${p.label} GFLOP/s (best)`)].join("\t"));
  for (const [i, v] of variants.entries()) {
    const cols = problems.map((p, j) => {
      const ts = results[j]![i]!;
      if (!ts.length) return { ms: "-", rate: "-" };
      const rate = (ms: number) => ((2 * p.M * p.N * p.K * p.batch) / (ms * 1e6)).toFixed(2);
      return { ms: median(ts).toFixed(1), rate: `${rate(median(ts))} (${rate(Math.min(...ts))})` };
    });
    console.log([tilingName(v.tiling), v.vec4 ? "v4" : "-", ...cols.map((c) => c.ms), ...cols.map((c) => c.rate)].join("\t"));
  }
  dev.destroy();
}

await main();
