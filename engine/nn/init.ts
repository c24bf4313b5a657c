/**
 * Seeded initialisers, computed on the CPU with the same Philox stream the GPU would draw, then
 * uploaded once. They match PyTorch's defaults per module (see each module's comment).
 */
import { Rng, normalArray, uniformArray } from "../random.js";
import { fromTyped } from "../ops/node.js";
import type { Tensor } from "../tensor.js";
import type { Device } from "../device.js";

export interface InitOptions {
  rng: Rng;
  device?: Device;
  name?: string;
}

function upload(values: Float64Array, shape: readonly number[], o: InitOptions): Tensor {
  return fromTyped(Float32Array.from(values), shape, "f32", { device: o.device, name: o.name });
}
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** U(−bound, bound). */
export function uniformInit(shape: readonly number[], bound: number, o: InitOptions): Tensor {
  const { key, stream } = o.rng.next();
  const u = uniformArray(count(shape), key, stream);
  return upload(u.map((v) => (2 * v - 1) * bound), shape, o);
}
/** N(0, std²). */
export function normalInit(shape: readonly number[], std: number, o: InitOptions): Tensor {
  const { key, stream } = o.rng.next();
  return upload(normalArray(count(shape), key, stream).map((v) => v * std), shape, o);
}
export const zerosInit = (shape: readonly number[], o: InitOptions) => upload(new Float64Array(count(shape)), shape, o);
export const onesInit = (shape: readonly number[], o: InitOptions) => upload(new Float64Array(count(shape)).fill(1), shape, o);

/** Kaiming-uniform with gain √2/(1+a²); a = √5 is PyTorch's Linear/Conv default → bound 1/√fanIn. */
export function kaimingUniform(shape: readonly number[], fanIn: number, o: InitOptions, a = Math.sqrt(5)): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  return uniformInit(shape, gain * Math.sqrt(3 / fanIn), o);
}
export function kaimingNormal(shape: readonly number[], fanIn: number, o: InitOptions, a = 0): Tensor {
  return normalInit(shape, Math.sqrt(2 / (1 + a * a)) / Math.sqrt(fanIn), o);
}
export function xavierUniform(shape: readonly number[], fanIn: number, fanOut: number, o: InitOptions, gain = 1): Tensor {
  return uniformInit(shape, gain * Math.sqrt(6 / (fanIn + fanOut)), o);
}
export function xavierNormal(shape: readonly number[], fanIn: number, fanOut: number, o: InitOptions, gain = 1): Tensor {
  return normalInit(shape, gain * Math.sqrt(2 / (fanIn + fanOut)), o);
}
