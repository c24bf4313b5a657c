/**
 * Vite builds for the benchmark: a Node bundle of node-main.ts (tfjs-core's gradients live only
 * in its ESM sources, whose extensionless imports Node's loader rejects; bundling resolves them,
 * as an app's bundler would) and the browser page. Both land in bench/out (gitignored).
 */
import { build, createLogger, type InlineConfig } from "vite";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const OUT = resolve(ROOT, "bench/out");
export const NODE_BUNDLE = resolve(OUT, "compare-node/node-main.mjs");
export const PAGE_DIR = resolve(OUT, "compare-page");

// engine/device.ts imports node:fs lazily for its Node path; in the page bundle that is expected
const logger = createLogger("warn");
const warn = logger.warn.bind(logger);
logger.warn = (msg, o) => {
  if (!msg.includes("externalized for browser compatibility")) warn(msg, o);
};
const common: InlineConfig = { configFile: false, logLevel: "warn", clearScreen: false, customLogger: logger };

export async function buildNode(): Promise<void> {
  await build({
    ...common,
    root: ROOT,
    build: {
      ssr: resolve(ROOT, "bench/compare/node-main.ts"),
      outDir: resolve(OUT, "compare-node"),
      emptyOutDir: true,
      target: "node20",
      minify: false,
      rollupOptions: { output: { entryFileNames: "[name].mjs", chunkFileNames: "chunks/[name]-[hash].mjs" } },
    },
    // bundle everything (tfjs-core's ESM sources included) except the native Dawn binding
    ssr: { noExternal: true, external: ["webgpu"] },
  });
}

export async function buildPage(): Promise<void> {
  await build({
    ...common,
    root: resolve(ROOT, "bench/compare/page"),
    base: "./",
    build: { outDir: PAGE_DIR, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 4096 },
  });
}
