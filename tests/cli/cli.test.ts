/**
 * The `latent` CLI, in-process through `main(argv)` on the shared test device, and once as a real
 * process through bin/latent.mjs. A factorised Bernoulli on 256 MNIST images and PPCA on
 * 8gaussians keep every run to a few small kernels: training writes config, checkpoint, metrics
 * and a decodable PNG of the right size; a second invocation resumes (the step counter continues
 * and the loss carries on from where it was); a corrupt checkpoint, an unknown model or dataset,
 * missing arguments and a run directory of another configuration all end in a one-line named
 * error with exit code 1, and leave the user's files byte for byte as they were.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { decodeSafetensors } from "../../engine/safetensors.js";
import { main } from "../../cli/main.js";
import { PNG_SIGNATURE, decodePng } from "../../cli/png.js";
import { Progress, formatDuration } from "../../cli/progress.js";
import type { Metrics } from "../../cli/run-dir.js";
import { testDevice, withDevice } from "../helpers/gpu.js";

const dev = await testDevice();
const root = await mkdtemp(join(tmpdir(), "latent-cli-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Runs the CLI in-process, capturing stdout and stderr (neither is a terminal). */
async function latent(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    device: dev,
  });
  return { code, stdout, stderr };
}

const readJson = async <T>(p: string) => JSON.parse(await readFile(p, "utf8")) as T;
const ckptMeta = async (dir: string) => decodeSafetensors(await readFile(join(dir, "checkpoint.safetensors"))).metadata;

/** A clean failure: exit 1, one line `latent: <name>: …`, no stack trace. */
function expectCleanError(r: { code: number; stderr: string }, name: string): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^latent: ${name}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const MNIST_RUN = join(root, "bernoulli");
const bernoulliArgs = (steps: number, out = MNIST_RUN) =>
  ["train", "bernoulli", "--data", "mnist", "--limit", "256", "--batch", "32", "--steps", String(steps), "--log-every", "2", "--ckpt-every", "3", "--sample-every", "0", "--out", out];

describe("latent train", () => {
  test("writes config, checkpoint, metrics and an 8×8 digit grid; a second call resumes", async () => {
    await withDevice(async () => {
      const first = await latent(...bernoulliArgs(6));
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout.trim()).toBe(MNIST_RUN);
      expect(first.stderr).toMatch(/new run .*bernoulli on mnist \(static-binary\), 256 examples, batch 32/);
      expect(first.stderr).toMatch(/step 6\/6 .*loss \d/); // plain lines: stderr is not a terminal

      const config = await readJson<Record<string, unknown>>(join(MNIST_RUN, "config.json"));
      expect(config).toMatchObject({ model: "bernoulli", hyper: { lr: 0.05 }, data: { name: "mnist", transform: "static-binary", limit: 256 }, batch: 32, seed: 0 });
      expect(config.latent).toMatch(/^\d+\.\d+\.\d+/);
      expect(await ckptMeta(MNIST_RUN)).toMatchObject({ step: "6", epoch: "0", batch: "6", model: "bernoulli" });

      const png = await readFile(join(MNIST_RUN, "samples-6.png"));
      expect([...png.subarray(0, 8)]).toEqual([...PNG_SIGNATURE]);
      const img = decodePng(png);
      expect([img.width, img.height]).toEqual([8 * 30 + 2, 8 * 30 + 2]); // 8 × 8 digits of 28 px, 2-px borders

      const before = await readJson<Metrics>(join(MNIST_RUN, "metrics.json"));
      expect(before.history.map((h) => h.step)).toEqual([2, 4, 6]);

      const second = await latent(...bernoulliArgs(10));
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/resuming .* at step 6/);
      expect(await ckptMeta(MNIST_RUN)).toMatchObject({ step: "10", epoch: "1", batch: "2" });
      const after = await readJson<Metrics>(join(MNIST_RUN, "metrics.json"));
      expect(after.history.map((h) => h.step)).toEqual([2, 4, 6, 8, 10]);
      expect(after.sessions.map((s) => [s.fromStep, s.toStep])).toEqual([[0, 6], [6, 10]]);
      // continuity: the restored weights keep the loss going down from where it was; restarting
      // from scratch would put it back near the first window's value
      const loss = (step: number) => after.history.find((h) => h.step === step)!.loss;
      expect(loss(6)).toBeLessThan(loss(2));
      expect(loss(8)).toBeLessThan(loss(6) + 1);
      expect(loss(10)).toBeLessThan(loss(6));
      expect((await readdir(MNIST_RUN)).filter((f) => f.endsWith(".png")).sort()).toEqual(["samples-10.png", "samples-6.png"]);
    });
  });

  test("eval scores the checkpoint on the test set and records it", async () => {
    await withDevice(async () => {
      const r = await latent("eval", MNIST_RUN, "--limit", "64", "--batch", "32");
      expect(r.code, r.stderr).toBe(0);
      const m = /exact log-likelihood: NLL = ([\d.]+) ± [\d.]+ nats/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      const nll = Number(m![1]);
      // 784 pixels, each at most log 2 nats for a model barely past p = ½
      expect(nll).toBeGreaterThan(100);
      expect(nll).toBeLessThan(784 * Math.LN2);
      expect(r.stdout).toMatch(/64 MNIST test images, static binarisation/);
      const metrics = await readJson<Metrics>(join(MNIST_RUN, "metrics.json"));
      expect(metrics.evals.at(-1)).toMatchObject({ n: 64, step: 10, what: "exact log-likelihood" });
    });
  });

  test("PPCA on 8gaussians: the data's density next to the model's", async () => {
    await withDevice(async () => {
      const out = join(root, "ppca-toy");
      const r = await latent("train", "ppca", "--data", "8gaussians", "--limit", "2000", "--steps", "4", "--log-every", "2", "--out", out);
      expect(r.code, r.stderr).toBe(0);
      const img = decodePng(await readFile(join(out, "samples-4.png")));
      expect([img.width, img.height]).toEqual([256 + 4 + 256, 256]);
      expect((await readJson<Record<string, unknown>>(join(out, "config.json"))).hyper).toEqual({ latentDim: 1, minVariance: 1e-9 });
    });
  });
});

