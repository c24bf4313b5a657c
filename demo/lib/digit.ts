/**
 * Turns a drawing into an MNIST-style digit. MNIST's digits were size-normalised to fit a 20 × 20
 * box (keeping the aspect ratio, anti-aliased) and then centred by their centre of mass in the
 * 28 × 28 frame (LeCun et al. 1998). A drawing scored without the same normalisation would look
 * like an anomaly for the wrong reason (being off-centre), so the pad applies it before scoring.
 */

/** Ink below this value (of 1) does not count for the bounding box. */
const INK = 0.05;

/**
 * Averages the source rectangle [x0, x0 + w) × [y0, y0 + h) of an sw-wide image down (or up) to
 * tw × th pixels, weighting each source pixel by its overlap with the target pixel (a box filter).
 */
function areaResample(src: ArrayLike<number>, sw: number, x0: number, y0: number, w: number, h: number, tw: number, th: number): Float32Array {
  const out = new Float32Array(tw * th);
  const sx = w / tw, sy = h / th;
  for (let j = 0; j < th; j++) {
    const ya = y0 + j * sy, yb = ya + sy;
    for (let i = 0; i < tw; i++) {
      const xa = x0 + i * sx, xb = xa + sx;
      let acc = 0;
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        if (wy <= 0) continue;
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x);
          if (wx > 0) acc += wx * wy * (src[y * sw + x] ?? 0);
        }
      }
      out[j * tw + i] = Math.min(1, acc / (sx * sy));
    }
  }
  return out;
}

/**
 * An n × n drawing (values in [0, 1], row-major) as a 28 × 28 MNIST-style digit: cropped to its
 * ink, scaled so the longer side is 20 px, placed with its centre of mass at the centre. An empty
 * drawing gives all zeros.
 */
export function toMnist(drawing: ArrayLike<number>, n: number): Float32Array {
  let x0 = n, y0 = n, x1 = -1, y1 = -1;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (drawing[y * n + x]! > INK) (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x)), (y0 = Math.min(y0, y)), (y1 = Math.max(y1, y));
    }
  }
  const out = new Float32Array(784);
  if (x1 < 0) return out;
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  const scale = 20 / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale)), th = Math.max(1, Math.round(h * scale));
  const small = areaResample(drawing, n, x0, y0, w, h, tw, th);
  // centre of mass of the scaled digit
  let m = 0, cx = 0, cy = 0;
  for (let j = 0; j < th; j++) for (let i = 0; i < tw; i++) (m += small[j * tw + i]!), (cx += i * small[j * tw + i]!), (cy += j * small[j * tw + i]!);
  cx = m > 0 ? cx / m : (tw - 1) / 2;
  cy = m > 0 ? cy / m : (th - 1) / 2;
  // put the centre of mass on pixel 13.5 (the frame's centre), keeping the digit inside the frame
  const ox = Math.min(28 - tw, Math.max(0, Math.round(13.5 - cx))), oy = Math.min(28 - th, Math.max(0, Math.round(13.5 - cy)));
  for (let j = 0; j < th; j++) for (let i = 0; i < tw; i++) out[(oy + j) * 28 + ox + i] = small[j * tw + i]!;
  return out;
}

/** Total ink of a digit (sum of its values): 0 means nothing was drawn. */
export function ink(pixels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pixels.length; i++) s += pixels[i]!;
  return s;
}
