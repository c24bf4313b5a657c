/**
 * `latent eval`: scores a trained run on the test set of its data.
 *
 *   exact models (PPCA, NADE, MADE)   NLL = −(1/N) Σ log p(x_n)
 *   VAE                               NLL ≈ −(1/N) Σ L_k(x_n), the IWAE bound with k samples
 *                                     (an upper bound on the NLL; Burda et al. use k = 5000)
 *
 * reported in nats per example with the standard error of the mean over the N test examples, and
 * in bits per dimension (statistics from models/metrics; the test data and the bound's sample
 * seeds are those of its scoreDataset / toyNll, so the figures agree with the metrics functions):
 *
 *   binary MNIST          NLL / (D ln 2)                       (a distribution over {0,1}^784)
 *   dequantised MNIST     (NLL + D ln 256) / (D ln 2)          (Theis et al. 2016; models/data bitsPerDim)
 *   2-D toys              NLL / (D ln 2)                       (a continuous density: may be negative)
 */
import { scope, type Device } from "../engine/index.js";
import type { ToyName } from "../models/data/index.js";
import { TOY_BEST_NLL, bitsPerDimEstimate, meanAndStdErr } from "../models/metrics/index.js";
import { loadRun } from "./checkpoint.js";
import { openTestData } from "./data.js";
import { Progress, formatDuration, type OutStream } from "./progress.js";

export interface EvalArgs {
  run: string;
  /** Only the first `limit` test examples. */
  limit?: number;
  /** Importance samples for bound-based models (default 5000). */
  k?: number;
  /** Test examples per batch (default 100). */
  batch?: number;
  /** Seed of the bound's samples. */
  seed?: number;
  /** Append the result to the run's metrics.json (default true). */
  record?: boolean;
}

export interface EvalResult {
  run: string;
  model: string;
  data: string;
  /** Training steps of the evaluated checkpoint. */
  step: number;
  /** Test examples scored. */
  n: number;
  /** What was computed ("exact log-likelihood", "IWAE bound (k = 5000)"). */
  what: string;
  /** The test set ("10000 MNIST test images, static binarisation"). */
  testSet: string;
  /** Mean negative log-likelihood (or bound), nats per example. */
  nll: number;
  /** Standard error of that mean over the examples. */
  stdErr: number;
  bitsPerDim: number;
  /** 2-D toys: the entropy of the generating distribution, the lowest NLL any model reaches (TOY_BEST_NLL). */
  bestNll?: number;
  seconds: number;
  date: string;
  driver: string;
}

export const EVAL_DEFAULTS = { k: 5000, batch: 100, seed: 0 } as const;

/** Evaluates a run (see the file comment); progress on `stderr`. */
export async function evaluate(a: EvalArgs, ctx: { dev: Device; stderr: OutStream }): Promise<EvalResult> {
  const run = await loadRun(a.run, ctx.dev);
  const { config, entry, model } = run;
  const k = a.k ?? EVAL_DEFAULTS.k, B = a.batch ?? EVAL_DEFAULTS.batch, seed = a.seed ?? EVAL_DEFAULTS.seed;
  const test = await openTestData(config.data, ctx.dev, a.limit);
  const progress = new Progress(ctx.stderr);
  const t0 = performance.now();
  const logp: number[] = [];
  // per batch: the bound's samples use seed 1 000 003·(seed + 1) + batch, as models/metrics/nll.ts
  let what = "";
  try {
    for (let start = 0, i = 0; start < test.n; start += B, i++) {
      const end = Math.min(start + B, test.n);
      // a scope per batch frees the batch, its index tensor and every intermediate
      const s = await scope(() => entry.score(model, test.rows(start, end), { k, seed: 1_000_003 * (seed + 1) + i }));
      what = s.what;
      for (const v of s.values) logp.push(v);
      const el = (performance.now() - t0) / 1000;
      const { mean } = meanAndStdErr(logp);
      progress.update({ unit: "example", step: end, totalSteps: test.n, loss: -mean, lossName: "NLL", fraction: end / test.n, etaSec: (el / end) * (test.n - end) }, { report: end === test.n || i % 10 === 9 });
    }
  } finally {
    progress.done();
    test.dispose();
    model.dispose();
  }
  const { mean, stdErr } = meanAndStdErr(logp);
  const nll = -mean, D = test.dim;
  const bpd = config.data.transform === "dequantise" ? bitsPerDimEstimate(logp, D).bitsPerDim : nll / (D * Math.LN2);
  const best = TOY_BEST_NLL[config.data.name as ToyName];
  const seconds = (performance.now() - t0) / 1000;
  const result: EvalResult = {
    run: a.run, model: config.model, data: config.data.name, step: run.position.step, n: logp.length, what, testSet: test.description,
    nll, stdErr, bitsPerDim: bpd, ...(best !== undefined ? { bestNll: best } : {}), seconds, date: new Date().toISOString(), driver: ctx.dev.info.driver,
  };
  if (a.record ?? true) {
    const m = await run.dir.readMetrics();
    m.evals.push({ ...result });
    await run.dir.writeMetrics(m);
  }
  ctx.stderr.write(`evaluated ${result.n} examples in ${formatDuration(seconds)}\n`);
  return result;
}

/** The result as the lines `latent eval` prints. */
export function formatEval(r: EvalResult): string {
  const lines = [
    `${r.model} on ${r.data}, checkpoint at step ${r.step}: ${r.testSet}`,
    `  ${r.what}: NLL = ${r.nll.toFixed(2)} ± ${r.stdErr.toPrecision(2)} nats per example${r.what.startsWith("exact") ? "" : " (an upper bound on the NLL)"}`,
    `  bits/dim = ${r.bitsPerDim.toFixed(4)}`,
  ];
  if (r.bestNll !== undefined) lines.push(`  the data's entropy (the best NLL any model can reach) is ${r.bestNll.toFixed(3)} nats: gap ${(r.nll - r.bestNll).toFixed(3)}`);
  return `${lines.join("\n")}\n`;
}
