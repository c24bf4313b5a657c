// @vitest-environment happy-dom
/**
 * The shell and its controller with a fake worker: the wiring between the views' events, the
 * TrainingController and the worker protocol. (The real worker runs in tests/demo/e2e.test.ts.)
 */
import { afterEach, expect, test } from "vitest";
import { LatentApp } from "../../demo/latent-app.js";
import { TrainingController } from "../../demo/controllers/training-controller.js";
import type { WorkerLike } from "../../demo/controllers/worker-client.js";
import type { Api, Request, Response, WorkerEvent } from "../../demo/worker/protocol.js";

const images = (n: number) => ({ n, width: 28, height: 28, pixels: new Float32Array(n * 784).fill(0.5) });

/** Answers the protocol like the real worker, from canned results; `emit` pushes events. */
class FakeWorker implements WorkerLike {
  sent: Request[] = [];
  terminated = false;
  #onMessage: ((e: MessageEvent) => void)[] = [];
  #training: ((step: number) => void) | null = null;
  postMessage(msg: unknown): void {
    const req = msg as Request;
    this.sent.push(req);
    const answer = (result: unknown) => queueMicrotask(() => this.#deliver({ type: "result", id: req.id, ok: true, result }));
    const results: { [K in keyof Api]?: () => Api[K]["result"] } = {
      init: () => ({ name: "Fake GPU", vendor: "fake", architecture: "", software: false, features: [], maxStorageBufferBindingSize: 1 << 27 }),
      configure: () => ({ params: 1234, trainExamples: 100, latentDim: 2, published: null }),
      sample: () => images(64),
      latentGrid: () => images(144),
      toyPreviews: () => ({}),
    };
    if (req.type === "train") this.#training = (step) => answer({ step });
    else if (req.type === "stop") (this.#training?.(7), (this.#training = null), answer({ step: 7 }));
    else answer(results[req.type]?.() ?? null);
  }
  addEventListener(type: string, fn: (e: never) => void): void {
    if (type === "message") this.#onMessage.push(fn as (e: MessageEvent) => void);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(event: WorkerEvent): void {
    this.#deliver({ type: "event", event });
  }
  #deliver(msg: Response): void {
    for (const fn of this.#onMessage) fn({ data: msg } as MessageEvent);
  }
  count(type: string): number {
    return this.sent.filter((r) => r.type === type).length;
  }
}

const settle = async (el?: { updateComplete: Promise<boolean> }) => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  await el?.updateComplete;
};
const withGpu = (on: boolean) => Object.defineProperty(navigator, "gpu", { value: on ? {} : undefined, configurable: true });

afterEach(() => {
  document.body.replaceChildren();
  withGpu(false);
});

test("without WebGPU the page explains how to enable it instead of breaking", async () => {
  withGpu(false);
  const el = document.createElement("latent-app");
  document.body.append(el);
  await el.updateComplete;
  expect(el.shadowRoot!.querySelector("latent-webgpu-help")).not.toBeNull();
  expect(el.shadowRoot!.querySelector("latent-device-badge")!.error).toMatch(/navigator.gpu is missing/);
});

test("the app configures the model on load, trains on train-toggle and streams progress into the chart", async () => {
  withGpu(true);
  const fake = new FakeWorker();
  LatentApp.spawnWorker = () => fake;
  const el = document.createElement("latent-app");
  document.body.append(el);
  await settle(el);
  const root = el.shadowRoot!;
  expect(root.querySelector("latent-device-badge")!.info).toEqual({ name: "Fake GPU", software: false });
  expect(fake.sent.find((r) => r.type === "configure")?.args).toMatchObject({ model: "vae-mlp", dataset: "mnist" });
  expect(root.querySelector("latent-sample-grid")!.images?.n).toBe(64); // the untrained model's samples
  root.querySelector("latent-train-controls")!.dispatchEvent(new Event("train-toggle", { bubbles: true, composed: true }));
  await settle(el);
  expect(fake.count("train")).toBe(1);
  fake.emit({ type: "progress", progress: { step: 10, epoch: 0, loss: 200, samplesPerSec: 1000, reportEvery: 10 } });
  fake.emit({ type: "progress", progress: { step: 20, epoch: 0, loss: 150, samplesPerSec: 1000, reportEvery: 10 } });
  await settle(el);
  expect(root.querySelector("latent-loss-chart")!.points.map((p) => p.loss)).toEqual([200, 150]);
  expect(root.querySelector("latent-train-controls")!.running).toBe(true);
  root.querySelector("latent-train-controls")!.dispatchEvent(new Event("train-toggle", { bubbles: true, composed: true }));
  await settle(el);
  expect(fake.count("stop")).toBe(1);
  expect(root.querySelector("latent-train-controls")!.running).toBe(false);
});

test("picking a 2-D toy switches a binary model to one that fits and records the choice in the URL", async () => {
  withGpu(true);
  const fake = new FakeWorker();
  LatentApp.spawnWorker = () => fake;
  const el = document.createElement("latent-app");
  document.body.append(el);
  await settle(el);
  el.shadowRoot!.querySelector("latent-dataset-picker")!.dispatchEvent(new CustomEvent("dataset-change", { detail: "moons", bubbles: true, composed: true }));
  await settle(el);
  expect(fake.sent.filter((r) => r.type === "configure").at(-1)?.args).toMatchObject({ model: "ppca", dataset: "moons", hp: { latentDim: 1 } });
  expect(location.search).toMatch(/model=ppca&dataset=moons/);
  expect(el.shadowRoot!.querySelector("latent-density-view")).not.toBeNull();
});

test("the controller stops the worker when its host is removed", async () => {
  withGpu(true);
  const fake = new FakeWorker();
  const host = { addController() {}, removeController() {}, requestUpdate() {}, updateComplete: Promise.resolve(true) };
  const c = new TrainingController(host, () => fake);
  c.hostConnected();
  await settle();
  expect(c.device.state).toBe("ready");
  c.hostDisconnected();
  expect(fake.terminated).toBe(true);
});
