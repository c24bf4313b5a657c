/**
 * latent — deep generative models on WebGPU.
 * @example
 *   import { init, tensor, randn } from "latent";
 *   await init();
 *   const x = randn([2, 3], { seed: 0 });
 *   console.log(await x.matmul(x.T).toNested());
 */
import "./methods.js";

export { init, currentDevice, Device, ICD, type InitOptions, type AdapterSummary, type DriverName } from "./device.js";
export { Tensor, scope, openScope, noGrad, liveBuffers, reclaimed, type DType } from "./tensor.js";
export { realize } from "./realize.js";
export { backward, gradients, grad, valueAndGrad } from "./autograd.js";
export { tensor, full, fromTyped, type CreateOptions } from "./ops/node.js";
export { zeros, ones, zerosLike, onesLike, fullLike, arange, linspace, eye, rand, randn, randint, bernoulli, manualSeed, type RandomOptions } from "./ops/source.js";
export { add, sub, mul, div, pow, maximum, minimum, cmplt, cmple, eq, ne, where } from "./ops/binary.js";
export { neg, exp, log, sqrt, rsqrt, recip, abs, sign, sin, cos, floor, expm1, log1p, tanh, erf, detach } from "./ops/unary.js";
export { square, relu, leakyRelu, elu, sigmoid, softplus, logSigmoid, silu, gelu, clamp, cat, stack, split, chunk, isFinite } from "./ops/composite.js";
export { sum, mean, amax, amin, prod, argmax, argmin, variance, logsumexp } from "./ops/reduce.js";
export { reshape, permute, transpose, expand, broadcastTo, slice, narrow, pad, squeeze, unsqueeze, flatten, sumToShape, type SliceSpec } from "./ops/view.js";
export { matmul } from "./ops/matmul.js";
export { softmax, logSoftmax } from "./ops/softmax.js";
export { gather, indexSelect } from "./ops/gather.js";
export { OPS, ELEMENTWISE, type OpName } from "./ops/index.js";
export { Rng, seedToKey } from "./random.js";
export { setDebug, debugLevel } from "./debug.js";
export * from "./errors.js";
export * as nn from "./nn/index.js";
export { Normal, Bernoulli, Categorical, klDivergence } from "./distributions.js";
export { Optimizer, SGD, Adam, AdamW, clipGradNorm, EMA, LRScheduler, cosineSchedule, linearWarmup, type ParamsArg, type HasLr, type StepOptions, type OptimizerState, type SGDOptions, type AdamOptions, type EMAOptions, type Schedule } from "./optim.js";
export { saveSafetensors, loadSafetensors, loadSafetensorsWithMetadata, loadInto, type LoadOptions, type LoadIntoResult } from "./checkpoint.js";
export { compile, CompileError, onReplay, type CompiledStep, type CompiledStats } from "./compile.js";
export { conv2d, conv2dInputGrad, conv2dWeightGrad, convTranspose2d, maskedConv2d, verticalStackConv, horizontalStackConv, downShift, gatedPixelCnnLayer, type GatedLayerWeights, type Conv2dOptions, type ConvTranspose2dOptions, type MaskedConv2dOptions, type Padding, type Pair } from "./ops/conv.js";
export { GpuAccumulator } from "./accumulate.js";
export { avgPool2d, maxPool2d, upsample, type AvgPool2dOptions, type MaxPool2dOptions, type UpsampleOptions } from "./ops/pool.js";
export { batchNorm, layerNorm, groupNorm, dropout, embedding, timestepEmbedding, assignInPlace, flushInPlace, type BatchNormOptions, type DropoutOptions } from "./ops/norm.js";
export { binaryCrossEntropyWithLogits, crossEntropy, mseLoss, gaussianNll, discretizedLogisticLogLikelihood, type Reduction, type LossOptions } from "./ops/loss.js";
