/**
 * TF.js (tfjs-core + tfjs-backend-webgpu) implementations of the workloads.
 *
 * Layout: TF.js convolutions are NHWC with HWIO filters (its WebGPU backend does not implement
 * NCHW correctly), so conv data is permuted on the CPU at setup; the flattening before the DCGAN's
 * linear layer is NHWC, so its weight rows are permuted too — the function computed is the same.
 * Masked convs: TF.js has none, so the PixelCNN multiplies each weight by a constant 0/1 mask
 * before the conv (gradients flow through the product, so masked taps get exactly zero update).
 * Training uses tf.train.sgd(lr).minimize (the idiomatic TF.js step).
 *
 * Forcing completion: `await t.data()` of a one-element slice (a scalar loss needs no slice) —
 * this submits TF.js's pending command encoder and maps a 4-byte buffer — then
 * `queue.onSubmittedWorkDone()` on TF.js's own device.
 *
 * Gradients: tfjs-core registers none by itself; `register_all_gradients` is imported first.
 */
import type * as TF from "@tensorflow/tfjs-core";
import { NotAvailable, type Case, type Suite } from "../types.js";
import {
  binary,
  dcganLabels,
  dcganParams,
  flatRowsToNhwc,
  gaussian,
  mlpParams,
  nchwToNhwc,
  oihwToHwio,
  pixelCnnParams,
  pixelMask,
  uniform,
  workload,
  type Param,
  type Spec,
} from "../workloads.js";

type Tf = typeof TF;

