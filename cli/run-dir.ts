/**
 * Run directories. A run lives in one directory:
 *
 *   config.json               what was trained: model, hyper-parameters, data, batch, seed, latent version
 *   checkpoint.safetensors    weights + optimizer state + position (step, epoch, batch), written atomically
 *   metrics.json              loss history, training sessions, evaluations
 *   samples-<step>.png        sample grids
 *
 * The rule is that nothing a user saved is lost or overwritten by accident: a directory holding a
 * run of a different configuration, or files that are not a run at all, is refused; `--force`
 * starts over by moving the old run's files into `replaced-<time>/` inside the directory.
 */
import { createRequire } from "node:module";
import { mkdir, readFile, readdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../engine/node-fs.js";
import type { ModelConfig } from "../models/registry.js";

/** The run directory is unusable: not a directory, not a run, a different run, unreadable files. */
export class RunDirError extends Error {
  override name = "RunDirError";
}

export const RUN_FORMAT = "latent-run/1";
export const CONFIG_FILE = "config.json";
export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const METRICS_FILE = "metrics.json";

/** The version in package.json, recorded in every run. */
export function latentVersion(): string {
  const pkg = createRequire(import.meta.url)("../package.json") as { version?: string };
  return pkg.version ?? "unknown";
}

/** Which data a run trained on, and how the pixels were turned into numbers. */
export interface DataSpec {
  /** "mnist" or a toy name. */
  name: string;
  /** MNIST: the training split ("train" = 50 000, "train-full" = 60 000). */
  split?: string;
  /** MNIST: "static-binary", "dynamic-binary" or "dequantise"; toys: "points". */
  transform: string;
  /** Only the first `limit` training examples (MNIST) / training points (toys). */
  limit?: number;
}

export interface RunConfig {
  format: string;
  /** latent's version when the run was created. */
  latent: string;
  model: string;
  hyper: ModelConfig;
  data: DataSpec;
  batch: number;
  seed: number;
  /** ISO date of creation. */
  created: string;
  /** The model's own config() (informational). */
  modelConfig?: Record<string, unknown>;
}

/** The fields that define a run: two configs with the same identity may share a directory. */
export function identityOf(c: Pick<RunConfig, "model" | "hyper" | "data" | "batch" | "seed">): Record<string, unknown> {
  return { model: c.model, hyper: c.hyper, data: c.data, batch: c.batch, seed: c.seed };
}

/** JSON with object keys sorted, so equal values compare equal as strings. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Human-readable differences between two configs' identities ("hyper.lr: 0.001 → 0.01"). */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k], y = b[k];
    const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (isObj(x) && isObj(y)) out.push(...configDiff(x, y, `${prefix}${k}.`));
    else if (canonicalJson(x) !== canonicalJson(y)) out.push(`${prefix}${k}: ${x === undefined ? "(unset)" : JSON.stringify(x)} → ${y === undefined ? "(unset)" : JSON.stringify(y)}`);
  }
  return out;
}

export interface HistoryEntry {
  step: number;
  epoch: number;
  /** Mean training loss over the window since the previous entry. */
  loss: number;
  samplesPerSec: number;
  /** Seconds of training in this session so far. */
  seconds: number;
}

export interface Session {
  started: string;
  fromStep: number;
  toStep: number;
  seconds: number;
  /** Why it stopped: "budget", "interrupted", "non-finite loss". */
  stopped: string;
  driver: string;
}

export interface Metrics {
  history: HistoryEntry[];
  sessions: Session[];
  evals: Record<string, unknown>[];
}

const isMissing = (e: unknown) => (e as { code?: string } | null)?.code === "ENOENT";
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Files of a run (moved aside by --force). */
const isRunFile = (f: string) => f === CONFIG_FILE || f === CHECKPOINT_FILE || f === METRICS_FILE || /^samples?-.*\.png$/.test(f);

export class RunDir {
  constructor(readonly path: string) {}

  get configPath(): string {
    return join(this.path, CONFIG_FILE);
  }
  get checkpointPath(): string {
    return join(this.path, CHECKPOINT_FILE);
  }
  get metricsPath(): string {
    return join(this.path, METRICS_FILE);
  }
  samplesPath(step: number): string {
    return join(this.path, `samples-${step}.png`);
  }

  /**
   * Opens an existing run for reading (sample, eval).
   * @throws RunDirError when the path is missing, not a directory, or holds no readable config.json.
   */
  static async open(path: string): Promise<{ dir: RunDir; config: RunConfig }> {
    const s = await stat(path).catch((e: unknown) => {
      if (isMissing(e)) throw new RunDirError(`no run directory at '${path}'`);
      throw new RunDirError(`cannot read '${path}': ${reason(e)}`);
    });
    if (!s.isDirectory()) throw new RunDirError(`'${path}' is not a directory (expected a run directory made by 'latent train')`);
    const dir = new RunDir(path);
    const config = await dir.readConfig();
    if (!config) throw new RunDirError(`'${path}' is not a run directory: it has no ${CONFIG_FILE}`);
    return { dir, config };
  }

