/**
 * Module: named parameters, buffers and children, with PyTorch's naming ("encoder.0.weight"), so
 * state dicts saved as safetensors interoperate. Models are plain classes over the Tensor API.
 */
import { CheckpointError } from "../errors.js";
import { Tensor } from "../tensor.js";

export abstract class Module {
  training = true;
  #params = new Map<string, Tensor>();
  #buffers = new Map<string, Tensor>();
  #children = new Map<string, Module>();

  /** Registers a trainable parameter (a realized leaf tensor). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.name ??= name;
    this.#params.set(name, t);
    return t;
  }
  /** Registers a non-trainable state tensor (running statistics...). */
  protected buffer(name: string, t: Tensor): Tensor {
    t.name ??= name;
    this.#buffers.set(name, t);
    return t;
  }
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  abstract forward(...xs: Tensor[]): Tensor;

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#params].map(([k, v]) => [prefix + k, v]);
    for (const [k, c] of this.#children) out.push(...c.namedParameters(`${prefix}${k}.`));
    return out;
  }
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#buffers].map(([k, v]) => [prefix + k, v]);
    for (const [k, c] of this.#children) out.push(...c.namedBuffers(`${prefix}${k}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Parameters and buffers by PyTorch-style name. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }
  /**
   * Replaces parameter and buffer values from `state` (tensors on the same device). Every key
   * and shape is validated before anything changes.
   */
  loadStateDict(state: Record<string, Tensor>, { strict = true } = {}): void {
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const s = state[k];
      if (!s) {
        if (strict) problems.push(`missing key '${k}'`);
      } else if (s.shape.join() !== t.shape.join() || s.dtype !== t.dtype) {
        problems.push(`'${k}': expected ${t.dtype}[${t.shape}], found ${s.dtype}[${s.shape}]`);
      }
    }
    if (strict) for (const k of Object.keys(state)) if (!(k in own)) problems.push(`unexpected key '${k}'`);
    if (problems.length) throw new CheckpointError(`loadStateDict: ${problems.join("; ")}`);
    for (const [k, t] of Object.entries(own)) {
      const s = state[k];
      if (!s) continue;
      if (!s.isRealized) throw new CheckpointError(`loadStateDict: '${k}' is not realized; await realize() first`);
      const enc = t.device.gpu.createCommandEncoder({ label: `load ${k}` });
      enc.copyBufferToBuffer(s.buffer!, 0, t.buffer!, 0, t.size * 4);
      t.device.gpu.queue.submit([enc.finish()]);
    }
  }
  train(on = true): this {
    this.training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Releases every parameter and buffer. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }
}
