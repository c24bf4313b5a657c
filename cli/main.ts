/**
 * The `latent` command line: train, sample and evaluate generative models from the registry.
 *
 *   latent train <model> --data <dataset> --out runs/NAME [budget] [options]
 *   latent sample <run> [-n 64] [--out file.png]
 *   latent eval <run> [--limit N] [--k 5000]
 *   latent models
 *
 * `main(argv)` is the whole program (bin/latent.mjs calls it; tests call it in-process): it returns
 * the exit code and never throws. Errors print as one line, `latent: <ErrorName>: <message>`, with
 * the stack only under --debug.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { init, type Device } from "../engine/index.js";
import { getModel, modelEntries, camel, kebab, parseParam, schemaHelp, type ParamValue } from "../models/registry.js";
import { UsageError, boolFlag, checkFlags, choiceFlag, numberFlag, parseArgv, type ParsedArgs } from "./args.js";
import { loadRun } from "./checkpoint.js";
import { DATASETS, checkDataset } from "./data.js";
import { EVAL_DEFAULTS, evaluate, formatEval } from "./evaluate.js";
import type { OutStream } from "./progress.js";
import { latentVersion } from "./run-dir.js";
import { defaultSampleCount, writeSamples } from "./samples.js";
import { TRAIN_DEFAULTS, train } from "./train.js";

export interface MainIO {
  /** Results (eval figures, written paths). Default process.stdout. */
  stdout?: OutStream;
  /** Progress, messages and errors. Default process.stderr. */
  stderr?: OutStream;
  /** A device to use (tests share one); otherwise main opens one and destroys it at the end. */
  device?: Device;
  /** Stop training cleanly on Ctrl-C (the first one checkpoints and exits; a second one kills). */
  handleSignals?: boolean;
}

const COMMANDS = ["train", "sample", "eval", "models"] as const;
const COMMON = ["help", "debug"];
const TRAIN_FLAGS = ["data", "out", "steps", "epochs", "minutes", "batch", "seed", "limit", "binarize", "split", "log-every", "ckpt-every", "sample-every", "force", ...COMMON];
const SAMPLE_FLAGS = ["n", "out", "seed", "force", ...COMMON];
const EVAL_FLAGS = ["limit", "k", "batch", "seed", "json", "no-record", ...COMMON];

/** Every flag that takes no value: the CLI's own and every boolean hyper-parameter of every model. */
function booleanFlags(): Set<string> {
  const s = new Set(["help", "debug", "force", "json", "no-record", "version"]);
  for (const e of modelEntries()) for (const [k, spec] of Object.entries(e.schema)) if (spec.type === "boolean") s.add(kebab(k));
  return s;
}

const USAGE = `latent — deep generative models on WebGPU

usage:
  latent train <model> --data <dataset> --out <run dir> [--epochs N | --minutes M | --steps S] [options]
  latent sample <run dir> [-n 64] [--out file.png] [--seed S]
  latent eval <run dir> [--limit N] [--k 5000]
  latent models                      list the models and their hyper-parameters

  latent <command> --help            options of a command
  --debug                            print stack traces of errors

models:   ${modelEntries().map((e) => e.name).join(", ")}
datasets: ${DATASETS.join(", ")}
`;

function trainHelp(model?: string): string {
  const entry = model ? getModel(model) : undefined;
  const hyper = entry ? [`hyper-parameters of ${entry.name} (${entry.reference}):`, ...schemaHelp(entry)] : ["model hyper-parameters: see 'latent models' or 'latent train <model> --help'"];
  return `usage: latent train <model> --data <dataset> --out <run dir> [options]

Trains a model, or resumes the run in --out (same configuration required). Writes config.json,
checkpoint.safetensors (weights, optimizer state, step; atomic), metrics.json and samples-<step>.png.

  --data <name>          ${DATASETS.join(" | ")}
  --out <dir>            the run directory (created if missing; an existing run of the same config resumes)
  --epochs <n>           train until n epochs in total (fractions allowed)
  --minutes <m>          train for m minutes of wall-clock in this invocation
  --steps <s>            train until step s in total         (no budget: 1 epoch; several: first reached)
  --batch <b>            examples per step (default ${TRAIN_DEFAULTS.batch})
  --seed <s>             seeds the weights, the data order and the binarisation (default ${TRAIN_DEFAULTS.seed})
  --limit <n>            train on the first n examples only
  --binarize <how>       static | dynamic (MNIST, binary models; default: the model's published protocol)
  --split <name>         MNIST training split: train (50 000) | train-full (60 000, default)
  --log-every <n>        read the loss back every n steps (default ${TRAIN_DEFAULTS.logEvery})
  --ckpt-every <n>       checkpoint every n steps (default ${TRAIN_DEFAULTS.ckptEvery}; always at the end)
  --sample-every <n>     write samples-<step>.png every n steps (default ${TRAIN_DEFAULTS.sampleEvery}; 0 = only at the end)
  --force                start over in a directory holding another run (its files move to <out>/replaced-<time>/)

${hyper.join("\n")}
`;
}

