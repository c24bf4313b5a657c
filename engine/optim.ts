/**
 * Optimizers (SGD, Adam, AdamW), gradient clipping, parameter EMA and learning-rate schedules.
 *
 * The optimizers follow PyTorch's semantics and defaults, so hyper-parameters from papers and
 * PyTorch code carry over unchanged. A step is two GPU submissions however many parameters there
 * are: one `realize()` of every lazily built gradient (the whole backward pass, fused), then one
 * command buffer holding one fused update dispatch per parameter (shaders/optim.ts). Parameters
 * are updated in place: the Tensor objects and their GPU buffers stay the same, so a model keeps
 * its references. State buffers (moments, EMA shadows) are allocated by the constructors.
 *
 * Works inside `compile()` (engine/compile.ts): every uniform is a closure re-packed at each
 * replay (current lr, betas, decay) and the step counters advance in `onReplay` hooks, so bias
 * corrections stay right. Construct optimizers and EMAs outside compiled steps.
 *
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 3e-4 });
 * const sched = new LRScheduler(opt, cosineSchedule({ base: 3e-4, total: 10_000, warmup: 500 }));
 * for (let i = 0; i < 10_000; i++) {
 *   await scope(async () => {
 *     const loss = model.loss(batch());
 *     loss.backward();
 *     const norm = clipGradNorm(model.parameters(), 1.0);
 *     await opt.step({ realize: [loss, norm] });   // one realize for loss, norm and gradients
 *     if (i % 50 === 0) log(await loss.item(), await norm.item());
 *     opt.zeroGrad();
 *   });
 *   sched.step();
 * }
 */
import { adamKernel, emaKernel, OPTIM_WG, sgdKernel, sgdMomentumKernel } from "../shaders/optim.js";
import type { KernelSource, Params } from "../shaders/kernel.js";
import type { Device } from "./device.js";
import { CommandBatch, grid1d } from "./dispatch.js";
import { CheckpointError, DisposedError, DTypeError, ShapeError } from "./errors.js";
import type { CompiledKernel } from "./pipelines.js";
import { realize } from "./realize.js";
import { sameShape, shapeStr } from "./shape.js";
import { noGrad, Tensor } from "./tensor.js";
import { onReplay } from "./trace.js";
import { add, div, minimum, mul } from "./ops/binary.js";
import { BUFFER, full } from "./ops/node.js";
import { sum } from "./ops/reduce.js";
import { sqrt } from "./ops/unary.js";

/** Parameters as a list (keys "0", "1", …) or by name (the names key the optimizer state). */
export type ParamsArg = readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** Anything whose learning rate a schedule can drive. */
export interface HasLr {
  lr: number;
}

/** Options of {@link Optimizer.step}. */
export interface StepOptions {
  /**
   * Extra tensors (the loss, a gradient norm) to realize in the same `realize()` call as the
   * gradients. Realize anything you will read later that depends on the parameters here:
   * after the step they hold the new values.
   */
  realize?: readonly Tensor[];
}

/**
 * What {@link Optimizer.stateDict} returns. `meta` is plain JSON (store it as a safetensors
 * metadata string); `tensors` are the optimizer's own state buffers, keyed
 * `"<param name>.<slot>"` with PyTorch's slot names (`exp_avg`, `exp_avg_sq`, `momentum_buffer`).
 * The tensors are references, not copies: do not dispose them, and read or save them before the
 * next step, which overwrites them in place.
 */
export interface OptimizerState {
  meta: {
    kind: string;
    /** step() calls so far. */
    step: number;
    /** Updates applied to each parameter (Adam's bias correction uses these, as PyTorch does). */
    paramSteps: Record<string, number>;
    lr: number;
  };
  tensors: Record<string, Tensor>;
}

const WG = OPTIM_WG;

