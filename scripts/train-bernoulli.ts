/**
 * Sanity floors on statically binarised MNIST (models/bernoulli.ts): the factorised Bernoulli in
 * closed form, then a mixture of K Bernoullis by full-data EM. Prints the exact test negative
 * log-likelihood in nats. For context, K = 500 reaches 137.64 nats on Larochelle & Murray's
 * binarisation (2011, Table 2); ours is a fixed seeded binarisation of the same images
 * (models/data/mnist.ts, 'static-binary'), so expect close but not identical numbers.
 *
 *   npx tsx scripts/train-bernoulli.ts [--flags]
 *     --k 100           mixture components (0: factorised model only)
 *     --iters 10        EM iterations over the training set
 *     --alpha 1         Beta pseudo-counts of the M-step (and Laplace smoothing of the factorised fit)
 *     --limit 50000     training examples (the 'train' split)
 *     --test-limit 10000
 *     --chunk 5000      examples per E-step dispatch
 *     --seed 0          initial component means
 *
 * Defaults take about two minutes on lavapipe; one EM iteration costs ~4·N·D·K flops
 * (K = 500: about five times the default's time per iteration).
 */
import { arange, init, scope, type Tensor } from "../engine/index.js";
import { GpuDataset, loadMnist } from "../models/data/index.js";
import { BernoulliMixture, FactorisedBernoulli } from "../models/bernoulli.js";

const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a.startsWith("--")) flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string): string => flags.get(name) ?? dflt;
const K = parseInt(flag("k", "100"));
const iters = parseInt(flag("iters", "10"));
const alpha = parseFloat(flag("alpha", "1"));
const limit = parseInt(flag("limit", "50000"));
const testLimit = parseInt(flag("test-limit", "10000"));
const chunk = parseInt(flag("chunk", "5000"));
const seed = parseInt(flag("seed", "0"));
const D = 784;

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
const [train, test] = await Promise.all([loadMnist({ split: "train", limit }), loadMnist({ split: "test", limit: testLimit })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);

/** Consecutive statically binarised chunks [≤ chunk, 784] (lazy: gathered when used). */
function* chunks(ds: GpuDataset): Generator<Tensor> {
  for (let s = 0; s < ds.n; s += chunk) {
    const idx = arange(s, Math.min(s + chunk, ds.n), 1, { dtype: "i32" });
    yield ds.batch(idx, { transform: "static-binary" }).x;
  }
}

/** Mean NLL (nats) over a dataset, one readback per chunk. */
async function nll(m: { logProb(x: Tensor): Tensor }, ds: GpuDataset): Promise<number> {
  let total = 0;
  await scope(async () => {
    for (const x of chunks(ds)) total += await scope(() => m.logProb(x).sum().item());
  });
  return -total / ds.n;
}

const t0 = performance.now();
const fac = new FactorisedBernoulli(D, { alpha });
await scope(() => fac.fit(chunks(trainDs)));
const [facTrain, facTest] = [await nll(fac, trainDs), await nll(fac, testDs)];
console.log(`factorised Bernoulli   train NLL ${facTrain.toFixed(2)}   test NLL ${facTest.toFixed(2)} nats   ${((performance.now() - t0) / 1000).toFixed(1)} s`);
fac.dispose();

if (K > 0) {
  const t1 = performance.now();
  const mix = new BernoulliMixture(D, { components: K, alpha, seed });
  for (let i = 1; i <= iters; i++) {
    const ll = await scope(() => mix.emStep(chunks(trainDs)));
    // emStep reports the likelihood under the parameters it started from
    console.log(`  EM iteration ${i}: train NLL (before the step) ${(-ll).toFixed(2)} nats   ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  const [mixTrain, mixTest] = [await nll(mix, trainDs), await nll(mix, testDs)];
  console.log(`mixture K=${K}         train NLL ${mixTrain.toFixed(2)}   test NLL ${mixTest.toFixed(2)} nats   ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  mix.dispose();
}

console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
trainDs.dispose();
testDs.dispose();