const SAMPLE_HELP = `usage: latent sample <run dir> [-n N] [--out file.png] [--seed S] [--force]

Draws N samples from the run's checkpoint and writes a PNG: a grid of digits for MNIST (default 64),
the data's density next to the model's for the 2-D toys (default 5000 points).

  -n <N>        number of samples
  --out <file>  where to write (default <run>/sample-<step>-seed<S>.png; an existing file is refused without --force)
  --seed <S>    seed of the samples (default 0)
`;

const EVAL_HELP = `usage: latent eval <run dir> [--limit N] [--k K] [--batch B] [--seed S] [--json]

Scores the run's checkpoint on the test set of its data: the exact negative log-likelihood for
exact models, the IWAE bound with K importance samples for the VAE (an upper bound on the NLL), in
nats per example (± standard error) and bits/dim. Appends the result to the run's metrics.json.

  --limit <N>   only the first N test examples (default: all, 10 000 for MNIST)
  --k <K>       importance samples for bound-based models (default ${EVAL_DEFAULTS.k}, as Burda et al.)
  --batch <B>   test examples per batch (default ${EVAL_DEFAULTS.batch})
  --seed <S>    seed of the bound's samples (default ${EVAL_DEFAULTS.seed})
  --json        print the result as JSON
  --no-record   do not append to metrics.json
`;

function modelsText(): string {
  const out: string[] = [];
  for (const e of modelEntries()) {
    out.push(`${e.name} — ${e.summary}`, `  data: ${e.data === "binary" ? `binary (MNIST, ${e.binarize ?? "dynamic"} binarisation by default)` : "continuous (dequantised MNIST, 2-D toys)"}`, `  after: ${e.reference}`);
    out.push(...schemaHelp(e).map((l) => `  ${l}`), "");
  }
  return out.join("\n");
}

/** Hyper-parameter overrides from the flags named in the model's schema. */
function hyperFlags(args: ParsedArgs, model: string): { hyper: Record<string, ParamValue>; names: string[] } {
  const entry = getModel(model);
  const names = Object.keys(entry.schema).map(kebab);
  const hyper: Record<string, ParamValue> = {};
  for (const [flag, text] of args.flags) {
    if (!names.includes(flag)) continue;
    const key = camel(flag);
    hyper[key] = parseParam(key, entry.schema[key]!, text);
  }
  return { hyper, names };
}

const requireFlag = (args: ParsedArgs, name: string, cmd: string) => {
  const v = args.flags.get(name);
  if (v === undefined) throw new UsageError(`${cmd}: --${name} is required (see latent ${cmd} --help)`);
  return v;
};

/** One positional argument after the command; more is an error. */
function onePositional(args: ParsedArgs, cmd: string, what: string): string {
  const [, p, ...rest] = args.positionals;
  if (p === undefined) throw new UsageError(`${cmd}: missing the ${what} (usage: latent ${cmd} <${what}> ...; see --help)`);
  if (rest.length) throw new UsageError(`${cmd}: unexpected argument${rest.length > 1 ? "s" : ""} ${rest.map((r) => `'${r}'`).join(" ")}`);
  return p;
}

/** A path for a new file: `base.png`, else `base-1.png`, `base-2.png`, … (never an existing file). */
async function freshPath(dir: string, base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const p = join(dir, i ? `${base}-${i}.png` : `${base}.png`);
    if (!(await stat(p).then(() => true, () => false))) return p;
  }
}

