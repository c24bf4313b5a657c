/**
 * `latent train`: the generic training loop over any registered model.
 *
 *   for each step: gather batch (on the GPU) → model.trainStep → add the loss to a GPU accumulator
 *   every logEvery steps: one readback (the window's mean loss), a progress report, a history entry
 *   every ckptEvery steps and at the end: checkpoint (atomic), metrics.json
 *   every sampleEvery steps and at the end: samples-<step>.png
 *
 * Budgets: --steps S and --epochs E are totals for the run (re-running the same command after an
 * interruption finishes the job); --minutes M is wall-clock for this invocation. With several, the
 * first reached stops training; with none, one epoch. A non-finite loss stops training without
 * overwriting the last good checkpoint.
 */
import { CheckpointError, GpuAccumulator, NonFiniteError, realize, scope, type Device } from "../engine/index.js";
import { getModel, resolveConfig } from "../models/registry.js";
import { UsageError } from "./args.js";
import { loadRunCheckpoint, saveRunCheckpoint, type Position } from "./checkpoint.js";
import { dataSpecFor, dimOf, openTrainData } from "./data.js";
import { Progress, formatDuration, formatLoss, type OutStream } from "./progress.js";
import { RUN_FORMAT, latentVersion, prepareRun, type HistoryEntry, type PreparedRun, type RunConfig } from "./run-dir.js";
import { defaultSampleCount, writeSamples } from "./samples.js";

export interface TrainArgs {
  model: string;
  /** Hyper-parameter overrides (camelCase keys of the model's schema). */
  hyper?: Record<string, unknown>;
  data: string;
  out: string;
  steps?: number;
  epochs?: number;
  minutes?: number;
  batch?: number;
  seed?: number;
  /** Train on the first `limit` examples only. */
  limit?: number;
  binarize?: "static" | "dynamic";
  /** MNIST training split. */
  split?: string;
  logEvery?: number;
  ckptEvery?: number;
  /** 0: samples only at the end. */
  sampleEvery?: number;
  force?: boolean;
}

export interface TrainContext {
  dev: Device;
  /** Progress and messages. */
  stderr: OutStream;
  /** Aborting stops training after the current step (the checkpoint is then written). */
  signal?: AbortSignal;
}

export interface TrainResult {
  dir: string;
  config: RunConfig;
  resumed: boolean;
  fromStep: number;
  step: number;
  /** Fractional epochs trained in total. */
  epochs: number;
  seconds: number;
  /** Mean loss of the last window (NaN if no step was taken). */
  loss: number;
  samplesPerSec: number;
  stopped: "budget" | "interrupted";
}

export const TRAIN_DEFAULTS = { batch: 100, seed: 0, logEvery: 50, ckptEvery: 500, sampleEvery: 2000 } as const;

