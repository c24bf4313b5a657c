// @vitest-environment happy-dom
/**
 * The demo's views, one behaviour each: mount, give properties, await updateComplete, check what
 * renders or which event fires. happy-dom has no 2-D canvas context, so drawing code is checked
 * through what it sets up (canvas sizes) and the e2e test looks at real pixels.
 */
import { afterEach, describe, expect, test } from "vitest";
import "../../demo/components/latent-anomaly-meter.js";
import "../../demo/components/latent-bench-panel.js";
import "../../demo/components/latent-checkpoint-panel.js";
import "../../demo/components/latent-dataset-picker.js";
import "../../demo/components/latent-density-view.js";
import "../../demo/components/latent-device-badge.js";
import "../../demo/components/latent-draw-pad.js";
import "../../demo/components/latent-explorer.js";
import "../../demo/components/latent-hyperparam-panel.js";
import "../../demo/components/latent-loss-chart.js";
import "../../demo/components/latent-model-picker.js";
import "../../demo/components/latent-notice.js";
import "../../demo/components/latent-sample-grid.js";
import "../../demo/components/latent-train-controls.js";
import "../../demo/components/latent-webgpu-help.js";
import { logTicks, niceTicks } from "../../demo/components/latent-loss-chart.js";
import { verdict } from "../../demo/components/latent-anomaly-meter.js";
import { modelInfo } from "../../demo/lib/catalog.js";
import type { ImageBatch } from "../../demo/worker/protocol.js";

/** Mounts a new element with properties set, and waits for its first render. */
async function mount<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): Promise<HTMLElementTagNameMap[K]> {
  const el = document.createElement(tag);
  Object.assign(el, props);
  document.body.append(el);
  await (el as unknown as { updateComplete: Promise<boolean> }).updateComplete;
  return el;
}
const $ = (el: Element, sel: string) => el.shadowRoot!.querySelector(sel) as HTMLElement | null;
const $$ = (el: Element, sel: string) => [...el.shadowRoot!.querySelectorAll(sel)] as HTMLElement[];
/** The next event of a type on an element, as a promise. */
const next = <T extends Event>(el: Element, type: string) => new Promise<T>((ok) => el.addEventListener(type, (e) => ok(e as T), { once: true }));
const images = (n: number, v = 0.5): ImageBatch => ({ n, width: 28, height: 28, pixels: new Float32Array(n * 784).fill(v) });

afterEach(() => document.body.replaceChildren());

describe("latent-device-badge", () => {
  test("names the adapter and flags a software fallback", async () => {
    const el = await mount("latent-device-badge", { info: { name: "google swiftshader", software: true } });
    expect($(el, ".name")!.textContent).toBe("google swiftshader");
    expect($(el, ".tag")!.textContent).toMatch(/software/);
  });
  test("says No WebGPU when given an error", async () => {
    const el = await mount("latent-device-badge", { error: "navigator.gpu is missing" });
    expect($(el, ".none")!.textContent).toMatch(/No WebGPU/);
  });
});

test("latent-webgpu-help explains how to enable WebGPU and shows the reason", async () => {
  const el = await mount("latent-webgpu-help", { reason: "requestAdapter() returned null" });
  expect(el.shadowRoot!.textContent).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/);
  expect(el.shadowRoot!.textContent).toMatch(/requestAdapter\(\) returned null/);
});

describe("latent-model-picker", () => {
  const models = [
    { id: "vae-mlp", label: "VAE", blurb: "b", cite: "c", tags: ["latent space"] },
    { id: "flow", label: "Flow", blurb: "b", cite: "c", tags: [], unavailable: "Not in this build of latent yet." },
  ];
  test("fires model-change with the picked id", async () => {
    const el = await mount("latent-model-picker", { models, selected: "flow" });
    const ev = next<CustomEvent<string>>(el, "model-change");
    ($$(el, "input")[0] as HTMLInputElement).dispatchEvent(new Event("change"));
    expect((await ev).detail).toBe("vae-mlp");
  });
  test("shows an unavailable model disabled, with its note", async () => {
    const el = await mount("latent-model-picker", { models, selected: "vae-mlp" });
    expect(($$(el, "input")[1] as HTMLInputElement).disabled).toBe(true);
    expect($(el, ".why")!.textContent).toMatch(/Not in this build/);
  });
});

