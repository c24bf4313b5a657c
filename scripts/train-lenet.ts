/**
 * Trains the LeNet-5 behind the Fréchet LeNet Distance (models/metrics/lenet.ts) on the 60 000
 * MNIST training images (pixels p/255, no augmentation), reports test accuracy after every
 * epoch, and writes models/weights/lenet5.safetensors (the file `loadLenet()` reads), with
 * metadata: accuracy, epochs, date, driver. Rerun it to regenerate the committed weights.
 *
 *   npx tsx scripts/train-lenet.ts [--flags]
 *     --epochs 8  --batch 64  --lr 2e-3 (Adam, cosine-annealed to 0 over the run)  --seed 0
 *     --out models/weights/lenet5.safetensors   --log-every 200 (steps between loss readbacks)
 *     --compile       replay a compiled train step
 *     --bench 20      only time N train steps, then exit
 *
 *   npx tsx scripts/train-lenet.ts --calibrate [--n 10000] [--mixture 100 --mixture-iters 10]
 *     Loads the committed weights instead of training and prints their test accuracy, the FLD
 *     calibration figures (models/metrics/fld.ts) and class histograms; with --mixture, first
 *     fits a K-component mixture of Bernoullis by EM on statically binarised 'train' and
 *     includes FLD of its samples.
 */
import { Adam, GpuAccumulator, LRScheduler, arange, compile, cosineSchedule, init, realize, scope, type Tensor } from "../engine/index.js";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { saveCheckpointFile } from "../engine/node-checkpoint.js";
import { BernoulliMixture } from "../models/bernoulli.js";
import { BatchSampler, GpuDataset, loadMnist } from "../models/data/index.js";
import { classHistogram, datasetImages, describeCalibration, fldCalibration, modelImages, type ClassHistogram } from "../models/metrics/fld.js";
import { LENET_WEIGHTS, LeNet5, loadLenet } from "../models/metrics/lenet.js";

const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === "--compile" || a === "--calibrate") flags.set(a.slice(2), "1"); // the two boolean flags
  else if (a.startsWith("--")) flags.set(a.slice(2), process.argv[++i] ?? "");
}
const flag = (name: string, dflt: string): string => flags.get(name) ?? dflt;
const epochs = parseInt(flag("epochs", "8")), B = parseInt(flag("batch", "64")), lr = parseFloat(flag("lr", "2e-3"));
const seed = parseInt(flag("seed", "0")), logEvery = parseInt(flag("log-every", "200"));
const out = flag("out", LENET_WEIGHTS);

const dev = await init();
console.log(`device: ${dev.info.driver} (${dev.info.description})`);
if (flags.has("calibrate")) {
  await calibrate();
  process.exit(0);
}
const [train, test] = await Promise.all([loadMnist({ split: "train-full" }), loadMnist({ split: "test" })]);
const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);
const sampler = new BatchSampler(trainDs.n, B, { seed });
const net = new LeNet5({ seed, device: dev });
const opt = new Adam(net.parameters(), { lr });
const totalSteps = epochs * sampler.batchesPerEpoch;
const sched = new LRScheduler(opt, cosineSchedule({ base: lr, total: totalSteps }));

const step = async (x: Tensor, y: Tensor) => {
  const loss = net.loss(x, y);
  loss.backward();
  await opt.step({ realize: [loss] });
  opt.zeroGrad();
  return loss;
};
const compiled = flags.has("compile") ? compile(step, { label: "lenet.step" }) : null;
const losses = new GpuAccumulator(dev);
/** Step on batch i of the sampler's current epoch (the index view is made inside the scope too). */
const trainStep = (i: number) =>
  scope(async () => {
    const { x, y } = trainDs.batch(sampler.batch(i));
    await realize(x, y);
    await losses.add(compiled ? await compiled(x, y) : await step(x, y));
    sched.step();
  });

/** Test accuracy: correct predictions are summed on the GPU, read back once. */
async function testAccuracy(): Promise<number> {
  net.eval();
  const correct = new GpuAccumulator(dev);
  const chunk = 1000;
  for (let s = 0; s < testDs.n; s += chunk) {
    await scope(async () => {
      const { x, y } = testDs.batch(arange(s, Math.min(s + chunk, testDs.n), 1, { dtype: "i32" }));
      await correct.add(net.predict(x).eq(y).float().sum());
    });
  }
  const { sum } = await correct.read();
  correct.dispose();
  net.train();
  return sum / testDs.n;
}

