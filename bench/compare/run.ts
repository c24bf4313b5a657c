/**
 * `npm run bench`: latent vs TF.js vs jax-js, same workloads, in one run over three environments:
 *   node-lavapipe     Node + Dawn (`webgpu` package) on Mesa's lavapipe     (child process)
 *   node-swiftshader  Node + Dawn on SwiftShader                            (child process)
 *   chromium          headless Chromium (Debian's), WebGPU on SwiftShader   (puppeteer-core)
 * and, only when asked for with --env, an experimental fourth:
 *   chromium-lavapipe headless Chromium, WebGPU in compatibility mode through Dawn's OpenGLES
 *                     backend on ANGLE on Vulkan on lavapipe (see README.md for why)
 *
 * Flags:
 *   --quick               fewer reps (1 warm-up, 3 timed) and a subset of workloads (smoke runs)
 *   --only <ids>          workloads by id or id prefix, comma-separated (e.g. matmul,conv-14x64-grad)
 *   --env <envs>          environments, comma-separated (aliases: lavapipe, swiftshader, browser)
 *   --lib <variants>      latent, latent-compiled, tfjs, jax (comma-separated)
 *   --no-poll-backoff     Node: do not install latent's Dawn poll back-off
 *   --no-build            reuse the bundles in bench/out from the previous run
 *
 * Writes bench/out/compare-<env>.json per environment and bench/out/compare.md (all tables).
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { ICD } from "../../engine/device.js";
import { buildNode, buildPage, NODE_BUNDLE, OUT, PAGE_DIR, ROOT } from "./build.js";
import { runInChromium, type BrowserEnv } from "./puppeteer.js";
import { describeAdapter, markdown } from "./report.js";
import { VARIANTS, type EnvResult, type RunOptions, type Variant } from "./types.js";
import { selectWorkloads } from "./workloads.js";

type EnvName = "node-lavapipe" | "node-swiftshader" | "chromium" | "chromium-lavapipe";
const DEFAULT_ENVS: EnvName[] = ["node-lavapipe", "node-swiftshader", "chromium"];
const ALIASES: Record<string, EnvName> = { lavapipe: "node-lavapipe", swiftshader: "node-swiftshader", browser: "chromium", "chromium-swiftshader": "chromium" };

const BROWSER_ENVS: Record<"chromium" | "chromium-lavapipe", BrowserEnv> = {
  chromium: { flags: [] },
  "chromium-lavapipe": {
    // GPU process on ANGLE-over-Vulkan with the system loader restricted to lavapipe; WebGPU on
    // Dawn's OpenGLES backend (on that ANGLE), which only serves compatibility-mode adapters.
    flags: ["--use-angle=vulkan", "--use-vulkan=native", "--enable-features=Vulkan", "--ignore-gpu-blocklist", "--use-webgpu-adapter=opengles"],
    dropFlags: ["--enable-unsafe-swiftshader"],
    vars: { VK_ICD_FILENAMES: ICD.lavapipe },
    page: { forceCompat: true },
  },
};

function parseArgs(argv: string[]): { opts: RunOptions; envs: EnvName[]; build: boolean } {
  const opts: RunOptions = { quick: false, only: [], variants: [], pollBackoff: true };
  let envs: EnvName[] = [];
  let build = true;
  const list = (v: string | undefined, flag: string) => {
    if (!v) throw new Error(`${flag} needs a value`);
    return v.split(",").map((s) => s.trim()).filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--quick") opts.quick = true;
    else if (flag === "--only") opts.only.push(...list(value(), flag));
    else if (flag === "--env") {
      for (const e of list(value(), flag)) {
        const name = (ALIASES[e] ?? e) as EnvName;
        if (!(DEFAULT_ENVS as string[]).includes(name) && name !== "chromium-lavapipe") throw new Error(`unknown env '${e}' (node-lavapipe, node-swiftshader, chromium, chromium-lavapipe)`);
        envs.push(name);
      }
    } else if (flag === "--lib") {
      for (const v of list(value(), flag)) {
        if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown library '${v}' (${VARIANTS.join(", ")})`);
        opts.variants.push(v as Variant);
      }
    } else if (flag === "--no-poll-backoff") opts.pollBackoff = false;
    else if (flag === "--no-build") build = false;
    else if (flag === "--help" || flag === "-h") {
      console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (see --help)`);
  }
  if (!envs.length) envs = DEFAULT_ENVS;
  selectWorkloads(opts.only, opts.quick); // validates --only early
  return { opts, envs: [...new Set(envs)], build };
}

function versions(): Record<string, string> {
  const v = (pkg: string) => {
    try {
      return (JSON.parse(readFileSync(resolve(ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      return "?";
    }
  };
  let commit = "?";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    /* not a checkout */
  }
  const latent = (JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { version: string }).version;
  return { latent: `${latent} (${commit}, working tree)`, "@tensorflow/tfjs-core": v("@tensorflow/tfjs-core"), "@tensorflow/tfjs-backend-webgpu": v("@tensorflow/tfjs-backend-webgpu"), "@jax-js/jax": v("@jax-js/jax"), webgpu: v("webgpu"), "puppeteer-core": v("puppeteer-core") };
}

