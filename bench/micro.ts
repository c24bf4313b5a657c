/**
 * Micro-benchmarks through the public engine API: matmul 256³/512³/1024³ and softmax 128×1024,
 * on every Node driver (each in its own process, since the Vulkan loader picks the driver once).
 *   npm run bench:micro            both drivers
 *   LATENT_VK_ICD=lavapipe npx tsx bench/micro.ts   one driver
 * Prints median (min–max) ms and GFLOP/s (softmax: GB/s of one read + one write).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ICD, init, randn, realize, scope, type Tensor } from "../engine/index.js";

async function time(fn: () => Promise<void>, reps: number): Promise<number[]> {
  for (let i = 0; i < 2; i++) await fn(); // warm-up: compiles pipelines
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b);
}
const fmt = (ts: number[]) => `${ts[ts.length >> 1]!.toFixed(2)} ms (${ts[0]!.toFixed(2)}–${ts.at(-1)!.toFixed(2)})`;

async function runOne(): Promise<void> {
  const dev = await init();
  console.log(`\n── ${dev.info.driver}: ${dev.info.description} ──`);
  // Forcing completion: realize then wait for the queue; a readback would add a copy per rep.
  const done = () => dev.gpu.queue.onSubmittedWorkDone();
  for (const n of [256, 512, 1024]) {
    const a = randn([n, n], { seed: 1 }), b = randn([n, n], { seed: 2 });
    await realize(a, b);
    const reps = n >= 1024 ? 3 : 7;
    const ts = await time(() => scope(async () => {
      const c: Tensor = a.matmul(b);
      await realize(c);
      await done();
    }), reps);
    console.log(`matmul ${n}³`.padEnd(22), fmt(ts).padEnd(30), `${((2 * n ** 3) / (ts[ts.length >> 1]! * 1e6)).toFixed(2)} GFLOP/s`);
    a.dispose();
    b.dispose();
  }
  {
    const x = randn([128, 1024], { seed: 3 });
    await realize(x);
    const ts = await time(() => scope(async () => {
      await realize(x.softmax(-1));
      await done();
    }), 9);
    const bytes = 2 * 128 * 1024 * 4;
    console.log("softmax 128×1024".padEnd(22), fmt(ts).padEnd(30), `${(bytes / (ts[ts.length >> 1]! * 1e6)).toFixed(2)} GB/s`);
    x.dispose();
  }
  dev.destroy();
}

if (process.env.LATENT_VK_ICD) await runOne();
else {
  for (const driver of ["lavapipe", "swiftshader"] as const) {
    if (!existsSync(ICD[driver])) {
      console.log(`\n── ${driver}: not installed ──`);
      continue;
    }
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, LATENT_VK_ICD: driver }, stdio: "inherit" });
    if (r.status !== 0) process.exitCode = 1;
  }
}
