/**
 * latent's implementations of the workloads: eager (graph built, realized and optimizer-stepped
 * every rep) and, for the training steps, a compile() step (traced once, replayed).
 *
 * Forcing completion: `realize` (or the optimizer step, or the compiled replay) submits the
 * work, then `queue.onSubmittedWorkDone()` waits for it; no readback inside timed reps.
 */
import * as L from "../../../engine/index.js";
import type { Device, Tensor } from "../../../engine/index.js";
import { NotAvailable, type Case, type Suite, type Variant } from "../types.js";
import { binary, dcganLabels, dcganParams, gaussian, mlpParams, pixelCnnParams, uniform, workload, type DcganSpec, type MlpSpec, type Param, type PixelCnnSpec, type Spec } from "../workloads.js";

const up = (p: Param, requiresGrad = false) => L.fromTyped(p.data, p.shape, "f32", { requiresGrad });
const input = (data: Float32Array, shape: number[]) => L.fromTyped(data, shape, "f32");
/** Mean binary cross-entropy of logits z against targets y: mean(softplus(z) − y·z). */
const bce = (z: Tensor, y: Tensor) => z.softplus().sub(y.mul(z)).mean();

/** A model for a training workload: its parameters and loss on a batch. */
interface Model {
  params: Tensor[];
  inputs: Tensor[];
  loss(...xs: Tensor[]): Tensor;
  lr: number;
}

function mlp(s: MlpSpec): Model {
  const layers = mlpParams(s).map((l) => ({ W: up(l.W, true), b: up(l.b, true) }));
  const x = input(binary(s.batch * s.sizes[0]!, 1), [s.batch, s.sizes[0]!]);
  return {
    params: layers.flatMap((l) => [l.W, l.b]),
    inputs: [x],
    lr: s.lr,
    loss: (xb) => {
      let h = xb;
      layers.forEach((l, i) => {
        h = h.matmul(l.W).add(l.b);
        if (i + 1 < layers.length) h = h.relu();
      });
      return bce(h, xb);
    },
  };
}

function dcgan(s: DcganSpec): Model {
  need("conv2d");
  const p = dcganParams();
  const [w1, b1, w2, b2, fc, fb] = [p.w1, p.b1, p.w2, p.b2, p.fc, p.fb].map((q) => up(q, true)) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const x = input(gaussian(s.batch * 28 * 28, 2), [s.batch, 1, 28, 28]);
  const y = input(dcganLabels(s.batch), [s.batch, 1]);
  return {
    params: [w1, b1, w2, b2, fc, fb],
    inputs: [x, y],
    lr: s.lr,
    loss: (xb, yb) => {
      let h = L.leakyRelu(L.conv2d(xb, w1, b1, { stride: 2, padding: 1 }), 0.2);
      h = L.leakyRelu(L.conv2d(h, w2, b2, { stride: 2, padding: 1 }), 0.2);
      return bce(h.reshape([s.batch, 128 * 7 * 7]).matmul(fc).add(fb), yb!);
    },
  };
}

function pixelCnn(s: PixelCnnSpec): Model {
  need("maskedConv2d");
  const layers = pixelCnnParams(s.channels).map((l) => ({ w: up(l.w, true), b: up(l.b, true), mask: l.mask }));
  const x = input(binary(s.batch * 28 * 28, 3), [s.batch, 1, 28, 28]);
  return {
    params: layers.flatMap((l) => [l.w, l.b]),
    inputs: [x],
    lr: s.lr,
    loss: (xb) => {
      let h = xb;
      layers.forEach((l, i) => {
        h = L.maskedConv2d(h, l.w, l.b, { mask: l.mask });
        if (i + 1 < layers.length) h = h.relu();
      });
      return bce(h, xb);
    },
  };
}

/** Throws NotAvailable when this build of latent does not export `name` (the harness then reports "n/a"). */
function need(name: string): void {
  if (typeof (L as Record<string, unknown>)[name] !== "function") throw new NotAvailable(`latent does not export ${name}`);
}

