/**
 * Kernel micro-benchmarks in the page: matmul, conv2d and softmax through the public engine API.
 * Each run is realized and then waited for with queue.onSubmittedWorkDone() (a readback would time
 * a copy too); two warm-up runs compile the pipelines, then the median of `reps` runs is reported.
 *
 * Rates: matmul m×k×n does 2mkn flops; a 3×3 conv 2·B·Cout·H·W·Cin·9; softmax is memory-bound,
 * so it is reported in GB/s of one read and one write of the tensor.
 */
import { conv2d, randn, realize, scope, type Device, type Tensor } from "../../engine/index.js";
import type { BenchResult } from "./protocol.js";

interface Case {
  name: string;
  shape: string;
  /** Flops (or bytes for softmax) of one run. */
  work: number;
  unit: BenchResult["unit"];
  inputs: () => Tensor[];
  op: (xs: Tensor[]) => Tensor;
}

function cases(quick: boolean): Case[] {
  const mm = (n: number): Case => ({
    name: "matmul",
    shape: `${n}×${n}×${n}`,
    work: 2 * n ** 3,
    unit: "GFLOP/s",
    inputs: () => [randn([n, n], { seed: 1 }), randn([n, n], { seed: 2 })],
    op: ([a, b]) => a!.matmul(b!),
  });
  const [B, C, H] = quick ? [4, 16, 28] : [16, 32, 28];
  return [
    mm(256),
    mm(512),
    ...(quick ? [] : [mm(1024)]),
    {
      name: "conv2d 3×3",
      shape: `${B}×${C}×${H}×${H} → ${C}`,
      work: 2 * B * C * H * H * C * 9,
      unit: "GFLOP/s",
      inputs: () => [randn([B, C, H, H], { seed: 3 }), randn([C, C, 3, 3], { seed: 4 })],
      op: ([x, w]) => conv2d(x!, w!, undefined, { padding: 1 }),
    },
    {
      name: "softmax",
      shape: quick ? "256×1024" : "1024×4096",
      work: quick ? 2 * 256 * 1024 * 4 : 2 * 1024 * 4096 * 4,
      unit: "GB/s",
      inputs: () => [randn(quick ? [256, 1024] : [1024, 4096], { seed: 5 })],
      op: ([x]) => x!.softmax(-1),
    },
  ];
}

/** Runs the benchmarks one by one, reporting each result as soon as it is measured. */
export async function runBenchmarks(dev: Device, quick: boolean, onResult: (r: BenchResult) => void): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const reps = quick ? 3 : 7;
  for (const c of cases(quick)) {
    const xs = c.inputs();
    try {
      await realize(...xs);
      const once = () =>
        scope(async () => {
          await realize(c.op(xs));
          await dev.gpu.queue.onSubmittedWorkDone();
        });
      for (let i = 0; i < 2; i++) await once();
      const ts: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await once();
        ts.push(performance.now() - t0);
      }
      ts.sort((a, b) => a - b);
      const ms = ts[ts.length >> 1]!;
      const r: BenchResult = { name: c.name, shape: c.shape, ms, rate: c.work / (ms * 1e6), unit: c.unit };
      out.push(r);
      onResult(r);
    } finally {
      xs.forEach((x) => x.dispose());
    }
  }
  return out;
}
