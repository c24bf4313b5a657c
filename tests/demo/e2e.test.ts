/**
 * The demo end to end in real headless Chromium (Debian's /usr/bin/chromium, WebGPU on
 * SwiftShader): build the page with Vite's API, serve it on a free localhost port, and use it as a
 * person would — train a VAE on MNIST and PPCA on a 2-D toy, draw a digit, load a corrupt
 * checkpoint — while checking that nothing is logged as an error and no request leaves the
 * machine. Screenshots go to tests/artifacts/ (gitignored).
 *
 * SwiftShader runs WebGPU on the CPU, so the models are small and train for a few dozen steps.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT, buildDemo, buildEmbedExample, interceptRequests, launch, serve } from "./browser.js";

const ARTIFACTS = join(ROOT, "tests/artifacts");
const out = mkdtempSync(join(tmpdir(), "latent-demo-"));
let server: Awaited<ReturnType<typeof serve>>;
let chrome: Awaited<ReturnType<typeof launch>>;
let page: Page;
const consoleErrors: string[] = [];
const offsite: string[] = [];

/** Evaluates in the page with the app's shadow root as `app` (components are inside it). */
const inApp = <T>(fn: string): Promise<T> => page.evaluate(`(() => { const app = document.querySelector("latent-app").shadowRoot; ${fn} })()`) as Promise<T>;
/** Polls a condition in the page until it holds. */
const until = (fn: string, timeout: number) => page.waitForFunction(`(() => { const app = document.querySelector("latent-app")?.shadowRoot; if (!app) return false; ${fn} })()`, { timeout, polling: 250 });

/** Loss points shown by the chart. */
const losses = () => inApp<{ step: number; loss: number }[]>(`return app.querySelector("latent-loss-chart").points;`);

/** Variance of the gray level (0–255) of a canvas inside `host`'s shadow root: ~0 for a blank canvas. */
const canvasVariance = (host: string, canvas = "canvas") =>
  inApp<number>(`
    const c = app.querySelector(${JSON.stringify(host)}).shadowRoot.querySelector(${JSON.stringify(canvas)});
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let s = 0, ss = 0, n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) { const g = (d[i] + d[i + 1] + d[i + 2]) / 3; s += g; ss += g * g; }
    return ss / n - (s / n) ** 2;`);

const click = (selector: string) => inApp<void>(`${selector}.click();`);

beforeAll(async () => {
  // the production build succeeds (into a temporary directory: dist/ may be in use by `npm start`)
  await buildDemo(out);
  server = await serve(out);
  chrome = await launch();
  // every request (the page's and its worker's) is checked; anything leaving the machine is recorded and refused
  await interceptRequests(chrome.browser, offsite);
  page = await chrome.browser.newPage();
  page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));
  page.on("pageerror", (e) => void consoleErrors.push(String(e)));
  mkdirSync(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await server?.close();
  rmSync(out, { recursive: true, force: true });
});

test("the production build has the page, the worker bundle and the MNIST files", () => {
  expect(existsSync(join(out, "index.html"))).toBe(true);
  expect(readdirSync(join(out, "assets")).some((f) => /^train-worker-.*\.js$/.test(f))).toBe(true);
  expect(statSync(join(out, "data/train-images-idx3-ubyte")).size).toBe(47_040_016);
  expect(statSync(join(out, "data/t10k-labels-idx1-ubyte")).size).toBe(10_008);
});

test("the device badge reports the WebGPU adapter", async () => {
  await page.goto(`${server.url}?model=vae-mlp&dataset=mnist&zDim=2&hidden=64&layers=1&batch=32&lr=0.005&trainSize=2000`);
  await until(`const b = app.querySelector("latent-device-badge"); return b?.info?.name || b?.error;`, 30_000);
  const badge = await inApp<{ name: string; error: string }>(`const b = app.querySelector("latent-device-badge"); return { name: b.info?.name ?? "", error: b.error };`);
  expect(badge.error).toBe("");
  expect(badge.name).toMatch(/swiftshader/i);
}, 60_000);

test("a VAE trains on MNIST: the loss shown falls and the samples are not blank", async () => {
  await until(`return !!app.querySelector("latent-sample-grid")?.images;`, 60_000); // configured: untrained samples shown
  await click(`app.querySelector("latent-train-controls").shadowRoot.querySelector("[data-action=toggle]")`);
  await until(`const p = app.querySelector("latent-loss-chart").points; return p.length >= 3 && p.at(-1).step >= 40;`, 90_000);
  await click(`app.querySelector("latent-train-controls").shadowRoot.querySelector("[data-action=toggle]")`);
  await until(`return !app.querySelector("latent-train-controls").running;`, 30_000);
  const pts = await losses();
  expect(pts[0]!.step).toBe(1);
  expect(pts.at(-1)!.loss).toBeLessThan(pts[0]!.loss * 0.8);
  const shown = await inApp<string>(`return app.querySelector("latent-train-controls").shadowRoot.querySelector("[data-stat=loss]").textContent;`);
  expect(Number(shown.replace(/,/g, ""))).toBeCloseTo(pts.at(-1)!.loss, 1);
  await until(`return app.querySelector("latent-sample-grid").caption.includes("after");`, 30_000);
  expect(await canvasVariance("latent-sample-grid")).toBeGreaterThan(50);
}, 150_000);