/** Names and tensors of `params`, duplicates (by identity) dropped, all f32 on one device. */
function namedParams(what: string, params: ParamsArg): [string, Tensor][] {
  const list: [string, Tensor][] = isList(params) ? params.map((p, i) => [String(i), p]) : Object.entries(params);
  const seen = new Set<Tensor>();
  const out: [string, Tensor][] = [];
  for (const [k, p] of list) {
    if (!(p instanceof Tensor)) throw new TypeError(`${what}: parameter "${k}" is not a Tensor`);
    if (seen.has(p)) continue;
    seen.add(p);
    if (p.dtype !== "f32") throw new DTypeError(`${what} (parameter "${k}")`, "f32", p.dtype);
    if (p.device !== list[0]![1].device) throw new ShapeError(what, `parameter "${k}" lives on a different device`);
    out.push([k, p]);
  }
  return out;
}

const isList = (p: ParamsArg): p is readonly Tensor[] => Array.isArray(p);

function checkRange(what: string, name: string, v: number, lo: number, hi = Infinity, hiOpen = false): void {
  if (!(Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi))) {
    throw new RangeError(`${what}: ${name} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${v}`);
  }
}

/**
 * A pool-backed f32 tensor owned by an optimizer or EMA: kept out of every scope (it lives until
 * its owner's dispose()), and its contents are garbage until the first update writes them.
 */
function ownedBuffer(like: Tensor, name: string): Tensor {
  const t = new Tensor(BUFFER, [], [...like.shape], "f32", {}, false, like.device);
  t.name = name;
  t.setBuffer(like.device.pool.acquire(Math.max(4, like.size * 4), name));
  return t.keep();
}

/** Compiles (or fetches from the cache) every distinct kernel in `kernels`. */
async function compileAll(dev: Device, kernels: readonly KernelSource<Params>[]): Promise<Map<KernelSource<Params>, CompiledKernel>> {
  const unique = [...new Set(kernels)];
  const compiled = await Promise.all(unique.map((k) => dev.pipelines.get(k.name, k.source, k.inputs.length, k.outputs.length)));
  return new Map(unique.map((k, i) => [k, compiled[i]!]));
}

interface Entry {
  readonly key: string;
  readonly param: Tensor;
  /** Updates applied so far (PyTorch's per-parameter `state["step"]`). */
  step: number;
  /** One tensor per slot (garbage until the parameter's first update, which ignores it). */
  state: Tensor[];
}

/** One parameter's update: which kernel and with which uniforms. */
interface Update {
  kernel: KernelSource<Params>;
  uniforms: ArrayBuffer;
}

/** Shared machinery: parameter bookkeeping, the two-submission step, state save/load. */
export abstract class Optimizer implements HasLr {
  readonly #entries: Entry[];
  readonly #slots: readonly string[];
  #lr: number;
  #steps = 0;
  #disposed = false;

