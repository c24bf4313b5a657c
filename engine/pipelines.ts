/**
 * Pipeline cache keyed by WGSL source. Compiles asynchronously; concurrent requests for the same
 * source share one compile. A compile failure throws ShaderCompileError with messages and source.
 */
import { ShaderCompileError } from "./errors.js";
import { ShaderStage } from "./gpu-constants.js";
import { debugLevel } from "./debug.js";

export interface CompiledKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly label: string;
  /** Read-only storage bindings, then read_write ones (after the uniform). */
  readonly inputs: number;
  readonly outputs: number;
}

export class PipelineCache {
  #ready = new Map<string, CompiledKernel>();
  #pending = new Map<string, Promise<CompiledKernel>>();
  #layouts = new Map<string, GPUBindGroupLayout>();
  compiles = 0;
  constructor(private readonly device: GPUDevice) {}

  /** Explicit layout: binding 0 uniform, then `inputs` read-only storage, then `outputs` storage. */
  layout(inputs: number, outputs: number): GPUBindGroupLayout {
    const key = `${inputs}:${outputs}`;
    let l = this.#layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: "uniform" } }];
      for (let i = 0; i < inputs; i++) entries.push({ binding: i + 1, visibility: ShaderStage.COMPUTE, buffer: { type: "read-only-storage" } });
      for (let i = 0; i < outputs; i++) entries.push({ binding: inputs + i + 1, visibility: ShaderStage.COMPUTE, buffer: { type: "storage" } });
      l = this.device.createBindGroupLayout({ label: `layout ${key}`, entries });
      this.#layouts.set(key, l);
    }
    return l;
  }

  getSync(code: string): CompiledKernel | undefined {
    return this.#ready.get(code);
  }

  get(label: string, code: string, inputs: number, outputs: number): Promise<CompiledKernel> {
    const hit = this.#ready.get(code);
    if (hit) return Promise.resolve(hit);
    let job = this.#pending.get(code);
    if (!job) {
      job = this.#compile(label, code, inputs, outputs).finally(() => this.#pending.delete(code));
      this.#pending.set(code, job);
    }
    return job;
  }

  async #compile(label: string, code: string, inputs: number, outputs: number): Promise<CompiledKernel> {
    if (debugLevel() >= 2) console.info(`── ${label} ──\n${code}`);
    const t0 = performance.now();
    const module = this.device.createShaderModule({ label, code });
    const layout = this.layout(inputs, outputs);
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      });
    } catch (e) {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => ({ message: m.message, lineNum: m.lineNum, linePos: m.linePos, type: m.type }));
      if (!msgs.length) msgs.push({ message: String(e), lineNum: 0, linePos: 0, type: "error" });
      throw new ShaderCompileError(label, code, msgs);
    }
    this.compiles++;
    if (debugLevel() >= 1) console.info(`[latent] compiled ${label} in ${(performance.now() - t0).toFixed(1)} ms`);
    const k = { pipeline, layout, label, inputs, outputs };
    this.#ready.set(code, k);
    return k;
  }

  get size(): number {
    return this.#ready.size;
  }
}