if (flags.has("bench")) {
  const n = parseInt(flag("bench", "20"));
  sampler.setEpoch(0);
  for (let i = 0; i < 3; i++) await trainStep(i);
  await dev.gpu.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await trainStep(3 + i);
  await dev.gpu.queue.onSubmittedWorkDone();
  console.log(`${((performance.now() - t0) / n).toFixed(1)} ms/step (batch ${B}${compiled ? ", compiled" : ""})`);
  const t1 = performance.now();
  console.log(`test accuracy after ${n + 3} steps: ${(100 * (await testAccuracy())).toFixed(2)} % (${((performance.now() - t1) / 1000).toFixed(1)} s to evaluate)`);
  process.exit(0);
}

console.log(`LeNet-5: ${net.parameters().reduce((a, p) => a + p.size, 0)} parameters; ${epochs} epochs × ${sampler.batchesPerEpoch} steps, batch ${B}, Adam lr ${lr} (cosine)`);
losses.reset();
const t0 = performance.now();
let steps = 0, accuracy = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  sampler.setEpoch(epoch);
  for (let i = 0; i < sampler.batchesPerEpoch; i++) {
    await trainStep(i);
    if (++steps % logEvery === 0) {
      const { mean } = await losses.read();
      console.log(`step ${steps}/${totalSteps} (epoch ${epoch})  loss ${mean.toFixed(4)}  lr ${opt.lr.toExponential(2)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  accuracy = await testAccuracy();
  console.log(`epoch ${epoch + 1}/${epochs}: test accuracy ${(100 * accuracy).toFixed(2)} %  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const seconds = (performance.now() - t0) / 1000;
await mkdir(dirname(out), { recursive: true });
await saveCheckpointFile(out, net.stateDict(), {
  model: "LeNet-5 (ReLU, max-pool; models/metrics/lenet.ts)",
  accuracy: accuracy.toFixed(4),
  epochs: String(epochs),
  date: new Date().toISOString(),
  driver: `${dev.info.driver} (${dev.info.description})`,
  train: `MNIST train-full (60000), p/255, batch ${B}, Adam lr ${lr} cosine, seed ${seed}, ${seconds.toFixed(0)} s`,
});
console.log(`test accuracy ${(100 * accuracy).toFixed(2)} % after ${epochs} epochs (${seconds.toFixed(0)} s); wrote ${out}`);
losses.dispose();
sampler.dispose();
net.dispose();
trainDs.dispose();
testDs.dispose();
dev.destroy();

/** --calibrate: accuracy, FLD calibration and histograms of the committed classifier. */
async function calibrate(): Promise<void> {
  const n = parseInt(flag("n", "10000")), K = parseInt(flag("mixture", "0")), iters = parseInt(flag("mixture-iters", "10"));
  const [train, test] = await Promise.all([loadMnist({ split: "train" }), loadMnist({ split: "test" })]);
  const trainDs = GpuDataset.fromMnist(train, dev), testDs = GpuDataset.fromMnist(test, dev);
  const lenet = await loadLenet(flags.get("out"));
  const t0 = performance.now();
  let mixture: BernoulliMixture | undefined;
  if (K > 0) {
    mixture = new BernoulliMixture(784, { components: K, seed });
    const chunk = 5000;
    for (let i = 1; i <= iters; i++) {
      const ll = await scope(() =>
        mixture!.emStep(
          (function* () {
            for (let s = 0; s < trainDs.n; s += chunk) yield trainDs.batch(arange(s, Math.min(s + chunk, trainDs.n), 1, { dtype: "i32" }), { transform: "static-binary" }).x;
          })(),
        ),
      );
      console.log(`mixture K=${K}: EM iteration ${i}, train NLL ${(-ll).toFixed(2)} nats  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  const correct = new GpuAccumulator(dev);
  for (let s = 0; s < testDs.n; s += 500) {
    await scope(async () => {
      const { x, y } = testDs.batch(arange(s, Math.min(s + 500, testDs.n), 1, { dtype: "i32" }));
      await correct.add(lenet.predict(x).eq(y).float().sum());
    });
  }
  console.log(`test accuracy ${((100 * (await correct.read()).sum) / testDs.n).toFixed(2)} %`);
  correct.dispose();
  const t1 = performance.now();
  const cal = await fldCalibration(lenet, { train: trainDs, test: testDs, n, mixture });
  console.log(describeCalibration(cal) + `\n  (${((performance.now() - t1) / 1000).toFixed(0)} s)`);
  const show = (name: string, h: ClassHistogram) => console.log(`${name.padEnd(22)} ${h.fractions.map((f) => f.toFixed(3)).join(" ")}  KL(‖uniform) ${h.klFromUniform.toFixed(4)}`);
  console.log(`class histograms       ${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => String(d).padStart(5)).join(" ")}`);
  show("test", await classHistogram(lenet, datasetImages(testDs, { limit: n })));
  if (mixture) show(`mixture K=${K} samples`, await classHistogram(lenet, modelImages(mixture, n, { seed })));
  mixture?.dispose();
  lenet.dispose();
  trainDs.dispose();
  testDs.dispose();
}
