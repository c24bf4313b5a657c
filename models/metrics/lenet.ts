/**
 * LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
 * recognition", Proc. IEEE 86(11), §II.B) as the feature extractor of the Fréchet LeNet Distance
 * (fld.ts) and the classifier behind per-class histograms of generated digits.
 *
 *   input 1@28×28 ─ C1 conv 6@5×5, pad 2 ─ ReLU ─ S2 2×2 max-pool   → 6@14×14
 *                 ─ C3 conv 16@5×5       ─ ReLU ─ S4 2×2 max-pool   → 16@5×5 = 400
 *                 ─ C5 400→120 ─ ReLU ─ F6 120→84 ─ ReLU (the 84 "penultimate" features) ─ 84→10
 *
 * The paper's network reads 32×32 images (MNIST digits padded by 2 pixels on each side); padding
 * the first convolution by 2 is the same thing. The usual modernisations of LeNet-5
 * reproductions: ReLU instead of the scaled tanh, max- instead of trainable average subsampling,
 * a softmax cross-entropy head instead of the RBF output units, and a C3 that sees every S2 map
 * (the paper's sparse connection table, Table I, was a compute-saving device).
 *
 * Pooling is written as a view plus a reduction — [N, C, H, W] → [N, C, H/2, 2, W/2, 2] → max over
 * the two window axes — so it needs no kernel of its own and its gradient is amax's (shared among
 * tied maxima). The weights committed in models/weights/lenet5.safetensors are trained by
 * scripts/train-lenet.ts.
 */
import { Rng, conv2d, nn, type Tensor } from "../../engine/index.js";
import { CheckpointError, ShapeError } from "../../engine/errors.js";
import { loadInto } from "../../engine/checkpoint.js";
import type { Device } from "../../engine/device.js";

/** Where the committed weights live, relative to the repository root. */
export const LENET_WEIGHTS = "models/weights/lenet5.safetensors";
/** Width of the feature vector `penultimate` returns. */
export const LENET_FEATURES = 84;

/** 2×2 max-pooling with stride 2 (H and W even), as a reshape and an amax over the window axes. */
export function maxPool2x2(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || H % 2 || W % 2) throw new ShapeError("maxPool2x2", "expects [N, C, H, W] with H and W even", x.shape);
  return x.reshape([N, C, H / 2, 2, W / 2, 2]).amax([3, 5]);
}

/** A convolution's parameters, PyTorch-initialised (kaiming-uniform a = √5: U(±1/√fanIn)). */
class Conv extends nn.Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(cin: number, cout: number, k: number, readonly padding: number, o: { rng: Rng; device?: Device }) {
    super();
    const fanIn = cin * k * k;
    this.weight = this.param("weight", nn.kaimingUniform([cout, cin, k, k], fanIn, o));
    this.bias = this.param("bias", nn.uniformInit([cout], 1 / Math.sqrt(fanIn), o));
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { padding: this.padding });
  }
}

export interface LeNetOptions {
  seed?: number;
  device?: Device;
}

/** LeNet-5 on 28×28 grey images in [0, 1]; see the file comment for the layers. */
export class LeNet5 extends nn.Module {
  readonly c1: Conv;
  readonly c3: Conv;
  readonly c5: nn.Linear;
  readonly f6: nn.Linear;
  readonly out: nn.Linear;

  constructor(opts: LeNetOptions = {}) {
    super();
    const rng = new Rng(opts.seed ?? 0), o = { rng, device: opts.device };
    this.c1 = this.child("c1", new Conv(1, 6, 5, 2, o));
    this.c3 = this.child("c3", new Conv(6, 16, 5, 0, o));
    this.c5 = this.child("c5", new nn.Linear(400, 120, o));
    this.f6 = this.child("f6", new nn.Linear(120, LENET_FEATURES, o));
    this.out = this.child("out", new nn.Linear(LENET_FEATURES, 10, o));
  }

  /** The 84 post-ReLU activations of F6 for images [B, 784] or [B, 1, 28, 28]: [B, 84]. */
  penultimate(x: Tensor): Tensor {
    const B = x.shape[0]!;
    if (x.size !== B * 784) throw new ShapeError("LeNet5", "expects 28×28 images, [B, 784] or [B, 1, 28, 28]", x.shape);
    const s2 = maxPool2x2(this.c1.forward(x.reshape([B, 1, 28, 28])).relu()); // [B, 6, 14, 14]
    const s4 = maxPool2x2(this.c3.forward(s2).relu()); //                         [B, 16, 5, 5]
    const c5 = this.c5.forward(s4.reshape([B, 400])).relu();
    return this.f6.forward(c5).relu();
  }

  /** Class logits [B, 10]. */
  forward(x: Tensor): Tensor {
    return this.out.forward(this.penultimate(x));
  }

  /** Predicted digit per image, i32 [B]. */
  predict(x: Tensor): Tensor {
    return this.forward(x).argmax(-1);
  }

  /** Mean softmax cross-entropy −log p(y | x) against i32 labels [B] (nats). */
  loss(x: Tensor, labels: Tensor): Tensor {
    return this.forward(x).logSoftmax(-1).gather(1, labels.reshape([-1, 1])).mean().neg();
  }
}

/**
 * The trained LeNet-5 of models/weights/lenet5.safetensors. In Node, call it without bytes (the
 * file is read from the repository) or with a path; in the browser, pass the file's bytes
 * (e.g. from `fetch`). The network comes back in eval mode; dispose() it when done.
 * @throws CheckpointError if the file is missing or its tensors do not match LeNet-5.
 */
export async function loadLenet(source?: string | Uint8Array | ArrayBuffer, opts: { device?: Device } = {}): Promise<LeNet5> {
  let bytes: Uint8Array | ArrayBuffer;
  if (source === undefined || typeof source === "string") {
    // node: modules are imported lazily (as in models/data/mnist.ts) so the file stays browser-safe
    const [{ readFile }, { fileURLToPath }] = await Promise.all([import("node:fs/promises"), import("node:url")]);
    const path = source ?? fileURLToPath(new URL(`../../${LENET_WEIGHTS}`, import.meta.url));
    try {
      const b = await readFile(path);
      bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      throw new CheckpointError(`loadLenet: cannot read ${path} (train it with scripts/train-lenet.ts): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  } else bytes = source;
  const net = new LeNet5({ device: opts.device });
  try {
    loadInto(net.stateDict(), bytes);
  } catch (e) {
    net.dispose();
    throw e instanceof CheckpointError ? e : new CheckpointError(`loadLenet: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return net.eval();
}
