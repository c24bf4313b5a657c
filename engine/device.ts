/**
 * Device acquisition: the browser's navigator.gpu, Node's `webgpu` package (Dawn), or a GPUDevice
 * the host app already owns. Requests the limits latent needs, turns device loss into
 * DeviceLostError on the next operation, and surfaces uncaptured validation errors.
 */
import { DeviceLostError, GPUValidationError, WebGPUUnavailableError } from "./errors.js";
import { BufferPool } from "./pool.js";
import { PipelineCache } from "./pipelines.js";
import { installPollBackoff } from "./poll.js";

export type DriverName = "lavapipe" | "swiftshader" | "browser" | "adopted" | "unknown";

export const ICD = {
  lavapipe: "/usr/share/vulkan/icd.d/lvp_icd.json",
  swiftshader: "/usr/lib/chromium/vk_swiftshader_icd.json",
} as const;

export interface InitOptions {
  /** Adopt a device the host app owns; latent never destroys an adopted device. */
  device?: GPUDevice;
  /** Use this GPU object instead of navigator.gpu / the webgpu package (tests inject fakes). */
  gpu?: GPU;
  /** Node: which Vulkan driver. Defaults to LATENT_VK_ICD, then lavapipe if present, else SwiftShader. */
  driver?: "lavapipe" | "swiftshader";
  /** Node: wrap Dawn's setImmediate polling with a back-off (default true). */
  pollBackoff?: boolean;
  /** Node: Dawn toggles, e.g. ["disable_robustness"]. */
  dawnToggles?: string[];
  /**
   * Choose kernel tilings by measuring the candidates at first use of each shape class (a few
   * seconds of compiling and timing, once per class per device) instead of the measured
   * per-driver defaults. Also LATENT_AUTOTUNE=1.
   */
  autotune?: boolean;
  /** Make this device the default for tensor creation (default true). */
  makeDefault?: boolean;
  label?: string;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  driver: DriverName;
  /** True for CPU implementations (lavapipe, SwiftShader, WARP...). */
  isSoftware: boolean;
  features: string[];
  subgroupSize?: number;
}

/** A WebGPU device together with latent's pool and pipeline cache. */
export class Device {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  #lost: DeviceLostError | null = null;
  #uncaptured: string[] = [];
  #destroyed = false;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  /** Per-device scratch for other modules (keyed caches, tuned tilings). */
  readonly cache = new Map<string, unknown>();
  /** Measure kernel candidates at first use (see InitOptions.autotune). */
  autotune = false;