/** Trains (or resumes) a run; see the file comment. */
export async function train(a: TrainArgs, ctx: TrainContext): Promise<TrainResult> {
  const entry = getModel(a.model);
  const dim = dimOf(a.data);
  const hyper = resolveConfig(entry, dim, a.hyper ?? {});
  const data = dataSpecFor(a.data, entry, { binarize: a.binarize, split: a.split, limit: a.limit });
  if (!a.out) throw new UsageError("train: --out <run directory> is required");
  const batch = a.batch ?? TRAIN_DEFAULTS.batch, seed = a.seed ?? TRAIN_DEFAULTS.seed;
  const logEvery = a.logEvery ?? TRAIN_DEFAULTS.logEvery, ckptEvery = a.ckptEvery ?? TRAIN_DEFAULTS.ckptEvery, sampleEvery = a.sampleEvery ?? TRAIN_DEFAULTS.sampleEvery;
  const wanted: RunConfig = { format: RUN_FORMAT, latent: latentVersion(), model: entry.name, hyper, data, batch, seed, created: new Date().toISOString() };

  const { dev } = ctx;
  // the data first: a bad --batch or --limit fails before the run directory is touched
  const train = await openTrainData(data, batch, seed, dev);
  let prepared: PreparedRun;
  try {
    prepared = await prepareRun(a.out, wanted, { force: a.force });
  } catch (e) {
    train.dispose();
    throw e;
  }
  const { dir } = prepared;
  const config = prepared.config;
  const say = (m: string) => ctx.stderr.write(`${m}\n`);
  if (prepared.archived) say(`--force: the previous run was moved to ${prepared.archived}`);

  const model = entry.create(dim, hyper, { seed, device: dev });
  const acc = new GpuAccumulator(dev);
  try {
    let pos: Position = { step: 0, epoch: 0, batch: 0 };
    if (prepared.resume && (await dir.hasCheckpoint())) {
      pos = await loadRunCheckpoint(dir.checkpointPath, entry, model, config);
      say(`resuming ${dir.path} at step ${pos.step} (epoch ${pos.epoch}, batch ${pos.batch})`);
      if (entry.resumeCaveat) say(`note: ${entry.name}: ${entry.resumeCaveat}`);
      if (config.latent !== wanted.latent) say(`note: the run was created with latent ${config.latent}; this is ${wanted.latent}`);
    } else {
      if (!prepared.resume) await dir.writeConfig({ ...config, modelConfig: model.config() });
      say(`${prepared.resume ? "restarting" : "new run"} ${dir.path}: ${entry.name} on ${data.name}${data.transform !== "points" ? ` (${data.transform})` : ""}, ${train.n} examples, batch ${batch}, seed ${seed}`);
    }
    if (pos.batch >= train.batchesPerEpoch) throw new CheckpointError(`${dir.checkpointPath}: its batch ${pos.batch} lies outside an epoch of ${train.batchesPerEpoch} batches`);

    const bpe = train.batchesPerEpoch;
    const target = a.steps ?? (a.epochs !== undefined ? Math.round(a.epochs * bpe) : a.minutes === undefined ? bpe : undefined);
    const budgetMs = a.minutes !== undefined ? a.minutes * 60_000 : undefined;
    const metrics = await dir.readMetrics();
    const progress = new Progress(ctx.stderr);
    const fromStep = pos.step;
    let { step, epoch, batch: bi } = pos;
    const t0 = performance.now();
    let tWin = t0, stepsWin = 0, lastLoss = NaN, lastRate = NaN, lastSamplesAt = -1, lastCkptAt = fromStep;
    let stopped: TrainResult["stopped"] = "budget";

    const state = (now: number) => {
      const elapsed = (now - t0) / 1000;
      const rate = Number.isFinite(lastRate) ? lastRate / batch : (step - fromStep) / Math.max(elapsed, 1e-9);
      const etas: number[] = [], fracs: number[] = [];
      if (target !== undefined) (etas.push((target - step) / Math.max(rate, 1e-9)), fracs.push(target > 0 ? step / target : 1));
      if (budgetMs !== undefined) (etas.push(budgetMs / 1000 - elapsed), fracs.push((now - t0) / budgetMs));
      return {
        step,
        totalSteps: target,
        epoch: step / bpe,
        loss: Number.isFinite(lastLoss) ? lastLoss : undefined,
        samplesPerSec: Number.isFinite(lastRate) ? lastRate : undefined,
        etaSec: etas.length && step > fromStep ? Math.max(0, Math.min(...etas)) : undefined,
        fraction: fracs.length ? Math.max(...fracs) : undefined,
      };
    };
    /** The one readback of a window: its mean loss (also waits for the GPU, so rates are honest). */
    const readWindow = async () => {
      if (!acc.count) return;
      const { mean } = await acc.read();
      const now = performance.now();
      lastLoss = mean;
      lastRate = (stepsWin * batch) / Math.max((now - tWin) / 1000, 1e-9);
      const entryH: HistoryEntry = { step, epoch: step / bpe, loss: mean, samplesPerSec: lastRate, seconds: (now - t0) / 1000 };
      metrics.history.push(entryH);
      tWin = now;
      stepsWin = 0;
      progress.update(state(now), { report: true });
      if (!Number.isFinite(mean)) {
        progress.done();
        await dir.writeMetrics(metrics);
        throw new NonFiniteError(`the training loss became ${mean} in the steps up to ${step}; stopped without saving, so ${dir.checkpointPath} still holds the last good state (lower --lr?)`);
      }
    };
    const checkpoint = async () => {
      if (lastCkptAt === step) return;
      lastCkptAt = step;
      await saveRunCheckpoint(dir.checkpointPath, entry, model, { step, epoch, batch: bi }, config);
      await dir.writeMetrics(metrics);
    };
    const samples = async () => {
      if (lastSamplesAt === step) return;
      await writeSamples(dir.samplesPath(step), entry, model, config.data, defaultSampleCount(config.data), seed);
      lastSamplesAt = step;
    };

    if (target !== undefined && step >= target && budgetMs === undefined) {
      say(`already at step ${step} (target ${target}); nothing to train`);
    }
    for (;;) {
      if (target !== undefined && step >= target) break;
      if (budgetMs !== undefined && performance.now() - t0 >= budgetMs) break;
      if (ctx.signal?.aborted) {
        stopped = "interrupted";
        break;
      }
      await scope(async () => {
        const x = train.batch(epoch, bi);
        await realize(x);
        const { loss } = await model.trainStep(x);
        await acc.add(loss);
      });
      step++;
      stepsWin++;
      if (++bi === bpe) (bi = 0), epoch++;
      if (step % logEvery === 0) await readWindow();
      else progress.update(state(performance.now()));
      if (step % ckptEvery === 0) await checkpoint();
      if (sampleEvery > 0 && step % sampleEvery === 0) await samples();
    }
    await readWindow();
    progress.done();
    const seconds = (performance.now() - t0) / 1000;
    if (step > fromStep) {
      metrics.sessions.push({ started: new Date(Date.now() - seconds * 1000).toISOString(), fromStep, toStep: step, seconds, stopped, driver: dev.info.driver });
      await checkpoint();
      await dir.writeMetrics(metrics);
      await samples();
    }
    const trainedRate = ((step - fromStep) * batch) / Math.max(seconds, 1e-9);
    if (step > fromStep) {
      say(`${stopped === "interrupted" ? "interrupted: " : ""}trained steps ${fromStep}→${step} (epoch ${(step / bpe).toFixed(2)}) in ${formatDuration(seconds)}, ${Math.round(trainedRate)} samples/s; last loss ${formatLoss(lastLoss)}; saved ${dir.checkpointPath}`);
    }
    return { dir: dir.path, config, resumed: prepared.resume && fromStep > 0, fromStep, step, epochs: step / bpe, seconds, loss: lastLoss, samplesPerSec: trainedRate, stopped };
  } finally {
    acc.dispose();
    model.dispose();
    train.dispose();
  }
}
