/**
 * What the demo can train: models, datasets and the hyperparameters of each model, as plain data.
 * The page (pickers, panel, URL state) and the worker (which builds the models) both read it, so
 * this file imports nothing from engine/ — it must stay cheap to load on the main thread.
 */

/** Every model the demo offers (several may share one registry family, e.g. the two VAEs). */
export type ModelId = "vae-mlp" | "vae-conv" | "ppca" | "nade" | "made" | "bernoulli" | "bernoulli-mixture";

/** MNIST or one of the FFJORD 2-D toys (models/data/toy2d.ts). */
export type DatasetId = "mnist" | ToyId;
export const TOY_IDS = ["8gaussians", "checkerboard", "moons", "circles", "swissroll", "pinwheel", "2spirals"] as const;
export type ToyId = (typeof TOY_IDS)[number];

/** A hyperparameter value: numbers for sliders, strings for choices, booleans for switches. */
export type HyperValue = number | string | boolean;
export type Hyperparams = Record<string, HyperValue>;

/** How a hyperparameter is edited. `log` sliders move in powers of ten (learning rates). */
export type HyperField =
  | { key: string; label: string; kind: "int"; min: number; max: number; step?: number; default: number; hint?: string }
  | { key: string; label: string; kind: "log"; min: number; max: number; default: number; hint?: string }
  | { key: string; label: string; kind: "choice"; options: readonly string[]; default: string; hint?: string }
  | { key: string; label: string; kind: "bool"; default: boolean; hint?: string };

/** The kind of data a model can model: {0,1} pixels (Bernoulli likelihoods) or real vectors. */
export type DataKind = "binary" | "continuous";

export interface ModelInfo {
  id: ModelId;
  label: string;
  /** One line under the name in the picker. */
  blurb: string;
  /** Paper the model comes from, shown as a small citation. */
  cite: string;
  /** The family in models/registry.ts that builds it. */
  registry: string;
  /** Which data the model handles; datasets of the other kind are disabled with a note. */
  data: DataKind;
  /** "exact" log-likelihood or a lower "bound" (ELBO / IWAE). */
  likelihood: "exact" | "bound";
  /** Has encode/decode (latent explorer, reconstructions). */
  latent: boolean;
  /** Sampling is D sequential steps (autoregressive): refresh samples less often, draw fewer. */
  sequentialSampling: boolean;
  /** The demo's fields. Smaller defaults than the papers': the demo must train in seconds. */
  fields: readonly HyperField[];
  /** The registry hyper-parameters for the demo's values (seed and batch are not among them). */
  toConfig(hp: Hyperparams): Record<string, unknown>;
}

const lr = (d = 1e-3): HyperField => ({ key: "lr", label: "Learning rate", kind: "log", min: 1e-4, max: 1e-1, default: d, hint: "Adam step size" });
const batch = (d = 64): HyperField => ({ key: "batch", label: "Batch size", kind: "int", min: 8, max: 256, step: 8, default: d });
const seed: HyperField = { key: "seed", label: "Seed", kind: "int", min: 0, max: 99, default: 0, hint: "weights and data order" };
const compile: HyperField = { key: "compile", label: "Compiled step", kind: "bool", default: false, hint: "trace one step, replay it: less CPU per step" };
const n = (hp: Hyperparams, k: string): number => Number(hp[k]);

