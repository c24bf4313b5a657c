/**
 * One DEBUG knob.
 *   1 — pipeline compiles and timings      2 — WGSL source of every new pipeline
 *   3 — the kernel schedule of each realize 4 — every dispatch with shapes and buffer labels
 * Set with setDebug(n), LATENT_DEBUG=n in Node, or ?debug=n in the demo.
 */
let level = 0;
try {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.LATENT_DEBUG) level = Number(env.LATENT_DEBUG) || 0;
} catch {
  /* not in Node */
}
export const debugLevel = () => level;
export const setDebug = (n: number) => {
  level = n;
};
