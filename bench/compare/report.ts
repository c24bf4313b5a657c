/**
 * Markdown tables of one environment's results: median ms (min–max), throughput, and latent's
 * speed-up over the best other library (best-other median ÷ latent median: > 1 means latent is
 * faster), for latent eager and, on training steps, latent compiled. Below the table: cases that
 * failed or are not available, and workloads whose probe values (first-step loss, or mean square
 * of the output) disagree between libraries.
 */
import { VARIANT_LABEL, VARIANTS, type EnvResult, type Measurement, type Variant } from "./types.js";
import { WORKLOADS, type Workload } from "./workloads.js";

const OTHERS: readonly Variant[] = ["tfjs", "jax"];

const sig = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2));
function throughput(w: Workload, ms: number): string {
  if (w.flops) return `${sig(w.flops / (ms * 1e6))} GFLOP/s`;
  if (w.bytes) return `${sig(w.bytes / (ms * 1e6))} GB/s`;
  return "";
}

function cell(w: Workload, m: Measurement | undefined): string {
  if (!m) return "—";
  if (m.status === "n/a") return "n/a (not available)";
  if (m.status === "error") return "error";
  const t = throughput(w, m.median!);
  return `${m.median!.toFixed(2)} ms (${m.min!.toFixed(2)}–${m.max!.toFixed(2)})${t ? ` · ${t}` : ""}`;
}

const fmtRatio = (r: number) => `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;

/**
 * best-other median ÷ latent median, per latent variant present; `byMin` is the same ratio of
 * the fastest reps (less sensitive to other processes stealing the CPU mid-rep).
 */
export function speedups(ms: readonly Measurement[]): { eager?: number; compiled?: number; best?: Variant; byMin?: number } {
  const ok = (v: Variant) => ms.find((m) => m.variant === v && m.status === "ok");
  const others = OTHERS.map(ok).filter((m): m is Measurement => !!m);
  if (!others.length) return {};
  const best = others.reduce((a, b) => (a.median! <= b.median! ? a : b));
  const bestMin = Math.min(...others.map((m) => m.min!));
  const e = ok("latent"), c = ok("latent-compiled");
  const latentMin = Math.min(...[e, c].filter((m): m is Measurement => !!m).map((m) => m.min!));
  return {
    eager: e ? best.median! / e.median! : undefined,
    compiled: c ? best.median! / c.median! : undefined,
    best: best.variant,
    byMin: Number.isFinite(latentMin) ? bestMin / latentMin : undefined,
  };
}

export function markdown(r: EnvResult, extra: { load?: string; title?: string } = {}): string {
  const byW = new Map<string, Measurement[]>();
  for (const m of r.measurements) byW.set(m.workload, [...(byW.get(m.workload) ?? []), m]);
  const present = VARIANTS.filter((v) => r.measurements.some((m) => m.variant === v));
  const lines: string[] = [];
  lines.push(`### ${extra.title ?? r.env}`, "");
  const adapter = describeAdapter(r);
  if (adapter) lines.push(`Adapter: ${adapter}. ${r.options.quick ? "**--quick** run. " : ""}${extra.load ?? ""}`.trim(), "");
  lines.push(`| Workload | ${present.map((v) => VARIANT_LABEL[v]).join(" | ")} | latent ÷ best other |`);
  lines.push(`|---|${present.map(() => "---").join("|")}|---|`);
  const notes: string[] = [];
  for (const w of WORKLOADS) {
    const ms = byW.get(w.id);
    if (!ms) continue;
    const s = speedups(ms);
    const sp = [s.eager !== undefined ? fmtRatio(s.eager) : undefined, s.compiled !== undefined ? `compiled ${fmtRatio(s.compiled)}` : undefined].filter(Boolean).join(", ");
    const minNote = s.byMin !== undefined ? `; by min ${fmtRatio(s.byMin)}` : "";
    lines.push(`| ${w.title} | ${present.map((v) => cell(w, ms.find((m) => m.variant === v))).join(" | ")} | ${sp ? `${sp} (vs ${VARIANT_LABEL[s.best!]}${minNote})` : "—"} |`);
    for (const m of ms) if (m.status !== "ok") notes.push(`- ${w.title}, ${VARIANT_LABEL[m.variant]}: ${m.status === "n/a" ? "n/a" : "error"} — ${m.note ?? ""}`);
    const probes = ms.filter((m) => m.probe !== undefined && Number.isFinite(m.probe));
    if (probes.length > 1) {
      const vals = probes.map((m) => m.probe!);
      const lo = Math.min(...vals), hi = Math.max(...vals);
      if (hi - lo > 1e-3 * Math.max(Math.abs(hi), Math.abs(lo), 1e-6)) notes.push(`- ${w.title}: probe values differ — ${probes.map((m) => `${VARIANT_LABEL[m.variant]} ${m.probe!.toPrecision(6)}`).join(", ")}`);
    }
  }
  if (notes.length) lines.push("", ...notes);
  // Time to the first finished rep: pipeline compilation (and jax-js tracing) included. Caches
  // carry over within a library: latent compiled runs after latent eager built the pipelines.
  lines.push("", `First rep (compilation included), s: ${[...byW.keys()]
    .map((id) => `${id} ${present.map((v) => byW.get(id)!.find((m) => m.variant === v)?.firstMs).map((x) => (x === undefined ? "—" : (x / 1000).toFixed(1))).join(" / ")}`)
    .join("; ")} (${present.map((v) => VARIANT_LABEL[v]).join(" / ")}).`);
  return lines.join("\n");
}

interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  description?: string;
  coreFeatures?: boolean;
  maxStorageBuffersPerShaderStage?: number;
  maxComputeInvocationsPerWorkgroup?: number;
}
export function describeAdapter(r: EnvResult): string {
  const c = r.context as { latent?: AdapterFacts; adapter?: AdapterFacts; forceCompat?: boolean };
  const a = c.adapter ?? c.latent;
  if (!a) return "";
  const parts = [a.vendor, a.architecture, a.description].filter((x) => x && String(x).length);
  const limits = a.maxComputeInvocationsPerWorkgroup ? `${a.maxStorageBuffersPerShaderStage} storage buffers/stage, ${a.maxComputeInvocationsPerWorkgroup} invocations/workgroup` : "";
  const mode = a.coreFeatures === false ? "compatibility mode" : "";
  return [parts.join(" / ") || "adapter info hidden", mode, limits].filter(Boolean).join(", ");
}
