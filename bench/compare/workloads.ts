/**
 * The workloads of the side-by-side benchmark, and the data every library starts from.
 *
 * Every library gets the same numbers: inputs and initial parameters are generated here on the
 * CPU (a seeded PRNG) in latent's layouts (NCHW activations, OIHW conv weights, [in, out] linear
 * weights) and each implementation uploads them, permuting to its own layout where it differs
 * (TF.js: NHWC / HWIO). Same data + same math means the first-step losses must agree across
 * libraries, which the report checks.
 *
 * FLOP counts are nominal: multiply-adds of the matmuls and convolutions (2 per MAC), dense
 * kernels (masked taps included), backward = two more products per layer except the input
 * gradient of the first layer, which no library needs. Elementwise work is not counted.
 */

export interface MatmulSpec {
  kind: "matmul";
  batch: number;
  n: number;
}
export interface SoftmaxSpec {
  kind: "softmax";
  rows: number;
  cols: number;
}
/** An MLP autoencoder step: ReLU hidden layers, logits out, BCE-with-logits against the input. */
export interface MlpSpec {
  kind: "mlp";
  sizes: readonly number[];
  batch: number;
  lr: number;
}
/** conv2d, 3×3, stride 1, 'same' padding, no bias; `grad`: forward plus dx and dw. */
export interface ConvSpec {
  kind: "conv";
  N: number;
  H: number;
  W: number;
  Cin: number;
  Cout: number;
  k: number;
  grad: boolean;
}
/** DCGAN discriminator step: conv 1→64 4×4 s2 p1, lrelu .2, conv 64→128 4×4 s2 p1, lrelu .2, linear → 1, BCE-with-logits, SGD. */
export interface DcganSpec {
  kind: "dcgan";
  batch: number;
  lr: number;
}
/** PixelCNN step: masked convs 'A' 7×7 1→C, then 'B' 3×3 C→C (×3), then 'B' 3×3 C→1 logits; ReLU between; BCE. */
export interface PixelCnnSpec {
  kind: "pixelcnn";
  batch: number;
  channels: number;
  lr: number;
}
export type Spec = MatmulSpec | SoftmaxSpec | MlpSpec | ConvSpec | DcganSpec | PixelCnnSpec;

export interface Workload {
  id: string;
  title: string;
  spec: Spec;
  /** Nominal FLOPs per rep (GFLOP/s column). */
  flops?: number;
  /** Bytes moved per rep (GB/s column, memory-bound workloads). */
  bytes?: number;
  /** In the --quick subset. */
  quick?: boolean;
  /** Training step: also timed as a latent compile() step. */
  train?: boolean;
}

const convFlops = (N: number, Ho: number, Wo: number, Cout: number, Cin: number, k: number) => 2 * N * Ho * Wo * Cout * Cin * k * k;

function mlpFlops(s: MlpSpec): number {
  let fwd = 0;
  for (let i = 0; i + 1 < s.sizes.length; i++) fwd += 2 * s.batch * s.sizes[i]! * s.sizes[i + 1]!;
  return 3 * fwd - 2 * s.batch * s.sizes[0]! * s.sizes[1]!;
}
function dcganFlops(B: number): number {
  const c1 = convFlops(B, 14, 14, 64, 1, 4), c2 = convFlops(B, 7, 7, 128, 64, 4), fc = 2 * B * 128 * 7 * 7;
  return 2 * c1 + 3 * (c2 + fc);
}
function pixelCnnFlops(B: number, C: number): number {
  const first = convFlops(B, 28, 28, C, 1, 7), mid = convFlops(B, 28, 28, C, C, 3), last = convFlops(B, 28, 28, 1, C, 3);
  return 2 * first + 3 * (3 * mid + last);
}

function matmul(batch: number, n: number, quick = false): Workload {
  return {
    id: batch === 1 ? `matmul-${n}` : `bmm-${batch}x${n}`,
    title: batch === 1 ? `matmul ${n}³` : `batched matmul ${batch}×${n}³`,
    spec: { kind: "matmul", batch, n },
    flops: 2 * batch * n ** 3,
    quick,
  };
}
function conv(N: number, H: number, C: number, grad: boolean, quick = false): Workload {
  const spec: ConvSpec = { kind: "conv", N, H, W: H, Cin: C, Cout: C, k: 3, grad };
  return {
    id: `conv-${H}x${C}${grad ? "-grad" : ""}`,
    title: `conv2d ${N}×${H}×${H}×${C}→${C} 3×3${grad ? " fwd+dx+dw" : " fwd"}`,
    spec,
    flops: (grad ? 3 : 1) * convFlops(N, H, H, C, C, 3),
    quick,
  };
}

const MLP: MlpSpec = { kind: "mlp", sizes: [784, 400, 20, 400, 784], batch: 128, lr: 0.01 };

export const WORKLOADS: readonly Workload[] = [
  matmul(1, 256, true),
  matmul(1, 512),
  matmul(1, 1024),
  matmul(8, 256),
  { id: "softmax-128x1024", title: "softmax 128×1024", spec: { kind: "softmax", rows: 128, cols: 1024 }, bytes: 2 * 128 * 1024 * 4, quick: true },
  { id: "mlp-train", title: "MLP 784-400-20-400-784 step, batch 128", spec: MLP, flops: mlpFlops(MLP), quick: true, train: true },
  conv(32, 28, 32, false),
  conv(32, 28, 32, true),
  conv(32, 14, 64, false),
  conv(32, 14, 64, true, true),
  { id: "dcgan-d-train", title: "DCGAN discriminator step, batch 64", spec: { kind: "dcgan", batch: 64, lr: 0.01 }, flops: dcganFlops(64), quick: true, train: true },
  { id: "pixelcnn-train", title: "PixelCNN (5 masked convs, 32 ch) step, batch 16", spec: { kind: "pixelcnn", batch: 16, channels: 32, lr: 0.01 }, flops: pixelCnnFlops(16, 32), quick: true, train: true },
];