export const MODELS: readonly ModelInfo[] = [
  {
    id: "vae-mlp",
    label: "VAE",
    blurb: "Encoder and decoder MLPs, trained on the evidence lower bound.",
    cite: "Kingma & Welling 2014",
    registry: "vae",
    data: "binary",
    likelihood: "bound",
    latent: true,
    sequentialSampling: false,
    fields: [
      { key: "zDim", label: "Latent dimensions", kind: "int", min: 1, max: 32, default: 2, hint: "2 draws a map of the latent space" },
      { key: "hidden", label: "Hidden units", kind: "int", min: 16, max: 512, step: 16, default: 256 },
      { key: "layers", label: "Hidden layers", kind: "int", min: 1, max: 2, default: 1 },
      { key: "objective", label: "Objective", kind: "choice", options: ["elbo", "iwae"], default: "elbo", hint: "IWAE: 5 samples per digit" },
      lr(2e-3),
      batch(),
      seed,
      compile,
    ],
    toConfig: (hp) => ({ arch: "mlp", zDim: n(hp, "zDim"), hidden: Array<number>(n(hp, "layers")).fill(n(hp, "hidden")), objective: hp.objective, lr: n(hp, "lr"), compile: hp.compile }),
  },
  {
    id: "vae-conv",
    label: "Conv VAE",
    blurb: "Strided convolutions down, transposed convolutions up (32 and 64 channels).",
    cite: "Kingma & Welling 2014",
    registry: "vae",
    data: "binary",
    likelihood: "bound",
    latent: true,
    sequentialSampling: false,
    fields: [{ key: "zDim", label: "Latent dimensions", kind: "int", min: 1, max: 32, default: 2 }, lr(2e-3), batch(), seed, compile],
    toConfig: (hp) => ({ arch: "conv", activation: "relu", zDim: n(hp, "zDim"), lr: n(hp, "lr"), compile: hp.compile }),
  },
  {
    id: "ppca",
    label: "Probabilistic PCA",
    blurb: "A linear-Gaussian latent model fitted by EM: exact likelihood.",
    cite: "Tipping & Bishop 1999",
    registry: "ppca",
    data: "continuous",
    likelihood: "exact",
    latent: true,
    sequentialSampling: false,
    fields: [{ key: "latentDim", label: "Latent dimensions", kind: "int", min: 1, max: 64, default: 16, hint: "at most 1 on the 2-D toys" }, batch(128), seed],
    toConfig: (hp) => ({ latentDim: n(hp, "latentDim") }),
  },
  {
    id: "nade",
    label: "NADE",
    blurb: "Autoregressive, p(x) = Π p(x_d | x_<d), with shared weights: exact likelihood.",
    cite: "Larochelle & Murray 2011",
    registry: "nade",
    data: "binary",
    likelihood: "exact",
    latent: false,
    sequentialSampling: true,
    fields: [{ key: "hidden", label: "Hidden units", kind: "int", min: 16, max: 500, step: 4, default: 128 }, lr(2e-3), batch(), seed, compile],
    toConfig: (hp) => ({ hidden: n(hp, "hidden"), lr: n(hp, "lr"), compile: hp.compile }),
  },
  {
    id: "made",
    label: "MADE",
    blurb: "A masked autoencoder whose masks make it autoregressive: exact likelihood in one pass.",
    cite: "Germain et al. 2015",
    registry: "made",
    data: "binary",
    likelihood: "exact",
    latent: false,
    sequentialSampling: true,
    fields: [
      { key: "hidden", label: "Hidden units", kind: "int", min: 32, max: 1024, step: 32, default: 512 },
      { key: "nMasks", label: "Mask sets", kind: "int", min: 1, max: 8, default: 1, hint: "connectivity-agnostic training" },
      { key: "orderAgnostic", label: "Random orderings", kind: "bool", default: false },
      lr(2e-3),
      batch(),
      seed,
      compile,
    ],
    toConfig: (hp) => ({ hidden: [n(hp, "hidden")], nMasks: n(hp, "nMasks"), orderAgnostic: hp.orderAgnostic, lr: n(hp, "lr"), compile: hp.compile }),
  },
  {
    id: "bernoulli-mixture",
    label: "Bernoulli mixture",
    blurb: "K prototypes of independent pixels, trained by stepwise EM: exact likelihood.",
    cite: "Dempster et al. 1977",
    registry: "bernoulli-mixture",
    data: "binary",
    likelihood: "exact",
    latent: false,
    sequentialSampling: false,
    fields: [{ key: "components", label: "Components", kind: "int", min: 1, max: 500, default: 50 }, batch(128), seed],
    toConfig: (hp) => ({ components: n(hp, "components") }),
  },
  {
    id: "bernoulli",
    label: "Independent pixels",
    blurb: "One Bernoulli per pixel: the floor every model has to beat.",
    cite: "baseline",
    registry: "bernoulli",
    data: "binary",
    likelihood: "exact",
    latent: false,
    sequentialSampling: false,
    fields: [lr(5e-2), batch(), seed],
    toConfig: (hp) => ({ lr: n(hp, "lr") }),
  },
];