describe("refusals leave the user's files alone", () => {
  test("a different configuration in an existing run directory is refused; --force moves the old run aside", async () => {
    const files = ["config.json", "checkpoint.safetensors", "metrics.json"];
    const snapshot = await Promise.all(files.map((f) => readFile(join(MNIST_RUN, f))));
    const r = await latent(...bernoulliArgs(10), "--seed", "5");
    expectCleanError(r, "RunDirError");
    expect(r.stderr).toMatch(/different configuration \(seed: 0 → 5\)/);
    const lr = await latent(...bernoulliArgs(10), "--lr", "0.01");
    expectCleanError(lr, "RunDirError");
    expect(lr.stderr).toMatch(/hyper\.lr: 0\.05 → 0\.01/);
    for (const [i, f] of files.entries()) expect(Buffer.compare(await readFile(join(MNIST_RUN, f)), snapshot[i]!), f).toBe(0);

    // an explicit --force starts over, keeping the old run in replaced-<time>/
    const copy = join(root, "forced");
    await cp(MNIST_RUN, copy, { recursive: true });
    const forced = await latent(...bernoulliArgs(2, copy), "--seed", "5", "--force");
    expect(forced.code, forced.stderr).toBe(0);
    const replaced = (await readdir(copy)).filter((f) => f.startsWith("replaced-"));
    expect(replaced).toHaveLength(1);
    expect(Buffer.compare(await readFile(join(copy, replaced[0]!, "checkpoint.safetensors")), snapshot[1]!)).toBe(0);
    expect(await ckptMeta(copy)).toMatchObject({ step: "2" });
  });

  test("a corrupt checkpoint is a CheckpointError, and the file is not overwritten", () =>
    withDevice(async () => {
      const bad = join(root, "corrupt");
      await cp(MNIST_RUN, bad, { recursive: true });
      const garbage = new Uint8Array(64).fill(0x5a);
      await writeFile(join(bad, "checkpoint.safetensors"), garbage);
      const r = await latent(...bernoulliArgs(12, bad));
      expectCleanError(r, "CheckpointError");
      expect(Buffer.compare(await readFile(join(bad, "checkpoint.safetensors")), garbage)).toBe(0);
      expectCleanError(await latent("eval", bad), "CheckpointError");
      expectCleanError(await latent("sample", bad), "CheckpointError");
    }));

  test("unknown model or dataset, missing arguments, bad paths, typos", async () => {
    const unknown = await latent("train", "gpt", "--data", "mnist", "--out", join(root, "x"));
    expectCleanError(unknown, "UnknownModelError");
    for (const name of ["ppca", "vae", "nade", "made", "bernoulli"]) expect(unknown.stderr).toContain(name);
    const data = await latent("train", "bernoulli", "--data", "cifar", "--out", join(root, "x"));
    expectCleanError(data, "DataError");
    expect(data.stderr).toContain("8gaussians");
    expectCleanError(await latent("train", "bernoulli", "--data", "mnist"), "UsageError"); // no --out
    expectCleanError(await latent("train", "bernoulli", "--out", join(root, "x")), "UsageError"); // no --data
    expectCleanError(await latent("train", "vae", "--data", "moons", "--out", join(root, "x")), "UsageError"); // binary model, continuous data
    expectCleanError(await latent("train", "bernoulli", "--data", "mnist", "--epoch", "2", "--out", join(root, "x")), "UsageError"); // typo
    expectCleanError(await latent("train", "ppca", "--data", "mnist", "--lr", "0.1", "--out", join(root, "x")), "UsageError");
    expectCleanError(await latent("train", "made", "--data", "mnist", "--hidden", "abc", "--out", join(root, "x")), "ModelConfigError");
    const tooBig = join(root, "too-big");
    expectCleanError(await latent("train", "bernoulli", "--data", "mnist", "--limit", "16", "--batch", "32", "--out", tooBig), "UsageError");
    await expect(readdir(tooBig)).rejects.toThrow(); // failed before creating the run directory
    expectCleanError(await latent("eval", join(root, "no-such-run")), "RunDirError");
    expectCleanError(await latent("sample", join(MNIST_RUN, "config.json")), "RunDirError");
    expectCleanError(await latent("frobnicate"), "UsageError");
    const notRun = join(root, "not-a-run");
    await mkdir(notRun);
    await cp(join(MNIST_RUN, "samples-6.png"), join(notRun, "holiday.png"));
    expectCleanError(await latent(...bernoulliArgs(2, notRun)), "RunDirError");
    expect(await readdir(notRun)).toEqual(["holiday.png"]);
    // the stack only with --debug
    const debug = await latent("train", "gpt", "--data", "mnist", "--out", join(root, "x"), "--debug");
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  test("--help for each command", async () => {
    for (const argv of [["--help"], ["train", "--help"], ["train", "vae", "--help"], ["sample", "--help"], ["eval", "--help"], ["models"]]) {
      const r = await latent(...argv);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(100);
    }
    expect((await latent("train", "vae", "--help")).stdout).toContain("--z-dim <int>");
  });
});

describe("progress", () => {
  const state = { step: 120, totalSteps: 500, epoch: 0.24, loss: 97.31, samplesPerSec: 1520, etaSec: 252, fraction: 0.24 };
  test("a terminal gets one line redrawn in place; a pipe gets a plain line per report", () => {
    let tty = "";
    const p = new Progress({ write: (s: string) => (tty += s), isTTY: true, columns: 200 }, { minIntervalMs: 0 });
    p.update(state);
    p.update({ ...state, step: 121 });
    expect(tty).not.toContain("\n");
    expect(tty.split("\r\x1b[2K")).toHaveLength(3);
    expect(tty).toContain("step 121/500 [#####---------------] 24% | epoch 0.24 | loss 97.31 | 1520 samples/s | ETA 4m12s");
    p.done();
    expect(tty.endsWith("\n")).toBe(true);

    let pipe = "";
    const q = new Progress({ write: (s: string) => (pipe += s) });
    q.update(state);
    expect(pipe).toBe(""); // no readback, no line
    q.update(state, { report: true });
    expect(pipe).toBe("step 120/500 | epoch 0.24 | loss 97.31 | 1520 samples/s | ETA 4m12s\n");
    expect([formatDuration(37), formatDuration(3725)]).toEqual(["37s", "1h02m"]);
  });
});

describe("bin/latent.mjs", () => {
  test("runs as a real process: sample from a run, and a clean error with exit code 1", { timeout: 180_000 }, async () => {
    const run = promisify(execFile);
    const bin = join(import.meta.dirname, "../../bin/latent.mjs");
    const out = join(root, "from-bin.png");
    const ok = await run(process.execPath, [bin, "sample", join(root, "ppca-toy"), "-n", "500", "--out", out]);
    expect(ok.stdout.trim()).toBe(out);
    expect(decodePng(await readFile(out)).width).toBe(516);
    // an existing file is not overwritten
    const again = await run(process.execPath, [bin, "sample", join(root, "ppca-toy"), "--out", out]).catch((e: { code: number; stderr: string }) => e);
    expect("code" in again && again.code).toBe(1);
    expect((again as { stderr: string }).stderr).toMatch(/^latent: UsageError: .*already exists/m);
    const bad = await run(process.execPath, [bin, "train", "gpt", "--data", "mnist", "--out", join(root, "y")]).catch((e: { code: number; stderr: string }) => e);
    expect("code" in bad && bad.code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/^latent: UnknownModelError: unknown model 'gpt' \(valid models: .*vae/m);
  });
});
