/**
 * jax-js implementations of the workloads, on its WebGPU backend.
 *
 * jax-js arrays are reference-counted and every op consumes its arguments, so an array used
 * twice is passed as `a.ref` the first time. Its ops are lazy: `blockUntilReady` dispatches the
 * pending kernels and waits for them (then `queue.onSubmittedWorkDone()` on jax-js's device, as
 * for the other libraries). Single ops run eagerly; the gradient workloads and training steps are
 * `jit`-compiled whole (forward, backward and the SGD update p − lr·g in one traced function) —
 * jax-js's fastest mode and the idiomatic JAX way to write a step.
 *
 * Layout is NCHW / OIHW as in latent (lax.convGeneralDilated). Masked convs: jax-js has none, so
 * the PixelCNN multiplies each weight by a constant 0/1 mask (passed as a non-differentiated
 * argument) before the conv.
 */
import type * as JAX from "@jax-js/jax";
import { NotAvailable, type Case, type Suite } from "../types.js";
import { binary, dcganLabels, dcganParams, gaussian, mlpParams, pixelCnnParams, pixelMask, uniform, workload, type Param, type Spec } from "../workloads.js";

type Jax = typeof JAX;
type Arr = JAX.Array;
type Params = Record<string, Arr>;

/** Loads jax-js on WebGPU; navigator.gpu must exist already. */
export async function jaxSuite(): Promise<Suite> {
  const jax: Jax = await import("@jax-js/jax");
  const got = await jax.init("webgpu");
  if (!got.includes("webgpu")) throw new Error("jax-js could not initialise its webgpu backend");
  jax.defaultDevice("webgpu");
  const { numpy: np, nn, lax, tree } = jax;
  const device = jax.getWebGPUDevice();

  const arr = (data: Float32Array, shape: number[]) => np.array(data, { shape });
  const p = (q: Param) => arr(q.data, q.shape);
  /** Waits for `outs`; with probe, returns the mean square of the first (outs are not consumed). */
  const finish = async (outs: Arr[], probe: boolean): Promise<number | undefined> => {
    await jax.blockUntilReady(outs);
    await device.queue.onSubmittedWorkDone();
    if (!probe) return undefined;
    const o = outs[0]!;
    return (await o.ref.mul(o.ref).mean().data())[0];
  };
  /** Mean binary cross-entropy of logits z against y: mean(softplus(z) − y·z). */
  const bce = (z: Arr, y: Arr) => nn.softplus(z.ref).sub(y.mul(z)).mean();
  const pad = (n: number): [number, number][] => [
    [n, n],
    [n, n],
  ];
  const conv = (x: Arr, w: Arr, stride: number, padding: number) => lax.convGeneralDilated(x, w, [stride, stride], pad(padding));

  const opCase = (keep: Arr[], f: () => Arr[]): Case => ({
    async run(probe) {
      const outs = f();
      const v = await finish(outs, !!probe);
      for (const o of outs) o.dispose();
      return v;
    },
    dispose: () => keep.forEach((a) => a.dispose()),
  });

  /**
   * A jitted SGD step over `params`; `loss(params, consts, ...inputs)` differentiates the first
   * argument only. `consts` (masks) and `inputs` are kept across steps and passed by reference.
   */
  const trainCase = (params: Params, consts: Params, inputs: Arr[], loss: (p: Params, c: Params, ...xs: Arr[]) => Arr, lr: number): Case => {
    const step = jax.jit((ps: Params, cs: Params, ...xs: Arr[]): [Params, Arr] => {
      const [l, g] = jax.valueAndGrad(loss)(tree.ref(ps), cs, ...xs) as [Arr, Params];
      return [tree.map((a: Arr, ga: Arr) => a.sub(ga.mul(lr)), ps, g) as Params, l];
    });
    let ps = params;
    return {
      async run(probe) {
        const [next, l] = step(ps, tree.ref(consts), ...inputs.map((x) => x.ref));
        ps = next;
        await finish([l, ...Object.values(ps)], false);
        const v = probe ? (await l.ref.data())[0] : undefined;
        l.dispose();
        return v;
      },
      dispose() {
        step.dispose();
        tree.dispose(ps);
        tree.dispose(consts);
        inputs.forEach((x) => x.dispose());
      },
    };
  };

  const prepare = (spec: Spec): Case => {
    switch (spec.kind) {
      case "matmul": {
        const shape = spec.batch === 1 ? [spec.n, spec.n] : [spec.batch, spec.n, spec.n];
        const n = spec.batch * spec.n * spec.n;
        const [a, b] = [arr(gaussian(n, 11), shape), arr(gaussian(n, 12), shape)];
        return opCase([a, b], () => [np.matmul(a.ref, b.ref)]);
      }
      case "softmax": {
        const x = arr(gaussian(spec.rows * spec.cols, 13), [spec.rows, spec.cols]);
        return opCase([x], () => [nn.softmax(x.ref, -1)]);
      }
      case "conv": {
        const { N, H, W, Cin, Cout, k } = spec;
        const x = arr(gaussian(N * Cin * H * W, 14), [N, Cin, H, W]);
        const w = arr(uniform(Cout * Cin * k * k, 1 / Math.sqrt(Cin * k * k), 15), [Cout, Cin, k, k]);
        const same = (k - 1) / 2;
        if (!spec.grad) return opCase([x, w], () => [conv(x.ref, w.ref, 1, same)]);
        const r = arr(gaussian(N * Cout * H * W, 16), [N, Cout, H, W]);
        const g = jax.jit(jax.grad((xx: Arr, ww: Arr, rr: Arr) => conv(xx, ww, 1, same).mul(rr).sum(), { argnums: [0, 1] }));
        return {
          ...opCase([x, w, r], () => {
            const [dx, dw] = g(x.ref, w.ref, r.ref) as [Arr, Arr];
            return [dw, dx]; // probe reads dw
          }),
          dispose() {
            g.dispose();
            [x, w, r].forEach((a) => a.dispose());
          },
        };
      }
      case "mlp": {
        const layers = mlpParams(spec);
        const params: Params = {};
        layers.forEach((l, i) => ((params[`W${i}`] = p(l.W)), (params[`b${i}`] = p(l.b))));
        const x = arr(binary(spec.batch * spec.sizes[0]!, 1), [spec.batch, spec.sizes[0]!]);
        const loss = (ps: Params, _c: Params, xb: Arr) => {
          let h = xb.ref;
          for (let i = 0; i < layers.length; i++) {
            h = np.matmul(h, ps[`W${i}`]!).add(ps[`b${i}`]!);
            if (i + 1 < layers.length) h = nn.relu(h);
          }
          return bce(h, xb);
        };
        return trainCase(params, {}, [x], loss, spec.lr);
      }
      case "dcgan": {
        const B = spec.batch, d = dcganParams();
        const params: Params = { w1: p(d.w1), b1: p(d.b1).reshape([64, 1, 1]), w2: p(d.w2), b2: p(d.b2).reshape([128, 1, 1]), fc: p(d.fc), fb: p(d.fb) };
        const x = arr(gaussian(B * 28 * 28, 2), [B, 1, 28, 28]);
        const y = arr(dcganLabels(B), [B, 1]);
        const loss = (ps: Params, _c: Params, xb: Arr, yb: Arr) => {
          let h = nn.leakyRelu(conv(xb, ps.w1!, 2, 1).add(ps.b1!), 0.2);
          h = nn.leakyRelu(conv(h, ps.w2!, 2, 1).add(ps.b2!), 0.2);
          return bce(np.matmul(h.reshape([B, 128 * 7 * 7]), ps.fc!).add(ps.fb!), yb);
        };
        return trainCase(params, {}, [x, y], loss, spec.lr);
      }
      case "pixelcnn": {
        const B = spec.batch, layers = pixelCnnParams(spec.channels);
        const params: Params = {}, masks: Params = {};
        layers.forEach((l, i) => {
          params[`w${i}`] = p(l.w);
          params[`b${i}`] = p(l.b).reshape([l.b.shape[0]!, 1, 1]);
          masks[`m${i}`] = arr(pixelMask(l.w.shape, l.mask), l.w.shape);
        });
        const x = arr(binary(B * 28 * 28, 3), [B, 1, 28, 28]);
        const loss = (ps: Params, ms: Params, xb: Arr) => {
          let h = xb.ref;
          layers.forEach((l, i) => {
            h = conv(h, ps[`w${i}`]!.mul(ms[`m${i}`]!), 1, (l.k - 1) / 2).add(ps[`b${i}`]!);
            if (i + 1 < layers.length) h = nn.relu(h);
          });
          return bce(h, xb);
        };
        return trainCase(params, masks, [x], loss, spec.lr);
      }
    }
  };

  return {
    variant: "jax",
    prepare: (id) =>
      Promise.resolve().then(() => {
        const c = prepare(workload(id).spec);
        if (!c) throw new NotAvailable(`no jax-js implementation of ${id}`);
        return c;
      }),
    describe: async () => {
      const info = device.adapterInfo;
      return { devices: got, adapterInfo: info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : undefined };
    },
  };
}
