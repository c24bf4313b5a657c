/**
 * The quality benchmark: trains one registered model on MNIST for a stated budget, scores it on the
 * test set, prints our figure next to the published one, and records the result as that model's
 * row of bench/QUALITY.md (other models' rows are kept).
 *
 *   npm run quality -- --model vae --minutes 20
 *   npm run quality -- --model made --epochs 5 --test-limit 2000 --hidden 500
 *
 *   --model <name>        a registry model (required)
 *   --minutes M | --epochs E | --steps S   the training budget (as `latent train`; default 1 epoch)
 *   --test-limit N        score the first N of the 10 000 test images (default all)
 *   --k K                 importance samples of bound-based models (default 5000, Burda et al.'s)
 *   --batch B  --seed S  --binarize static|dynamic  --split train|train-full   as `latent train`
 *   --eval-batch B        test images per scoring batch (default 100)
 *   --out DIR             run directory (default runs/quality/<model>-<time>; always a fresh run)
 *   --no-record           print only, leave bench/QUALITY.md alone
 *   any other --flag      a hyper-parameter of the model (see `npx latent models`)
 *
 * Results are what the budget buys on this machine: a short budget shows a worse number, and the
 * row says how long training ran and on which driver.
 */
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { init } from "../engine/index.js";
import { writeFileAtomic } from "../engine/node-fs.js";
import { camel, getModel, kebab, modelNames, parseParam, type ParamValue } from "../models/registry.js";
import { UsageError, boolFlag, checkFlags, choiceFlag, numberFlag, parseArgv } from "../cli/args.js";
import { EVAL_DEFAULTS, evaluate, type EvalResult } from "../cli/evaluate.js";
import { reportError } from "../cli/main.js";
import { formatDuration } from "../cli/progress.js";
import { train, type TrainResult } from "../cli/train.js";

const QUALITY_MD = join(import.meta.dirname, "..", "bench", "QUALITY.md");
const BEGIN = "<!-- quality-rows:begin -->", END = "<!-- quality-rows:end -->";
/** Training shorter than this many epochs is labelled a short budget (the papers train for hundreds). */
const SHORT_EPOCHS = 10;

const OWN = ["model", "minutes", "epochs", "steps", "test-limit", "k", "batch", "seed", "binarize", "split", "eval-batch", "out", "no-record", "debug", "log-every"];

/** Escapes a table cell. */
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A shell-safe rendering of argv (for the reproduce command). */
const shellQuote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

function budgetText(a: { minutes?: number; epochs?: number; steps?: number }): string {
  const parts: string[] = [];
  if (a.minutes !== undefined) parts.push(`${a.minutes} min`);
  if (a.epochs !== undefined) parts.push(`${a.epochs} epoch${a.epochs === 1 ? "" : "s"}`);
  if (a.steps !== undefined) parts.push(`${a.steps} steps`);
  return parts.join(" or ") || "1 epoch";
}

interface Row {
  model: string;
  ours: string;
  published: string;
  metric: string;
  budget: string;
  testSet: string;
  driver: string;
  date: string;
  command: string;
}

const HEADER = `# Quality benchmark

Test-set negative log-likelihood on MNIST, in nats per image (lower is better), of each model family
trained by \`npm run quality\` (scripts/quality.ts) on this repository's machine: 2 CPU cores, no GPU,
WebGPU on a software Vulkan driver. Each row is the latest run of that model; the last column is the
exact command that produced it.

How to read a row:

- **ours** is the mean over the scored test images ± its standard error. Exact models (NADE, MADE,
  the Bernoulli models, PPCA) give the exact NLL; the VAE gives the IWAE bound (an upper bound on
  the NLL) with the stated number of importance samples.
- **budget** is what training was allowed and what it got done. The published figures come from
  hundreds of epochs on GPUs; a budget of minutes on a CPU shows a worse number, and rows trained
  for fewer than ${SHORT_EPOCHS} epochs are marked *short budget*. The driver column gives the
  machine's load average when training started: other processes on the two cores slow training
  down in proportion, so a budget in minutes buys fewer steps on a busy machine.
- **hyper-parameters** are the registry defaults (\`npx latent models\`) unless the command sets one.
- **binarisation**: NADE, MADE and the Bernoulli mixture follow the static-binarisation protocol of
  their papers, with our own fixed seeded binarisation of the same images (models/data/mnist.ts), so
  figures are comparable but not identical; the VAE trains on dynamically binarised images and is
  scored on a test set binarised once with a fixed seed. PPCA models dequantised pixels and is
  reported in bits/dim (no standard figure exists).
- **test set**: the first N of the 10 000 test images when a run used \`--test-limit\`.
`;

function renderRow(r: Row): string {
  return `| ${[`\`${r.model}\``, r.ours, r.published, r.metric, r.budget, r.testSet, r.driver, r.date, `\`${r.command}\``].map(cell).join(" | ")} |`;
}

/** bench/QUALITY.md with `row` replacing the row of the same model (others kept, registry order). */
async function updateQualityMd(row: Row): Promise<void> {
  let text = "";
  try {
    text = await readFile(QUALITY_MD, "utf8");
  } catch {
    /* first run: written from scratch */
  }
  const rows = new Map<string, string>();
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  if (a >= 0 && b > a) {
    for (const line of text.slice(a + BEGIN.length, b).split("\n")) {
      const m = /^\| `([^`]+)` \|/.exec(line.trim());
      if (m) rows.set(m[1]!, line.trim());
    }
  }
  rows.set(row.model, renderRow(row));
  const order = modelNames();
  const sorted = [...rows.entries()].sort(([x], [y]) => (order.indexOf(x) + 1 || 1e9) - (order.indexOf(y) + 1 || 1e9)).map(([, l]) => l);
  const head = a >= 0 ? text.slice(0, a) : `${HEADER}\n`;
  const tail = b >= 0 ? text.slice(b + END.length) : "\n";
  const table = [
    "| model | ours | published | metric | budget (trained) | test set | driver | date | command |",
    "|---|---|---|---|---|---|---|---|---|",
    ...sorted,
  ].join("\n");
  await writeFileAtomic(QUALITY_MD, new TextEncoder().encode(`${head}${BEGIN}\n${table}\n${END}${tail}`));
}

