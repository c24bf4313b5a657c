/**
 * Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011), implemented here for the CPU and in
 * shaders/philox.ts for WGSL so that both produce the same bits.
 *
 * A counter-based generator is a keyed bijection `philox(counter, key) → 4 × u32`: any element of
 * any random tensor can be computed independently, in any order, on any device, with no state to
 * carry between kernels. latent addresses draws as follows (the engine relies on this scheme):
 *
 *   key     = [seed_lo, seed_hi]          64 bits, from seedToKey / Rng
 *   counter = [i, s, 0, 0]                i = flat element index, s = stream (one per random op)
 *
 * and makes one Philox call per element:
 *
 *   uniform    u = (f32(w0 >> 9) + 1/2) · 2^-23               ∈ [2^-24, 1 − 2^-24] ⊂ (0, 1)
 *   normal     z = sqrt(−2 ln u0) · cos(2π u1)                 (Box–Muller, u0 from w0, u1 from w1)
 *   bernoulli  u < p
 *   randint    lo + min(floor(u · (hi − lo)), hi − lo − 1)     (f32 product, as on the GPU)
 *
 * Why 23 bits and not `(f32(w0 >> 8) + 1/2) · 2^-24`: the midpoints (2k+1)/2^25 of 24-bit cells
 * need 25 significant bits, one more than f32 has. For k ≥ 2^23 the +1/2 is a rounding tie, and
 * k = 2^24 − 1 rounds to exactly 1.0, which would break `log(1 − u)`-style callers. With 23 bits
 * every step is exact in f32 (k < 2^23 converts exactly, adding 1/2 needs 24 bits, scaling by a
 * power of two is exact), so the CPU and GPU agree bit for bit, the mean is exactly 1/2 and the
 * values are symmetric: u and 1 − u are both possible outcomes with equal probability.
 * (Equivalently: take w0 >> 8, force its low bit to 1, scale by 2^-24.)
 */

/** Philox4x32 multipliers and Weyl key increments (golden ratio and √3 − 1 in 0.32 fixed point). */
export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** A Philox key: two u32 words, low word first. */
export type PhiloxKey = readonly [number, number];

/** Anything that reads like a list of u32 words. */
export type Words = Uint32Array | readonly number[];

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_M23 = 2 ** -23;