/** Runs the CLI; returns the exit code (0 ok, 1 error, 130 interrupted). */
export async function main(argv: readonly string[], io: MainIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout, stderr = io.stderr ?? process.stderr;
  let debug = argv.includes("--debug");
  let dev: Device | undefined = io.device;
  const ownDevice = !io.device;
  const device = async () => (dev ??= await init());
  let removeSignal = () => {};
  try {
    const args = parseArgv(argv, booleanFlags());
    debug = boolFlag(args, "debug");
    const cmd = args.positionals[0];
    if (args.flags.has("version")) {
      stdout.write(`${latentVersion()}\n`);
      return 0;
    }
    if (cmd === undefined || cmd === "help") {
      const topic = args.positionals[1];
      if (cmd === undefined && !args.flags.has("help")) throw new UsageError(`missing a command (${COMMANDS.join(", ")}); see latent --help`);
      stdout.write(topic === "train" ? trainHelp() : topic === "sample" ? SAMPLE_HELP : topic === "eval" ? EVAL_HELP : USAGE);
      return 0;
    }
    const help = boolFlag(args, "help");
    switch (cmd) {
      case "models": {
        checkFlags(args, cmd, COMMON);
        stdout.write(modelsText());
        return 0;
      }
      case "train": {
        const model = args.positionals[1];
        if (help) {
          stdout.write(trainHelp(model));
          return 0;
        }
        if (model === undefined) throw new UsageError(`train: missing the model (one of ${modelEntries().map((e) => e.name).join(", ")})`);
        onePositional(args, cmd, "model");
        const { hyper, names } = hyperFlags(args, model);
        checkFlags(args, `train ${model}`, [...TRAIN_FLAGS, ...names]);
        const data = requireFlag(args, "data", cmd);
        checkDataset(data);
        const out = requireFlag(args, "out", cmd);
        const controller = new AbortController();
        if (io.handleSignals) {
          const onSigint = () => {
            if (controller.signal.aborted) process.exit(130);
            stderr.write("\ninterrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit now)\n");
            controller.abort();
          };
          process.on("SIGINT", onSigint);
          removeSignal = () => process.off("SIGINT", onSigint);
        }
        const r = await train(
          {
            model,
            hyper,
            data,
            out,
            steps: numberFlag(args, "steps", { int: true, min: 0 }),
            epochs: numberFlag(args, "epochs", { min: 0 }),
            minutes: numberFlag(args, "minutes", { gt: 0 }),
            batch: numberFlag(args, "batch", { int: true, min: 1 }),
            seed: numberFlag(args, "seed", { int: true, min: 0 }),
            limit: numberFlag(args, "limit", { int: true, min: 1 }),
            binarize: choiceFlag(args, "binarize", ["static", "dynamic"] as const),
            split: choiceFlag(args, "split", ["train", "train-full"] as const),
            logEvery: numberFlag(args, "log-every", { int: true, min: 1 }),
            ckptEvery: numberFlag(args, "ckpt-every", { int: true, min: 1 }),
            sampleEvery: numberFlag(args, "sample-every", { int: true, min: 0 }),
            force: boolFlag(args, "force"),
          },
          { dev: await device(), stderr, signal: controller.signal },
        );
        stdout.write(`${r.dir}\n`);
        return r.stopped === "interrupted" ? 130 : 0;
      }
      case "sample": {
        if (help) {
          stdout.write(SAMPLE_HELP);
          return 0;
        }
        checkFlags(args, cmd, SAMPLE_FLAGS);
        const runPath = onePositional(args, cmd, "run dir");
        const seed = numberFlag(args, "seed", { int: true, min: 0 }) ?? 0;
        const explicit = args.flags.get("out");
        if (explicit !== undefined && !boolFlag(args, "force") && (await stat(explicit).then(() => true, () => false))) {
          throw new UsageError(`sample: '${explicit}' already exists; choose another --out or pass --force to overwrite it`);
        }
        const run = await loadRun(runPath, await device());
        try {
          const n = numberFlag(args, "n", { int: true, min: 1 }) ?? defaultSampleCount(run.config.data);
          const path = explicit ?? (await freshPath(runPath, `sample-${run.position.step}-seed${seed}`));
          await writeSamples(path, run.entry, run.model, run.config.data, n, seed);
          stdout.write(`${path}\n`);
        } finally {
          run.model.dispose();
        }
        return 0;
      }
      case "eval": {
        if (help) {
          stdout.write(EVAL_HELP);
          return 0;
        }
        checkFlags(args, cmd, EVAL_FLAGS);
        const runPath = onePositional(args, cmd, "run dir");
        const r = await evaluate(
          {
            run: runPath,
            limit: numberFlag(args, "limit", { int: true, min: 1 }),
            k: numberFlag(args, "k", { int: true, min: 1 }),
            batch: numberFlag(args, "batch", { int: true, min: 1 }),
            seed: numberFlag(args, "seed", { int: true, min: 0 }),
            record: !boolFlag(args, "no-record"),
          },
          { dev: await device(), stderr },
        );
        stdout.write(boolFlag(args, "json") ? `${JSON.stringify(r, null, 2)}\n` : formatEval(r));
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${cmd}' (commands: ${COMMANDS.join(", ")})`);
    }
  } catch (e) {
    reportError(e, debug, stderr);
    return 1;
  } finally {
    removeSignal();
    if (ownDevice && dev) dev.destroy();
  }
}

/** `latent: Name: first line of the message`; the stack (and the rest) only with --debug. */
export function reportError(e: unknown, debug: boolean, stderr: OutStream): void {
  const name = e instanceof Error ? e.name : "Error";
  const msg = e instanceof Error ? e.message : String(e);
  const [first, ...more] = msg.split("\n");
  stderr.write(`latent: ${name}: ${first}${more.length && !debug ? " (more with --debug)" : ""}\n`);
  if (debug) {
    if (more.length) stderr.write(`${more.join("\n")}\n`);
    if (e instanceof Error && e.stack) stderr.write(`${e.stack}\n`);
    if (e instanceof Error && e.cause) stderr.write(`caused by: ${e.cause instanceof Error ? e.cause.stack ?? e.cause.message : String(e.cause)}\n`);
  }
}
