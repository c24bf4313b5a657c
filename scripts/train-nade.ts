/**
 * Trains NADE (models/nade.ts) on statically binarised MNIST for a wall-clock budget, then prints
 * the exact test negative log-likelihood in nats. For context, Larochelle & Murray (2011, Table 2)
 * report 88.33 nats with H = 500 after long training on their binarisation; ours is a fixed
 * seeded binarisation of the same images (models/data 'static-binary'), and a few minutes on a
 * software Vulkan driver get nowhere near convergence.
 *
 *   npx tsx scripts/train-nade.ts [budget] [--flags]
 *     budget            training time: "120" (seconds), "90s", "2m" (default 2m)
 *     --hidden 500      hidden units H
 *     --lr 1e-3 --batch 100 --seed 0
 *     --eager           run the train step eagerly (default: compile() it and replay)
 *     --log-every 50    read the mean training loss back every N steps
 *     --eval-n 10000    test images scored (exact log-likelihood)   --eval-batch 100
 *     --samples 16      time sampleCompiled for this many samples (0: skip)
 */
import { GpuAccumulator, arange, init, realize, scope, type Tensor } from "../engine/index.js";
import { BatchSampler, GpuDataset, loadMnist } from "../models/data/index.js";
import { NADE } from "../models/nade.js";

const flags = new Map<string, string>(), positional: string[] = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (!a.startsWith("--")) positional.push(a);
  else if (a === "--eager") flags.set("eager", "1");
  else flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string) => flags.get(name) ?? dflt;
const budgetArg = positional[0] ?? "2m";
const budgetMs = (budgetArg.endsWith("m") ? parseFloat(budgetArg) * 60 : parseFloat(budgetArg)) * 1000;
const B = parseInt(flag("batch", "100")), logEvery = parseInt(flag("log-every", "50"));
const evalN = parseInt(flag("eval-n", "10000")), evalB = parseInt(flag("eval-batch", "100")), nSamples = parseInt(flag("samples", "16"));

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
const [train, test] = await Promise.all([loadMnist({ split: "train" }), loadMnist({ split: "test", limit: evalN })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);
const nade = new NADE({ dim: 784, hidden: parseInt(flag("hidden", "500")), lr: parseFloat(flag("lr", "1e-3")), seed: parseInt(flag("seed", "0")), compile: !flags.has("eager") });
console.log(`NADE ${JSON.stringify(nade.config())}`);
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
      await acc.add((await nade.trainStep(x)).loss);
    });
    step++;
    // compiled replays only enqueue work: wait for the GPU now and then to keep the budget honest
    if (step % 5 === 0) await dev.gpu.queue.onSubmittedWorkDone();
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

// ── exact test NLL ───────────────────────────────────────────────────────────────────────────────
const tEval = performance.now();
let total = 0;
for (let start = 0; start < testDs.n; start += evalB) {
  const end = Math.min(start + evalB, testDs.n);
  total -= await scope(() => nade.logProb(binary(testDs, arange(start, end, 1, { dtype: "i32" }))).sum().item());
}
console.log(`test NLL: ${(total / testDs.n).toFixed(2)} nats over ${testDs.n} images (exact; ${((performance.now() - tEval) / 1000).toFixed(0)} s)`);
testDs.dispose();

// ── sampling: D = 784 replays of one compiled step ───────────────────────────────────────────────
if (nSamples > 0) {
  const tS = performance.now();
  const xs = await nade.sampleCompiled(nSamples, { seed: 1 });
  const mean = await scope(() => xs.mean().item());
  const ms = performance.now() - tS;
  console.log(`sampled ${nSamples} images in ${(ms / 1000).toFixed(1)} s (${(ms / 784).toFixed(1)} ms per dimension step), mean pixel ${mean.toFixed(3)}`);
  xs.dispose();
}
nade.dispose();
dev.destroy();