async function run(argv: string[]): Promise<number> {
  const booleans = new Set(["no-record", "debug"]);
  for (const name of modelNames()) for (const [k, s] of Object.entries(getModel(name).schema)) if (s.type === "boolean") booleans.add(kebab(k));
  const args = parseArgv(argv, booleans);
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' (use --model <name>)`);
  const model = args.flags.get("model");
  if (!model) throw new UsageError(`--model is required (one of ${modelNames().join(", ")})`);
  const entry = getModel(model);
  const names = Object.keys(entry.schema).map(kebab);
  checkFlags(args, `quality --model ${model}`, [...OWN, ...names]);
  const hyper: Record<string, ParamValue> = {};
  for (const [f, text] of args.flags) if (names.includes(f)) hyper[camel(f)] = parseParam(camel(f), entry.schema[camel(f)]!, text);

  const budget = { minutes: numberFlag(args, "minutes", { gt: 0 }), epochs: numberFlag(args, "epochs", { gt: 0 }), steps: numberFlag(args, "steps", { int: true, min: 1 }) };
  const testLimit = numberFlag(args, "test-limit", { int: true, min: 1 });
  const k = numberFlag(args, "k", { int: true, min: 1 }) ?? EVAL_DEFAULTS.k;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const out = args.flags.get("out") ?? join("runs", "quality", `${model}-${stamp}`);

  // the machine's load when training starts: other work on the cores slows training down
  const load = loadavg()[0]!, cores = cpus().length;
  const dev = await init();
  const stderr = process.stderr;
  stderr.write(`quality: ${model} on MNIST, budget ${budgetText(budget)}, device ${dev.info.driver} (${dev.info.description})\n`);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  let t: TrainResult, ev: EvalResult;
  try {
    t = await train(
      {
        model, hyper, data: "mnist", out, ...budget,
        batch: numberFlag(args, "batch", { int: true, min: 1 }),
        seed: numberFlag(args, "seed", { int: true, min: 0 }),
        binarize: choiceFlag(args, "binarize", ["static", "dynamic"] as const),
        split: choiceFlag(args, "split", ["train", "train-full"] as const),
        logEvery: numberFlag(args, "log-every", { int: true, min: 1 }),
        sampleEvery: 0,
      },
      { dev, stderr, signal: controller.signal },
    );
    if (t.stopped === "interrupted") {
      stderr.write(`interrupted: the run is saved in ${out}; bench/QUALITY.md was not changed\n`);
      return 130;
    }
    ev = await evaluate({ run: out, limit: testLimit, k, batch: numberFlag(args, "eval-batch", { int: true, min: 1 }) }, { dev, stderr });
  } finally {
    dev.destroy();
  }

  const pub = entry.published(t.config.hyper);
  const exact = ev.what.startsWith("exact");
  const isBpd = t.config.data.transform === "dequantise";
  const ours = isBpd ? `${ev.bitsPerDim.toFixed(3)} bits/dim (NLL ${ev.nll.toFixed(1)} nats)` : `${ev.nll.toFixed(2)} ± ${ev.stdErr.toFixed(2)} nats`;
  const short = t.epochs < SHORT_EPOCHS ? ", *short budget*" : "";
  const trained = `${budgetText(budget)} → ${t.step} steps, ${t.epochs.toFixed(2)} epochs in ${formatDuration(t.seconds)}${short}`;
  const testSet = ev.n === 10_000 ? "all 10 000" : `first ${ev.n} of 10 000`;

  const lines = [
    "",
    `${model} on MNIST (${t.config.data.transform}), ${trained}`,
    `  ours:       ${ours}  [${ev.what}, ${testSet} test images]`,
    pub.nats !== null ? `  published:  ${pub.nats.toFixed(2)} nats  [${pub.note}]` : `  published:  —  [${pub.note}]`,
  ];
  if (pub.nats !== null && !isBpd) lines.push(`  gap:        ${ev.nll - pub.nats >= 0 ? "+" : ""}${(ev.nll - pub.nats).toFixed(2)} nats${exact ? "" : " (ours is a bound)"}`);
  process.stdout.write(`${lines.join("\n")}\n\n`);

  if (!boolFlag(args, "no-record")) {
    await updateQualityMd({
      model,
      ours,
      published: pub.nats !== null ? `${pub.nats.toFixed(2)} nats — ${pub.note}` : `— (${pub.note})`,
      metric: exact ? "exact NLL" : `${ev.what.replace("bound", "bound on NLL")}`,
      budget: trained,
      testSet,
      driver: `${ev.driver} (load ${load.toFixed(1)} on ${cores} cores)`,
      date: ev.date.slice(0, 10),
      command: `npm run quality -- ${argv.filter((x) => x !== "--debug").map(shellQuote).join(" ")}`,
    });
    process.stdout.write(`recorded in ${QUALITY_MD}\n`);
  }
  return 0;
}

const argv = process.argv.slice(2);
let code: number;
try {
  code = await run(argv);
} catch (e) {
  reportError(e, argv.includes("--debug"), process.stderr);
  code = 1;
}
process.exit(code);
