/**
 * gather / indexSelect with integer index tensors. The forward fuses like an elementwise op (the
 * index is read inside whatever kernel consumes the result). The backward is a scatter-add,
 * written as a masked sum so that it too is ordinary differentiable graph ops.
 */
import { DTypeError, ShapeError } from "../errors.js";
import { normAxis } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { eq, where } from "./binary.js";
import { makeNode } from "./node.js";
import type { IndexDef } from "./op.js";
import { sum } from "./reduce.js";
import { arange } from "./source.js";
import { castI32 } from "./unary.js";
import { expand, pad, reshape, unsqueeze } from "./view.js";

export const GATHER: IndexDef = {
  name: "gather",
  kind: "index",
  backward: ({ inputs: [x, index], dout, attrs }) => [scatterAdd(x!.shape, attrs.axis as number, index!, dout), null],
};

/** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normAxis("gather", axis, x.rank);
  if (index.dtype === "f32") throw new DTypeError("gather", "i32 | u32 index", index.dtype);
  if (index.rank !== x.rank) throw new ShapeError("gather", "index must have the same rank as the input", x.shape, index.shape);
  index.shape.forEach((d, i) => {
    if (i !== a && d > x.shape[i]!) throw new ShapeError("gather", `index dimension ${i} (${d}) exceeds the input's (${x.shape[i]})`, x.shape, index.shape);
  });
  return makeNode(GATHER, [x, index], index.shape, x.dtype, { axis: a });
}

/** Selects entries `index` (1-D) along `axis` (torch.index_select), e.g. embedding rows. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normAxis("indexSelect", axis, x.rank);
  if (index.rank !== 1) throw new ShapeError("indexSelect", "index must be 1-D", index.shape);
  const shape = x.shape.map((d, i) => (i === a ? index.shape[0]! : d));
  const idx = expand(reshape(index, x.shape.map((_, i) => (i === a ? index.shape[0]! : 1))), shape);
  return gather(x, a, idx);
}

/** Σ over k of dout[..k..] into position index[..k..] along `axis` of a zero tensor of `shape`. */
function scatterAdd(shape: readonly number[], axis: number, index: Tensor, dout: Tensor): Tensor {
  const J = shape[axis]!;
  // [.., K, J, ..]: mask[.., k, j, ..] = (index[.., k, ..] == j)
  const idx = unsqueeze(index, axis + 1);
  const wide = [...index.shape.slice(0, axis + 1), J, ...index.shape.slice(axis + 1)];
  const js = reshape(castI32(arange(0, J, 1, { device: index.device })), wide.map((d, i) => (i === axis + 1 ? J : 1)));
  const mask = eq(expand(castI32(idx), wide), expand(js, wide));
  const contrib = where(mask, expand(unsqueeze(dout, axis + 1), wide), 0);
  const summed = reshape(sum(contrib, axis, { keepDims: false }), index.shape.map((d, i) => (i === axis ? J : d)));
  // dims other than `axis` may be shorter in index than in x: pad with zeros
  return pad(summed, shape.map((d, i) => [0, d - summed.shape[i]!] as [number, number]));
}