test("a stroke on the draw pad gets a finite log-likelihood and a reconstruction", async () => {
  const box = await inApp<{ x: number; y: number; w: number; h: number }>(`
    const c = app.querySelector("latent-draw-pad").shadowRoot.querySelector(".pad canvas");
    c.scrollIntoView({ block: "center" });
    const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height };`);
  // a "7": a bar across the top and a slanted stroke down
  const at = (fx: number, fy: number) => [box.x + fx * box.w, box.y + fy * box.h] as const;
  await page.mouse.move(...at(0.3, 0.25));
  await page.mouse.down();
  for (const [fx, fy] of [[0.5, 0.25], [0.7, 0.25], [0.6, 0.5], [0.5, 0.75]] as const) await page.mouse.move(...at(fx, fy), { steps: 6 });
  await page.mouse.up();
  await until(`return app.querySelector("latent-anomaly-meter").shadowRoot.querySelector(".big[data-loglik]");`, 60_000);
  const ll = await inApp<string>(`return app.querySelector("latent-anomaly-meter").shadowRoot.querySelector(".big").dataset.loglik;`);
  expect(Number.isFinite(Number(ll))).toBe(true);
  expect(Number(ll)).toBeLessThan(0);
  await until(`return app.querySelector("latent-draw-pad").shadowRoot.querySelector(".tile.recon canvas");`, 30_000);
  await until(`return app.querySelector("latent-explorer").grid;`, 30_000);
  await page.screenshot({ path: join(ARTIFACTS, "demo-vae.png"), fullPage: true });
}, 90_000);

test("a corrupt checkpoint is rejected with a clear message", async () => {
  const bad = join(out, "broken.safetensors");
  writeFileSync(bad, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123, 34]));
  const input = await page.$("latent-app >>> latent-checkpoint-panel >>> input[type=file]");
  await input!.uploadFile(bad);
  await until(`return app.querySelector("latent-checkpoint-panel").message;`, 30_000);
  const msg = await inApp<{ tone: string; text: string }>(`return app.querySelector("latent-checkpoint-panel").message;`);
  expect(msg.tone).toBe("error");
  expect(msg.text).toMatch(/^Rejected broken\.safetensors: /);
}, 60_000);

test("PPCA on a 2-D toy: the loss falls and the density view fills in", async () => {
  await click(`app.querySelector("latent-dataset-picker").shadowRoot.querySelector("[data-id=moons]")`);
  await until(`return app.querySelector("latent-density-view")?.density && app.querySelector("latent-train-controls").stats;`, 60_000);
  await click(`app.querySelector("latent-train-controls").shadowRoot.querySelector("[data-action=toggle]")`);
  await until(`const p = app.querySelector("latent-loss-chart").points; return p.length >= 3 && p.at(-1).step >= 24;`, 60_000);
  await click(`app.querySelector("latent-train-controls").shadowRoot.querySelector("[data-action=toggle]")`);
  await until(`return !app.querySelector("latent-train-controls").running;`, 30_000);
  const pts = await losses();
  expect(pts.at(-1)!.loss).toBeLessThan(pts[0]!.loss);
  expect(await canvasVariance("latent-density-view")).toBeGreaterThan(50);
  await page.screenshot({ path: join(ARTIFACTS, "demo-2d.png"), fullPage: true });
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, "demo-phone.png"), fullPage: false });
}, 120_000);

test("the README's embedding example: the library build trains a toy VAE and <latent-sample-grid .model> shows its samples", async () => {
  const lib = join(out, "lib"), site = join(out, "embed");
  await buildEmbedExample(lib, site);
  const embed = await serve(site);
  const p = await chrome.browser.newPage();
  p.on("console", (m) => void (m.type() === "error" && consoleErrors.push(`embed: ${m.text()}`)));
  p.on("pageerror", (e) => void consoleErrors.push(`embed: ${String(e)}`));
  try {
    await p.goto(embed.url);
    await p.waitForFunction(`document.querySelector("latent-sample-grid")?.shadowRoot?.querySelector("canvas:not([hidden])")`, { timeout: 60_000, polling: 250 });
    const v = await p.evaluate(`(() => {
      const c = document.querySelector("latent-sample-grid").shadowRoot.querySelector("canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let s = 0, ss = 0, n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) { s += d[i]; ss += d[i] * d[i]; }
      return [c.width, ss / n - (s / n) ** 2];
    })()`) as [number, number];
    expect(v[0]).toBe(4 * 9 + 1); // 4 columns of 8-pixel tiles
    expect(v[1]).toBeGreaterThan(50);
    await p.screenshot({ path: join(ARTIFACTS, "embed.png") });
  } finally {
    await p.close();
    await embed.close();
  }
}, 120_000);

test("no console errors, and no request left localhost", () => {
  expect(consoleErrors).toEqual([]);
  expect(offsite).toEqual([]);
});