  protected constructor(
    /** "sgd", "adam", "adamw": checked by loadStateDict. */
    readonly kind: string,
    params: ParamsArg,
    lr: number,
    slots: readonly string[],
    /** Validates the subclass's options; runs before any buffer is allocated, so a throw leaks nothing. */
    check: () => void,
  ) {
    checkRange(kind, "lr", lr, 0);
    check();
    // State is allocated here, not at the first step: a buffer acquired inside a compiled step's
    // trace could be one that an earlier temporary of the same trace released, and a replay would
    // then clobber it. Allocating up front keeps state out of traces (PyTorch allocates lazily).
    this.#entries = namedParams(kind, params).map(([key, param]) => ({
      key,
      param,
      step: 0,
      state: slots.map((s) => ownedBuffer(param, `${kind}.${key}.${s}`)),
    }));
    this.#slots = slots;
    this.#lr = lr;
  }

  /** The learning rate used by the next step(). Settable at any time; it is a uniform, so changing it never recompiles. */
  get lr(): number {
    return this.#lr;
  }
  set lr(v: number) {
    checkRange(this.kind, "lr", v, 0);
    this.#lr = v;
  }

  /** The parameters, in the order given. */
  get params(): Tensor[] {
    return this.#entries.map((e) => e.param);
  }

  /** Number of step() calls so far. */
  get stepCount(): number {
    return this.#steps;
  }

  /** The kernel and uniforms that update `e` as its `t`-th step (t ≥ 1). */
  protected abstract plan(e: { readonly param: Tensor }, t: number): Update;

  /**
   * Applies one update to every parameter that has a gradient (`p.grad !== null`); the others
   * are skipped and keep their state untouched, as in PyTorch. Await it before the next step.
   * @throws DisposedError if a gradient was disposed (e.g. its scope ended before the step).
   */
  async step(opts: StepOptions = {}): Promise<void> {
    this.#alive();
    const live = this.#entries.filter((e) => e.param.grad !== null);
    for (const e of live) {
      const g = e.param.grad!;
      if (e.param.isDisposed) throw new DisposedError(`parameter "${e.key}" of ${this.kind}`);
      if (g.isDisposed) throw new DisposedError(`the gradient of parameter "${e.key}"`);
      if (!sameShape(g.shape, e.param.shape)) throw new ShapeError(`${this.kind}.step`, `gradient of "${e.key}" has a different shape from the parameter`, e.param.shape, g.shape);
      if (g.dtype !== "f32") throw new DTypeError(`${this.kind}.step (gradient of "${e.key}")`, "f32", g.dtype);
    }
    // One realize: the backward graphs of all parameters share nodes, and fuse, only if lowered together.
    await realize(...live.map((e) => e.param.grad!), ...live.map((e) => e.param), ...(opts.realize ?? []));
    const work = live.filter((e) => e.param.size > 0);
    if (!work.length) {
      const advance = () => {
        for (const e of live) e.step++;
        this.#steps++;
      };
      advance();
      onReplay(advance);
      return;
    }
    const dev = work[0]!.param.device;
    // the kernel depends only on the configuration, never on the step
    const compiled = await compileAll(dev, work.map((e) => this.plan(e, e.step + 1).kernel));
    this.#alive();
    // Counters are committed before encoding and the uniforms are closures over `ts`, so a compiled
    // step (engine/compile.ts) that replays this work re-packs them with the current lr and with the
    // step numbers its onReplay hook assigns. Hooks run in trace order, so an optimizer stepped
    // several times in one compiled function (WGAN's critic steps) gets t, t+1, … right.
    const ts = work.map((e) => e.step + 1);
    const advance = () => {
      for (const e of live) e.step++;
      work.forEach((e, i) => (ts[i] = e.step));
      this.#steps++;
    };
    advance();
    onReplay(advance);
    const batch = new CommandBatch(dev, `${this.kind}.step`);
    work.forEach((e, i) => {
      const buffers = [e.param.grad!.buffer!, e.param.buffer!, ...e.state.map((s) => s.buffer!)];
      const label = `${this.kind}.step ${e.param.name ?? e.key} ${shapeStr(e.param.shape)}`;
      const kernel = compiled.get(this.plan(e, ts[i]!).kernel)!;
      batch.dispatch(kernel, () => this.plan(e, ts[i]!).uniforms, buffers, grid1d(Math.ceil(e.param.size / WG), dev.limits.maxComputeWorkgroupsPerDimension), label);
    });
    batch.submit();
  }

  /** Drops every parameter's gradient (`p.grad = null`), disposing the gradient tensors. */
  zeroGrad(): void {
    for (const { param } of this.#entries) {
      param.grad?.dispose();
      param.grad = null;
    }
  }

  /** The optimizer's state, for checkpoints (see {@link OptimizerState}). */
  stateDict(): OptimizerState {
    this.#alive();
    const tensors: Record<string, Tensor> = {};
    const paramSteps: Record<string, number> = {};
    for (const e of this.#entries) {
      if (e.step === 0) continue; // never updated: its state holds nothing yet
      paramSteps[e.key] = e.step;
      e.state.forEach((t, i) => (tensors[`${e.key}.${this.#slots[i]}`] = t));
    }
    return { meta: { kind: this.kind, step: this.#steps, paramSteps, lr: this.#lr }, tensors };
  }

  /**
   * Restores a state saved by {@link stateDict} (possibly through a checkpoint): counters, lr and
   * moment buffers, whose values are copied (the given tensors stay the caller's). Like PyTorch,
   * parameters absent from the saved state start afresh. Other hyper-parameters (betas, momentum,
   * weight decay) are the ones this optimizer was constructed with.
   * @throws CheckpointError naming the key when the kind differs, a key is unknown or missing, or
   *   a shape differs; nothing is changed in that case.
   */
  async loadStateDict(sd: OptimizerState): Promise<void> {
    this.#alive();
    const where = `${this.kind}.loadStateDict`;
    const { meta, tensors } = sd;
    // the state usually comes from JSON in a checkpoint, so check its structure, not just its values
    if (typeof meta !== "object" || meta === null || typeof meta.paramSteps !== "object" || meta.paramSteps === null || typeof tensors !== "object" || tensors === null) {
      throw new CheckpointError(`${where}: expected { meta: { kind, step, paramSteps, lr }, tensors }`);
    }
    if (meta.kind !== this.kind) throw new CheckpointError(`${where}: the state is for a "${meta.kind}" optimizer`);
    const byKey = new Map(this.#entries.map((e) => [e.key, e]));
    // own keys only: a parameter named "constructor" must not find Object.prototype's
    const stepsOf = (k: string) => (Object.hasOwn(meta.paramSteps, k) ? meta.paramSteps[k]! : 0);
    const problems: string[] = [];
    for (const [k, t] of Object.entries(meta.paramSteps)) {
      if (!byKey.has(k)) problems.push(`unexpected parameter "${k}"`);
      else if (!Number.isSafeInteger(t) || t < 0) problems.push(`parameter "${k}": step must be a non-negative integer, got ${t}`);
    }
    const slotOf = new Map<string, [Entry, number]>();
    for (const e of this.#entries) this.#slots.forEach((s, i) => slotOf.set(`${e.key}.${s}`, [e, i]));
    for (const [name, t] of Object.entries(tensors)) {
      const hit = slotOf.get(name);
      if (!hit) problems.push(`unexpected state tensor "${name}"`);
      else if (t.isDisposed) problems.push(`state tensor "${name}" was disposed`);
      else if (!sameShape(t.shape, hit[0].param.shape) || t.dtype !== "f32") {
        problems.push(`state tensor "${name}": expected f32 ${shapeStr(hit[0].param.shape)}, found ${t.dtype} ${shapeStr(t.shape)}`);
      } else if (!(stepsOf(hit[0].key) > 0)) problems.push(`state tensor "${name}" belongs to a parameter with no recorded steps`);
    }
    for (const [k, t] of Object.entries(meta.paramSteps)) {
      if (!(t > 0) || !byKey.has(k)) continue;
      for (const s of this.#slots) if (!Object.hasOwn(tensors, `${k}.${s}`)) problems.push(`missing state tensor "${k}.${s}"`);
    }
    if (!Number.isSafeInteger(meta.step) || meta.step < 0) problems.push(`step must be a non-negative integer, got ${meta.step}`);
    if (!(Number.isFinite(meta.lr) && meta.lr >= 0)) problems.push(`lr must be a non-negative number, got ${meta.lr}`);
    if (problems.length) throw new CheckpointError(`${where}: ${problems.join("; ")}`);

    const sources = Object.values(tensors);
    await realize(...sources);
    this.#alive();
    let batch: CommandBatch | undefined;
    for (const e of this.#entries) {
      // a parameter restored with step 0 starts afresh: its next update is a first update
      const t = stepsOf(e.key);
      if (t > 0) {
        this.#slots.forEach((s, i) => {
          const src = tensors[`${e.key}.${s}`]!;
          const dst = e.state[i]!;
          if (src === dst || e.param.size === 0) return;
          batch ??= new CommandBatch(e.param.device, where);
          batch.copy(src.buffer!, dst.buffer!, e.param.size * 4);
        });
      }
      e.step = t;
    }
    batch?.submit();
    this.#steps = meta.step;
    this.#lr = meta.lr;
  }

  /** Releases the state buffers. The parameters are the caller's and are left alone. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const e of this.#entries) {
      e.state.forEach((s) => s.dispose());
      e.state = [];
    }
  }

  #alive(): void {
    if (this.#disposed) throw new DisposedError(`${this.kind} optimizer`);
  }
}

/** Options of {@link SGD} (PyTorch's names and defaults). */
export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
 * exactly as torch.optim.SGD:
 *
 *   g = ∇ + λ·p;   b₁ = g,  bₜ = μ·bₜ₋₁ + (1 − dampening)·g;   d = g + μ·b (Nesterov) or b;   p ← p − lr·d
 *
 * @example const opt = new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true });
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: ParamsArg, { lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false }: SGDOptions = {}) {
    super("sgd", params, lr, momentum > 0 ? ["momentum_buffer"] : [], () => {
      checkRange("sgd", "momentum", momentum, 0);
      checkRange("sgd", "dampening", dampening, 0, 1);
      checkRange("sgd", "weightDecay", weightDecay, 0);
      if (nesterov && (momentum <= 0 || dampening !== 0)) throw new RangeError("sgd: Nesterov momentum requires momentum > 0 and dampening = 0");
    });
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  protected override plan(e: { readonly param: Tensor }, t: number): Update {
    const n = e.param.size;
    if (this.momentum === 0) return { kernel: sgdKernel as KernelSource<Params>, uniforms: sgdKernel.pack({ n, lr: this.lr, l2: this.weightDecay }) };
    const first = t === 1;
    const uniforms = sgdMomentumKernel.pack({
      n,
      lr: this.lr,
      l2: this.weightDecay,
      momentum: this.momentum,
      keep: first ? 0 : this.momentum,
      scale: first ? 1 : 1 - this.dampening,
      nesterov: this.nesterov ? 1 : 0,
      first: first ? 1 : 0,
    });
    return { kernel: sgdMomentumKernel as KernelSource<Params>, uniforms };
  }
}