/**
 * High word of the 64-bit product a·b of two u32s. Doubles hold only 53 bits, so split both into
 * 16-bit halves: a·b = a1·b1·2^32 + (a1·b0 + a0·b1)·2^16 + a0·b0, where every partial product is
 * < 2^32 and exact. The carry into the high word collects the top halves of the cross terms plus
 * what overflows from the middle 16-bit column. The WGSL version does the same in u32 arithmetic.
 */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const ll = a0 * b0, hl = a1 * b0, lh = a0 * b1, hh = a1 * b1;
  const mid = (ll >>> 16) + (hl & 0xffff) + (lh & 0xffff); // < 3·2^16, so no precision issue
  return (hh + (hl >>> 16) + (lh >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * The 10-round Philox4x32 bijection on scalars, writing the result into `out` (no allocation, for
 * bulk loops). Each round: (hi0, lo0) = M0·c0, (hi1, lo1) = M1·c2, then
 * c ← [hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0]; between rounds the key gets the Weyl increments.
 */
function philoxInto(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(PHILOX_M0, c0), lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi(PHILOX_M1, c2), lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    // The bump after the last round is unused; skipping the branch keeps the loop uniform.
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const isU32 = (x: number) => x >>> 0 === x;

function checkWords(what: string, w: Words, n: number): void {
  if (w.length !== n) throw new RangeError(`philox4x32_10: ${what} needs ${n} u32 words, got ${w.length}`);
  for (let i = 0; i < n; i++) {
    if (!isU32(w[i]!)) throw new RangeError(`philox4x32_10: ${what}[${i}] = ${w[i]} is not a u32`);
  }
}

function checkIndex(fn: string, idx: number, stream: number): void {
  if (!isU32(idx)) throw new RangeError(`${fn}: element index ${idx} is not a u32`);
  if (!isU32(stream)) throw new RangeError(`${fn}: stream ${stream} is not a u32`);
}

/**
 * Philox4x32-10: four pseudo-random u32 words for a 4-word counter and a 2-word key.
 *
 * @example philox4x32_10([0, 0, 0, 0], [0, 0]) // Uint32Array [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 */
export function philox4x32_10(ctr: Words, key: Words): Uint32Array {
  checkWords("counter", ctr, 4);
  checkWords("key", key, 2);
  const out = new Uint32Array(4);
  philoxInto(ctr[0]!, ctr[1]!, ctr[2]!, ctr[3]!, key[0]!, key[1]!, out);
  return out;
}

/**
 * Turns any JS number into a Philox key [lo, hi].
 *
 * - Integers (safe or not, negative or not) map to their value modulo 2^64, two's complement for
 *   negatives: seedToKey(7) = [7, 0], seedToKey(2 ** 40 + 3) = [3, 256], seedToKey(-1) =
 *   [0xffffffff, 0xffffffff]. Every integer in [0, 2^53] therefore gets its own key.
 * - Other finite numbers (e.g. `Math.random()`) map to their IEEE-754 float64 bit pattern.
 * - NaN and ±Infinity throw a RangeError: they almost always mean a seed was parsed wrongly.
 */
export function seedToKey(seed: number): [number, number] {
  if (!Number.isFinite(seed)) throw new RangeError(`seedToKey: seed must be a finite number, got ${seed}`);
  if (Number.isInteger(seed)) {
    // Division by 2^32 is exact for doubles, so floor(seed / 2^32) is the exact high part and
    // seed − hi·2^32 ∈ [0, 2^32) the exact low part; `>>> 0` then reduces hi modulo 2^32
    // (its ToUint32 is a true modulo, including for negative and huge values).
    const hiFull = Math.floor(seed / TWO_POW_32);
    const lo = seed - hiFull * TWO_POW_32;
    return [lo >>> 0, hiFull >>> 0];
  }
  const bits = new Uint32Array(new Float64Array([seed]).buffer);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return little ? [bits[0]!, bits[1]!] : [bits[1]!, bits[0]!];
}

/** The uniform in (0, 1) encoded by one u32 word (see the file comment for why 23 bits). */
const wordToUniform = (w: number) => ((w >>> 9) + 0.5) * TWO_POW_M23;

/** Box–Muller: a standard normal from two uniforms, in float64 (the GPU evaluates it in f32). */
const boxMuller = (u0: number, u1: number) => Math.sqrt(-2 * Math.log(u0)) * Math.cos(2 * Math.PI * u1);

const scratch = new Uint32Array(4);

/** Uniform draw for element `idx` of stream `stream`; bit-identical to WGSL `rng_uniform`. */
export function uniformAt(key: PhiloxKey, idx: number, stream: number): number {
  checkIndex("uniformAt", idx, stream);
  philoxInto(idx, stream, 0, 0, key[0], key[1], scratch);
  return wordToUniform(scratch[0]!);
}

/**
 * Standard normal draw for element `idx` of stream `stream`. Computed in float64 from the same
 * two uniforms as WGSL `rng_normal`, which evaluates ln/cos in f32 (they agree to ~4e-7).
 * The tails are cut at sqrt(−2 ln 2^-24) ≈ 5.77 because u0 ≥ 2^-24.
 */
export function normalAt(key: PhiloxKey, idx: number, stream: number): number {
  checkIndex("normalAt", idx, stream);
  philoxInto(idx, stream, 0, 0, key[0], key[1], scratch);
  return boxMuller(wordToUniform(scratch[0]!), wordToUniform(scratch[1]!));
}

/** Bernoulli(p) draw as 0 or 1: `u < p` with p rounded to f32, as the GPU compares. */
export function bernoulliAt(key: PhiloxKey, idx: number, stream: number, p: number): 0 | 1 {
  return uniformAt(key, idx, stream) < Math.fround(p) ? 1 : 0;
}

/**
 * Integer draw in [lo, hi): lo + min(floor(u·(hi − lo)), hi − lo − 1), with the product rounded
 * to f32 exactly as WGSL `rng_randint` does, so CPU and GPU agree. Ranges wider than 2^24 lose
 * uniformity (f32 has 24 bits) and must fit in an i32 on the GPU.
 */
export function randintAt(key: PhiloxKey, idx: number, stream: number, lo: number, hi: number): number {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) {
    throw new RangeError(`randintAt: need integers lo < hi, got [${lo}, ${hi})`);
  }
  const n = hi - lo;
  const u = uniformAt(key, idx, stream);
  return lo + Math.min(Math.floor(Math.fround(u * Math.fround(n))), n - 1);
}

/** Uniforms for elements 0..n−1 of one stream (what a GPU `rand` of n elements produces). */
export function uniformArray(n: number, key: PhiloxKey, stream: number): Float64Array {
  checkIndex("uniformArray", Math.max(0, n - 1), stream);
  const out = new Float64Array(n), w = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    philoxInto(i, stream, 0, 0, key[0], key[1], w);
    out[i] = wordToUniform(w[0]!);
  }
  return out;
}

/** Standard normals for elements 0..n−1 of one stream (float64 reference for `rng_normal`). */
export function normalArray(n: number, key: PhiloxKey, stream: number): Float64Array {
  checkIndex("normalArray", Math.max(0, n - 1), stream);
  const out = new Float64Array(n), w = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    philoxInto(i, stream, 0, 0, key[0], key[1], w);
    out[i] = boxMuller(wordToUniform(w[0]!), wordToUniform(w[1]!));
  }
  return out;
}

