/**
 * Reverse mode over the lazy graph (micrograd's algorithm). Backward rules are graph ops, so the
 * gradients are themselves differentiable (double backward). Broadcasting is undone in exactly
 * one place: the backward rule of `expand` (sumToShape); every other rule sees equal shapes.
 */
import { ShapeError } from "./errors.js";
import { sameShape } from "./shape.js";
import { Tensor } from "./tensor.js";
import { add, mul } from "./ops/binary.js";
import { detach } from "./ops/unary.js";
import { full } from "./ops/node.js";

/** Nodes that need gradients, inputs before consumers (iterative DFS: deep U-Nets overflow recursion). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const x of t.inputs) if (x.requiresGrad && !seen.has(x)) stack.push([x, false]);
  }
  return order;
}

const isGradLeaf = (t: Tensor) => t.requiresGrad && (t.inputs.length === 0 || !t.op.backward);

/** d root / d t for every node under `root`, seeded with `seed` (default 1 for a scalar). */
export function gradients(root: Tensor, seed?: Tensor): Map<Tensor, Tensor> {
  if (!root.requiresGrad) throw new ShapeError("backward", "the tensor does not require grad (no input had requiresGrad, or it was built under noGrad)");
  if (!seed && root.size !== 1) throw new ShapeError("backward", "a non-scalar output needs a seed gradient of its shape", root.shape);
  const s = seed ?? full(root.shape, 1, { device: root.device });
  if (!sameShape(s.shape, root.shape)) throw new ShapeError("backward", "seed shape differs from the output's", root.shape, s.shape);
  const grads = new Map<Tensor, Tensor>([[root, s]]);
  const order = topoSort(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const dout = grads.get(node);
    if (!dout || !node.op.backward || isGradLeaf(node)) continue;
    const dins = node.op.backward({ out: node, dout, inputs: node.inputs, attrs: node.attrs });
    node.inputs.forEach((x, j) => {
      const g = dins[j];
      if (!g || !x.requiresGrad || x.dtype !== "f32") return;
      if (!sameShape(g.shape, x.shape)) throw new Error(`backward of ${node.op.name} gave a gradient of shape [${g.shape}] for an input of shape [${x.shape}] (latent bug)`);
      const prev = grads.get(x);
      grads.set(x, prev ? add(prev, g) : g); // fan-out accumulates
    });
  }
  return grads;
}

/** Fills `.grad` of every leaf with requiresGrad under `root` (accumulating, like PyTorch). */
export function backward(root: Tensor, seed?: Tensor): void {
  const grads = gradients(root, seed);
  for (const [t, g] of grads) {
    if (!isGradLeaf(t)) continue;
    t.grad = t.grad ? add(t.grad, g) : g;
  }
}

/** A fresh leaf that shares `x`'s values and records gradients. */
function watch(x: Tensor): Tensor {
  // an input that is itself being differentiated (grad of grad) must stay connected to its graph
  const w = x.requiresGrad ? mul(x, 1) : detach(x);
  w.requiresGrad = true;
  return w;
}

/**
 * valueAndGrad(f)(...xs) → [f(xs), [∂f/∂x₀, …]] for a scalar-valued f (JAX style). Gradients are
 * graph tensors, so they can be differentiated again (WGAN-GP, Langevin dynamics).
 */
export function valueAndGrad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => [Tensor, Tensor[]] {
  return (...xs: A) => {
    const ws = xs.map(watch) as A;
    const y = f(...ws);
    const grads = gradients(y);
    return [y, ws.map((w) => grads.get(w) ?? full(w.shape, 0, { device: w.device }))];
  };
}

/** grad(f)(...xs) → [∂f/∂x₀, …]. */
export function grad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...xs: A) => vg(...xs)[1];
}
