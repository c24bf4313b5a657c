/**
 * checkOp: the one harness every op test uses. The GPU forward is compared with an independent
 * float64 reference, and the GPU gradients (our backward rules) with central differences of that
 * reference under a random cotangent (never `.sum()`, which hides transposed-index bugs).
 * Runs inside withDevice, so validation errors and leaked buffers fail the test.
 */
import { expect } from "vitest";
import { NdArray, dot } from "../../engine/cpu.js";
import { fromTyped, scope, sum, mul, type Tensor, type DType } from "../../engine/index.js";
import { expectAllclose, numericGrad, randnArray } from "./numeric.js";
import { withDevice } from "./gpu.js";

export interface CheckOpSpec {
  label: string;
  fn: (...xs: Tensor[]) => Tensor;
  ref: (...xs: NdArray[]) => NdArray;
  inputs: NdArray[];
  /** dtype per input (default f32). */
  dtypes?: DType[];
  /** which inputs get gradients checked (default: all f32 inputs). */
  grad?: boolean[];
  rtol?: number;
  atol?: number;
  gradRtol?: number;
  gradAtol?: number;
  /** finite-difference step (f64) */
  eps?: number;
  seed?: number;
}

const TYPED = { f32: Float32Array, i32: Int32Array, u32: Uint32Array } as const;

export function upload(x: NdArray, dtype: DType = "f32", requiresGrad = false): Tensor {
  return fromTyped(new TYPED[dtype](x.data), x.shape, dtype, { requiresGrad });
}

/** The f32-rounded copy of x, so references see exactly what the GPU sees. */
export const asF32 = (x: NdArray) => new NdArray(Float64Array.from(new Float32Array(x.data)), x.shape);

export async function checkOp(spec: CheckOpSpec): Promise<void> {
  const dtypes = spec.dtypes ?? spec.inputs.map(() => "f32" as DType);
  const xs = spec.inputs.map((x, i) => (dtypes[i] === "f32" ? asF32(x) : x));
  const want = spec.grad ?? dtypes.map((d) => d === "f32");
  const expected = spec.ref(...xs);
  await withDevice(async () => {
    await scope(async () => {
      const ts = xs.map((x, i) => upload(x, dtypes[i], want[i]));
      const y = spec.fn(...ts);
      expect(y.shape, `${spec.label}: output shape`).toEqual(expected.shape);
      const got = await y.toArray();
      expectAllclose(got, expected, { rtol: spec.rtol ?? 1e-5, atol: spec.atol ?? 1e-6 }, `${spec.label} forward`);
      if (!want.some(Boolean)) return;
      const cot = randnArray(expected.shape, spec.seed ?? 7);
      const loss = sum(mul(y, upload(cot)));
      loss.backward();
      const numeric = numericGrad((vs) => dot(spec.ref(...vs), cot), xs, spec.eps ?? 1e-6);
      for (let i = 0; i < ts.length; i++) {
        if (!want[i]) continue;
        const g = ts[i]!.grad;
        expect(g, `${spec.label}: gradient of input ${i} missing`).not.toBeNull();
        expectAllclose(await g!.toArray(), numeric[i]!, { rtol: spec.gradRtol ?? 2e-3, atol: spec.gradAtol ?? 2e-4 }, `${spec.label} d/dx${i}`);
      }
    });
  });
}
