/**
 * Honest metrics: likelihoods with standard errors (nll.ts), and for samples the Fréchet LeNet
 * Distance with its calibration figures plus class histograms from a trained LeNet-5 (fld.ts,
 * lenet.ts).
 */
export {
  meanAndStdErr,
  scoreDataset,
  binarisedNll,
  iwaeNll,
  bitsPerDimEstimate,
  dequantisedBitsPerDim,
  densityGrid,
  toyNll,
  TOY_BEST_NLL,
  type Estimate,
  type DatasetEvalOptions,
  type NllReport,
  type BitsPerDimReport,
  type LogDensity2d,
  type GridOptions,
  type DensityGrid,
  type ToyNllReport,
} from "./nll.js";
export { LeNet5, loadLenet, maxPool2x2, LENET_WEIGHTS, LENET_FEATURES, type LeNetOptions } from "./lenet.js";
export {
  featureStats,
  frechetDistance,
  traceSqrtProduct,
  fld,
  classHistogram,
  fldCalibration,
  describeCalibration,
  tensorImages,
  datasetImages,
  modelImages,
  noisyImages,
  type GaussianStats,
  type ImageSource,
  type ImageSampler,
  type ClassHistogram,
  type FldCalibration,
} from "./fld.js";