/** Options of {@link Adam} and {@link AdamW} (PyTorch's names and defaults). */
export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
}

/** Adam and AdamW share everything but the kind of weight decay. */
abstract class AdamBase extends Optimizer {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;

  protected constructor(
    kind: string,
    params: ParamsArg,
    opts: AdamOptions,
    /** Whether weight decay is decoupled from the gradient (AdamW) or an L2 term (Adam). */
    readonly decoupled: boolean,
  ) {
    const betas = opts.betas ?? [0.9, 0.999];
    const eps = opts.eps ?? 1e-8;
    const weightDecay = opts.weightDecay ?? (decoupled ? 0.01 : 0);
    super(kind, params, opts.lr ?? 1e-3, ["exp_avg", "exp_avg_sq"], () => {
      checkRange(kind, "betas[0]", betas[0], 0, 1, true);
      checkRange(kind, "betas[1]", betas[1], 0, 1, true);
      checkRange(kind, "eps", eps, 0);
      checkRange(kind, "weightDecay", weightDecay, 0);
    });
    this.betas = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected override plan(e: { readonly param: Tensor }, t: number): Update {
    const [beta1, beta2] = this.betas;
    const uniforms = adamKernel.pack({
      n: e.param.size,
      lr: this.lr,
      beta1,
      beta2,
      oneMinusBeta1: 1 - beta1,
      oneMinusBeta2: 1 - beta2,
      eps: this.eps,
      // bias corrections in float64, then rounded once to f32 by the uniform
      bc1: 1 - beta1 ** t,
      bc2Sqrt: Math.sqrt(1 - beta2 ** t),
      l2: this.decoupled ? 0 : this.weightDecay,
      decay: this.decoupled ? 1 - this.lr * this.weightDecay : 1,
      first: t === 1 ? 1 : 0,
    });
    return { kernel: adamKernel as KernelSource<Params>, uniforms };
  }
}

/**
 * Adam (Kingma & Ba 2015) as torch.optim.Adam, with bias correction and ε outside the square
 * root: p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). Weight decay is an L2 term added to
 * the gradient, so it is scaled by the adaptive denominator; use {@link AdamW} for decoupled
 * decay. `betas`, `eps` and `weightDecay` may be changed between steps (they are uniforms too).
 * @example const opt = new Adam({ "fc.weight": w, "fc.bias": b }, { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  constructor(params: ParamsArg, opts: AdamOptions = {}) {
    super("adam", params, opts, false);
  }
}

/**
 * AdamW (Loshchilov & Hutter 2019, Algorithm 2) as torch.optim.AdamW: the decay shrinks the
 * parameter directly, p ← (1 − lr·λ)·p, before the Adam step, instead of passing through the
 * adaptive denominator. Default weightDecay 0.01.
 * @example const opt = new AdamW(params, { lr: 3e-4, weightDecay: 0.05 });
 */
export class AdamW extends AdamBase {
  constructor(params: ParamsArg, opts: AdamOptions = {}) {
    super("adamw", params, opts, true);
  }
}

// ── gradient clipping ──────────────────────────────────────────────────────────────────────────

/**
 * Scales all gradients so that their global L2 norm is at most `maxNorm` (torch.nn.utils.
 * clip_grad_norm_): with N = √(Σₚ Σᵢ gₚᵢ²) and c = min(1, maxNorm / (N + 1e-6)), every `p.grad`
 * is replaced by the (lazy) tensor c·p.grad.
 *
 * Nothing is read back: N and c stay on the GPU and fuse into the gradient computation that the
 * next `optimizer.step()` realizes. **Returns the norm N as a lazy scalar tensor** (not a
 * number) — pass it to `step({ realize: [norm] })` and read it with `await norm.item()` when you
 * want to log it. The replaced gradient tensors are left to the enclosing scope.
 * Parameters without a gradient are ignored; with none at all the norm is 0.
 */
export function clipGradNorm(params: ParamsArg, maxNorm: number, opts: { eps?: number } = {}): Tensor {
  checkRange("clipGradNorm", "maxNorm", maxNorm, 0);
  const eps = opts.eps ?? 1e-6;
  const named = namedParams("clipGradNorm", params);
  const ps = named.map(([, p]) => p).filter((p) => p.grad !== null);
  return noGrad(() => {
    if (!ps.length) return full([], 0, named.length ? { device: named[0]![1].device } : {});
    let sq: Tensor | null = null;
    for (const p of ps) {
      const s = sum(mul(p.grad!, p.grad!));
      sq = sq ? add(sq, s) : s;
    }
    const norm = sqrt(sq!);
    const coef = minimum(div(maxNorm, add(norm, eps)), 1);
    for (const p of ps) p.grad = mul(p.grad!, coef);
    return norm;
  });
}

// ── exponential moving average of parameters ───────────────────────────────────────────────────

/** Options of {@link EMA}. */
export interface EMAOptions {
  /** Weight of the old average, 0 ≤ decay ≤ 1 (default 0.999). */
  decay?: number;
  /**
   * Ramp the decay up as min(decay, (1 + k)/(10 + k)) at the k-th averaging update (as
   * TensorFlow's ExponentialMovingAverage with num_updates), so early averages forget the
   * random initialization quickly. Default false.
   */
  warmup?: boolean;
}

/**
 * Exponential moving average of parameters (Polyak averaging), the "EMA weights" that DDPM and
 * most GAN papers sample from. Semantics of torch.optim.swa_utils.AveragedModel with an EMA
 * average: the first update() copies the parameters, every later one does
 * s ← decay·s + (1 − decay)·p, one fused dispatch per parameter in one submission.
 * The shadow buffers come from the pool and are released by dispose().
 * @example
 * const ema = new EMA(model.parameters(), { decay: 0.999 });
 * // after each optimizer step:  await ema.update();
 * // to sample with the averaged weights:  await ema.copyTo(evalModel.parameters());
 */
export class EMA {
  readonly warmup: boolean;
  readonly #entries: { key: string; param: Tensor; shadow: Tensor }[];
  #decay = 0.999;
  #updates = 0;
  #disposed = false;

