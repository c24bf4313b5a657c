/**
 * Fits probabilistic PCA in closed form to dequantised MNIST, x = (p + u) / 256 (models/ppca.ts),
 * and prints the exact test negative log-likelihood in nats and in bits/dim on the 0…255 scale
 * (models/data: bitsPerDim adds D·ln 256 for the /256 rescaling).
 *
 *   npx tsx scripts/train-ppca.ts [--flags]
 *     --q 64            latent dimensions; a list ("16,64,200") fits each (one eigensolve each)
 *     --limit 50000     training examples (the 'train' split; 'val' is never touched)
 *     --test-limit 10000
 *     --chunk 5000      examples per GPU matmul when accumulating X^T X
 *     --em 0            also run N EM steps (Eq. 29–30) from a random start for the first q
 *     --seed 0          dequantisation noise of the training data (the test noise uses seed + 1)
 *
 * Takes about a minute on lavapipe: the moment matmuls (N·D² flops) dominate, the 784 × 784
 * eigensolve takes ~2 s per q.
 */
import { arange, init, scope, type Tensor } from "../engine/index.js";
import { GpuDataset, bitsPerDim, loadMnist } from "../models/data/index.js";
import { MomentAccumulator, PPCA } from "../models/ppca.js";

const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a.startsWith("--")) flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string): string => flags.get(name) ?? dflt;
const qs = flag("q", "64").split(",").map(Number);
const limit = parseInt(flag("limit", "50000"));
const testLimit = parseInt(flag("test-limit", "10000"));
const chunk = parseInt(flag("chunk", "5000"));
const emSteps = parseInt(flag("em", "0"));
const seed = parseInt(flag("seed", "0"));
const D = 784;

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
const [train, test] = await Promise.all([loadMnist({ split: "train", limit }), loadMnist({ split: "test", limit: testLimit })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);

/** Consecutive dequantised chunks [≤ chunk, 784] of a dataset (lazy: each is gathered when used). */
function* chunks(ds: GpuDataset, noiseSeed: number): Generator<Tensor> {
  for (let s = 0; s < ds.n; s += chunk) {
    const idx = arange(s, Math.min(s + chunk, ds.n), 1, { dtype: "i32" });
    yield ds.batch(idx, { transform: "dequantise", seed: noiseSeed }).x;
  }
}

const t0 = performance.now();
const acc = new MomentAccumulator(D);
await scope(async () => {
  for (const x of chunks(trainDs, seed)) await acc.add(x);
});
const mean = acc.mean(), cov = acc.covariance();
const tMoments = performance.now() - t0;
console.log(`moments of ${acc.count} training images: ${(tMoments / 1000).toFixed(1)} s`);

/** Mean test NLL (nats) of a model, summed over chunks on the GPU and read once per chunk. */
async function testNll(m: PPCA): Promise<number> {
  let total = 0;
  await scope(async () => {
    for (const x of chunks(testDs, seed + 1)) total += await scope(() => m.logProb(x).sum().item());
  });
  return -total / testDs.n;
}

const report = (label: string, trainLL: number, nll: number, secs: number) =>
  console.log(
    `${label.padEnd(18)} train NLL ${(-trainLL).toFixed(1).padStart(8)} nats (${bitsPerDim(-trainLL).toFixed(3)} bits/dim)   ` +
      `test NLL ${nll.toFixed(1).padStart(8)} nats (${bitsPerDim(nll).toFixed(3)} bits/dim)   ${secs.toFixed(1)} s`,
  );

for (const q of qs) {
  const t = performance.now();
  const m = PPCA.fromMoments(mean, cov, { latentDim: q });
  const trainLL = m.avgLogLikelihood(mean, cov);
  const nll = await testNll(m);
  report(`PPCA q=${q}`, trainLL, nll, (performance.now() - t) / 1000);
  console.log(`${"".padEnd(18)} σ² = ${m.params.sigma2.toExponential(3)}`);
  m.dispose();
}

if (emSteps > 0) {
  const q = qs[0]!;
  const t = performance.now();
  const m = new PPCA(D, { latentDim: q, seed });
  m.setParameters({ ...m.params, mu: mean });
  for (let i = 1; i <= emSteps; i++) {
    m.emStep(cov);
    if (i % Math.max(1, Math.floor(emSteps / 5)) === 0 || i === emSteps) console.log(`  EM step ${i}: train NLL ${(-m.avgLogLikelihood(mean, cov)).toFixed(2)} nats`);
  }
  report(`PPCA q=${q} (EM)`, m.avgLogLikelihood(mean, cov), await testNll(m), (performance.now() - t) / 1000);
  m.dispose();
}

console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
trainDs.dispose();
testDs.dispose();
