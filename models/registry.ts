/**
 * The model registry: the one list of model families the CLI, the quality benchmark and the demo
 * can build by name. Each entry says what data the model expects, which hyper-parameters it takes
 * (a small schema with types, defaults and help), how to build it, and the model-specific parts of
 * checkpointing, sampling, scoring and comparing with the literature. Everything else (training
 * loops, run directories) is generic over {@link GenerativeModel}.
 *
 * @example
 * const entry = getModel("vae");                      // UnknownModelError lists the valid names
 * const cfg = resolveConfig(entry, 784, { zDim: 32 }); // defaults filled in, types checked
 * const model = entry.create(784, cfg);
 */
import { Optimizer, loadInto, loadSafetensorsWithMetadata, noGrad, realize, scope, type Device, type Tensor } from "../engine/index.js";
import { CheckpointError } from "../engine/errors.js";
import type { GenerativeModel } from "./model.js";
import { scoreOf } from "./model.js";
import { BernoulliMixture, FactorisedBernoulli } from "./bernoulli.js";
import { MADE } from "./made.js";
import { NADE } from "./nade.js";
import { PPCA } from "./ppca.js";
import { VAE, type VaeActivation, type VaeObjective } from "./vae.js";

// ── errors ───────────────────────────────────────────────────────────────────────────────────────

/** A model name that is not in the registry; the message lists the valid names. */
export class UnknownModelError extends Error {
  override name = "UnknownModelError";
  constructor(readonly requested: string, readonly valid: readonly string[]) {
    super(`unknown model '${requested}' (valid models: ${valid.join(", ")})`);
  }
}

/** A hyper-parameter that is unknown, of the wrong type or out of range. */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}

// ── the schema ───────────────────────────────────────────────────────────────────────────────────

/** `int[]` is a list of positive integers (written `500,500` on the command line). */
export type ParamType = "int" | "number" | "boolean" | "string" | "int[]";
export type ParamValue = number | boolean | string | number[];

/** One hyper-parameter. `default` may depend on the data dimension (e.g. PPCA's q < D). */
export interface ParamSpec {
  type: ParamType;
  default: ParamValue | ((dim: number) => ParamValue);
  help: string;
  /** Allowed strings (type "string"). */
  choices?: readonly string[];
  /** Inclusive lower bound (numbers, and every element of int[]). */
  min?: number;
  /** Exclusive upper bound as a function of the data dimension. */
  below?: (dim: number) => number;
}

export type ConfigSchema = Readonly<Record<string, ParamSpec>>;
/** Resolved hyper-parameters: every schema key present, checked. */
export type ModelConfig = Record<string, ParamValue>;

/** What kind of data a model is a density for. */
export type DataKind = "binary" | "continuous";

/** A published test figure to compare with (negative log-likelihood, nats per example). */
export interface Published {
  nats: number;
  /** Evaluation protocol and source, one line. */
  note: string;
}

/** How {@link ModelEntry.score} scored a batch. */
export interface Scored {
  /** log p(x) (or the bound) per example, nats. */
  values: Float32Array;
  /** "exact log-likelihood", "IWAE bound (k = 5000)", "ELBO"... */
  what: string;
}

export interface ScoreOptions {
  /** Importance samples for models with a bound (ignored by exact models). */
  k: number;
  seed: number;
}

export interface ModelEntry {
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** Paper(s) the implementation follows. */
  readonly reference: string;
  readonly data: DataKind;
  /** Binary models: the MNIST binarisation of the published protocol. */
  readonly binarize?: "static" | "dynamic";
  readonly schema: ConfigSchema;
  /** Builds a fresh model (seeded) for data of dimension `dim` from a resolved config. */
  create(dim: number, cfg: ModelConfig, opts: { seed: number; device?: Device }): GenerativeModel;
  /** The optimizer whose state goes into checkpoints (undefined for closed-form / EM models). */
  optimizer(model: GenerativeModel): Optimizer | undefined;
  /** Restores the model's parameters from checkpoint bytes (keys `model.<name>`). */
  restore(model: GenerativeModel, bytes: Uint8Array): Promise<void>;
  /** n samples [n, D], realized (the caller disposes). */
  sample(model: GenerativeModel, n: number, seed: number): Promise<Tensor>;
  /** log p(x) or its best bound per example, read back. */
  score(model: GenerativeModel, x: Tensor, opts: ScoreOptions): Promise<Scored>;
  /** The literature's figure for this configuration on binarised MNIST, or null (with why). */
  published(cfg: ModelConfig): Published | { nats: null; note: string };
  /**
   * Set when trainStep keeps state that the model's state dict and optimizer do not expose
   * (running EM statistics, a lazily built optimizer): a resumed run restarts that state, and
   * this says what it means.
   */
  readonly resumeCaveat?: string;
}