  /** config.json, or null if there is none. @throws RunDirError if it exists but is unreadable. */
  async readConfig(): Promise<RunConfig | null> {
    let text: string;
    try {
      text = await readFile(this.configPath, "utf8");
    } catch (e) {
      if (isMissing(e)) return null;
      throw new RunDirError(`cannot read ${this.configPath}: ${reason(e)}`);
    }
    let c: unknown;
    try {
      c = JSON.parse(text);
    } catch (e) {
      throw new RunDirError(`${this.configPath} is not valid JSON (${reason(e)}); it was left untouched`);
    }
    const r = c as Partial<RunConfig> | null;
    if (!r || typeof r !== "object" || typeof r.model !== "string" || typeof r.hyper !== "object" || typeof r.data !== "object" || typeof r.batch !== "number" || typeof r.seed !== "number") {
      throw new RunDirError(`${this.configPath} is not a latent run config (expected model, hyper, data, batch, seed)`);
    }
    return r as RunConfig;
  }

  async writeConfig(c: RunConfig): Promise<void> {
    await writeFileAtomic(this.configPath, new TextEncoder().encode(`${JSON.stringify(c, null, 2)}\n`));
  }

  async readMetrics(): Promise<Metrics> {
    const empty: Metrics = { history: [], sessions: [], evals: [] };
    let text: string;
    try {
      text = await readFile(this.metricsPath, "utf8");
    } catch (e) {
      if (isMissing(e)) return empty;
      throw new RunDirError(`cannot read ${this.metricsPath}: ${reason(e)}`);
    }
    try {
      const m = JSON.parse(text) as Partial<Metrics>;
      return { history: m.history ?? [], sessions: m.sessions ?? [], evals: m.evals ?? [] };
    } catch (e) {
      throw new RunDirError(`${this.metricsPath} is not valid JSON (${reason(e)}); it was left untouched`);
    }
  }

  async writeMetrics(m: Metrics): Promise<void> {
    await writeFileAtomic(this.metricsPath, new TextEncoder().encode(`${JSON.stringify(m, null, 1)}\n`));
  }

  async hasCheckpoint(): Promise<boolean> {
    return stat(this.checkpointPath).then((s) => s.isFile(), () => false);
  }

  /** Moves the run's own files into `replaced-<time>/` (other files stay); returns that folder. */
  async archive(): Promise<string> {
    const files = (await readdir(this.path)).filter(isRunFile);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const dest = join(this.path, `replaced-${stamp}`);
    await mkdir(dest);
    for (const f of files) await rename(join(this.path, f), join(dest, f));
    return dest;
  }
}

export interface PreparedRun {
  dir: RunDir;
  /** True when an existing run of the same config continues. */
  resume: boolean;
  /** Where --force moved the previous run, if it did. */
  archived?: string;
  /** The config on disk (the existing one when resuming). */
  config: RunConfig;
}

/**
 * Opens `path` for training with `config`:
 *   missing or empty directory      → a new run (config.json written)
 *   a run with the same identity    → resume it (its config.json is kept)
 *   a config that never trained     → replaced (no checkpoint, no metrics: nothing to lose)
 *   a run with another identity     → RunDirError listing the differences, unless `force`,
 *                                     which moves the old run into replaced-<time>/ and starts over
 *   anything else (a file, a non-run directory) → RunDirError, even with `force`
 */
export async function prepareRun(path: string, config: RunConfig, { force = false } = {}): Promise<PreparedRun> {
  const s = await stat(path).catch((e: unknown) => {
    if (isMissing(e)) return null;
    throw new RunDirError(`cannot use --out '${path}': ${reason(e)}`);
  });
  const dir = new RunDir(path);
  if (s && !s.isDirectory()) throw new RunDirError(`--out '${path}' exists and is not a directory`);
  if (!s) {
    try {
      await mkdir(path, { recursive: true });
    } catch (e) {
      throw new RunDirError(`cannot create the run directory '${path}': ${reason(e)}`);
    }
    await dir.writeConfig(config);
    return { dir, resume: false, config };
  }
  const existing = await dir.readConfig();
  if (!existing) {
    // dot-files are the atomic writer's temporaries; replaced-* folders are earlier --force runs
    const other = (await readdir(path)).filter((f) => !f.startsWith(".") && !f.startsWith("replaced-"));
    if (other.length) throw new RunDirError(`--out '${path}' is not empty and is not a latent run (no ${CONFIG_FILE}); choose a new or empty directory`);
    await dir.writeConfig(config);
    return { dir, resume: false, config };
  }
  const diff = configDiff(identityOf(existing), identityOf(config));
  // a config.json with no checkpoint and no metrics is a run that never trained (e.g. it failed
  // at start-up): nothing in it is worth keeping, so it is simply replaced
  const trained = (await dir.hasCheckpoint()) || (await stat(dir.metricsPath).then(() => true, () => false));
  if (diff.length && !trained) {
    await dir.writeConfig(config);
    return { dir, resume: false, config };
  }
  if (!force && diff.length) {
    throw new RunDirError(`'${path}' holds a run with a different configuration (${diff.join("; ")}); nothing was changed — use another --out, or --force to start over (the old run is moved to ${path}/replaced-<time>/)`);
  }
  if (!force) return { dir, resume: true, config: existing };
  const archived = await dir.archive();
  await dir.writeConfig(config);
  return { dir, resume: false, archived, config };
}