/** Loads TF.js with the WebGPU backend; navigator.gpu must exist already. */
export async function tfjsSuite(): Promise<Suite> {
  const tf: Tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-core/dist/register_all_gradients");
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new Error("TF.js could not initialise its webgpu backend");
  await tf.ready();
  const backend = tf.backend() as unknown as { device: GPUDevice; adapterInfo: unknown };
  const queue = backend.device.queue;

  /** Waits for all TF.js work, reading one element of `t` (then disposes what it made). */
  const finish = async (t: TF.Tensor, probe: boolean): Promise<number | undefined> => {
    const one = t.size === 1 ? t : tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
    await one.data();
    if (one !== t) one.dispose();
    await queue.onSubmittedWorkDone();
    if (!probe) return undefined;
    const ms = tf.tidy(() => tf.mean(tf.square(t)));
    const v = (await ms.data())[0];
    ms.dispose();
    return v;
  };

  const t = (data: Float32Array, shape: number[]) => tf.tensor(data, shape, "float32");
  const nhwc = (data: Float32Array, [N, C, H, W]: number[]) => t(nchwToNhwc(data, N!, C!, H!, W!), [N!, H!, W!, C!]);
  const hwio = (p: Param) => {
    const [O, I, kh, kw] = p.shape as [number, number, number, number];
    return t(oihwToHwio(p.data, O, I, kh, kw), [kh, kw, I, O]);
  };
  const variable = (x: TF.Tensor) => tf.variable(x, true);
  /** Mean binary cross-entropy of logits z against y: mean(softplus(z) − y·z). */
  const bce = (z: TF.Tensor, y: TF.Tensor) => tf.mean(tf.sub(tf.softplus(z), tf.mul(y, z))) as TF.Scalar;

  const opCase = (keep: TF.Tensor[], f: () => TF.Tensor): Case => ({
    async run(probe) {
      const y = tf.tidy(f);
      const v = await finish(y, !!probe);
      y.dispose();
      return v;
    },
    dispose: () => tf.dispose(keep),
  });

  const trainCase = (vars: TF.Variable[], inputs: TF.Tensor[], loss: () => TF.Scalar, lr: number): Case => {
    const opt = tf.train.sgd(lr);
    return {
      async run(probe) {
        const l = opt.minimize(loss, true, vars)!;
        await finish(l, false);
        const v = probe ? (await l.data())[0] : undefined;
        l.dispose();
        return v;
      },
      dispose() {
        opt.dispose();
        tf.dispose([...vars, ...inputs]);
      },
    };
  };

  const prepare = (spec: Spec): Case => {
    switch (spec.kind) {
      case "matmul": {
        const shape = spec.batch === 1 ? [spec.n, spec.n] : [spec.batch, spec.n, spec.n];
        const n = spec.batch * spec.n * spec.n;
        const [a, b] = [t(gaussian(n, 11), shape), t(gaussian(n, 12), shape)];
        return opCase([a, b], () => tf.matMul(a, b));
      }
      case "softmax": {
        const x = t(gaussian(spec.rows * spec.cols, 13), [spec.rows, spec.cols]);
        return opCase([x], () => tf.softmax(x));
      }
      case "conv": {
        const { N, H, W, Cin, Cout, k } = spec;
        const x = nhwc(gaussian(N * Cin * H * W, 14), [N, Cin, H, W]) as TF.Tensor4D;
        const w = hwio({ shape: [Cout, Cin, k, k], data: uniform(Cout * Cin * k * k, 1 / Math.sqrt(Cin * k * k), 15) }) as TF.Tensor4D;
        if (!spec.grad) return opCase([x, w], () => tf.conv2d(x, w, 1, "same"));
        const r = nhwc(gaussian(N * Cout * H * W, 16), [N, Cout, H, W]);
        const g = tf.grads((xx: TF.Tensor, ww: TF.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, 1, "same"), r)));
        // probe reads dw (mean square is layout-independent); dx is computed and waited for too
        return {
          async run(probe) {
            const [dx, dw] = g([x, w]) as [TF.Tensor, TF.Tensor];
            await finish(dx, false);
            const v = await finish(dw, !!probe);
            tf.dispose([dx, dw]);
            return v;
          },
          dispose: () => tf.dispose([x, w, r]),
        };
      }
      case "mlp": {
        const layers = mlpParams(spec).map((l) => ({ W: variable(t(l.W.data, l.W.shape)), b: variable(t(l.b.data, l.b.shape)) }));
        const x = t(binary(spec.batch * spec.sizes[0]!, 1), [spec.batch, spec.sizes[0]!]);
        const loss = () => {
          let h: TF.Tensor = x;
          layers.forEach((l, i) => {
            h = tf.add(tf.matMul(h, l.W), l.b);
            if (i + 1 < layers.length) h = tf.relu(h);
          });
          return bce(h, x);
        };
        return trainCase(layers.flatMap((l) => [l.W, l.b]), [x], loss, spec.lr);
      }
      case "dcgan": {
        const B = spec.batch, p = dcganParams();
        const w1 = variable(hwio(p.w1)), b1 = variable(t(p.b1.data, p.b1.shape));
        const w2 = variable(hwio(p.w2)), b2 = variable(t(p.b2.data, p.b2.shape));
        const fc = variable(t(flatRowsToNhwc(p.fc.data, 128, 7, 7, 1), p.fc.shape)), fb = variable(t(p.fb.data, p.fb.shape));
        const x = nhwc(gaussian(B * 28 * 28, 2), [B, 1, 28, 28]) as TF.Tensor4D;
        const y = t(dcganLabels(B), [B, 1]);
        const loss = () => {
          // 'same' at stride 2 pads 4×4 kernels by 1 on each side here: 28 → 14 → 7, as padding 1
          let h = tf.leakyRelu(tf.add(tf.conv2d(x, w1 as TF.Tensor4D, 2, "same"), b1), 0.2) as TF.Tensor4D;
          h = tf.leakyRelu(tf.add(tf.conv2d(h, w2 as TF.Tensor4D, 2, "same"), b2), 0.2) as TF.Tensor4D;
          return bce(tf.add(tf.matMul(tf.reshape(h, [B, 128 * 7 * 7]), fc), fb), y);
        };
        return trainCase([w1, b1, w2, b2, fc, fb], [x, y], loss, spec.lr);
      }
      case "pixelcnn": {
        const B = spec.batch;
        const layers = pixelCnnParams(spec.channels).map((l) => ({ w: variable(hwio(l.w)), b: variable(t(l.b.data, l.b.shape)), m: hwio({ shape: l.w.shape, data: pixelMask(l.w.shape, l.mask) }) }));
        const x = nhwc(binary(B * 28 * 28, 3), [B, 1, 28, 28]) as TF.Tensor4D;
        const loss = () => {
          let h: TF.Tensor4D = x;
          layers.forEach((l, i) => {
            h = tf.add(tf.conv2d(h, tf.mul(l.w, l.m) as TF.Tensor4D, 1, "same"), l.b);
            if (i + 1 < layers.length) h = tf.relu(h);
          });
          return bce(h, x);
        };
        return trainCase(
          layers.flatMap((l) => [l.w, l.b]),
          [x, ...layers.map((l) => l.m)],
          loss,
          spec.lr,
        );
      }
    }
  };

  return {
    variant: "tfjs",
    prepare: (id) =>
      Promise.resolve().then(() => {
        const c = prepare(workload(id).spec);
        if (!c) throw new NotAvailable(`no TF.js implementation of ${id}`);
        return c;
      }),
    describe: async () => ({ backend: tf.getBackend(), adapterInfo: backend.adapterInfo, version: tf.version_core }),
    shutdown: async () => tf.disposeVariables(),
  };
}