test("latent-dataset-picker fires dataset-change and draws a thumbnail per toy", async () => {
  const el = await mount("latent-dataset-picker", {
    datasets: [
      { id: "mnist", label: "MNIST", kind: "images" },
      { id: "moons", label: "Moons", kind: "points", preview: new Float32Array([0, 0, 1, 1]) },
    ],
    selected: "mnist",
  });
  expect($$(el, "canvas").length).toBe(1);
  const ev = next<CustomEvent<string>>(el, "dataset-change");
  $$(el, "button")[1]!.click();
  expect((await ev).detail).toBe("moons");
});

describe("latent-hyperparam-panel", () => {
  const fields = modelInfo("vae-mlp").fields;
  test("renders one control per field with its value", async () => {
    const el = await mount("latent-hyperparam-panel", { fields, values: { zDim: 2, hidden: 256, layers: 1, objective: "elbo", lr: 0.002, batch: 64, seed: 0, compile: false } });
    expect($$(el, ".field").length).toBe(fields.length);
    expect($$(el, ".value")[0]!.textContent).toBe("2");
    expect($$(el, ".value").some((v) => v.textContent === "2.0e−3")).toBe(true);
  });
  test("reports all values when a slider is released", async () => {
    const el = await mount("latent-hyperparam-panel", { fields, values: { zDim: 2, hidden: 256, layers: 1, objective: "elbo", lr: 0.002, batch: 64, seed: 0, compile: false } });
    const slider = $(el, "#hp-zDim") as HTMLInputElement;
    slider.value = "5";
    slider.dispatchEvent(new Event("input"));
    const ev = next<CustomEvent<Record<string, unknown>>>(el, "hyperparams-change");
    slider.dispatchEvent(new Event("change"));
    expect((await ev).detail).toMatchObject({ zDim: 5, hidden: 256, objective: "elbo" });
  });
});

describe("latent-train-controls", () => {
  test("emits train-toggle on click", async () => {
    const el = await mount("latent-train-controls", {});
    const ev = next(el, "train-toggle");
    ($(el, "[data-action=toggle]") as HTMLButtonElement).click();
    await ev;
  });
  test("shows Pause while running, and the step and loss", async () => {
    const el = await mount("latent-train-controls", { running: true, stats: { step: 1200, epoch: 3, loss: 104.256, samplesPerSec: 5000, params: 1000 } });
    expect($(el, "[data-action=toggle]")!.textContent).toMatch(/Pause/);
    expect($(el, "[data-stat=step]")!.textContent).toBe("1,200");
    expect($(el, "[data-stat=loss]")!.textContent).toBe("104.26");
  });
});

describe("latent-loss-chart", () => {
  test("shows the last loss, and an empty state without points", async () => {
    const el = await mount("latent-loss-chart", { points: [] });
    expect($(el, ".empty")).not.toBeNull();
    el.points = [{ step: 10, loss: 200 }, { step: 20, loss: 150.5 }];
    await el.updateComplete;
    expect($(el, ".empty")).toBeNull();
    expect($(el, ".last")!.textContent).toMatch(/step 20: 150.50 nats/);
  });
  test("fires log-scale-change, and disables the log axis for negative losses", async () => {
    const el = await mount("latent-loss-chart", { points: [{ step: 1, loss: 3 }, { step: 2, loss: 2 }] });
    const box = $(el, "input") as HTMLInputElement;
    const ev = next<CustomEvent<boolean>>(el, "log-scale-change");
    box.checked = true;
    box.dispatchEvent(new Event("change"));
    expect((await ev).detail).toBe(true);
    el.points = [{ step: 1, loss: -300 }, { step: 2, loss: -400 }];
    await el.updateComplete;
    expect(box.disabled).toBe(true);
  });
  test("axis ticks: 1-2-5 steps, and powers of ten on a log axis", () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(logTicks(1, 3)).toEqual([10, 100, 1000]);
    expect(logTicks(Math.log10(90), Math.log10(1100))).toEqual([100, 200, 500, 1000]);
    expect(logTicks(Math.log10(150), Math.log10(400))).toEqual([200, 300, 400]); // under a decade: every multiple
  });
});

