/**
 * Builds the demo's models through models/registry.ts (the one list of model families the CLI and
 * the benchmarks use too) and wraps each in a small adapter, so the session asks "score this",
 * "sample that" without caring which model it holds.
 *
 * Checkpoints use the registry's key layout (`model.<name>`), so weights trained with the CLI load
 * into the page and the other way round.
 */
import { type Tensor } from "../../engine/index.js";
import type { GenerativeModel } from "../../models/model.js";
import { getModel, resolveConfig, type ModelConfig, type ModelEntry } from "../../models/registry.js";
import { modelInfo, type Hyperparams, type ModelId, type ModelInfo } from "../lib/catalog.js";

/** Importance samples of the bound that scores drawings and the density of latent-variable models. */
export const SCORE_K = 16;

/** A model plus what the demo needs to know to drive it. */
export interface DemoModel {
  readonly id: ModelId;
  readonly info: ModelInfo;
  readonly entry: ModelEntry;
  readonly config: ModelConfig;
  readonly model: GenerativeModel;
  /** Latent dimensions for encode/decode, or null. */
  readonly latentDim: number | null;
  /** The literature's test NLL for this configuration on binarised MNIST (nats), if there is one. */
  readonly published: { nats: number; note: string } | null;
  /** log p(x) (or its IWAE bound) per example, read back. */
  score(x: Tensor): Promise<Float32Array>;
  /** n samples [n, D], realized; the caller disposes. */
  sample(n: number, seed: number): Promise<Tensor>;
  /** Copies checkpoint bytes into the model; throws CheckpointError on any mismatch, changing nothing. */
  load(bytes: Uint8Array): Promise<void>;
  /** Tensors written to a checkpoint, keyed as the registry's restore expects. */
  checkpointTensors(): Record<string, Tensor>;
  dispose(): void;
}

/**
 * A fresh model for data of dimension `dim`, built from the demo's (sanitised) hyperparameters.
 * @throws ModelConfigError / UnknownModelError from the registry.
 */
export function buildModel(id: ModelId, hp: Hyperparams, dim: number): DemoModel {
  const info = modelInfo(id);
  const entry = getModel(info.registry);
  const config = resolveConfig(entry, dim, info.toConfig(hp));
  const model = entry.create(dim, config, { seed: Number(hp.seed ?? 0) });
  const z = config.zDim ?? config.latentDim;
  const published = entry.published(config);
  return {
    id,
    info,
    entry,
    config,
    model,
    latentDim: info.latent && typeof z === "number" ? z : null,
    published: published.nats === null ? null : { nats: published.nats, note: published.note },
    score: async (x) => (await entry.score(model, x, { k: SCORE_K, seed: 7 })).values,
    sample: (n, seed) => entry.sample(model, n, seed),
    load: (bytes) => entry.restore(model, bytes),
    checkpointTensors: () => Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [`model.${k}`, t])),
    dispose: () => model.dispose(),
  };
}

/** Number of trainable scalars. */
export function parameterCount(m: GenerativeModel): number {
  return m.parameters().reduce((a, t) => a + t.size, 0);
}
