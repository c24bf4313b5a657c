/**
 * The 2-D toy densities of FFJORD (Grathwohl et al. 2019, `inf_train_gen` in its toy_data.py),
 * generated here from the engine's Philox generator so a seed gives the same points on every
 * machine. Each returns a Float32Array of n points, row-major [n × 2].
 *
 * Randomness: key seedToKey(seed); each random quantity of a generator has its own stream
 * (0, 1, 2, … in the order listed in its comment) and point i uses element i of each stream.
 *
 * Where FFJORD draws exact halves or fifths we keep the construction for any n and make any
 * prefix of the output a fair sample: moons and circles place ⌊n/2⌋ points on the first component
 * as sklearn does and then shuffle the rows; 2spirals and pinwheel assign the component by
 * i mod 2 and i mod 5.
 */
import { DataError } from "../../engine/errors.js";
import { normalArray, seedToKey, uniformArray, type PhiloxKey } from "../../engine/random.js";
import { shuffledIndices } from "./loader.js";

export const toyNames = ["8gaussians", "checkerboard", "moons", "circles", "swissroll", "pinwheel", "2spirals"] as const;
export type ToyName = (typeof toyNames)[number];

type Gen = (n: number, key: PhiloxKey) => Float32Array;

/** Stream s of the key, n elements. */
const U = (n: number, key: PhiloxKey, s: number) => uniformArray(n, key, s);
const N = (n: number, key: PhiloxKey, s: number) => normalArray(n, key, s);

/** Points from x, y columns. */
function pack(n: number, fx: (i: number) => number, fy: (i: number) => number): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = fx(i);
    out[2 * i + 1] = fy(i);
  }
  return out;
}

/** Reorders rows by a seeded permutation (sklearn's shuffle=True). */
function shuffleRows(pts: Float32Array, key: PhiloxKey, stream: number): Float32Array {
  const n = pts.length / 2;
  const p = shuffledIndices(n, key, stream);
  return pack(n, (i) => pts[2 * p[i]!]!, (i) => pts[2 * p[i]! + 1]!);
}

/** numpy.linspace(a, b, m, endpoint): value k. */
const linspace = (a: number, b: number, m: number, k: number, endpoint = true) => {
  const div = endpoint ? m - 1 : m;
  return div > 0 ? a + ((b - a) * k) / div : a;
};

const S = Math.SQRT1_2;
const CENTRES: readonly (readonly [number, number])[] = [[1, 0], [-1, 0], [0, 1], [0, -1], [S, S], [S, -S], [-S, S], [-S, -S]];