/** Runs the Node bundle in a child process with the driver's ICD; resolves to its results. */
function runNode(env: "node-lavapipe" | "node-swiftshader", opts: RunOptions): Promise<EnvResult> {
  const driver = env === "node-lavapipe" ? "lavapipe" : "swiftshader";
  if (!existsSync(ICD[driver])) return Promise.reject(new Error(`Vulkan driver ${driver} not installed (${ICD[driver]}); run scripts/setup.sh`));
  const out = resolve(OUT, `.compare-${env}.partial.json`);
  rmSync(out, { force: true });
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [NODE_BUNDLE, env, JSON.stringify(opts), out], {
      cwd: ROOT,
      env: { ...process.env, LATENT_VK_ICD: driver, VK_ICD_FILENAMES: ICD[driver] },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pass = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        // Dawn's notes about its own dynamic-offset limits are noise here
        if (line.trim() && !line.includes("artificially reduced")) console.log(line);
      }
    };
    child.stdout.on("data", pass);
    child.stderr.on("data", pass);
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      if (!existsSync(out)) return fail(new Error(`${env}: child exited (${signal ?? code}) without results`));
      const r = JSON.parse(readFileSync(out, "utf8")) as EnvResult;
      rmSync(out, { force: true });
      ok(r);
    });
  });
}

/**
 * Is the environment on the driver it claims? Chromium's adapter info is checked inside the page:
 * the default browser env must be SwiftShader; the lavapipe experiment must not be (its compat
 * adapter hides its strings, but SwiftShader caps workgroups at 256 invocations, lavapipe at 1024).
 */
function adapterCheck(env: EnvName, r: EnvResult): string {
  const a = (r.context.adapter ?? r.context.latent ?? {}) as { architecture?: string; description?: string; maxComputeInvocationsPerWorkgroup?: number };
  const text = `${a.architecture ?? ""} ${a.description ?? ""}`.toLowerCase();
  const ok =
    env === "node-lavapipe" ? text.includes("llvmpipe") : env === "chromium-lavapipe" ? !text.includes("swiftshader") && a.maxComputeInvocationsPerWorkgroup === 1024 : text.includes("swiftshader");
  return `${ok ? "ok" : "UNEXPECTED"} (${describeAdapter(r)})`;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" / ");

async function main(): Promise<void> {
  const { opts, envs, build } = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const vers = versions();
  console.log(`latent vs TF.js vs jax-js — envs: ${envs.join(", ")}; workloads: ${selectWorkloads(opts.only, opts.quick).map((w) => w.id).join(", ")}${opts.quick ? " (quick)" : ""}`);
  console.log(`${cpus().length} CPUs, load average ${load()} (1/5/15 min)`);
  if (build) {
    const t0 = performance.now();
    if (envs.some((e) => e.startsWith("node"))) await buildNode();
    if (envs.some((e) => e.startsWith("chromium"))) await buildPage();
    console.log(`built bundles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const sections: string[] = [];
  let failed = false;
  for (const env of envs) {
    console.log(`\n── ${env} ──`);
    const before = loadavg()[0]!;
    const t0 = performance.now();
    let r: EnvResult;
    try {
      r = env === "node-lavapipe" || env === "node-swiftshader" ? await runNode(env, opts) : await runInChromium(env, PAGE_DIR, opts, BROWSER_ENVS[env], (s) => console.log(s));
    } catch (e) {
      failed = true;
      console.error(`${env} failed: ${e instanceof Error ? e.message : String(e)}`);
      sections.push(`### ${env}\n\nfailed: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const after = loadavg()[0]!;
    const check = adapterCheck(env, r);
    r.context.adapterCheck = check;
    console.log(`adapter check: ${check}`);
    const seconds = (performance.now() - t0) / 1000;
    r.context.versions = vers;
    r.context.host = { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg1Before: before, loadavg1After: after, seconds };
    writeFileSync(resolve(OUT, `compare-${env}.json`), JSON.stringify(r, null, 2));
    const loadNote = `Host load (1-min average) ${before.toFixed(2)} → ${after.toFixed(2)} on ${cpus().length} CPUs${Math.max(before, after) > cpus().length * 0.5 ? " — **taken under load** (other processes shared the CPUs)" : ""}; ${seconds.toFixed(0)} s.`;
    const md = markdown(r, { load: loadNote });
    sections.push(md);
    console.log(`\n${md}`);
  }
  const header = `## latent vs TF.js vs jax-js (${new Date().toISOString().slice(0, 10)})\n\nVersions: ${Object.entries(vers).map(([k, v]) => `${k} ${v}`).join(", ")}.\nEach cell: median ms (min–max) over the timed reps, throughput of the median. Speed-up = best other library's median ÷ latent's (> 1: latent faster); "by min" compares the fastest reps (best other's min ÷ latent's best min), less sensitive to load.\n`;
  writeFileSync(resolve(OUT, "compare.md"), `${header}\n${sections.join("\n\n")}\n`);
  console.log(`\nwrote bench/out/compare.md and bench/out/compare-<env>.json`);
  if (failed) process.exitCode = 1;
}

await main();