/** Display names of the toys. */
export const TOY_LABELS: Record<ToyId, string> = {
  "8gaussians": "8 Gaussians",
  checkerboard: "Checkerboard",
  moons: "Moons",
  circles: "Circles",
  swissroll: "Swiss roll",
  pinwheel: "Pinwheel",
  "2spirals": "Two spirals",
};

export interface DatasetInfo {
  id: DatasetId;
  label: string;
  kind: "images" | "points";
  /** Pixels of one MNIST digit or the two coordinates of a point. */
  dim: number;
}

export const DATASETS: readonly DatasetInfo[] = [
  { id: "mnist", label: "MNIST digits", kind: "images", dim: 784 },
  ...TOY_IDS.map((id): DatasetInfo => ({ id, label: TOY_LABELS[id], kind: "points", dim: 2 })),
];


/**
 * Models whose registry family exists in this build (tests/demo/catalog.test.ts checks the list
 * against models/registry.ts). The picker shows the others disabled, with a note.
 */
export const AVAILABLE: ReadonlySet<ModelId> = new Set<ModelId>(["vae-mlp", "vae-conv", "ppca", "nade", "made", "bernoulli-mixture", "bernoulli"]);

export const modelInfo = (id: ModelId): ModelInfo => MODELS.find((m) => m.id === id)!;
export const datasetInfo = (id: DatasetId): DatasetInfo => DATASETS.find((d) => d.id === id)!;
export const isModelId = (s: string): s is ModelId => MODELS.some((m) => m.id === s);
export const isDatasetId = (s: string): s is DatasetId => DATASETS.some((d) => d.id === s);

/**
 * Why `model` cannot train on `dataset`, or "" when it can. Binary models (Bernoulli pixel
 * likelihoods) need images; the 2-D toys are real-valued points. Continuous models take both:
 * MNIST pixels are then intensities in [0, 1].
 */
export function incompatibility(model: ModelInfo, dataset: DatasetInfo): string {
  if (model.data === "binary" && dataset.kind === "points") return `${model.label} models binary pixels; the 2-D toys are real-valued points.`;
  return "";
}

/**
 * A model's fields on a dataset: a latent dimension must stay below the data's (PPCA on the 2-D
 * toys has one).
 */
export function fieldsFor(model: ModelInfo, dataset: DatasetInfo): HyperField[] {
  return model.fields.map((f) => (f.kind === "int" && (f.key === "latentDim" || f.key === "zDim") && f.max >= dataset.dim ? { ...f, max: dataset.dim - 1, default: Math.min(f.default, dataset.dim - 1) } : f));
}

/** Default values of some fields. */
export function defaultHyperparams(fields: readonly HyperField[]): Hyperparams {
  return Object.fromEntries(fields.map((f) => [f.key, f.default]));
}

/** Values clamped to their field's range and type; unknown keys dropped, missing ones defaulted. */
export function sanitizeHyperparams(fields: readonly HyperField[], values: Readonly<Record<string, unknown>>): Hyperparams {
  const out: Hyperparams = {};
  for (const f of fields) {
    const v = values[f.key];
    switch (f.kind) {
      case "int": {
        const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
        out[f.key] = Number.isFinite(n) ? Math.min(f.max, Math.max(f.min, Math.round(n))) : f.default;
        break;
      }
      case "log": {
        const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
        out[f.key] = Number.isFinite(n) && n > 0 ? Math.min(f.max, Math.max(f.min, n)) : f.default;
        break;
      }
      case "choice":
        out[f.key] = typeof v === "string" && f.options.includes(v) ? v : f.default;
        break;
      case "bool":
        out[f.key] = typeof v === "boolean" ? v : v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : f.default;
        break;
    }
  }
  return out;
}

/** Settings that are not a model's hyperparameters: how much data, how often to report. */
export interface RunSettings {
  /** MNIST training examples to upload (the first n of the 50 000-example 'train' split). */
  trainSize: number;
  /** Test examples scored for the anomaly histogram. */
  testSize: number;
}

export const DEFAULT_RUN: RunSettings = { trainSize: 20_000, testSize: 256 };
