/**
 * Matmul kernel micro-benchmark: every candidate tiling, with and without vec4 loads, on square
 * problems and one batched problem. Prints the median of a few timed repetitions and GFLOP/s
 * (2·M·N·K·batch / t).
 *
 *   npx tsx bench/matmul-kernels.ts                          # lavapipe
 *   LATENT_VK_ICD=swiftshader npx tsx bench/matmul-kernels.ts
 *   ... --sizes 512,8x256 --kind tiled --reps 5 --trans NT
 *   ... --tiling '{"kind":"regblock","wgX":8,"wgY":8,"tm":4,"tn":4}'   # try tilings (object or array)
 *
 * Timing is wall-clock from submit to onSubmittedWorkDone, which includes the submit overhead;
 * at these sizes (≥ 30 MFLOP on a CPU driver) that overhead is far below 1%.
 */
import { init, type Device } from "../engine/device.js";
import { CommandBatch, upload } from "../engine/dispatch.js";
import { matmulKernel, matmulTilings, matmulWorkgroups, vec4Eligible, type MatmulTiling } from "../shaders/matmul.js";

interface Problem {
  label: string;
  M: number;
  N: number;
  K: number;
  batch: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseProblem(s: string): Problem {
  const [b, n] = s.includes("x") ? s.split("x").map(Number) : [1, Number(s)];
  return { label: b! > 1 ? `${b}×${n}³` : `${n}³`, M: n!, N: n!, K: n!, batch: b! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(dev: Device, tiling: MatmulTiling, vec4: boolean, transA: boolean, transB: boolean, p: Problem, reps: number): Promise<number> {
  const kernel = matmulKernel({ transA, transB, tiling, vec4 });
  const compiled = await dev.pipelines.get(kernel.name, kernel.source, kernel.inputs.length, kernel.outputs.length);
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = upload(dev, fill(p.batch * p.M * p.K), "bench.a");
  const b = upload(dev, fill(p.batch * p.K * p.N), "bench.b");
  const c = dev.pool.acquire(p.batch * p.M * p.N * 4, "bench.c");
  const params = kernel.pack({
    M: p.M,
    N: p.N,
    K: p.K,
    batch: p.batch,
    aOffset: 0,
    bOffset: 0,
    aBatchStride: p.M * p.K,
    bBatchStride: p.K * p.N,
  });
  const grid = matmulWorkgroups({ tiling }, p.M, p.N, p.batch);
  const run = async () => {
    const batch = new CommandBatch(dev, kernel.name);
    batch.dispatch(compiled, params, [a, b, c], grid);
    const t0 = performance.now();
    batch.submit();
    await dev.gpu.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  try {
    const warm = await run();
    // Keep each variant to a few seconds: big problems on slow drivers get fewer repetitions.
    const n = warm > 1500 ? Math.min(reps, 3) : reps;
    const ts: number[] = [];
    for (let i = 0; i < n; i++) ts.push(await run());
    return median(ts);
  } finally {
    for (const buf of [a, b, c]) dev.pool.release(buf);
  }
}

async function main() {
  // --no-robust: measure without Dawn's bounds-clamping of every storage access.
  const dawnToggles = process.argv.includes("--no-robust") ? ["disable_robustness"] : [];
  const dev = await init({ label: "matmul bench", dawnToggles });
  const reps = Number(arg("reps") ?? 5);
  const problems = (arg("sizes") ?? "256,512,1024,8x256").split(",").map(parseProblem);
  const trans = arg("trans") ?? "NN";
  const [transA, transB] = [trans[0] === "T", trans[1] === "T"];
  const one = arg("tiling");
  const kind = arg("kind");
  let tilings: MatmulTiling[] = one ? [JSON.parse(one) as MatmulTiling | MatmulTiling[]].flat() : matmulTilings(dev.limits);
  if (kind) tilings = tilings.filter((t) => t.kind === kind);
  const vec4s = arg("vec4") === "only" ? [true] : arg("vec4") === "no" ? [false] : [false, true];
  const robust = dawnToggles.length ? ", robustness off" : "";
  console.log(`# ${dev.info.driver} (${dev.info.description || dev.info.device}), ${trans}, median of ${reps}${robust}`);
  console.log(["tiling", "vec4", ...problems.map((p) => `${p.label} ms`), ...problems.map((p) => `${p.label} GFLOP/s`)].join("\t"));
  for (const tiling of tilings) {
    for (const vec4 of vec4s) {
      const ms: number[] = [];
      for (const p of problems) {
        const shape = { ...p, aOffset: 0, bOffset: 0, aBatchStride: p.M * p.K, bBatchStride: p.K * p.N };
        ms.push(vec4 && !vec4Eligible({ transA, transB }, shape) ? NaN : await time(dev, tiling, vec4, transA, transB, p, reps));
      }
      const gflops = ms.map((t, i) => (2 * problems[i]!.M * problems[i]!.N * problems[i]!.K * problems[i]!.batch) / (t * 1e6));
      const name = tiling.kind === "regblock" ? `regblock ${tiling.wgX}x${tiling.wgY} ${tiling.tm}x${tiling.tn}` : `tiled ${tiling.wgX}x${tiling.wgY} ${tiling.tm}x${tiling.tn} bk${tiling.bk}`;
      console.log([name, vec4 ? "v4" : "-", ...ms.map((t) => t.toFixed(1)), ...gflops.map((g) => g.toFixed(2))].join("\t"));
    }
  }
  dev.destroy();
}

await main();