describe("latent-sample-grid", () => {
  test("draws 64 images as an 8 × 8 grid of 28-pixel tiles", async () => {
    const el = await mount("latent-sample-grid", { images: images(64) });
    const c = $(el, "canvas") as HTMLCanvasElement;
    expect([c.width, c.height]).toEqual([8 * 29 + 1, 8 * 29 + 1]);
  });
  test("shows its placeholder without images, and fires samples-request", async () => {
    const el = await mount("latent-sample-grid", { placeholder: "nothing yet" });
    expect($(el, ".empty")!.textContent).toBe("nothing yet");
    const ev = next(el, "samples-request");
    ($(el, "button") as HTMLButtonElement).click();
    await ev;
  });
  test("samples a model given as a property (the embedding path)", async () => {
    // a stand-in model: sample() returns something with toArray(), as a Tensor does
    const model = {
      kind: "fake",
      dim: 4,
      sample: (n: number) => ({ toArray: async () => new Float32Array(n * 4).fill(0.25), dispose() {} }),
    } as unknown as import("../../models/model.js").GenerativeModel;
    const el = await mount("latent-sample-grid", { model, count: 6, width: 2, height: 2, cols: 3 });
    await el.refresh();
    await el.updateComplete;
    const c = $(el, "canvas") as HTMLCanvasElement;
    expect([c.width, c.height]).toEqual([3 * 3 + 1, 2 * 3 + 1]);
  });
});

test("latent-density-view renders a heatmap canvas for a frame, and a placeholder without one", async () => {
  const el = await mount("latent-density-view", { placeholder: "no density" });
  expect($(el, ".empty")!.textContent).toBe("no density");
  el.density = { size: 4, extent: [-4, 4, -4, 4], logDensity: new Float32Array(16), samples: new Float32Array(10), data: new Float32Array(4) };
  await el.updateComplete;
  expect($(el, ".empty")).toBeNull();
  expect($(el, "canvas")!.hidden).toBe(false);
});

describe("latent-explorer", () => {
  test("draws the latent map as a square grid", async () => {
    const el = await mount("latent-explorer", { mode: "grid", grid: images(9), latentDim: 2 });
    const c = $(el, ".map canvas") as HTMLCanvasElement;
    expect(c.width).toBe(3 * 28);
  });
  test("switches mode by event, and the slider picks an interpolation frame", async () => {
    const el = await mount("latent-explorer", { mode: "interpolate", interpolation: { frames: images(5), endpoints: images(2) }, latentDim: 2 });
    expect($(el, ".cap.mono")!.textContent).toMatch(/t = 0.50/);
    const slider = $(el, "input[type=range]") as HTMLInputElement;
    slider.value = "4";
    slider.dispatchEvent(new Event("input"));
    await el.updateComplete;
    expect($(el, ".cap.mono")!.textContent).toMatch(/t = 1.00/);
    const ev = next<CustomEvent<string>>(el, "explorer-mode-change");
    $$(el, ".tabs button")[0]!.click();
    expect((await ev).detail).toBe("grid");
  });
  test("explains why a model has no latent space", async () => {
    const el = await mount("latent-explorer", { unavailable: "NADE has no latent space" });
    expect($(el, ".empty")!.textContent).toMatch(/NADE has no latent space/);
  });
});