// ── shared pieces ────────────────────────────────────────────────────────────────────────────────

const LR: ParamSpec = { type: "number", default: 1e-3, help: "Adam learning rate", min: 0 };
const COMPILE: ParamSpec = { type: "boolean", default: false, help: "replay a compiled train step (faster steps, slower first step)" };

/** The model's own Adam, if it exposes one as `optimizer` (VAE, NADE, MADE do). */
function ownOptimizer(model: GenerativeModel): Optimizer | undefined {
  const opt = (model as { optimizer?: unknown }).optimizer;
  return opt instanceof Optimizer ? opt : undefined;
}

/**
 * Copies `model.<key>` tensors of a checkpoint into the model's state dict in place. loadInto
 * validates every key, shape and dtype before writing anything; with strict off it ignores the
 * optimizer's keys, so missing model keys are checked here.
 */
async function restoreStateDict(model: GenerativeModel, bytes: Uint8Array): Promise<void> {
  const target = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [`model.${k}`, t]));
  const { missing } = loadInto(target, bytes, { strict: false });
  if (missing.length) throw new CheckpointError(`the checkpoint lacks ${missing.length} model tensor(s): ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`);
}

/** Autoregressive models sample D sequential steps: the compiled path replays one step D times. */
async function sampleModel(model: GenerativeModel, n: number, seed: number): Promise<Tensor> {
  const compiled = (model as { sampleCompiled?: (n: number, o: { seed: number }) => Promise<Tensor> }).sampleCompiled;
  if (compiled) return compiled.call(model, n, { seed });
  return noGrad(() =>
    scope(async () => {
      const x = model.sample(n, { seed });
      await realize(x);
      return x;
    }),
  );
}

/** scoreOf (exact log-likelihood, else IWAE with k, else ELBO), read back. */
async function scoreGeneric(model: GenerativeModel, x: Tensor, opts: ScoreOptions): Promise<Scored> {
  const what = model.logProb ? "exact log-likelihood" : model.iwae && opts.k > 1 ? `IWAE bound (k = ${opts.k})` : "ELBO";
  const values = (await noGrad(() => scope(() => scoreOf(model, x, opts).toArray()))) as Float32Array;
  return { values, what };
}

const noFigure = (note: string) => ({ nats: null, note });

/** Fields every gradient-trained entry shares. */
const gradientEntry = { optimizer: ownOptimizer, restore: restoreStateDict, sample: sampleModel, score: scoreGeneric };

// ── the entries ──────────────────────────────────────────────────────────────────────────────────

