/**
 * Trains a VAE (or IWAE) on dynamically binarised MNIST for a wall-clock budget, then scores a
 * subset of the 10k test set with the IWAE bound at k = 5000 (Burda et al.'s log-likelihood
 * estimate), streamed in chunks on the GPU. Prints nats (lower NLL is better).
 *
 *   npx tsx scripts/train-vae.ts [budget] [--flags]
 *     budget              training time: "120" (seconds), "90s", "2m" (default 2m)
 *     --arch mlp|conv     (default mlp: 784-500-500-50, tanh)
 *     --objective elbo|beta-elbo|iwae   --beta 1   --k 5 (training samples for iwae)
 *     --hidden 500,500  --z 50  --activation tanh|softplus|relu  --lr 1e-3  --batch 100  --seed 0
 *     --eager             run the train step eagerly (default: compile() it and replay; ~2× faster)
 *     --log-every 100     read the mean loss back every N steps
 *     --eval-n 100 --eval-k 5000 --eval-batch 25   IWAE evaluation (test subset, samples, examples per batch)
 *     --bench 20          only time N train steps eager vs compiled (MLP, batch --batch), then exit
 */
import { GpuAccumulator, arange, init, realize, scope, type Tensor } from "../engine/index.js";
import { BatchSampler, GpuDataset, loadMnist } from "../models/data/index.js";
import { VAE, meanAndStdErr, type VaeActivation, type VaeObjective, type VaeOptions } from "../models/vae.js";

// argv: one positional budget, boolean --eager, every other --flag takes a value
const flags = new Map<string, string>(), positional: string[] = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (!a.startsWith("--")) positional.push(a);
  else if (a === "--eager") flags.set("eager", "1");
  else flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string): string => flags.get(name) ?? dflt;
const has = (name: string) => flags.has(name);
const parseBudget = (s: string) => (s.endsWith("m") ? parseFloat(s) * 60 : parseFloat(s)) * 1000;
const budgetMs = parseBudget(positional[0] ?? "2m");

