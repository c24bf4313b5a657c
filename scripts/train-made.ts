/**
 * Trains MADE (models/made.ts) on statically binarised MNIST for a wall-clock budget, then prints
 * the exact test negative log-likelihood in nats: of the first mask set alone and, with several
 * sets, of the ensemble log (1/M) Σ_m p_m(x). For context, Germain et al. (2015) report 88.40 nats
 * with one mask and 86.41 with 32 masks on Larochelle & Murray's binarisation after long training;
 * ours is a fixed seeded binarisation of the same images (models/data 'static-binary'), and a few
 * minutes on lavapipe are far from convergence.
 *
 *   npx tsx scripts/train-made.ts [budget] [--flags]
 *     budget            training time: "120" (seconds), "90s", "2m" (default 2m)
 *     --hidden 500      hidden layer sizes, comma-separated (e.g. 500,500)
 *     --masks 1         mask sets (connectivity-agnostic training when > 1)
 *     --order-agnostic  give each mask set its own random ordering
 *     --lr 1e-3 --batch 100 --seed 0
 *     --eager           run the train step eagerly (default: compile() it; the masks are inputs)
 *     --log-every 100   read the mean training loss back every N steps
 *     --eval-n 10000    test images scored   --eval-batch 500
 *     --samples 16      time sampleCompiled for this many samples (0: skip)
 */
import { GpuAccumulator, arange, init, realize, scope, type Tensor } from "../engine/index.js";
import { BatchSampler, GpuDataset, loadMnist } from "../models/data/index.js";
import { MADE } from "../models/made.js";

const flags = new Map<string, string>(), positional: string[] = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (!a.startsWith("--")) positional.push(a);
  else if (a === "--eager" || a === "--order-agnostic") flags.set(a.slice(2), "1");
  else flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string) => flags.get(name) ?? dflt;
const budgetArg = positional[0] ?? "2m";
const budgetMs = (budgetArg.endsWith("m") ? parseFloat(budgetArg) * 60 : parseFloat(budgetArg)) * 1000;
const B = parseInt(flag("batch", "100")), logEvery = parseInt(flag("log-every", "100"));
const evalN = parseInt(flag("eval-n", "10000")), evalB = parseInt(flag("eval-batch", "500")), nSamples = parseInt(flag("samples", "16"));

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
const [train, test] = await Promise.all([loadMnist({ split: "train" }), loadMnist({ split: "test", limit: evalN })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);
const made = new MADE({
  dim: 784,
  hidden: flag("hidden", "500").split(",").map(Number),
  nMasks: parseInt(flag("masks", "1")),
  orderAgnostic: flags.has("order-agnostic"),
  lr: parseFloat(flag("lr", "1e-3")),
  seed: parseInt(flag("seed", "0")),
  compile: !flags.has("eager"),
});
console.log(`MADE ${JSON.stringify(made.config())}`);
const sampler = new BatchSampler(trainDs.n, B, { seed: parseInt(flag("seed", "0")) });
const binary = (ds: GpuDataset, idx: Tensor) => ds.batch(idx, { transform: "static-binary" }).x;

// ── training ─────────────────────────────────────────────────────────────────────────────────────
console.log(`training for ${(budgetMs / 1000).toFixed(0)} s, batch ${B}, ${sampler.batchesPerEpoch} batches/epoch`);
const acc = new GpuAccumulator(dev);
const t0 = performance.now();
let step = 0, tLog = t0;
training: for (let epoch = 0; ; epoch++) {
  sampler.setEpoch(epoch);
  for (let i = 0; i < sampler.batchesPerEpoch; i++) {
    await scope(async () => {
      const x = binary(trainDs, sampler.batch(i));
      await realize(x);
      await acc.add((await made.trainStep(x)).loss);
    });
    step++;
    // compiled replays only enqueue work: wait for the GPU now and then to keep the budget honest
    if (step % 10 === 0) await dev.gpu.queue.onSubmittedWorkDone();
    if (step % logEvery === 0) {
      const { mean } = await acc.read();
      const now = performance.now();
      console.log(`step ${step} (epoch ${epoch})  train NLL ${mean.toFixed(2)} nats  ${((now - tLog) / logEvery).toFixed(0)} ms/step  ${((now - t0) / 1000).toFixed(0)} s`);
      tLog = now;
    }
    if (performance.now() - t0 > budgetMs) break training;
  }
}
await dev.gpu.queue.onSubmittedWorkDone();
const trainMs = performance.now() - t0;
console.log(`trained ${step} steps (${(step / sampler.batchesPerEpoch).toFixed(2)} epochs) in ${(trainMs / 1000).toFixed(0)} s: ${(trainMs / step).toFixed(0)} ms/step`);
acc.dispose();
sampler.dispose();
trainDs.dispose();

// ── exact test NLL: mask set 0 alone, then the ensemble ──────────────────────────────────────────
const score = async (what: string, logp: (x: Tensor) => Tensor) => {
  const tEval = performance.now();
  let total = 0;
  for (let start = 0; start < testDs.n; start += evalB) {
    const end = Math.min(start + evalB, testDs.n);
    total -= await scope(() => logp(binary(testDs, arange(start, end, 1, { dtype: "i32" }))).sum().item());
  }
  console.log(`test NLL (${what}): ${(total / testDs.n).toFixed(2)} nats over ${testDs.n} images (exact; ${((performance.now() - tEval) / 1000).toFixed(0)} s)`);
};
await score("mask set 0", (x) => made.logProbMask(x, 0));
if (made.nMasks > 1) await score(`ensemble of ${made.nMasks} mask sets`, (x) => made.logProb(x));
testDs.dispose();

// ── sampling: D = 784 replays of one compiled step per mask set used ─────────────────────────────
if (nSamples > 0) {
  const tS = performance.now();
  const xs = await made.sampleCompiled(nSamples, { seed: 1 });
  const mean = await scope(() => xs.mean().item());
  const ms = performance.now() - tS;
  console.log(`sampled ${nSamples} images in ${(ms / 1000).toFixed(1)} s, mean pixel ${mean.toFixed(3)}`);
  xs.dispose();
}
made.dispose();
dev.destroy();
