/**
 * Dawn's Node binding waits for GPU work by re-scheduling a native callback with `setImmediate`
 * for as long as any promise (mapAsync, onSubmittedWorkDone, createComputePipelineAsync) is
 * pending. On a software Vulkan driver that spin takes a whole core away from the driver's own
 * worker threads. Dawn looks `setImmediate` up on the global object on every tick, so we wrap it:
 * native callbacks (Dawn's) spin for a short while, then back off to timers with growing delays.
 * JavaScript callbacks are never delayed.
 *
 * Measured in bench/poll.ts; see bench/RESULTS.md.
 */
export interface PollPolicy {
  /** Immediate re-polls before backing off. */
  spins: number;
  /** Longest delay between polls, in ms. */
  maxDelayMs: number;
}

type Immediate = typeof globalThis.setImmediate;
let original: Immediate | undefined;
let policy: PollPolicy = { spins: 64, maxDelayMs: 1 };
let streak = 0;
let lastTick = 0;

const isNative = (fn: unknown) => typeof fn === "function" && Function.prototype.toString.call(fn).includes("[native code]");

/** Installs the back-off wrapper (idempotent). Node only. */
export function installPollBackoff(p: Partial<PollPolicy> = {}): void {
  policy = { ...policy, ...p };
  if (original || typeof globalThis.setImmediate !== "function") return;
  original = globalThis.setImmediate;
  const orig = original;
  const wrapped = function (this: unknown, cb: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!isNative(cb)) return orig(cb, ...args);
    const now = performance.now();
    // A gap since the last Dawn tick means a new wait started: spin again first.
    if (now - lastTick > 5) streak = 0;
    lastTick = now;
    streak++;
    if (streak <= policy.spins) return orig(cb, ...args);
    // back-off: 0.05 ms doubling up to maxDelayMs (Node timers round to 1 ms; below that we yield)
    const delay = Math.min(policy.maxDelayMs, 0.05 * 2 ** Math.min(10, streak - policy.spins));
    return setTimeout(cb, delay, ...args) as unknown as NodeJS.Immediate;
  } as Immediate;
  Object.assign(wrapped, orig);
  globalThis.setImmediate = wrapped;
}

/** Restores the original `setImmediate` (for measuring the difference). */
export function uninstallPollBackoff(): void {
  if (!original) return;
  globalThis.setImmediate = original;
  original = undefined;
}

export const pollBackoffInstalled = () => original !== undefined;
