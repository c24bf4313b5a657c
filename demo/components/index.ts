/**
 * latent's web components, for embedding in another app. Importing this module defines every
 * element (`<latent-sample-grid>`, `<latent-loss-chart>`, …). Each is a pure view: set its
 * properties, listen to its events (typed in HTMLElementEventMap). `<latent-sample-grid>` can also
 * sample a model living on the page's own thread: `<latent-sample-grid .model=${m}>`.
 * @example
 *   import "latent/components";
 *   const grid = document.createElement("latent-sample-grid");
 *   grid.model = vae;            // a GenerativeModel of 28×28 images
 *   document.body.append(grid);  // samples it; grid.refresh() after more training
 */
export { LatentAnomalyMeter, verdict, type AnomalyScore } from "./latent-anomaly-meter.js";
export { LatentBenchPanel } from "./latent-bench-panel.js";
export { LatentCheckpointPanel, type CheckpointMessage } from "./latent-checkpoint-panel.js";
export { LatentDatasetPicker, type DatasetChoice } from "./latent-dataset-picker.js";
export { LatentDensityView } from "./latent-density-view.js";
export { LatentDeviceBadge, type BadgeInfo } from "./latent-device-badge.js";
export { LatentDrawPad } from "./latent-draw-pad.js";
export { LatentExplorer, type ExplorerMode } from "./latent-explorer.js";
export { LatentHyperparamPanel, formatValue } from "./latent-hyperparam-panel.js";
export { LatentLossChart, logTicks, niceTicks, type LossPoint } from "./latent-loss-chart.js";
export { LatentModelPicker, type ModelChoice } from "./latent-model-picker.js";
export { LatentNotice } from "./latent-notice.js";
export { LatentSampleGrid } from "./latent-sample-grid.js";
export { LatentTrainControls, type TrainStats } from "./latent-train-controls.js";
export { LatentWebgpuHelp } from "./latent-webgpu-help.js";
export { ModelSamplesController } from "../controllers/model-samples.js";
export { drawImageGrid, viridis } from "../lib/draw.js";
export { toMnist } from "../lib/digit.js";
export type { BenchResult, DensityFrame, ImageBatch } from "../worker/protocol.js";
export type { HyperField, Hyperparams, HyperValue } from "../lib/catalog.js";