const GENERATORS: Record<ToyName, Gen> = {
  /** z ~ N(0, 0.5²I) around one of 8 centres at radius 4 (streams: z₁, z₂, centre); all ÷ 1.414. */
  "8gaussians": (n, key) => {
    const z1 = N(n, key, 0), z2 = N(n, key, 1), c = U(n, key, 2);
    const centre = (i: number) => CENTRES[Math.min(Math.floor(c[i]! * 8), 7)]!;
    return pack(n, (i) => (4 * centre(i)[0] + 0.5 * z1[i]!) / 1.414, (i) => (4 * centre(i)[1] + 0.5 * z2[i]!) / 1.414);
  },

  /**
   * x₁ ~ U(−2, 2), x₂ = U(0, 1) − 2·randint(0, 2) + (⌊x₁⌋ mod 2), then ×2: the occupied unit
   * cells are those with ⌊x₁⌋ + ⌊x₂⌋ even (streams: x₁, x₂'s uniform, the randint).
   */
  checkerboard: (n, key) => {
    const a = U(n, key, 0), b = U(n, key, 1), r = U(n, key, 2);
    const x1 = (i: number) => a[i]! * 4 - 2;
    // Python's % is a floor modulo: (−1) mod 2 = 1
    const x2 = (i: number) => b[i]! - 2 * Math.min(Math.floor(r[i]! * 2), 1) + (((Math.floor(x1(i)) % 2) + 2) % 2);
    return pack(n, (i) => 2 * x1(i), (i) => 2 * x2(i));
  },

  /**
   * sklearn make_moons(noise=0.1): ⌊n/2⌋ points at angles linspace(0, π) on the upper unit circle,
   * the rest on the lower one shifted to (1 − cos t, ½ − sin t); + N(0, 0.1²); then ×2 + (−1, −0.2).
   * (streams: noise x, noise y, shuffle 2–3)
   */
  moons: (n, key) => {
    const nOut = Math.floor(n / 2), nIn = n - nOut;
    const e1 = N(n, key, 0), e2 = N(n, key, 1);
    const bx = (i: number) => (i < nOut ? Math.cos(linspace(0, Math.PI, nOut, i)) : 1 - Math.cos(linspace(0, Math.PI, nIn, i - nOut)));
    const by = (i: number) => (i < nOut ? Math.sin(linspace(0, Math.PI, nOut, i)) : 0.5 - Math.sin(linspace(0, Math.PI, nIn, i - nOut)));
    const pts = pack(n, (i) => 2 * (bx(i) + 0.1 * e1[i]!) - 1, (i) => 2 * (by(i) + 0.1 * e2[i]!) - 0.2);
    return shuffleRows(pts, key, 2);
  },

  /**
   * sklearn make_circles(factor=0.5, noise=0.08): ⌊n/2⌋ points at angles linspace(0, 2π, endpoint
   * excluded) on the unit circle, the rest on the circle of radius 0.5; + N(0, 0.08²); then ×3.
   * (streams: noise x, noise y, shuffle 2–3)
   */
  circles: (n, key) => {
    const nOut = Math.floor(n / 2), nIn = n - nOut;
    const e1 = N(n, key, 0), e2 = N(n, key, 1);
    const angle = (i: number) => (i < nOut ? linspace(0, 2 * Math.PI, nOut, i, false) : linspace(0, 2 * Math.PI, nIn, i - nOut, false));
    const r = (i: number) => (i < nOut ? 1 : 0.5);
    const pts = pack(n, (i) => 3 * (r(i) * Math.cos(angle(i)) + 0.08 * e1[i]!), (i) => 3 * (r(i) * Math.sin(angle(i)) + 0.08 * e2[i]!));
    return shuffleRows(pts, key, 2);
  },

  /**
   * sklearn make_swiss_roll(noise=1.0), columns 0 and 2: t = 1.5π(1 + 2U), (t cos t, t sin t)
   * + N(0, I); then ÷ 5. (The height column y = 21U is not drawn.) (streams: U, noise x, noise z)
   */
  swissroll: (n, key) => {
    const u = U(n, key, 0), e1 = N(n, key, 1), e2 = N(n, key, 2);
    const t = (i: number) => 1.5 * Math.PI * (1 + 2 * u[i]!);
    return pack(n, (i) => (t(i) * Math.cos(t(i)) + e1[i]!) / 5, (i) => (t(i) * Math.sin(t(i)) + e2[i]!) / 5);
  },

  /**
   * Pinwheel (Johnson et al. 2016): 5 arms; point i is in arm k = i mod 5. Features
   * f = (1 + 0.3 z₁, 0.1 z₂) are rotated by θ = 2πk/5 + 0.25·e^{f₁}:
   * (f₁ cos θ + f₂ sin θ, −f₁ sin θ + f₂ cos θ), then ×2. (streams: z₁, z₂)
   */
  pinwheel: (n, key) => {
    const z1 = N(n, key, 0), z2 = N(n, key, 1);
    const f1 = (i: number) => 1 + 0.3 * z1[i]!;
    const f2 = (i: number) => 0.1 * z2[i]!;
    const th = (i: number) => ((2 * Math.PI) / 5) * (i % 5) + 0.25 * Math.exp(f1(i));
    return pack(n, (i) => 2 * (f1(i) * Math.cos(th(i)) + f2(i) * Math.sin(th(i))), (i) => 2 * (-f1(i) * Math.sin(th(i)) + f2(i) * Math.cos(th(i))));
  },

  /**
   * Two interleaved spirals, as in FFJORD: m = √U₁·540·2π/360 (up to 1.5 turns),
   * d = (−cos(m)·m + 0.5·U₂, sin(m)·m + 0.5·U₃); even-numbered points are d, odd ones −d; then
   * ÷ 3 + N(0, 0.1²). (streams: U₁, U₂, U₃, noise x, noise y)
   * FFJORD mirrors the same ⌊n/2⌋ draws (the second half is exactly −1 × the first before the
   * noise); here every point has its own draws, so the points are i.i.d. with the same density.
   */
  "2spirals": (n, key) => {
    const u1 = U(n, key, 0), u2 = U(n, key, 1), u3 = U(n, key, 2), e1 = N(n, key, 3), e2 = N(n, key, 4);
    const m = (i: number) => Math.sqrt(u1[i]!) * ((540 * 2 * Math.PI) / 360);
    const sgn = (i: number) => (i % 2 === 0 ? 1 : -1);
    return pack(
      n,
      (i) => (sgn(i) * (-Math.cos(m(i)) * m(i) + 0.5 * u2[i]!)) / 3 + 0.1 * e1[i]!,
      (i) => (sgn(i) * (Math.sin(m(i)) * m(i) + 0.5 * u3[i]!)) / 3 + 0.1 * e2[i]!,
    );
  },
};

/**
 * n points of a FFJORD toy density, [n × 2] row-major, reproducible from `seed`.
 * @example const pts = sampleToy("8gaussians", 512, 0); // pts[2i], pts[2i+1] = x, y of point i
 * @throws DataError for an unknown name or a bad n.
 */
export function sampleToy(name: ToyName | string, n: number, seed = 0): Float32Array {
  if (!(toyNames as readonly string[]).includes(name)) throw new DataError(`sampleToy: unknown toy '${name}' (expected one of ${toyNames.join(", ")})`);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 31) throw new DataError(`sampleToy: n must be a non-negative integer, got ${n}`);
  return GENERATORS[name as ToyName](n, seedToKey(seed));
}
