/**
 * defineKernel: one declaration gives the WGSL bindings, the uniform struct and its packer, so the
 * TypeScript side and the shader cannot drift apart.
 *
 * Binding convention shared by every kernel in latent (the runtime relies on it):
 *   @binding(0)            var<uniform> params: Params        (always present; padded to 16 B)
 *   @binding(1..n)         var<storage, read> <input>: array<T>
 *   @binding(n+1..n+m)     var<storage, read_write> <output>: array<T>
 * The entry point is always `main`.
 */
import { HEADER, raw, type Wgsl } from "./wgsl.js";

export type Scalar = "u32" | "i32" | "f32";
export type ElemType = Scalar | "vec4<f32>" | "vec4<u32>";
export type Params = Record<string, Scalar>;
export type Buffers = Record<string, ElemType>;

export interface KernelSource<P extends Params = Params> {
  readonly name: string;
  readonly source: Wgsl;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly workgroupSize: readonly [number, number, number];
  /** Packs params in declaration order, the same order the WGSL struct uses. */
  pack(values: { readonly [K in keyof P]: number }): ArrayBuffer;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Bytes of the params uniform for `count` scalar fields (uniforms need 16-byte multiples). */
export const paramsBytes = (count: number) => Math.max(16, roundUp(count * 4, 16));

export function defineKernel<P extends Params>(def: {
  name: string;
  params: P;
  inputs: Buffers;
  outputs: Buffers;
  workgroupSize: number | readonly [number, number, number];
  /** Extra module-scope WGSL (helper functions, workgroup arrays). */
  prelude?: Wgsl;
  /** The body of `main`; `gid`, `lid`, `wid` and `nwg` builtins are in scope. */
  body: Wgsl;
}): KernelSource<P> {
  const keys = Object.keys(def.params) as (keyof P & string)[];
  const inNames = Object.keys(def.inputs);
  const outNames = Object.keys(def.outputs);
  const wg = typeof def.workgroupSize === "number" ? ([def.workgroupSize, 1, 1] as const) : def.workgroupSize;
  const fields = keys.length ? keys.map((k) => `  ${k}: ${def.params[k]},`) : ["  _unused: u32,"];
  const source = raw(
    [
      HEADER,
      `struct Params {\n${fields.join("\n")}\n}`,
      `@group(0) @binding(0) var<uniform> params: Params;`,
      ...inNames.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n}: array<${def.inputs[n]}>;`),
      ...outNames.map(
        (n, i) => `@group(0) @binding(${inNames.length + i + 1}) var<storage, read_write> ${n}: array<${def.outputs[n]}>;`,
      ),
      def.prelude ?? "",
      `@compute @workgroup_size(${wg.join(", ")})`,
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,`,
      `        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
      def.body,
      `}`,
    ].join("\n"),
  );
  const pack = (v: { readonly [K in keyof P]: number }) => {
    const buf = new ArrayBuffer(paramsBytes(keys.length));
    const views = { u32: new Uint32Array(buf), i32: new Int32Array(buf), f32: new Float32Array(buf) };
    keys.forEach((k, i) => {
      const x = v[k];
      if (x === undefined) throw new Error(`${def.name}: missing kernel parameter '${k}' (library bug)`);
      views[def.params[k]][i] = x;
    });
    return buf;
  };
  return { name: def.name, source, inputs: inNames, outputs: outNames, workgroupSize: wg, pack };
}
