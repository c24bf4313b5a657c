/** The README's MLP example, verbatim in substance: it must run and its loss must fall. */
import { expect, test } from "vitest";
import { tensor, scope, nn, Adam } from "../engine/index.js";
import { testDevice, withDevice } from "./helpers/gpu.js";

test("README: a two-layer MLP trained with Adam fits sin(3x)", async () => {
  await testDevice();
  await withDevice(async () => {
    const xs = Array.from({ length: 128 }, (_, i) => -1 + (2 * i) / 127);
    const x = tensor(xs, [128, 1]);
    const y = tensor(xs.map((v) => Math.sin(3 * v)), [128, 1]);
    const model = new nn.Sequential(new nn.Linear(1, 32, { seed: 1 }), new nn.Tanh(), new nn.Linear(32, 1, { seed: 2 }));
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const losses: number[] = [];
    for (let step = 0; step <= 300; step++) {
      const loss = await scope(async () => {
        const l = model.forward(x).sub(y).square().mean();
        l.backward();
        await opt.step();
        opt.zeroGrad();
        return step % 100 === 0 ? await l.item() : null;
      });
      if (loss !== null) losses.push(loss);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.1);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});
