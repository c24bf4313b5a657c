import { describe, test } from "vitest";
import * as cpu from "../../engine/cpu.js";
import { conv2d, convTranspose2d } from "../../engine/index.js";
import { checkOp } from "../helpers/check-op.js";
import { testDevice } from "../helpers/gpu.js";
import { randnArray } from "../helpers/numeric.js";

await testDevice();
const rn = (shape: number[], seed: number) => randnArray(shape, seed);

describe("conv2d", () => {
  test("basic 3x3 pad 1", () =>
    checkOp({ label: "c", fn: (x, w, b) => conv2d(x!, w!, b, { padding: 1 }), ref: (x, w, b) => cpu.conv2d(x!, w!, b, { padding: 1 }), inputs: [rn([2, 3, 5, 6], 1), rn([4, 3, 3, 3], 2), rn([4], 3)] }));
  test("stride 2 dil 2 groups 2", () =>
    checkOp({ label: "c2", fn: (x, w) => conv2d(x!, w!, undefined, { padding: 1, stride: 2, dilation: 2, groups: 2 }), ref: (x, w) => cpu.conv2d(x!, w!, undefined, { padding: 1, stride: 2, dilation: 2, groups: 2 }), inputs: [rn([2, 4, 7, 8], 1), rn([4, 2, 3, 3], 2)] }));
  test("convT", () =>
    checkOp({ label: "ct", fn: (x, w) => convTranspose2d(x!, w!, undefined, { padding: 1, stride: 2, outputPadding: 1 }), ref: (x, w) => cpu.convTranspose2d(x!, w!, undefined, { padding: 1, stride: 2, outputPadding: 1 }), inputs: [rn([2, 3, 4, 5], 1), rn([3, 2, 3, 3], 2)] }));
});
