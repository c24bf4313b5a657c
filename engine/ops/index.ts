/**
 * The OPS registry: the only list of ops. Types derive from it and the test suite iterates over
 * it, so an op cannot exist without being tested.
 */
import * as B from "./binary.js";
import * as U from "./unary.js";
import { PAD, PERMUTE, RESHAPE, EXPAND, SLICE, UNSLICE } from "./view.js";
import { AMAX, AMIN, ARGMAX, ARGMIN, PROD, SUM } from "./reduce.js";
import { MATMUL } from "./matmul.js";
import { SOFTMAX } from "./softmax.js";
import { GATHER } from "./gather.js";
import { CONV2D, CONV_INPUT_GRAD, CONV_WEIGHT_GRAD } from "./conv.js";
import { MAXPOOL_SCATTER, MAXPOOL_SELECT } from "./pool.js";
import { BUFFER, CONST, IOTA, RAND } from "./node.js";
import type { ElementwiseDef, OpDef } from "./op.js";

/** Elementwise primitives with their user-facing functions (the test generator's input). */
export const ELEMENTWISE = {
  neg: U.neg, exp: U.exp, log: U.log, sqrt: U.sqrt, rsqrt: U.rsqrt, recip: U.recip, abs: U.abs, sign: U.sign,
  sin: U.sin, cos: U.cos, floor: U.floor, expm1: U.expm1, log1p: U.log1p, tanh: U.tanh, erf: U.erf,
  detach: U.detach, float: U.castF32, int: U.castI32,
  add: B.add, sub: B.sub, mul: B.mul, div: B.div, pow: B.pow, maximum: B.maximum, minimum: B.minimum,
  cmplt: B.cmplt, cmple: B.cmple, eq: B.eq, ne: B.ne, where: B.where,
} as const;

export const OPS = {
  ...Object.fromEntries(Object.entries(ELEMENTWISE).map(([k, f]) => [k, f.def])) as { [K in keyof typeof ELEMENTWISE]: ElementwiseDef },
  reshape: RESHAPE, permute: PERMUTE, expand: EXPAND, slice: SLICE, unslice: UNSLICE, pad: PAD,
  sum: SUM, amax: AMAX, amin: AMIN, prod: PROD, argmax: ARGMAX, argmin: ARGMIN,
  matmul: MATMUL, softmax: SOFTMAX, gather: GATHER,
  conv2d: CONV2D, conv2dInputGrad: CONV_INPUT_GRAD, conv2dWeightGrad: CONV_WEIGHT_GRAD,
  maxPoolSelect: MAXPOOL_SELECT, maxPoolScatter: MAXPOOL_SCATTER,
  tensor: BUFFER, full: CONST, iota: IOTA, rand: RAND,
} as const satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;
