/** The demo's plain-data pieces: the catalog against the model registry, digit normalisation, statistics. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { AVAILABLE, DATASETS, MODELS, datasetInfo, defaultHyperparams, fieldsFor, incompatibility, sanitizeHyperparams } from "../../demo/lib/catalog.js";
import { ink, toMnist } from "../../demo/lib/digit.js";
import { fractionBelow, histogram, probit } from "../../demo/lib/stats.js";
import { modelNames, getModel, resolveConfig } from "../../models/registry.js";

describe("catalog", () => {
  test("every registry family is offered, and every available demo model resolves in the registry", () => {
    const offered = new Set(MODELS.filter((m) => AVAILABLE.has(m.id)).map((m) => m.registry));
    expect([...offered].sort()).toEqual(modelNames().sort());
    for (const m of MODELS) {
      for (const d of DATASETS) {
        if (incompatibility(m, d) || !AVAILABLE.has(m.id)) continue;
        const hp = defaultHyperparams(fieldsFor(m, d));
        expect(() => resolveConfig(getModel(m.registry), d.dim, m.toConfig(hp)), `${m.id} on ${d.id}`).not.toThrow();
        expect(getModel(m.registry).data).toBe(m.data);
      }
    }
  });
  test("hyperparameters are clamped, typed and defaulted; PPCA's latent size stays below 2 on the toys", () => {
    const vae = MODELS.find((m) => m.id === "vae-mlp")!;
    const hp = sanitizeHyperparams(fieldsFor(vae, datasetInfo("mnist")), { zDim: "999", lr: -1, objective: "nope", compile: "true", extra: 1 });
    expect(hp).toMatchObject({ zDim: 32, lr: 2e-3, objective: "elbo", compile: true, hidden: 256 });
    expect("extra" in hp).toBe(false);
    const ppca = MODELS.find((m) => m.id === "ppca")!;
    expect(sanitizeHyperparams(fieldsFor(ppca, datasetInfo("moons")), { latentDim: 16 }).latentDim).toBe(1);
  });
  test("binary models are kept off the 2-D toys", () => {
    expect(incompatibility(MODELS.find((m) => m.id === "nade")!, datasetInfo("moons"))).toMatch(/binary pixels/);
    expect(incompatibility(MODELS.find((m) => m.id === "ppca")!, datasetInfo("mnist"))).toBe("");
  });
});

describe("toMnist", () => {
  test("fits the ink into 20 px and centres it by mass in 28 × 28", () => {
    const n = 200, v = new Float32Array(n * n);
    for (let y = 20; y < 60; y++) for (let x = 150; x < 190; x++) v[y * n + x] = 1; // a square in a corner
    const d = toMnist(v, n);
    let m = 0, cx = 0, cy = 0, x0 = 28, x1 = -1;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const p = d[y * 28 + x]!;
      (m += p), (cx += x * p), (cy += y * p);
      if (p > 0.5) (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x));
    }
    expect(cx / m).toBeCloseTo(13.5, 0);
    expect(cy / m).toBeCloseTo(13.5, 0);
    expect(x1 - x0 + 1).toBe(20);
    expect(ink(d)).toBeCloseTo(400, 0);
  });
  test("an empty drawing stays empty", () => {
    expect(ink(toMnist(new Float32Array(100), 10))).toBe(0);
  });
});

describe("stats", () => {
  test("probit inverts the normal CDF", () => {
    expect(probit(0.5)).toBe(0);
    expect(probit(0.975)).toBeCloseTo(1.959964, 6);
    expect(probit(0.001)).toBeCloseTo(-3.090232, 6);
    expect(probit(0)).toBe(-Infinity);
  });
  test("fractionBelow and histogram", () => {
    const v = [1, 2, 3, 4, NaN];
    expect(fractionBelow(v, 3)).toBe(0.5);
    expect(histogram(v, 3).counts).toEqual([1, 1, 2]);
  });
});

test("the README's Embedding example is the one the browser test runs (tests/demo/embed/main.ts)", () => {
  const root = join(import.meta.dirname, "../..");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Embedding"));
  const code = section.match(/```ts\n([\s\S]*?)```/)?.[1];
  const example = readFileSync(join(root, "tests/demo/embed/main.ts"), "utf8").replace(/^\/\/.*\n/, "");
  expect(code).toBe(example);
});
