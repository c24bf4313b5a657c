/**
 * Measures Dawn's busy-poll in Node: the same GPU loop with Dawn's native setImmediate spin and
 * with latent's back-off (engine/poll.ts). Prints wall time and main-thread CPU time per step.
 *   npx tsx bench/poll.ts            (LATENT_VK_ICD=swiftshader for the other driver)
 */
import { init, randn, scope, realize } from "../engine/index.js";
import { installPollBackoff, uninstallPollBackoff } from "../engine/poll.js";

const dev = await init({ pollBackoff: false });
console.log(`driver: ${dev.info.driver} (${dev.info.description})`);

async function run(label: string, steps: number) {
  const x = randn([512, 512], { seed: 1 });
  await realize(x);
  const step = async () =>
    scope(async () => {
      // a matmul plus a fused epilogue: long enough that the wait dominates
      const y = x.matmul(x).tanh().mul(0.5).add(x);
      await y.sum().item();
    });
  for (let i = 0; i < 3; i++) await step();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const wall = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(c0);
  x.dispose();
  return { label, wall, cpu: (cpu.user + cpu.system) / 1000 / steps };
}

const steps = Number(process.argv[2] ?? 20);
const rows = [];
uninstallPollBackoff();
rows.push(await run("Dawn default (setImmediate spin)", steps));
installPollBackoff();
rows.push(await run("latent back-off", steps));
uninstallPollBackoff();
rows.push(await run("Dawn default again", steps));
for (const r of rows) console.log(`${r.label.padEnd(34)} ${r.wall.toFixed(2).padStart(8)} ms/step wall   ${r.cpu.toFixed(2).padStart(8)} ms/step process CPU`);
console.log(`speed-up from back-off: ${(((rows[0]!.wall + rows[2]!.wall) / 2) / rows[1]!.wall).toFixed(2)}×`);
dev.destroy();