  constructor(
    readonly gpu: GPUDevice,
    readonly info: AdapterSummary,
    readonly owned: boolean,
  ) {
    this.pool = new BufferPool(gpu);
    this.pipelines = new PipelineCache(gpu);
    this.limits = gpu.limits;
    this.features = new Set([...gpu.features] as string[]);
    gpu.lost.then((i) => {
      if (!this.#destroyed) this.#lost = new DeviceLostError(i.reason ?? "unknown", i.message);
      else this.#lost = new DeviceLostError("destroyed", "destroy() was called on this device");
    });
    gpu.addEventListener?.("uncapturederror", (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.#uncaptured.push(err?.message ?? String(err));
    });
  }

  /** Throws DeviceLostError (or a pending validation error) if the device cannot be used. */
  check(): void {
    if (this.#lost) throw this.#lost;
    if (this.#destroyed) throw new DeviceLostError("destroyed", "destroy() was called on this device");
    if (this.#uncaptured.length) {
      const msgs = this.#uncaptured.splice(0);
      throw new GPUValidationError(`WebGPU reported ${msgs.length} error(s) (a latent bug — please report it):\n${msgs.join("\n")}`);
    }
  }

  get isLost(): boolean {
    return this.#lost !== null || this.#destroyed;
  }

  /** Converts a rejection during a GPU wait into DeviceLostError when the device is gone. */
  async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      await Promise.resolve();
      if (this.isLost) throw this.#lost ?? new DeviceLostError("destroyed", String(e));
      throw e;
    }
  }

  /**
   * Which measured kernel policy fits this adapter: the software driver actually underneath
   * (Chromium's WebGPU reports driver "browser" but is SwiftShader on machines without a GPU),
   * or "gpu" for hardware.
   */
  get kernelProfile(): "lavapipe" | "swiftshader" | "gpu" {
    const d = this.info.driver;
    if (d === "lavapipe" || d === "swiftshader") return d;
    const text = `${this.info.vendor} ${this.info.architecture} ${this.info.device} ${this.info.description}`.toLowerCase();
    if (text.includes("swiftshader")) return "swiftshader";
    if (text.includes("llvmpipe") || text.includes("lavapipe")) return "lavapipe";
    return "gpu";
  }

  /** Maximum storage buffers one kernel may bind. */
  get maxStorageBuffers(): number {
    return this.limits.maxStorageBuffersPerShaderStage;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.pool.trim();
    if (this.owned) this.gpu.destroy();
    if (defaultDevice === this) defaultDevice = undefined;
  }
}

let defaultDevice: Device | undefined;
let nodeGpu: Promise<GPU> | undefined;

/** The default device set by init(). */
export function currentDevice(): Device {
  if (!defaultDevice) throw new WebGPUUnavailableError("no latent device: call `await init()` first");
  return defaultDevice;
}
export function hasDevice(): boolean {
  return defaultDevice !== undefined;
}
export function setDefaultDevice(d: Device | undefined): void {
  defaultDevice = d;
}

const isNode = () => typeof process !== "undefined" && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === "undefined";

function pickDriver(opt?: "lavapipe" | "swiftshader"): { driver: DriverName; icd?: string } {
  const env = process.env.LATENT_VK_ICD;
  if (opt) return { driver: opt, icd: ICD[opt] };
  if (env) {
    if (env === "lavapipe" || env === "swiftshader") return { driver: env, icd: ICD[env] };
    return { driver: env.includes("swiftshader") ? "swiftshader" : env.includes("lvp") ? "lavapipe" : "unknown", icd: env };
  }
  return { driver: "lavapipe", icd: ICD.lavapipe }; // existence is checked by the caller
}

async function nodeGPU(opts: InitOptions): Promise<{ gpu: GPU; driver: DriverName }> {
  const fs = await import("node:fs");
  let { driver, icd } = pickDriver(opts.driver);
  if (!opts.driver && !process.env.LATENT_VK_ICD && !fs.existsSync(ICD.lavapipe) && fs.existsSync(ICD.swiftshader)) {
    driver = "swiftshader";
    icd = ICD.swiftshader;
  }
  if (icd && !fs.existsSync(icd)) {
    throw new WebGPUUnavailableError(`Vulkan driver '${driver}' not found at ${icd}. Run scripts/setup.sh (installs mesa-vulkan-drivers from bookworm-backports and chromium).`);
  }
  // The Vulkan loader reads this when Dawn creates its instance, so it must be set first.
  if (icd) process.env.VK_ICD_FILENAMES = icd;
  if (opts.pollBackoff !== false) installPollBackoff();
  const toggles = opts.dawnToggles?.length ? [`enable-dawn-features=${opts.dawnToggles.join(",")}`] : [];
  const key = `${icd}|${toggles.join()}`;
  if (!nodeGpu || key !== lastKey) {
    lastKey = key;
    nodeGpu = (async () => {
      let mod: { create: (o: string[]) => GPU };
      try {
        mod = (await import(/* @vite-ignore */ "webgpu" as string)) as { create: (o: string[]) => GPU };
      } catch (e) {
        throw new WebGPUUnavailableError(`WebGPU in Node needs the 'webgpu' package: npm install webgpu (${String(e)})`);
      }
      return mod.create(toggles);
    })();
  }
  return { gpu: await nodeGpu, driver };
}
let lastKey = "";

function summarize(info: GPUAdapterInfo | undefined, features: Iterable<string>, driver: DriverName): AdapterSummary {
  const vendor = info?.vendor ?? "";
  const architecture = info?.architecture ?? "";
  const device = info?.device ?? "";
  const description = info?.description ?? "";
  const text = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  const isSoftware = /llvmpipe|lavapipe|swiftshader|software|warp|cpu/.test(text) || driver === "lavapipe" || driver === "swiftshader";
  if (driver === "unknown" || driver === "browser") {
    if (text.includes("swiftshader")) driver = driver === "browser" ? "browser" : "swiftshader";
    else if (text.includes("llvmpipe")) driver = driver === "browser" ? "browser" : "lavapipe";
  }
  const subgroupSize = (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize;
  return { vendor, architecture, device, description, driver, isSoftware, features: [...features], subgroupSize };
}

const WANTED_FEATURES = ["shader-f16", "subgroups", "timestamp-query"] as const;
const WANTED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupStorageSize",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
] as const;

/**
 * Finds a WebGPU device (or adopts `opts.device`) and makes it the default.
 * @example const dev = await init(); console.log(dev.info.description);
 */
export async function init(opts: InitOptions = {}): Promise<Device> {
  let dev: Device;
  if (opts.device) {
    const d = opts.device;
    dev = new Device(d, summarize(d.adapterInfo, d.features as unknown as Iterable<string>, "adopted"), false);
  } else {
    let gpu = opts.gpu;
    let driver: DriverName = "browser";
    if (!gpu) {
      const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
      if (nav?.gpu) gpu = nav.gpu;
      else if (isNode()) ({ gpu, driver } = await nodeGPU(opts));
      else
        throw new WebGPUUnavailableError(
          "WebGPU is not available in this browser. Use a recent Chrome or Edge (or enable chrome://flags/#enable-unsafe-webgpu), or Firefox Nightly with dom.webgpu.enabled.",
        );
    }
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) {
      throw new WebGPUUnavailableError(
        "navigator.gpu.requestAdapter() returned null: no WebGPU adapter. In Node, run scripts/setup.sh to install lavapipe (mesa-vulkan-drivers from bookworm-backports); in Chrome, check chrome://gpu.",
      );
    }
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k] as number;
    const device = await adapter.requestDevice({ label: opts.label ?? "latent", requiredFeatures, requiredLimits });
    dev = new Device(device, summarize(adapter.info, adapter.features as unknown as Iterable<string>, driver), true);
  }
  const envTune = typeof process !== "undefined" ? process.env?.LATENT_AUTOTUNE : undefined;
  dev.autotune = opts.autotune ?? (envTune === "1" || envTune === "true");
  if (opts.makeDefault !== false) defaultDevice = dev;
  return dev;
}