/** One random op's address: draw element i from philox([i, stream, 0, 0], key). */
export interface RngDraw {
  readonly key: [number, number];
  readonly stream: number;
}

/** Serializable generator state (for checkpoints): restore with `Rng.fromState`. */
export interface RngState {
  readonly key: [number, number];
  readonly stream: number;
  readonly forks: number;
}

/*
 * Counter word 2 separates the uses of a key: element draws use [i, s, 0, *], key derivation uses
 * [*, *, tag, 0] with tag ≥ 1, so a derived key never equals an output anyone else reads.
 */
const TAG_FORK = 1;
const TAG_REKEY = 2;

function deriveKey(key: PhiloxKey, n: number, tag: number): [number, number] {
  const w = new Uint32Array(4);
  philoxInto(n, 0, tag, 0, key[0], key[1], w);
  return [w[0]!, w[1]!];
}

/**
 * The JS-side seeded generator: hands out (key, stream) pairs, one per random op, so a model run
 * from the same seed draws the same numbers on any device. It holds no random state beyond a key
 * and two counters, so it is cheap to fork and to checkpoint.
 *
 * - `next()` returns the current key and a fresh stream number (0, 1, 2, …). After 2^32 streams
 *   it moves to a new key derived from the old one, so streams are never reused.
 * - `fork()` returns an independent generator whose key is philox([f, 0, 1, 0], key) for the
 *   f-th fork: a pseudo-random function of the parent key, in a counter domain (word 2 = 1)
 *   that element draws never touch. Forking does not consume parent streams.
 *
 * @example
 * const rng = new Rng(42);
 * const { key, stream } = rng.next();       // key = [42, 0], stream = 0
 * const x = normalArray(16, key, stream);   // the same 16 numbers the GPU draws for this op
 * const dataRng = rng.fork();               // e.g. for data shuffling, independent of the model's
 */
export class Rng {
  #key: [number, number];
  #stream = 0;
  #forks = 0;

  constructor(seed: number) {
    this.#key = seedToKey(seed);
  }

  /** Rebuilds a generator from `state()`, e.g. when resuming from a checkpoint. */
  static fromState(s: RngState): Rng {
    checkWords("Rng key", s.key, 2);
    if (!isU32(s.stream) || !Number.isSafeInteger(s.forks) || s.forks < 0) {
      throw new RangeError(`Rng.fromState: bad counters stream=${s.stream} forks=${s.forks}`);
    }
    const r = new Rng(0);
    r.#key = [s.key[0], s.key[1]];
    r.#stream = s.stream;
    r.#forks = s.forks;
    return r;
  }

  /** The address of the next random op's draws; advances the stream. */
  next(): RngDraw {
    const draw: RngDraw = { key: [this.#key[0], this.#key[1]], stream: this.#stream++ };
    if (this.#stream === TWO_POW_32) {
      this.#key = deriveKey(this.#key, 0, TAG_REKEY);
      this.#stream = 0;
    }
    return draw;
  }

  /** An independent generator; successive forks differ from each other and from the parent. */
  fork(): Rng {
    const child = new Rng(0);
    child.#key = deriveKey(this.#key, this.#forks++, TAG_FORK);
    return child;
  }

  /** A plain-object snapshot of the generator (JSON-safe). */
  state(): RngState {
    return { key: [this.#key[0], this.#key[1]], stream: this.#stream, forks: this.#forks };
  }
}
