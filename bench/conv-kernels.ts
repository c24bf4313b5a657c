/**
 * Convolution kernel benchmark through the public engine API: forward, input gradient and weight
 * gradient of 3×3 'same' convolutions, plus a PixelCNN masked conv (mask B). Prints the median of
 * a few repetitions (min–max in parentheses) and GFLOP/s at 2·N·Cout·Ho·Wo·(Cin/groups)·kh·kw per
 * pass (the nominal count, for the masked conv too; its kept taps are 5 of 9).
 *
 *   npx tsx bench/conv-kernels.ts                               # lavapipe (default driver)
 *   LATENT_VK_ICD=swiftshader npx tsx bench/conv-kernels.ts
 *   ... --reps 7 --only weight --cases 0,2
 *   ... --tilings '[{"fwd":{"tm":8,"tn":4,"wg":64}}, {"fwd":{"tm":16,"tn":2,"wg":64}}]'   # compare tilings
 *
 * Shapes are written N×H×W×Cin→Cout. Each repetition realizes the result and then waits for the
 * queue (`onSubmittedWorkDone`), so the time covers the GPU work, not just the submission. Other
 * processes share the CPU; when numbers look odd, run again.
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
/** `--only forward|input|weight` and `--cases 0,2` narrow the run (for tiling experiments). */
const only = arg("only");
const caseFilter = arg("cases")?.split(",").map(Number);
const tilings: (Record<string, unknown> | null)[] = arg("tilings") ? (JSON.parse(arg("tilings")!) as Record<string, unknown>[]) : [null];
const shapes: Shape[] = [
  { N: 32, H: 28, W: 28, Cin: 32, Cout: 32 },
  { N: 32, H: 14, W: 14, Cin: 64, Cout: 64 },
];

const dev = await init();
const done = () => dev.gpu.queue.onSubmittedWorkDone();

/** Median and range of `reps` timed runs after two warm-ups (the first compiles the pipelines). */
async function time(make: () => Tensor): Promise<number[]> {
  const once = () =>
    scope(async () => {
      const t0 = performance.now();
      await realize(make());
      await done();
      return performance.now() - t0;
    });
  for (let i = 0; i < 2; i++) await once();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(await once());
  return ts.sort((a, b) => a - b);
}

const name = (s: Shape) => `${s.N}×${s.H}×${s.W}×${s.Cin}→${s.Cout}`;

console.log(`# ${dev.info.driver} (${dev.info.description}), 3×3 'same', median of ${reps} (min–max)`);
for (const tiling of tilings) {
  if (tiling) {
    process.env.LATENT_CONV_TILING = JSON.stringify(tiling);
    console.log(`\n## tiling ${JSON.stringify(tiling)}`);
  }
  console.log(["problem".padEnd(34), "ms".padEnd(24), "GFLOP/s"].join(""));
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
    // the masked conv's gradients as autograd builds them; seeding with dy adds no kernels, and
    // of the two gradient nodes only the one realized runs
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
      const ts = await time(make);
      const med = ts[ts.length >> 1]!;
      const range = `${med.toFixed(1)} (${ts[0]!.toFixed(1)}–${ts.at(-1)!.toFixed(1)})`;
      console.log([`${label} ${pass}`.padEnd(34), range.padEnd(24), (flops / (med * 1e6)).toFixed(2)].join(""));
    }
    for (const t of [x, w, dy]) t.dispose();
  }
}
dev.destroy();
