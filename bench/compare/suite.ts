/**
 * The measuring loop, shared by the Node child process and the browser page.
 *
 * Workload-major order (every library runs workload 1, then every library runs workload 2, …) so
 * that a change in machine load (other processes share the 2 cores) smears over all libraries
 * rather than landing on one. Each case: one probe rep (untimed; compiles pipelines, reads a
 * scalar back), then untimed warm-up reps, then timed reps, each rep forced to finish on the GPU
 * before the clock stops (see each library's `run`).
 */
import { NotAvailable, type Measurement, type RunOptions, type Suite } from "./types.js";
import { selectWorkloads } from "./workloads.js";

/**
 * Timed reps: enough to fill ~budget ms, clamped to [min, max]; cases slower than `slowMs` per
 * rep (seconds-long steps on a CPU "GPU") get one warm-up and `slowMin` reps.
 */
const REPS = {
  quick: { warmup: 1, min: 3, max: 3, budgetMs: 0, slowMs: Infinity, slowMin: 3 },
  full: { warmup: 2, min: 5, max: 15, budgetMs: 4000, slowMs: 2000, slowMin: 3 },
};

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0]!.slice(0, 300);

export async function runSuites(suites: readonly Suite[], opts: RunOptions, log: (line: string) => void): Promise<Measurement[]> {
  const cfg = opts.quick ? REPS.quick : REPS.full;
  const out: Measurement[] = [];
  for (const w of selectWorkloads(opts.only, opts.quick)) {
    for (const s of suites) {
      if (opts.variants.length && !opts.variants.includes(s.variant)) continue;
      if (s.variant === "latent-compiled" && !w.train) continue;
      const base = { workload: w.id, variant: s.variant };
      let prepared: Promise<import("./types.js").Case> | undefined;
      try {
        prepared = s.prepare(w.id);
      } catch (e) {
        prepared = Promise.reject(e);
      }
      if (!prepared) continue;
      let m: Measurement;
      try {
        const c = await prepared;
        try {
          let t0 = performance.now();
          const probe = await c.run(true);
          const firstMs = performance.now() - t0;
          let last = firstMs;
          let warmup = 1; // the probe rep counts as the first
          while (warmup <= cfg.warmup && !(last > cfg.slowMs && warmup > 1)) {
            t0 = performance.now();
            await c.run();
            last = performance.now() - t0;
            warmup++;
          }
          const min = last > cfg.slowMs ? cfg.slowMin : cfg.min;
          const reps = Math.max(min, Math.min(cfg.max, Math.ceil(cfg.budgetMs / Math.max(last, 1e-3))));
          const times: number[] = [];
          for (let i = 0; i < reps; i++) {
            t0 = performance.now();
            await c.run();
            times.push(performance.now() - t0);
          }
          m = { ...base, status: "ok", times, median: median(times), min: Math.min(...times), max: Math.max(...times), warmup, firstMs, probe: typeof probe === "number" ? probe : undefined };
        } finally {
          await c.dispose();
        }
      } catch (e) {
        m = e instanceof NotAvailable ? { ...base, status: "n/a", note: e.message } : { ...base, status: "error", note: message(e) };
      }
      out.push(m);
      log(
        `  ${w.id.padEnd(18)} ${s.variant.padEnd(16)} ` +
          (m.status === "ok" ? `${m.median!.toFixed(2)} ms (${m.min!.toFixed(2)}–${m.max!.toFixed(2)}, n=${m.times!.length}, first ${m.firstMs!.toFixed(0)} ms)` : `${m.status}: ${m.note}`),
      );
    }
  }
  for (const s of suites) await s.shutdown?.().catch(() => undefined);
  return out;
}
