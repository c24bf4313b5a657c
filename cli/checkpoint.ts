/**
 * A run's checkpoint: one safetensors file holding the model's state dict (`model.<name>`), the
 * optimizer's moment buffers (`optim.<param>.<slot>`) and, in the metadata, the optimizer's
 * counters, the position in the data (step, epoch, next batch) and a hash of the run's identity, so
 * a checkpoint copied next to another run's config.json is refused instead of silently loaded.
 * Written with engine/node-checkpoint.ts, i.e. atomically: a crash mid-save keeps the old file.
 */
import { createHash } from "node:crypto";
import { CheckpointError, fromTyped, scope, type Device, type OptimizerState, type Tensor } from "../engine/index.js";
import { saveCheckpointFile } from "../engine/node-checkpoint.js";
import { readFileBytes } from "../engine/node-fs.js";
import { decodeSafetensors } from "../engine/safetensors.js";
import type { GenerativeModel } from "../models/model.js";
import { getModel, resolveConfig, type ModelEntry } from "../models/registry.js";
import { dimOf } from "./data.js";
import { RunDir, RunDirError, canonicalJson, identityOf, type RunConfig } from "./run-dir.js";

export const CHECKPOINT_FORMAT = "latent-checkpoint/1";

/** Where training stands: steps taken, and the next batch (epoch e, batch i) to train on. */
export interface Position {
  step: number;
  epoch: number;
  batch: number;
}

/** A short hash of the run's identity (model, hyper-parameters, data, batch, seed). */
export function identityHash(config: RunConfig): string {
  return createHash("sha256").update(canonicalJson(identityOf(config))).digest("hex").slice(0, 16);
}

/** Saves model + optimizer + position to `path` atomically. */
export async function saveRunCheckpoint(path: string, entry: ModelEntry, model: GenerativeModel, pos: Position, config: RunConfig): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = t;
  const meta: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: config.model,
    config: identityHash(config),
    step: String(pos.step),
    epoch: String(pos.epoch),
    batch: String(pos.batch),
  };
  const opt = entry.optimizer(model);
  if (opt) {
    const sd = opt.stateDict();
    for (const [k, t] of Object.entries(sd.tensors)) tensors[`optim.${k}`] = t;
    meta.optimizer = JSON.stringify(sd.meta);
  }
  await saveCheckpointFile(path, tensors, meta);
}

const int = (meta: Record<string, string>, k: string, path: string): number => {
  const v = Number(meta[k]);
  if (meta[k] === undefined || !Number.isSafeInteger(v) || v < 0) throw new CheckpointError(`${path}: metadata '${k}' should be a non-negative integer, found ${JSON.stringify(meta[k])}`);
  return v;
};

/**
 * Restores model + optimizer from `path` and returns the position to continue from.
 * @throws CheckpointError if the file is missing, corrupt, from another run, or does not fit the model.
 */
export async function loadRunCheckpoint(path: string, entry: ModelEntry, model: GenerativeModel, config: RunConfig): Promise<Position> {
  const bytes = await readFileBytes(path);
  // decode on the CPU first: a corrupt or foreign file is rejected before anything is uploaded
  const { tensors, metadata: meta } = decodeSafetensors(bytes);
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${path} is not a latent run checkpoint (metadata format ${JSON.stringify(meta.format)}, expected "${CHECKPOINT_FORMAT}")`);
  if (meta.config !== identityHash(config)) throw new CheckpointError(`${path} was written by a run of another configuration than ${config.model} in this directory's config.json`);
  const pos = { step: int(meta, "step", path), epoch: int(meta, "epoch", path), batch: int(meta, "batch", path) };
  try {
    await entry.restore(model, bytes);
  } catch (e) {
    throw new CheckpointError(`${path} does not fit the model: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const opt = entry.optimizer(model);
  if (opt && meta.optimizer !== undefined) {
    let optMeta: unknown;
    try {
      optMeta = JSON.parse(meta.optimizer);
    } catch {
      throw new CheckpointError(`${path}: the optimizer metadata is not JSON`);
    }
    await scope(async () => {
      const state: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(tensors)) {
        if (!k.startsWith("optim.")) continue;
        if (t.dtype !== "F32") throw new CheckpointError(`${path}: optimizer tensor '${k}' has dtype ${t.dtype}, expected F32`);
        state[k.slice(6)] = fromTyped(t.data, t.shape, "f32", { device: opt.params[0]?.device });
      }
      await opt.loadStateDict({ meta: optMeta as OptimizerState["meta"], tensors: state });
    });
  }
  return pos;
}

/** A trained run, loaded for sampling or evaluation. */
export interface LoadedRun {
  dir: RunDir;
  config: RunConfig;
  entry: ModelEntry;
  model: GenerativeModel;
  position: Position;
}

/**
 * Opens the run at `path` and rebuilds its model from config.json and checkpoint.safetensors.
 * @throws RunDirError (no run, no checkpoint), UnknownModelError, CheckpointError.
 */
export async function loadRun(path: string, dev: Device): Promise<LoadedRun> {
  const { dir, config } = await RunDir.open(path);
  const entry = getModel(config.model);
  if (!(await dir.hasCheckpoint())) throw new RunDirError(`run '${path}' has no ${dir.checkpointPath.slice(path.length + 1)} yet (train it first)`);
  const dim = dimOf(config.data.name);
  const hyper = resolveConfig(entry, dim, config.hyper);
  const model = entry.create(dim, hyper, { seed: config.seed, device: dev });
  try {
    const position = await loadRunCheckpoint(dir.checkpointPath, entry, model, config);
    return { dir, config, entry, model, position };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
