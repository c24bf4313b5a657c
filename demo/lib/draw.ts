/**
 * Canvas drawing shared by the views: grayscale image grids at their native resolution (CSS scales
 * them up with `image-rendering: pixelated`) and a perceptually uniform colour map for densities.
 */
import type { ImageBatch } from "../worker/protocol.js";

/** Size in canvas pixels of a grid of `n` tiles of w × h in `cols` columns, 1-px gaps. */
export function gridSize(n: number, cols: number, w: number, h: number, gap = 1): { width: number; height: number; rows: number } {
  const rows = Math.max(1, Math.ceil(n / cols));
  return { width: cols * (w + gap) + gap, height: rows * (h + gap) + gap, rows };
}

/**
 * Draws the images of a batch into `canvas` (resized to fit), `cols` per row: value v ∈ [0, 1] is
 * ink, drawn as a light stroke on a dark tile (MNIST's own polarity).
 */
export function drawImageGrid(canvas: HTMLCanvasElement, batch: ImageBatch, cols: number, gap = 1): void {
  const { n, width: w, height: h, pixels } = batch;
  const g = gridSize(n, cols, w, h, gap);
  if (canvas.width !== g.width) canvas.width = g.width;
  if (canvas.height !== g.height) canvas.height = g.height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(g.width, g.height);
  const d = img.data;
  // gaps: a dim border colour
  for (let i = 0; i < d.length; i += 4) (d[i] = 40), (d[i + 1] = 40), (d[i + 2] = 52), (d[i + 3] = 255);
  for (let k = 0; k < n; k++) {
    const ox = gap + (k % cols) * (w + gap), oy = gap + Math.floor(k / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = Math.min(1, Math.max(0, pixels[k * w * h + y * w + x] ?? 0));
        const o = 4 * ((oy + y) * g.width + ox + x);
        // dark background (12, 12, 20) to near-white ink (245, 245, 255)
        d[o] = 12 + v * 233;
        d[o + 1] = 12 + v * 233;
        d[o + 2] = 20 + v * 235;
        d[o + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** Viridis (van der Walt & Smith's matplotlib default), as 9 stops linearly interpolated. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Colour of t ∈ [0, 1] on the viridis scale. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/**
 * Maps log-densities to [0, 1] for display: the density itself, p / max p, shows where the mass
 * is but hides everything an order of magnitude down; log p clipped to [max − range, max] shows
 * the tails. `range` is in nats.
 */
export function normaliseLogDensity(logp: ArrayLike<number>, mode: "density" | "log", range = 8): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logp.length; i++) if (Number.isFinite(logp[i]!)) max = Math.max(max, logp[i]!);
  const out = new Float32Array(logp.length);
  if (!Number.isFinite(max)) return out;
  for (let i = 0; i < logp.length; i++) {
    const v = logp[i]!;
    if (!Number.isFinite(v)) continue;
    out[i] = mode === "density" ? Math.exp(v - max) : Math.max(0, (v - (max - range)) / range);
  }
  return out;
}