const B = parseInt(flag("batch", "100"));
const opts: VaeOptions = {
  dim: 784,
  zDim: parseInt(flag("z", "50")),
  hidden: flag("hidden", "500,500").split(",").map(Number),
  activation: flag("activation", "tanh") as VaeActivation,
  arch: flag("arch", "mlp") as "mlp" | "conv",
  objective: flag("objective", "elbo") as VaeObjective,
  beta: parseFloat(flag("beta", "1")),
  k: parseInt(flag("k", "5")),
  lr: parseFloat(flag("lr", "1e-3")),
  seed: parseInt(flag("seed", "0")),
  compile: !has("eager"),
};
const logEvery = parseInt(flag("log-every", "100"));
const evalN = parseInt(flag("eval-n", "100")), evalK = parseInt(flag("eval-k", "5000")), evalB = parseInt(flag("eval-batch", "25"));

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
const [train, test] = await Promise.all([loadMnist({ split: "train" }), loadMnist({ split: "test", limit: evalN })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);
const sampler = new BatchSampler(trainDs.n, B, { seed: opts.seed ?? 0 });
/** Dynamic binarisation (x_d ~ Bernoulli(pixel/255), redrawn every epoch). */
const trainBatch = (idx: Tensor, epoch: number) => trainDs.batch(idx, { transform: "dynamic-binary", seed: 1000 + epoch }).x;

/** ms per step of `steps` train steps (after 3 warm-up steps that compile pipelines or trace). */
async function timeSteps(model: VAE, steps: number): Promise<number> {
  sampler.setEpoch(0);
  const run = async (i: number) => scope(async () => {
    const x = trainBatch(sampler.batch(i % sampler.batchesPerEpoch), 0);
    await realize(x);
    await model.trainStep(x);
  });
  for (let i = 0; i < 3; i++) await run(i);
  await dev.gpu.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await run(i);
  await dev.gpu.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / steps;
}

if (has("bench")) {
  const n = parseInt(flag("bench", "20"));
  for (const compile of [false, true]) {
    const m = new VAE({ ...opts, compile });
    console.log(`${compile ? "compiled" : "eager   "}: ${(await timeSteps(m, n)).toFixed(1)} ms/step (${opts.arch}, batch ${B}, ${opts.objective})`);
    m.dispose();
  }
  process.exit(0);
}

const vae = new VAE(opts);
console.log(`VAE ${JSON.stringify(vae.config())}`);
console.log(`training for ${(budgetMs / 1000).toFixed(0)} s, batch ${B}, ${sampler.batchesPerEpoch} batches/epoch`);
const acc = new GpuAccumulator(dev);
const t0 = performance.now();
let step = 0, epoch = 0, tLog = t0, tFirst = t0;
training: for (;; epoch++) {
  sampler.setEpoch(epoch);
  for (let i = 0; i < sampler.batchesPerEpoch; i++) {
    await scope(async () => {
      const x = trainBatch(sampler.batch(i), epoch);
      await realize(x);
      const { loss } = await vae.trainStep(x);
      await acc.add(loss);
    });
    step++;
    if (step === 1) {
      await dev.gpu.queue.onSubmittedWorkDone();
      tFirst = tLog = performance.now();
      console.log(`first step (pipeline compiles${opts.compile ? ", trace" : ""}): ${((tFirst - t0) / 1000).toFixed(1)} s`);
    }
    // replays only enqueue work: wait for the GPU now and then so the wall-clock budget is honest
    if (step % 10 === 0) await dev.gpu.queue.onSubmittedWorkDone();
    if (step % logEvery === 0) {
      const { mean } = await acc.read(); // the one readback of the window (it also waits for the GPU)
      const now = performance.now();
      const n = step === logEvery ? logEvery - 1 : logEvery; // the first window excludes step 1
      console.log(`step ${step} (epoch ${epoch})  loss ${mean.toFixed(2)} nats  ${((now - tLog) / n).toFixed(1)} ms/step  ${((now - t0) / 1000).toFixed(0)} s`);
      tLog = now;
    }
    if (performance.now() - t0 > budgetMs) break training;
  }
}
await dev.gpu.queue.onSubmittedWorkDone();
const trainMs = performance.now() - t0;
const steady = step > 1 ? ((performance.now() - tFirst) / (step - 1)).toFixed(1) : "–";
console.log(`trained ${step} steps (${(step / sampler.batchesPerEpoch).toFixed(2)} epochs) in ${(trainMs / 1000).toFixed(0)} s: ${steady} ms/step after the first`);
acc.dispose();
sampler.dispose();
trainDs.dispose();

// ── evaluation on the first evalN test images, binarised once with a fixed seed ────────────────
const rows = (start: number, end: number) => testDs.batch(arange(start, end, 1, { dtype: "i32" }), { transform: "dynamic-binary", seed: 424242 }).x;
const iwaeValues: number[] = [], elboValues: number[] = [];
const tEval = performance.now();
for (let start = 0, i = 0; start < testDs.n; start += evalB, i++) {
  await scope(async () => {
    const x = rows(start, Math.min(start + evalB, testDs.n));
    await realize(x);
    const { values } = await vae.iwaeStats(x, evalK, { seed: 7 + i });
    iwaeValues.push(...values);
    elboValues.push(...(await vae.elbo(x, { seed: 1_000_000 + i }).toArray()));
  });
  if (i % 4 === 3 || start + evalB >= testDs.n) {
    const s = meanAndStdErr(iwaeValues);
    console.log(`  eval ${iwaeValues.length}/${testDs.n}: IWAE(k=${evalK}) ${s.mean.toFixed(2)} ± ${s.stdErr.toFixed(2)}  ${((performance.now() - tEval) / 1000).toFixed(0)} s`);
  }
}
const evalMs = performance.now() - tEval;
// Burda et al.'s active units: Cov_x(E_q[z_u]) > 0.01, over the whole subset
const au = await scope(() => vae.activeUnits(rows(0, testDs.n)));
const iw = meanAndStdErr(iwaeValues), el = meanAndStdErr(elboValues);
console.log(`\ntest subset: ${iwaeValues.length} images (binarised with a fixed seed), ${(evalMs / 1000).toFixed(0)} s of evaluation`);
console.log(`  −log p(x) ≈ −IWAE(k=${evalK}) = ${(-iw.mean).toFixed(2)} ± ${iw.stdErr.toFixed(2)} nats`);
console.log(`  −ELBO (1 sample)          = ${(-el.mean).toFixed(2)} ± ${el.stdErr.toFixed(2)} nats`);
console.log(`  active units (Cov > 0.01) = ${au.count} / ${vae.zDim}`);
testDs.dispose();
vae.dispose();
dev.destroy();
