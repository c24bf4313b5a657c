/**
 * Shared types of the side-by-side benchmark (bench/compare): what a library implementation
 * provides, what one measurement records, and what one environment's run returns.
 */

/** The libraries (and modes) measured. `latent-compiled` is latent's compile() step. */
export type Variant = "latent" | "latent-compiled" | "tfjs" | "jax";
export const VARIANTS: readonly Variant[] = ["latent", "latent-compiled", "tfjs", "jax"];
export const VARIANT_LABEL: Record<Variant, string> = {
  latent: "latent",
  "latent-compiled": "latent compiled",
  tfjs: "TF.js",
  jax: "jax-js",
};

/**
 * A prepared workload. `run()` does one rep and returns only when the GPU has finished it.
 * `run(true)` (used once, untimed, before warm-up) also reads a scalar back: the loss of a
 * training step, or the mean square of an op's output, so that the report can check that the
 * libraries compute the same thing.
 */
export interface Case {
  run(probe?: boolean): Promise<number | void>;
  dispose(): void | Promise<void>;
}

/** Thrown by an implementation whose library lacks a needed op: reported as "n/a". */
export class NotAvailable extends Error {
  override name = "NotAvailable";
}

/** One library's implementations, keyed by workload id; a missing key means "not applicable". */
export interface Suite {
  variant: Variant;
  /** Builds the case (uploads data, builds models); not timed. */
  prepare(workloadId: string): Promise<Case> | undefined;
  /** Adapter and version facts for the report. */
  describe(): Promise<Record<string, unknown>>;
  /** Releases the library's device (after the last workload). */
  shutdown?(): Promise<void>;
}

export interface Measurement {
  workload: string;
  variant: Variant;
  status: "ok" | "n/a" | "error";
  /** Why a case is n/a or failed. */
  note?: string;
  /** Per-rep wall times in ms, in the order measured. */
  times?: number[];
  median?: number;
  min?: number;
  max?: number;
  /** Untimed warm-up reps (the first one compiles pipelines / traces). */
  warmup?: number;
  /** The first warm-up rep (compilation included), ms. */
  firstMs?: number;
  /** The probe value (see Case.run). */
  probe?: number;
}

export interface RunOptions {
  quick: boolean;
  /** Workload ids (or prefixes) to run; empty = all (or the quick subset). */
  only: string[];
  /** Variants to run; empty = all. */
  variants: Variant[];
  /** Node: install latent's Dawn poll back-off (process-global, so every library gets it). */
  pollBackoff: boolean;
}

export interface EnvResult {
  env: string;
  startedAt: string;
  finishedAt: string;
  options: RunOptions;
  /** Adapter facts as each library sees them, plus runtime facts. */
  context: Record<string, unknown>;
  measurements: Measurement[];
}
