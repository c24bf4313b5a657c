/**
 * The data layer: IDX parsing, MNIST splits and pixel variants, the GPU-resident dataset and batch
 * sampler, and the FFJORD 2-D toy densities. Everything here is browser-safe; only `loadMnist`
 * needs Node (it imports `node:` modules lazily).
 */
export { parseIdx, idxValues, encodeIdxU8, type IdxFile, type IdxDType, type IdxExpect } from "./idx.js";
export {
  loadMnist,
  mnistFromIdx,
  logitTransformLogDet,
  bitsPerDim,
  MNIST_SPLITS,
  MNIST_DIM,
  MNIST_TRAIN_SIZE,
  STATIC_BINARY_SEED,
  LOGIT_LAMBDA,
  type MnistSplit,
  type MnistData,
  type MnistOptions,
  type BitsPerDimOptions,
} from "./mnist.js";
export { GpuDataset, BatchSampler, shuffledIndices, type Batch, type BatchOptions, type BatchTransform, type SamplerOptions, type UploadOptions } from "./loader.js";
export { sampleToy, toyNames, type ToyName } from "./toy2d.js";
