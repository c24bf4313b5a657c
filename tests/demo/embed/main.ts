// The README's "Embedding" example, built against the library build (dist/lib) by e2e.test.ts.
import { init, fromTyped, scope } from "latent";
import { createModel } from "latent/models";
import "latent/components";

await init();

// 64 images of 8×8 "bars": one row or one column lit
const bars = new Float32Array(64 * 64);
for (let i = 0; i < 64; i++) for (let p = 0; p < 64; p++) bars[i * 64 + p] = (i < 32 ? p % 8 : p >> 3) === i % 8 ? 1 : 0;
const x = fromTyped(bars, [64, 64], "f32");

const { model } = createModel("vae", 64, { zDim: 2, hidden: [32], lr: 0.01 });
for (let step = 0; step < 150; step++) {
  await scope(async () => void (await model.trainStep(x))); // frees the step's tensors
}

const grid = document.createElement("latent-sample-grid");
Object.assign(grid, { model, width: 8, height: 8, count: 16, cols: 4 });
document.body.append(grid);
