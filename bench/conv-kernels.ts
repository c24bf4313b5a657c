/**
 * Convolution kernel benchmark through the public engine API: forward, input gradient and weight
 * gradient of 3×3 'same' convolutions, plus a PixelCNN masked conv (mask B) with its gradients as
 * autograd builds them. Shapes are written N×H×W×Cin→Cout.
 *
 *   npx tsx bench/conv-kernels.ts                               # lavapipe (default driver)
 *   LATENT_VK_ICD=swiftshader npx tsx bench/conv-kernels.ts
 *   ... --reps 7 --only weight --cases 0,2
 *   ... --tilings '[{"fwd":{"tm":16,"tn":16,"wg":16}}, {"fwd":{"tm":16,"tn":8,"wg":32}}]'   # compare tilings
 *
 * Each repetition realizes the result and waits for the queue (`onSubmittedWorkDone`), so the time
 * covers the GPU work, not just the submission. Columns:
 *   ms        median wall time (min–max) after two warm-ups (the first compiles the pipelines)
 *   GFLOP/s   2·N·Cout·Ho·Wo·(Cin/groups)·kh·kw per pass over the median wall time, best
 *             repetition in parentheses (the nominal count for the masked conv too, although it
 *             skips 4 of its 9 taps)
 *   /cpu-s    the same FLOPs over the CPU time this process used (the software driver's worker
 *             threads included): throughput per busy core. Other processes on the machine slow
 *             the wall clock, much less this, so it is the column to compare variants by.
 * Variants (tilings) run interleaved, round by round, so a burst of outside load hits all alike.
 */
import { conv2d, conv2dInputGrad, conv2dWeightGrad, gradients, init, maskedConv2d, randn, realize, scope, type Tensor } from "../engine/index.js";

interface Shape {
  N: number;
  H: number;
  W: number;
  Cin: number;
  Cout: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const reps = Number(arg("reps") ?? 5);
/** `--only forward|input|weight` and `--cases 0,2` narrow the run. */
const only = arg("only");
const caseFilter = arg("cases")?.split(",").map(Number);
const tilings: (Record<string, unknown> | null)[] = arg("tilings") ? (JSON.parse(arg("tilings")!) as Record<string, unknown>[]) : [null];
const shapes: Shape[] = [
  { N: 32, H: 28, W: 28, Cin: 32, Cout: 32 },
  { N: 32, H: 14, W: 14, Cin: 64, Cout: 64 },
];

const dev = await init();

/** One timed run: [wall ms, CPU ms of this process]. */
async function once(make: () => Tensor, tiling: Record<string, unknown> | null): Promise<[number, number]> {
  if (tiling) process.env.LATENT_CONV_TILING = JSON.stringify(tiling);
  else delete process.env.LATENT_CONV_TILING;
  return scope(async () => {
    const t = make();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await realize(t);
    await dev.gpu.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    return [performance.now() - t0, (c.user + c.system) / 1000];
  });
}

const name = (s: Shape) => `${s.N}×${s.H}×${s.W}×${s.Cin}→${s.Cout}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`# ${dev.info.driver} (${dev.info.description}), 3×3 'same', ${reps} reps`);
console.log(["problem".padEnd(36), ...(tilings.length > 1 ? ["tiling".padEnd(44)] : []), "ms".padEnd(24), "GFLOP/s".padEnd(16), "/cpu-s"].join(""));
const cases: [string, Shape, boolean][] = [...shapes.map((s): [string, Shape, boolean] => [name(s), s, false]), [`${name(shapes[0]!)} masked B`, shapes[0]!, true]];
for (const [ci, [label, s, masked]] of cases.entries()) {
  if (caseFilter && !caseFilter.includes(ci)) continue;
  const x = randn([s.N, s.Cin, s.H, s.W], { seed: 1 });
  const w = randn([s.Cout, s.Cin, 3, 3], { seed: 2 });
  const dy = randn([s.N, s.Cout, s.H, s.W], { seed: 3 });
  await realize(x, w, dy);
  x.requiresGrad_(masked);
  w.requiresGrad_(masked);
  const flops = 2 * s.N * s.Cout * s.H * s.W * s.Cin * 9;
  // seeding autograd with dy adds no kernels; of the two gradient nodes only the realized one runs
  const grads = () => gradients(maskedConv2d(x, w, undefined, { mask: "B" }), dy);
  const passes: [string, () => Tensor][] = masked
    ? [
        ["forward", () => maskedConv2d(x, w, undefined, { mask: "B" })],
        ["input grad", () => grads().get(x)!],
        ["weight grad", () => grads().get(w)!],
      ]
    : [
        ["forward", () => conv2d(x, w, undefined, { padding: "same" })],
        ["input grad", () => conv2dInputGrad(dy, w, x.shape, { padding: "same" })],
        ["weight grad", () => conv2dWeightGrad(x, dy, w.shape, { padding: "same" })],
      ];
  for (const [pass, make] of passes) {
    if (only && !pass.startsWith(only)) continue;
    const runs: [number, number][][] = tilings.map(() => []);
    for (const t of tilings) for (let i = 0; i < 2; i++) await once(make, t);
    for (let r = 0; r < reps; r++) for (const [i, t] of tilings.entries()) runs[i]!.push(await once(make, t));
    for (const [i, t] of tilings.entries()) {
      const wall = runs[i]!.map((r) => r[0]).sort((a, b) => a - b);
      const cpu = median(runs[i]!.map((r) => r[1]));
      const ms = median(wall);
      console.log(
        [
          `${label} ${pass}`.padEnd(36),
          ...(tilings.length > 1 ? [JSON.stringify(t).padEnd(44)] : []),
          `${ms.toFixed(1)} (${wall[0]!.toFixed(1)}–${wall.at(-1)!.toFixed(1)})`.padEnd(24),
          `${(flops / (ms * 1e6)).toFixed(2)} (${(flops / (wall[0]! * 1e6)).toFixed(2)})`.padEnd(16),
          (flops / (cpu * 1e6)).toFixed(2),
        ].join(""),
      );
    }
  }
  for (const t of [x, w, dy]) t.dispose();
}
dev.destroy();
