/**
 * The browser side of the benchmark: a page (bundled by Vite, served on 127.0.0.1) exposing
 * `window.latentBench(env, options, pageOptions)`, which puppeteer calls and which resolves to the
 * environment's results. Progress goes to console.log (forwarded by puppeteer) and to the page.
 */
import { latentSuites } from "../libs/latent.js";
import { jaxSuite } from "../libs/jax.js";
import { tfjsSuite } from "../libs/tfjs.js";
import { runSuites } from "../suite.js";
import type { EnvResult, RunOptions, Suite } from "../types.js";

export interface PageOptions {
  /**
   * Ask every library's requestAdapter for a compatibility-mode adapter. With Chromium's
   * `--use-webgpu-adapter=opengles` and ANGLE on Vulkan (lavapipe) this is how WebGPU reaches
   * lavapipe at all (see bench/compare/README.md); core-mode requests get SwiftShader.
   */
  forceCompat?: boolean;
}

declare global {
  interface Window {
    latentBench(env: string, opts: RunOptions, page?: PageOptions): Promise<EnvResult>;
  }
}

const pre = document.getElementById("log")!;
const log = (s: string) => {
  console.log(s);
  pre.textContent += `${s}\n`;
};

async function adapterFacts(gpu: GPU, options?: GPURequestAdapterOptions): Promise<Record<string, unknown>> {
  const a = await gpu.requestAdapter(options);
  if (!a) return { adapter: null };
  const i = a.info;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isFallbackAdapter: (i as { isFallbackAdapter?: boolean }).isFallbackAdapter,
    coreFeatures: a.features.has("core-features-and-limits"),
    maxStorageBuffersPerShaderStage: a.limits.maxStorageBuffersPerShaderStage,
    maxComputeInvocationsPerWorkgroup: a.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: a.limits.maxComputeWorkgroupStorageSize,
  };
}

window.latentBench = async (env, opts, page = {}) => {
  const startedAt = new Date().toISOString();
  const gpu = navigator.gpu;
  if (!gpu) throw new Error("navigator.gpu is missing (is the page served from 127.0.0.1 with --enable-unsafe-webgpu?)");
  if (page.forceCompat) {
    const original = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (o?: GPURequestAdapterOptions) => original({ ...o, featureLevel: "compatibility" });
  }
  const context: Record<string, unknown> = { runtime: navigator.userAgent, adapter: await adapterFacts(gpu), forceCompat: !!page.forceCompat };
  log(`[${env}] adapter: ${JSON.stringify(context.adapter)}`);
  const suites: Suite[] = [];
  const wanted = (v: string) => !opts.variants.length || opts.variants.some((x) => x.startsWith(v));
  const { suites: latent, device } = await latentSuites({ pollBackoff: false });
  suites.push(...latent);
  context.latent = await latent[0]!.describe();
  for (const [name, load] of [
    ["tfjs", tfjsSuite],
    ["jax", jaxSuite],
  ] as const) {
    if (!wanted(name)) continue;
    try {
      const s = await load();
      suites.push(s);
      context[name] = await s.describe();
    } catch (e) {
      context[name] = { error: String(e) };
      log(`[${env}] ${name} unavailable: ${String(e)}`);
    }
  }
  const measurements = await runSuites(suites, opts, (s) => log(`[${env}] ${s}`));
  device.destroy();
  return { env, startedAt, finishedAt: new Date().toISOString(), options: opts, context, measurements };
};
log("ready");