function trainCase(model: Model, compiled: boolean, done: () => Promise<unknown>): Case {
  const opt = new L.SGD(model.params, { lr: model.lr });
  const step = async (...xs: Tensor[]) => {
    const l = model.loss(...xs);
    l.backward();
    await opt.step(compiled ? {} : { realize: [l] });
    opt.zeroGrad();
    return l;
  };
  const replay = compiled ? L.compile(step, { label: "bench" }) : undefined;
  return {
    async run(probe) {
      if (replay) {
        const l = await replay(...model.inputs);
        await done();
        const v = probe ? await l.item() : undefined;
        l.dispose();
        return v;
      }
      return L.scope(async () => {
        const l = await step(...model.inputs);
        await done();
        return probe ? await l.item() : undefined;
      });
    },
    dispose() {
      replay?.dispose();
      opt.dispose();
      for (const t of [...model.params, ...model.inputs]) t.dispose();
    },
  };
}

/** An op workload: `f` builds the outputs from fixed inputs; probe = mean square of the first output. */
function opCase(inputs: Tensor[], f: () => Tensor[], done: () => Promise<unknown>): Case {
  return {
    run: (probe) =>
      L.scope(async () => {
        const outs = f();
        await L.realize(...outs);
        await done();
        return probe ? await outs[0]!.square().mean().item() : undefined;
      }),
    dispose() {
      for (const t of inputs) t.dispose();
    },
  };
}

function prepare(spec: Spec, compiled: boolean, done: () => Promise<unknown>): Case | undefined {
  switch (spec.kind) {
    case "matmul": {
      const shape = spec.batch === 1 ? [spec.n, spec.n] : [spec.batch, spec.n, spec.n];
      const n = spec.batch * spec.n * spec.n;
      const [a, b] = [input(gaussian(n, 11), shape), input(gaussian(n, 12), shape)];
      return opCase([a, b], () => [a.matmul(b)], done);
    }
    case "softmax": {
      const x = input(gaussian(spec.rows * spec.cols, 13), [spec.rows, spec.cols]);
      return opCase([x], () => [x.softmax(-1)], done);
    }
    case "conv": {
      need("conv2d");
      const { N, H, W, Cin, Cout, k } = spec;
      const x = input(gaussian(N * Cin * H * W, 14), [N, Cin, H, W]);
      const w = input(uniform(Cout * Cin * k * k, 1 / Math.sqrt(Cin * k * k), 15), [Cout, Cin, k, k]);
      if (!spec.grad) return opCase([x, w], () => [L.conv2d(x, w, undefined, { padding: "same" })], done);
      // dy = r (a fixed random cotangent), so dx = convᵀ(r, w) and dw = corr(x, r)
      const r = input(gaussian(N * Cout * H * W, 16), [N, Cout, H, W]);
      const g = L.grad((xx: Tensor, ww: Tensor) => L.conv2d(xx, ww, undefined, { padding: "same" }).mul(r).sum());
      return opCase([x, w, r], () => g(x, w).reverse(), done); // probe reads dw
    }
    case "mlp":
      return trainCase(mlp(spec), compiled, done);
    case "dcgan":
      return trainCase(dcgan(spec), compiled, done);
    case "pixelcnn":
      return trainCase(pixelCnn(spec), compiled, done);
  }
}

/** latent's two suites (eager and compiled) on one device. */
export async function latentSuites(opts: { pollBackoff: boolean; gpu?: GPU }): Promise<{ suites: Suite[]; device: Device }> {
  const dev = await L.init({ pollBackoff: opts.pollBackoff, gpu: opts.gpu });
  const done = () => dev.gpu.queue.onSubmittedWorkDone();
  const make = (variant: Variant): Suite => ({
    variant,
    prepare: (id) => {
      const w = workload(id);
      if (variant === "latent-compiled" && !w.train) return undefined;
      return Promise.resolve().then(() => {
        const c = prepare(w.spec, variant === "latent-compiled", done);
        if (!c) throw new NotAvailable(`no latent implementation of ${id}`);
        return c;
      });
    },
    describe: async () => ({ ...dev.info, limits: { maxStorageBuffersPerShaderStage: dev.limits.maxStorageBuffersPerShaderStage, maxComputeInvocationsPerWorkgroup: dev.limits.maxComputeInvocationsPerWorkgroup } }),
  });
  return { suites: [make("latent"), make("latent-compiled")], device: dev };
}