describe("latent-draw-pad", () => {
  test("a drawing is normalised to a 28 × 28 digit and reported", async () => {
    const el = await mount("latent-draw-pad", {});
    const n = 100, v = new Float32Array(n * n);
    for (let y = 10; y < 90; y++) for (let x = 45; x < 55; x++) v[y * n + x] = 1; // a "1" drawn off-centre is fine
    const ev = next<CustomEvent<Float32Array>>(el, "digit-drawn");
    el.submitDrawing(v, n);
    const digit = (await ev).detail;
    expect(digit.length).toBe(784);
    await el.updateComplete;
    expect($(el, ".tile.input canvas")).not.toBeNull();
  });
  test("shows the reconstruction it is given, and fires digit-clear", async () => {
    const el = await mount("latent-draw-pad", { reconstruction: new Float32Array(784).fill(0.3) });
    const v = new Float32Array(28 * 28).fill(0);
    v[14 * 28 + 14] = 1;
    el.submitDrawing(v, 28);
    await el.updateComplete;
    expect(($(el, ".tile.recon canvas") as HTMLCanvasElement).width).toBe(28);
    const ev = next(el, "digit-clear");
    ($(el, ".row button") as HTMLButtonElement).click();
    await ev;
  });
});

describe("latent-anomaly-meter", () => {
  const test1 = Float32Array.from({ length: 100 }, (_, i) => -100 - i);
  test("shows the log-likelihood, the share of less likely test digits and a verdict", async () => {
    const el = await mount("latent-anomaly-meter", { score: { logLik: -250, kind: "exact", test: test1 } });
    expect($(el, ".big")!.textContent).toBe("-250.0");
    expect($(el, ".verdict")!.textContent).toBe("Anomaly");
    expect(el.shadowRoot!.textContent).toMatch(/Less likely than\s+100%\s+of 100 test digits/);
    expect($$(el, "rect").length).toBe(32);
  });
  test("a bound is marked with ≥; typical values read as a digit", async () => {
    const el = await mount("latent-anomaly-meter", { score: { logLik: -120, kind: "bound", test: test1 } });
    expect($(el, ".big")!.textContent).toBe("≥ -120.0");
    expect($(el, ".verdict")!.textContent).toBe("Looks like a digit");
    expect(verdict(0.05).label).toBe("Unusual");
  });
});

test("latent-bench-panel lists results with their rate and fires bench-run", async () => {
  const el = await mount("latent-bench-panel", { results: [{ name: "matmul", shape: "256×256×256", ms: 2, rate: 16.7, unit: "GFLOP/s" }] });
  expect($(el, "[data-rate]")!.textContent).toMatch(/16.7 GFLOP\/s/);
  const ev = next<CustomEvent<{ quick: boolean }>>(el, "bench-run");
  ($(el, "button.primary") as HTMLButtonElement).click();
  expect((await ev).detail).toEqual({ quick: true });
});

describe("latent-checkpoint-panel", () => {
  test("fires checkpoint-save", async () => {
    const el = await mount("latent-checkpoint-panel", { canSave: true, canLoad: true });
    const ev = next(el, "checkpoint-save");
    ($(el, "button.primary") as HTMLButtonElement).click();
    await ev;
  });
  test("reads a dropped file and fires checkpoint-load with its bytes; shows errors", async () => {
    const el = await mount("latent-checkpoint-panel", { canSave: true, canLoad: true, message: { tone: "error", text: "Rejected x: bad" } });
    expect($(el, ".msg.error")!.textContent).toBe("Rejected x: bad");
    const ev = next<CustomEvent<{ name: string; bytes: Uint8Array }>>(el, "checkpoint-load");
    const file = new File([new Uint8Array([1, 2, 3])], "w.safetensors");
    const drop = new Event("drop") as Event & { dataTransfer: unknown };
    Object.defineProperty(drop, "dataTransfer", { value: { files: [file] } });
    $(el, ".drop")!.dispatchEvent(drop);
    const { detail } = await ev;
    expect(detail.name).toBe("w.safetensors");
    expect([...detail.bytes]).toEqual([1, 2, 3]);
  });
});

test("latent-notice shows an error with a dismiss button that fires notice-dismiss", async () => {
  const el = await mount("latent-notice", { tone: "error", text: "it broke" });
  expect($(el, "[role=alert]")!.textContent).toMatch(/it broke/);
  const ev = next(el, "notice-dismiss");
  ($(el, "button") as HTMLButtonElement).click();
  await ev;
});