export function workload(id: string): Workload {
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w) throw new Error(`unknown workload '${id}'`);
  return w;
}

/** Selects workloads: `only` entries match an id exactly or as a prefix ("matmul", "conv-14"). */
export function selectWorkloads(only: readonly string[], quick: boolean): Workload[] {
  if (only.length) {
    const picked = WORKLOADS.filter((w) => only.some((o) => w.id === o || w.id.startsWith(o)));
    if (!picked.length) throw new Error(`--only ${only.join(",")} matches no workload; ids: ${WORKLOADS.map((w) => w.id).join(", ")}`);
    return picked;
  }
  return WORKLOADS.filter((w) => !quick || w.quick);
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────

/** mulberry32: a tiny seeded PRNG (the data only has to be identical across libraries). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export function gaussian(n: number, seed: number): Float32Array {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box–Muller; 1 − u keeps the log argument in (0, 1]
    const rad = Math.sqrt(-2 * Math.log(1 - r())), th = 2 * Math.PI * r();
    out[i] = rad * Math.cos(th);
    if (i + 1 < n) out[i + 1] = rad * Math.sin(th);
  }
  return out;
}
export function uniform(n: number, bound: number, seed: number): Float32Array {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * bound;
  return out;
}
export function binary(n: number, seed: number): Float32Array {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < 0.5 ? 1 : 0;
  return out;
}

/** A parameter tensor's data in latent's layout. */
export interface Param {
  shape: number[];
  data: Float32Array;
}
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** PyTorch's default init bound for weights and biases: U(±1/√fanIn). */
function param(shape: number[], fanIn: number, seed: number): Param {
  return { shape, data: uniform(count(shape), 1 / Math.sqrt(fanIn), seed) };
}

/** MLP layers: W [in, out], b [out]. */
export function mlpParams(s: MlpSpec): { W: Param; b: Param }[] {
  const layers: { W: Param; b: Param }[] = [];
  for (let i = 0; i + 1 < s.sizes.length; i++) {
    const [fi, fo] = [s.sizes[i]!, s.sizes[i + 1]!];
    layers.push({ W: param([fi, fo], fi, 100 + 2 * i), b: param([fo], fi, 101 + 2 * i) });
  }
  return layers;
}

/** DCGAN discriminator: conv weights OIHW, fc weight [128·7·7, 1] over the NCHW flattening. */
export function dcganParams() {
  return {
    w1: param([64, 1, 4, 4], 16, 200),
    b1: param([64], 16, 201),
    w2: param([128, 64, 4, 4], 64 * 16, 202),
    b2: param([128], 64 * 16, 203),
    fc: param([128 * 7 * 7, 1], 128 * 7 * 7, 204),
    fb: param([1], 128 * 7 * 7, 205),
  };
}

export interface PixelLayer {
  w: Param;
  b: Param;
  mask: "A" | "B";
  k: number;
}
export function pixelCnnParams(C: number): PixelLayer[] {
  const dims: [number, number, number, "A" | "B"][] = [
    [1, C, 7, "A"],
    [C, C, 3, "B"],
    [C, C, 3, "B"],
    [C, C, 3, "B"],
    [C, 1, 3, "B"],
  ];
  return dims.map(([cin, cout, k, mask], i) => ({ w: param([cout, cin, k, k], cin * k * k, 300 + 2 * i), b: param([cout], cin * k * k, 301 + 2 * i), mask, k }));
}

/**
 * The PixelCNN mask as a dense OIHW array of 0/1 (for libraries without a masked conv): tap (r, c)
 * of a k×k kernel is kept when it comes before the centre in raster order; 'B' keeps the centre.
 */
export function pixelMask(shape: readonly number[], mask: "A" | "B"): Float32Array {
  const [O, I, k] = [shape[0]!, shape[1]!, shape[2]!];
  const m = new Float32Array(O * I * k * k), c = (k - 1) / 2;
  for (let o = 0; o < O * I; o++)
    for (let r = 0; r < k; r++)
      for (let s = 0; s < k; s++) m[o * k * k + r * k + s] = r < c || (r === c && (s < c || (mask === "B" && s === c))) ? 1 : 0;
  return m;
}

/** DCGAN labels: first half real (1), second half fake (0). */
export function dcganLabels(B: number): Float32Array {
  return Float32Array.from({ length: B }, (_, i) => (i < B / 2 ? 1 : 0));
}

// ── layout permutations (for TF.js, whose convolutions are NHWC / HWIO) ──────────────────────

export function nchwToNhwc(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[((n * H + h) * W + w) * C + c] = x[((n * C + c) * H + h) * W + w]!;
  return out;
}
export function oihwToHwio(x: Float32Array, O: number, I: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let h = 0; h < kh; h++) for (let w = 0; w < kw; w++) out[((h * kw + w) * I + i) * O + o] = x[((o * I + i) * kh + h) * kw + w]!;
  return out;
}
/** Rows of a [C·H·W, out] weight reordered from NCHW to NHWC flattening order. */
export function flatRowsToNhwc(x: Float32Array, C: number, H: number, W: number, out: number): Float32Array {
  const r = new Float32Array(x.length);
  for (let c = 0; c < C; c++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let j = 0; j < out; j++) r[((h * W + w) * C + c) * out + j] = x[((c * H + h) * W + w) * out + j]!;
  return r;
}