const ENTRIES: readonly ModelEntry[] = [
  {
    name: "ppca",
    summary: "probabilistic PCA: a linear-Gaussian latent model with an exact likelihood, fitted by EM",
    reference: "Tipping & Bishop 1999, Probabilistic principal component analysis",
    data: "continuous",
    schema: {
      latentDim: { type: "int", default: (dim) => Math.min(dim - 1, 50), help: "latent dimension q (1 ≤ q < D)", min: 1, below: (dim) => dim },
      minVariance: { type: "number", default: 1e-9, help: "floor on the noise variance σ²", min: 0 },
    },
    create: (dim, cfg, { seed }) => new PPCA(dim, { latentDim: cfg.latentDim as number, minVariance: cfg.minVariance as number, seed }),
    optimizer: () => undefined,
    resumeCaveat: "its running data moments (the EM statistics) are not checkpointed: a resumed run starts them again from the next batch",
    // PPCA keeps float64 parameters on the CPU; its GPU tensors are mirrors, so set the parameters
    async restore(model, bytes) {
      const ppca = model as PPCA;
      await scope(async () => {
        const { tensors } = loadSafetensorsWithMetadata(bytes);
        const get = (k: string) => {
          const t = tensors[`model.${k}`];
          if (!t) throw new CheckpointError(`the checkpoint lacks the PPCA tensor 'model.${k}'`);
          return t.toArray();
        };
        const [W, mu, s2] = await Promise.all([get("W"), get("mu"), get("sigma2")]);
        const q = ppca.latentDim, D = ppca.dim;
        if (W.length !== D * q || mu.length !== D || s2.length !== 1) throw new CheckpointError(`the checkpoint's PPCA tensors do not fit D = ${D}, q = ${q}`);
        ppca.setParameters({ W, mu, sigma2: s2[0]! });
      });
    },
    sample: sampleModel,
    score: scoreGeneric,
    published: () => noFigure("no standard MNIST figure for PPCA: reported in bits/dim on dequantised pixels"),
  },
  {
    name: "bernoulli",
    summary: "factorised Bernoulli: one independent Bernoulli per pixel, a sanity floor (Adam on the exact NLL)",
    reference: "the independent-pixel baseline, e.g. Larochelle & Murray 2011",
    data: "binary",
    binarize: "static",
    schema: { lr: { ...LR, default: 0.05 } },
    create: (dim, cfg) => new FactorisedBernoulli(dim, { lr: cfg.lr as number }),
    ...gradientEntry,
    resumeCaveat: "its Adam state is private to the model and not checkpointed: a resumed run restarts Adam's moments",
    published: () => noFigure("no standard figure: a floor that every other model should beat by a wide margin"),
  },
  {
    name: "bernoulli-mixture",
    summary: "mixture of K factorised Bernoullis trained by stepwise EM (exact likelihood)",
    reference: "Dempster, Laird & Rubin 1977 (EM); Sato & Ishii 2000, Liang & Klein 2009 (stepwise EM)",
    data: "binary",
    binarize: "static",
    schema: {
      components: { type: "int", default: 500, help: "mixture components K", min: 1 },
      alpha: { type: "number", default: 1, help: "Beta pseudo-count per pixel and outcome in the M-step", min: 0 },
      beta: { type: "number", default: 1e-3, help: "Dirichlet pseudo-count per component for the weights", min: 0 },
      kappa: { type: "number", default: 0.6, help: "stepwise-EM step size exponent: η_t = (t + 2)^−κ", min: 0 },
    },
    create: (dim, cfg, { seed }) =>
      new BernoulliMixture(dim, { components: cfg.components as number, alpha: cfg.alpha as number, beta: cfg.beta as number, kappa: cfg.kappa as number, seed }),
    optimizer: () => undefined,
    restore: restoreStateDict,
    sample: sampleModel,
    score: scoreGeneric,
    resumeCaveat: "its stepwise-EM statistics are not checkpointed: a resumed run restarts them from the initial pseudo-counts, which moves the parameters (the loss jumps)",
    published: (cfg) =>
      cfg.components === 500
        ? { nats: 137.64, note: "mixture of 500 Bernoullis, static binarisation (Larochelle & Murray 2011, Table 2)" }
        : noFigure(`no published figure for K = ${String(cfg.components)} (Larochelle & Murray give 137.64 nats for K = 500)`),
  },
  {
    name: "vae",
    summary: "variational autoencoder with a Bernoulli decoder (ELBO, β-ELBO or IWAE objective); scored by the IWAE bound",
    reference: "Kingma & Welling 2014 (VAE); Burda, Grosse & Salakhutdinov 2016 (IWAE)",
    data: "binary",
    binarize: "dynamic",
    schema: {
      zDim: { type: "int", default: 50, help: "latent dimension", min: 1 },
      hidden: { type: "int[]", default: [500, 500], help: "encoder hidden sizes (the decoder mirrors them)", min: 1 },
      activation: { type: "string", default: "tanh", help: "hidden nonlinearity", choices: ["tanh", "softplus", "relu"] },
      arch: { type: "string", default: "mlp", help: "mlp, or conv (two stride-2 convolutions each way)", choices: ["mlp", "conv"] },
      objective: { type: "string", default: "elbo", help: "training objective", choices: ["elbo", "beta-elbo", "iwae"] },
      beta: { type: "number", default: 1, help: "KL weight of beta-elbo", min: 0 },
      k: { type: "int", default: 5, help: "importance samples of the iwae objective", min: 1 },
      lr: LR,
      compile: COMPILE,
    },
    create: (dim, cfg, { seed, device }) =>
      new VAE({
        dim,
        zDim: cfg.zDim as number,
        hidden: cfg.hidden as number[],
        activation: cfg.activation as VaeActivation,
        arch: cfg.arch as "mlp" | "conv",
        objective: cfg.objective as VaeObjective,
        beta: cfg.beta as number,
        k: cfg.k as number,
        lr: cfg.lr as number,
        compile: cfg.compile as boolean,
        seed,
        device,
      }),
    ...gradientEntry,
    // Large k: the streaming estimator keeps one chunk of samples alive at a time
    async score(model, x, { k, seed }) {
      const vae = model as VAE;
      if (k <= 1) return scoreGeneric(model, x, { k, seed });
      const t = await vae.iwaeStreaming(x, k, { seed });
      const values = (await t.toArray()) as Float32Array;
      t.dispose();
      return { values, what: `IWAE bound (k = ${k})` };
    },
    published(cfg) {
      const src = "Burda et al. 2016, Table 1 (one stochastic layer; test log-likelihood estimated by IWAE k = 5000; dynamic binarisation)";
      if (cfg.objective === "elbo") return { nats: 86.76, note: `VAE: ${src}` };
      if (cfg.objective === "iwae" && cfg.k === 50) return { nats: 84.78, note: `IWAE k = 50: ${src}` };
      return noFigure(`no published figure for objective ${String(cfg.objective)}${cfg.objective === "iwae" ? ` with k = ${String(cfg.k)}` : ""} (Burda et al. give VAE 86.76 and IWAE k = 50 84.78)`);
    },
  },
  {
    name: "nade",
    summary: "neural autoregressive distribution estimator: exact likelihood, sequential sampling",
    reference: "Larochelle & Murray 2011, The Neural Autoregressive Distribution Estimator",
    data: "binary",
    binarize: "static",
    schema: {
      hidden: { type: "int", default: 500, help: "hidden units H", min: 1 },
      lr: LR,
      compile: COMPILE,
    },
    create: (dim, cfg, { seed, device }) => new NADE({ dim, hidden: cfg.hidden as number, lr: cfg.lr as number, compile: cfg.compile as boolean, seed, device }),
    ...gradientEntry,
    published: () => ({ nats: 88.33, note: "NADE, 500 hidden units, static binarisation (as reported in Germain et al. 2015, Table 6)" }),
  },
  {
    name: "made",
    summary: "masked autoencoder for distribution estimation: exact likelihood in one pass, optional mask ensembles",
    reference: "Germain, Gregor, Murray & Larochelle 2015, MADE: Masked Autoencoder for Distribution Estimation",
    data: "binary",
    binarize: "static",
    schema: {
      hidden: { type: "int[]", default: [500], help: "hidden layer sizes", min: 1 },
      nMasks: { type: "int", default: 1, help: "mask sets trained over and averaged at test time", min: 1 },
      orderAgnostic: { type: "boolean", default: false, help: "give every mask set its own random input ordering" },
      lr: LR,
      compile: COMPILE,
    },
    create: (dim, cfg, { seed, device }) =>
      new MADE({
        dim,
        hidden: cfg.hidden as number[],
        nMasks: cfg.nMasks as number,
        orderAgnostic: cfg.orderAgnostic as boolean,
        lr: cfg.lr as number,
        compile: cfg.compile as boolean,
        seed,
        device,
      }),
    ...gradientEntry,
    published(cfg) {
      const src = "Germain et al. 2015, Table 6 (one hidden layer of 500 units; static binarisation)";
      if (cfg.nMasks === 1) return { nats: 88.4, note: `MADE, 1 mask: ${src}` };
      if (cfg.nMasks === 32) return { nats: 86.41, note: `MADE, 32 masks: ${src}` };
      return noFigure(`no published figure for ${String(cfg.nMasks)} masks (Germain et al. give 88.40 for 1 mask, 86.41 for 32)`);
    },
  },
];

