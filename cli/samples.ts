/**
 * Sample pictures of a model: an MNIST digit grid (8 × 8 for 64 samples), or for a 2-D toy the
 * data's density next to the model's (same square, same colour scale rule), written atomically.
 */
import { writeFileAtomic } from "../engine/node-fs.js";
import type { GenerativeModel } from "../models/model.js";
import type { ModelEntry } from "../models/registry.js";
import { sampleToy } from "../models/data/index.js";
import { densityImage, encodePng, imageGrid, sideBySide, type RgbImage } from "./png.js";
import type { DataSpec } from "./run-dir.js";

/** Samples drawn for a toy picture unless told otherwise. */
export const TOY_SAMPLES = 5000;
/** Digits in an MNIST grid unless told otherwise. */
export const MNIST_SAMPLES = 64;

/** Default sample count for a dataset. */
export const defaultSampleCount = (data: DataSpec) => (data.name === "mnist" ? MNIST_SAMPLES : TOY_SAMPLES);

/** Draws n samples (seeded) and renders them as a picture of the run's data kind. */
export async function renderSamples(entry: ModelEntry, model: GenerativeModel, data: DataSpec, n: number, seed: number): Promise<RgbImage> {
  const x = await entry.sample(model, n, seed);
  let values: Float32Array;
  try {
    values = (await x.toArray()) as Float32Array;
  } finally {
    x.dispose();
  }
  if (data.name === "mnist") return imageGrid(values, n, 28);
  // the reference panel: as many data points as samples, from a fixed seed
  const ref = sampleToy(data.name, n, 0x5eed);
  return sideBySide([densityImage(ref), densityImage(values)]);
}

/** renderSamples, encoded and written to `path` atomically. */
export async function writeSamples(path: string, entry: ModelEntry, model: GenerativeModel, data: DataSpec, n: number, seed: number): Promise<void> {
  const img = await renderSamples(entry, model, data, n, seed);
  await writeFileAtomic(path, encodePng(img));
}
