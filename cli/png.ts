/// <reference path="./pngjs.d.ts" />
/**
 * Pictures of samples, encoded with pngjs: a grid of MNIST digits, or for the 2-D toys a pair of
 * density images (data | model) side by side. Pure CPU code on plain arrays; the caller reads the
 * samples back first.
 */
import { PNG } from "pngjs";

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** PNG bytes of an RGB image. */
export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  for (let p = 0; p < img.width * img.height; p++) {
    png.data[4 * p] = img.rgb[3 * p]!;
    png.data[4 * p + 1] = img.rgb[3 * p + 1]!;
    png.data[4 * p + 2] = img.rgb[3 * p + 2]!;
    png.data[4 * p + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: 2 }));
}

/** Decodes PNG bytes to RGBA (4 bytes per pixel). Throws pngjs's error on a corrupt file. */
export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const PAD = 2;
const BORDER = 96;

/**
 * n greyscale images of side × side pixels (values in [0, 1], clamped; white = 1) in a grid of
 * `cols` columns (default ⌈√n⌉) separated by 2-pixel grey borders: an 8 × 8 grid of MNIST digits
 * is 8·(28 + 2) + 2 = 242 pixels square.
 */
export function imageGrid(values: ArrayLike<number>, n: number, side: number, cols = Math.ceil(Math.sqrt(n))): RgbImage {
  const rows = Math.max(1, Math.ceil(n / cols));
  const width = cols * (side + PAD) + PAD, height = rows * (side + PAD) + PAD;
  const rgb = new Uint8Array(width * height * 3).fill(BORDER);
  for (let i = 0; i < n; i++) {
    const x0 = PAD + (i % cols) * (side + PAD), y0 = PAD + Math.floor(i / cols) * (side + PAD);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = values[i * side * side + r * side + c]!;
        const g = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
        rgb.fill(g, 3 * ((y0 + r) * width + x0 + c), 3 * ((y0 + r) * width + x0 + c) + 3);
      }
    }
  }
  return { width, height, rgb };
}

/** Viridis-like anchors (dark purple → yellow), linearly interpolated. */
const RAMP: readonly (readonly [number, number, number])[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function ramp(t: number): [number, number, number] {
  const s = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(s)), f = s - i;
  const a = RAMP[i]!, b = RAMP[i + 1]!;
  return [0, 1, 2].map((j) => Math.round(a[j]! + f * (b[j]! - a[j]!))) as [number, number, number];
}

/**
 * A 2-D histogram of points ([n × 2] row-major) over the square [−range, range]², drawn with
 * colour ∝ log(1 + count) / log(1 + max count): the log keeps sparse tails visible next to dense
 * modes. Points outside the square are not drawn. y points up.
 */
export function densityImage(points: ArrayLike<number>, size = 256, range = 4.5): RgbImage {
  const counts = new Float64Array(size * size);
  const n = Math.floor(points.length / 2);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!, y = points[2 * i + 1]!;
    const c = Math.floor(((x + range) / (2 * range)) * size), r = Math.floor(((range - y) / (2 * range)) * size);
    if (c >= 0 && c < size && r >= 0 && r < size) counts[r * size + c]!++;
  }
  let max = 0;
  for (const v of counts) max = Math.max(max, v);
  const rgb = new Uint8Array(size * size * 3);
  const norm = Math.log1p(Math.max(max, 1));
  counts.forEach((v, p) => rgb.set(ramp(Math.log1p(v) / norm), 3 * p));
  return { width: size, height: size, rgb };
}

/** Images side by side, same height, separated by `gap` light-grey columns. */
export function sideBySide(images: readonly RgbImage[], gap = 4): RgbImage {
  const height = Math.max(...images.map((i) => i.height));
  const width = images.reduce((w, i) => w + i.width, 0) + gap * (images.length - 1);
  const rgb = new Uint8Array(width * height * 3).fill(220);
  let x0 = 0;
  for (const img of images) {
    for (let r = 0; r < img.height; r++) rgb.set(img.rgb.subarray(3 * r * img.width, 3 * (r + 1) * img.width), 3 * (r * width + x0));
    x0 += img.width + gap;
  }
  return { width, height, rgb };
}