  constructor(params: ParamsArg, { decay = 0.999, warmup = false }: EMAOptions = {}) {
    this.decay = decay;
    this.warmup = warmup;
    // allocated up front, for the reason given in the Optimizer constructor; filled by the first update
    this.#entries = namedParams("EMA", params).map(([key, param]) => ({ key, param, shadow: ownedBuffer(param, `ema.${key}`) }));
  }

  /** Weight of the old average (settable between updates). */
  get decay(): number {
    return this.#decay;
  }
  set decay(v: number) {
    checkRange("EMA", "decay", v, 0, 1);
    this.#decay = v;
  }

  /** Number of update() calls so far. */
  get updates(): number {
    return this.#updates;
  }

  /** The decay the next update() will use. */
  get currentDecay(): number {
    return this.#decayAt(this.#updates + 1);
  }

  /** Decay of the u-th update (1-based); update 1 is the copy, so averaging update k = u − 1. */
  #decayAt(u: number): number {
    const k = u - 1;
    return this.warmup ? Math.min(this.#decay, (1 + k) / (10 + k)) : this.#decay;
  }

  /** The averaged values by parameter name (owned by the EMA: do not dispose; empty before the first update). */
  get shadow(): Record<string, Tensor> {
    if (this.#updates === 0 || this.#disposed) return {};
    return Object.fromEntries(this.#entries.map((e) => [e.key, e.shadow]));
  }

  /** Folds the parameters' current values into the average (the first call copies them). */
  async update(): Promise<void> {
    this.#alive();
    await realize(...this.#entries.map((e) => e.param));
    const work = this.#entries.filter((e) => e.param.size > 0);
    const kernel = emaKernel as KernelSource<Params>;
    const compiled = work.length ? (await compileAll(work[0]!.param.device, [kernel])).get(kernel)! : null;
    this.#alive();
    // as in Optimizer.step: count first, pack in closures, and let compiled-step replays recount
    const cur = { u: 0 };
    const advance = () => (cur.u = ++this.#updates);
    advance();
    onReplay(advance);
    if (!compiled) return;
    const dev = work[0]!.param.device;
    const batch = new CommandBatch(dev, "ema.update");
    for (const e of work) {
      // the copy is the kernel's `first` branch (not a buffer copy), so a replay of a traced first update averages
      const n = e.param.size;
      const uniforms = () => emaKernel.pack({ n, rate: 1 - this.#decayAt(cur.u), first: cur.u === 1 ? 1 : 0 });
      batch.dispatch(compiled, uniforms, [e.param.buffer!, e.shadow.buffer!], grid1d(Math.ceil(n / WG), dev.limits.maxComputeWorkgroupsPerDimension), `ema.update ${e.key} ${shapeStr(e.param.shape)}`);
    }
    batch.submit();
  }

  /**
   * Copies the averaged values into `targets` (default: the tracked parameters themselves),
   * matched by position for lists and by name for records.
   * @throws ShapeError if a target's shape differs, or no update() has run yet.
   */
  async copyTo(targets: ParamsArg = this.#entries.map((e) => e.param)): Promise<void> {
    this.#alive();
    const named = namedParams("EMA.copyTo", targets);
    const byKey = new Map(this.#entries.map((e) => [e.key, e]));
    const pairs = named.map(([key, t]) => {
      const e = byKey.get(key);
      if (!e) throw new ShapeError("EMA.copyTo", `no averaged parameter named "${key}"`);
      if (!sameShape(e.param.shape, t.shape)) throw new ShapeError("EMA.copyTo", `target "${key}" has a different shape from the parameter`, e.param.shape, t.shape);
      if (this.#updates === 0) throw new ShapeError("EMA.copyTo", "call update() at least once before copyTo()");
      return [e, t] as const;
    });
    await realize(...named.map(([, t]) => t));
    this.#alive();
    if (!pairs.length) return;
    const batch = new CommandBatch(pairs[0]![1].device, "ema.copyTo");
    for (const [e, t] of pairs) if (t.size > 0) batch.copy(e.shadow.buffer!, t.buffer!, t.size * 4);
    batch.submit();
  }

  /** Releases the shadow buffers. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const e of this.#entries) e.shadow.dispose();
  }

  #alive(): void {
    if (this.#disposed) throw new DisposedError("EMA");
  }
}

// ── learning-rate schedules ────────────────────────────────────────────────────────────────────

/** A learning rate as a function of the step (0-based: the lr of the first optimizer step is schedule(0)). */
export type Schedule = (step: number) => number;

/**
 * Linear warmup from `start` to `base` over `warmup` steps, then constant:
 * lr(s) = start + (base − start)·min(1, s / warmup). With the default start 0 the first step has
 * lr 0, as in Hugging Face's get_*_schedule_with_warmup.
 * @example linearWarmup({ base: 1e-3, warmup: 100 })(50) // 5e-4
 */
export function linearWarmup({ base, warmup, start = 0 }: { base: number; warmup: number; start?: number }): Schedule {
  checkRange("linearWarmup", "warmup", warmup, 0);
  return (s) => (warmup > 0 && s < warmup ? start + ((base - start) * s) / warmup : base);
}

/**
 * Linear warmup (as {@link linearWarmup}, from 0) followed by cosine annealing from `base` to
 * `min` (Loshchilov & Hutter 2017, SGDR, without restarts):
 *
 *   lr(s) = min + (base − min)·½·(1 + cos(π·(s − warmup)/(total − warmup)))   for warmup ≤ s ≤ total
 *
 * and `min` after `total`.
 * @example cosineSchedule({ base: 1e-3, total: 1000 })(500) // 5e-4
 */
export function cosineSchedule({ base, min = 0, total, warmup = 0 }: { base: number; min?: number; total: number; warmup?: number }): Schedule {
  checkRange("cosineSchedule", "warmup", warmup, 0);
  if (!(total > warmup)) throw new RangeError(`cosineSchedule: total (${total}) must exceed warmup (${warmup})`);
  const ramp = linearWarmup({ base, warmup });
  return (s) => {
    if (s < warmup) return ramp(s);
    const progress = Math.min(1, (s - warmup) / (total - warmup));
    return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * Drives an optimizer's lr from a schedule: the constructor sets lr = schedule(0), and each
 * step() (call it after optimizer.step(), as in PyTorch) advances to the next value.
 * @example const sched = new LRScheduler(opt, cosineSchedule({ base: 1e-3, total: 5000, warmup: 100 }));
 */
export class LRScheduler {
  #step: number;

  constructor(
    readonly optimizer: HasLr,
    readonly schedule: Schedule,
    /** Steps already taken (to resume from a checkpoint). */
    start = 0,
  ) {
    this.#step = start;
    optimizer.lr = schedule(start);
  }

  /** The step whose lr the optimizer currently has. */
  get lastStep(): number {
    return this.#step;
  }

  /** Advances one step and sets the optimizer's lr; returns it. */
  step(): number {
    this.#step++;
    const lr = this.schedule(this.#step);
    this.optimizer.lr = lr;
    return lr;
  }
}