// ── lookup and configuration ─────────────────────────────────────────────────────────────────────

const BY_NAME = new Map(ENTRIES.map((e) => [e.name, e]));

/** Registered model names, in registry order. */
export function modelNames(): string[] {
  return ENTRIES.map((e) => e.name);
}

/** Every entry, in registry order. */
export function modelEntries(): readonly ModelEntry[] {
  return ENTRIES;
}

/**
 * The entry registered under `name`.
 * @throws UnknownModelError listing the valid names.
 */
export function getModel(name: string): ModelEntry {
  const e = BY_NAME.get(name);
  if (!e) throw new UnknownModelError(name, modelNames());
  return e;
}

const describeType = (s: ParamSpec) => (s.type === "string" && s.choices ? s.choices.join("|") : s.type === "int[]" ? "list of ints, e.g. 500,500" : s.type);

/** A hyper-parameter's default for data of dimension `dim`. */
export function defaultOf(spec: ParamSpec, dim: number): ParamValue {
  const d = typeof spec.default === "function" ? spec.default(dim) : spec.default;
  return Array.isArray(d) ? [...d] : d;
}

/**
 * Parses a command-line string as `spec`'s type (booleans: true/false/1/0/yes/no; int[]: a
 * comma-separated list).
 * @throws ModelConfigError naming `key` when the text does not parse.
 */
