/**
 * The Node side of the benchmark: one process per Vulkan driver (the loader picks the driver once
 * per process), started by run.ts with LATENT_VK_ICD and VK_ICD_FILENAMES set. This file is
 * bundled by Vite (build.ts) because tfjs-core's gradient registrations exist only in its ESM
 * sources, which use extensionless imports Node cannot load directly.
 *
 * Usage (after a build): node bench/out/compare-node/node-main.mjs <env> <options JSON> <out.json>
 *
 * latent is initialised first, through its own Node path (it installs its Dawn poll back-off,
 * which wraps the process-global setImmediate, so TF.js and jax-js get it too). Then
 * navigator.gpu is created from the `webgpu` package — here, in the benchmark process only —
 * and TF.js and jax-js are imported, since both look for navigator.gpu when they load.
 */
import { writeFileSync } from "node:fs";
import { create, globals } from "webgpu";
import { latentSuites } from "./libs/latent.js";
import { runSuites } from "./suite.js";
import type { EnvResult, RunOptions, Suite } from "./types.js";

const [env = "node", optsJson = "{}", outPath] = process.argv.slice(2);
const opts = JSON.parse(optsJson) as RunOptions;
const log = (s: string) => console.log(`[${env}] ${s}`);
const startedAt = new Date().toISOString();

const context: Record<string, unknown> = { runtime: `node ${process.version}`, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES };
const suites: Suite[] = [];
const wanted = (v: string) => !opts.variants.length || opts.variants.some((x) => x.startsWith(v));

const { suites: latent, device } = await latentSuites({ pollBackoff: opts.pollBackoff });
suites.push(...latent);
context.latent = await latent[0]!.describe();

// jax-js reads navigator.userAgent (Firefox detection) at load; Node 20 has no navigator at all.
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, "navigator", { value: { gpu: create([]), userAgent: `Node.js/${process.version}` }, configurable: true, writable: true });

if (wanted("tfjs")) {
  try {
    const { tfjsSuite } = await import("./libs/tfjs.js");
    const s = await tfjsSuite();
    suites.push(s);
    context.tfjs = await s.describe();
  } catch (e) {
    context.tfjs = { error: String(e) };
    log(`TF.js unavailable: ${String(e)}`);
  }
}
if (wanted("jax")) {
  try {
    const { jaxSuite } = await import("./libs/jax.js");
    const s = await jaxSuite();
    suites.push(s);
    context.jax = await s.describe();
  } catch (e) {
    context.jax = { error: String(e) };
    log(`jax-js unavailable: ${String(e)}`);
  }
}

log(`adapter: ${String((context.latent as { description?: string }).description)}`);
const measurements = await runSuites(suites, opts, log);
device.destroy();
const result: EnvResult = { env, startedAt, finishedAt: new Date().toISOString(), options: opts, context, measurements };
if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));
else console.log(JSON.stringify(result));
// Dawn keeps the event loop alive while devices exist; the results are written, so leave.
process.exit(0);
