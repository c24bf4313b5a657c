/**
 * matmul with torch.matmul semantics: 1-D operands are promoted, batch dims broadcast. The node
 * itself is always [B, M, K] @ [B, K, N]; broadcasting and transposes stay views, which the
 * lowering folds into the kernel's strides (backward never materialises a transpose).
 */
import { ShapeError } from "../errors.js";
import { broadcastShapes, numel } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { makeNode } from "./node.js";
import type { MatmulDef } from "./op.js";
import { DTypeError } from "../errors.js";
import { expand, reshape, transpose } from "./view.js";

export const MATMUL: MatmulDef = {
  name: "matmul",
  kind: "matmul",
  // dA = dC Bᵀ, dB = Aᵀ dC
  backward: ({ inputs: [a, b], dout }) => [bmm(dout, transpose(b!)), bmm(transpose(a!), dout)],
};

/** [B, M, K] @ [B, K, N] → [B, M, N] (engine-internal; shapes already aligned). */
function bmm(a: Tensor, b: Tensor): Tensor {
  return makeNode(MATMUL, [a, b], [a.shape[0]!, a.shape[1]!, b.shape[2]!], "f32", {});
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== "f32") throw new DTypeError("matmul", "f32", a.dtype);
  if (b.dtype !== "f32") throw new DTypeError("matmul", "f32", b.dtype);
  if (a.rank === 0 || b.rank === 0) throw new ShapeError("matmul", "both arguments need at least one dimension", a.shape, b.shape);
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const [M, K] = a2.shape.slice(-2) as [number, number];
  const [K2, N] = b2.shape.slice(-2) as [number, number];
  if (K !== K2) throw new ShapeError("matmul", `inner dimensions differ (${K} vs ${K2})`, a.shape, b.shape);
  const batch = broadcastShapes("matmul", a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const B = numel(batch);
  const a3 = reshape(expand(a2, [...batch, M, K]), [B, M, K]);
  const b3 = reshape(expand(b2, [...batch, K, N]), [B, K, N]);
  let out = reshape(bmm(a3, b3), [...batch, M, N]);
  if (a.rank === 1) out = reshape(out, [...batch, N]);
  if (b.rank === 1) out = reshape(out, a.rank === 1 ? batch : [...batch, M]);
  return out;
}