export function parseParam(key: string, spec: ParamSpec, text: string): ParamValue {
  const bad = () => new ModelConfigError(`--${kebab(key)}: expected ${describeType(spec)}, got '${text}'`);
  switch (spec.type) {
    case "int":
    case "number": {
      const v = Number(text);
      if (text.trim() === "" || !Number.isFinite(v)) throw bad();
      return v;
    }
    case "boolean": {
      const t = text.toLowerCase();
      if (["true", "1", "yes"].includes(t)) return true;
      if (["false", "0", "no"].includes(t)) return false;
      throw bad();
    }
    case "int[]": {
      const parts = text.split(",").map((s) => s.trim());
      if (parts.some((p) => p === "" || !Number.isFinite(Number(p)))) throw bad();
      return parts.map(Number);
    }
    case "string":
      return text;
  }
}

/** Checks one value against its spec (types, integrality, ranges, choices). */
function checkValue(key: string, spec: ParamSpec, v: unknown, dim: number): ParamValue {
  const fail = (why: string) => new ModelConfigError(`hyper-parameter '${key}': ${why}`);
  const range = (x: number) => {
    if (spec.min !== undefined && x < spec.min) throw fail(`must be ≥ ${spec.min}, got ${x}`);
    if (spec.below && !(x < spec.below(dim))) throw fail(`must be < ${spec.below(dim)} for data of dimension ${dim}, got ${x}`);
  };
  switch (spec.type) {
    case "int":
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) throw fail(`expected a number, got ${JSON.stringify(v)}`);
      if (spec.type === "int" && !Number.isInteger(v)) throw fail(`expected an integer, got ${v}`);
      range(v);
      return v;
    case "boolean":
      if (typeof v !== "boolean") throw fail(`expected true or false, got ${JSON.stringify(v)}`);
      return v;
    case "string":
      if (typeof v !== "string") throw fail(`expected a string, got ${JSON.stringify(v)}`);
      if (spec.choices && !spec.choices.includes(v)) throw fail(`expected one of ${spec.choices.join(", ")}, got '${v}'`);
      return v;
    case "int[]":
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "number" || !Number.isInteger(x))) throw fail(`expected a non-empty list of integers, got ${JSON.stringify(v)}`);
      (v as number[]).forEach(range);
      return [...(v as number[])];
  }
}

/**
 * Fills in defaults and checks `given` against the entry's schema for data of dimension `dim`.
 * @throws ModelConfigError for an unknown key (listing the valid ones) or a bad value.
 */
export function resolveConfig(entry: ModelEntry, dim: number, given: Readonly<Record<string, unknown>> = {}): ModelConfig {
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(entry.schema, k));
  if (unknown.length) {
    const valid = Object.keys(entry.schema).map((k) => `--${kebab(k)}`);
    throw new ModelConfigError(`model '${entry.name}' has no hyper-parameter ${unknown.map((k) => `'${k}'`).join(", ")} (its options: ${valid.join(", ") || "none"})`);
  }
  const out: ModelConfig = {};
  for (const [k, spec] of Object.entries(entry.schema)) {
    out[k] = checkValue(k, spec, Object.hasOwn(given, k) ? given[k] : defaultOf(spec, dim), dim);
  }
  return out;
}

/** Builds a model by name: resolveConfig then create. */
export function createModel(name: string, dim: number, given: Readonly<Record<string, unknown>> = {}, opts: { seed?: number; device?: Device } = {}): { model: GenerativeModel; config: ModelConfig; entry: ModelEntry } {
  const entry = getModel(name);
  const config = resolveConfig(entry, dim, given);
  return { model: entry.create(dim, config, { seed: opts.seed ?? 0, device: opts.device }), config, entry };
}

/** camelCase → kebab-case, the spelling of command-line flags (nMasks → n-masks). */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** kebab-case → camelCase (z-dim → zDim). */
export function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Help lines for an entry's hyper-parameters (`--z-dim <int>  latent dimension (default 50)`). */
export function schemaHelp(entry: ModelEntry, dim?: number): string[] {
  return Object.entries(entry.schema).map(([k, s]) => {
    const d = typeof s.default === "function" ? (dim === undefined ? "depends on the data" : String(s.default(dim))) : Array.isArray(s.default) ? s.default.join(",") : String(s.default);
    // a boolean is a switch on the command line: --compile, or --no-compile
    const flag = s.type === "boolean" ? `  --${kebab(k)}` : `  --${kebab(k)} <${describeType(s)}>`;
    return `${flag.padEnd(40)}${s.help} (default ${s.type === "boolean" ? (d === "true" ? "on" : "off") : d})`;
  });
}
