/**
 * Helpers of the end-to-end test: build the demo, serve the build on a free localhost port, and
 * drive Debian's Chromium (never a downloaded browser) with WebGPU on SwiftShader.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { CHROMIUM, CHROMIUM_FLAGS } from "../../scripts/chromium.js";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const DEMO_OUT = join(ROOT, "dist/demo");

/**
 * Builds the demo with Vite's API (the same config `npm start` uses), as a production build: under
 * vitest NODE_ENV is "test", which would pick Lit's development build.
 */
export async function buildDemo(outDir = DEMO_OUT): Promise<void> {
  const { build } = await import("vite");
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ configFile: join(ROOT, "vite.config.ts"), mode: "production", logLevel: "error", build: { outDir } });
  } finally {
    process.env.NODE_ENV = env;
  }
}

/**
 * Builds the library (vite.lib.config.ts) into `libDir`, then the embedding example
 * (tests/demo/embed) against it into `outDir`, with `latent`, `latent/models` and
 * `latent/components` resolved as the package's exports map does.
 */
export async function buildEmbedExample(libDir: string, outDir: string): Promise<void> {
  const { build } = await import("vite");
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ configFile: join(ROOT, "vite.lib.config.ts"), mode: "production", logLevel: "error", build: { outDir: libDir } });
    await build({
      configFile: false,
      root: join(ROOT, "tests/demo/embed"),
      base: "./",
      mode: "production",
      logLevel: "error",
      resolve: {
        // the library leaves lit external: resolve it from this repository (the "app"), not from the library's directory
        dedupe: ["lit", "lit-html", "lit-element", "@lit/reactive-element"],
        alias: [
          { find: /^latent$/, replacement: join(libDir, "engine/index.js") },
          { find: /^latent\/models$/, replacement: join(libDir, "models/registry.js") },
          { find: /^latent\/components$/, replacement: join(libDir, "demo/components/index.js") },
        ],
      },
      build: { outDir, emptyOutDir: true, target: "es2022" },
    });
  } finally {
    process.env.NODE_ENV = env;
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** A static file server for `dir` on 127.0.0.1 and a free port. */
export async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!(file === root || file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end("not found");
      return;
    }
    res.setHeader("Content-Type", TYPES[extname(file)] ?? "application/octet-stream");
    res.setHeader("Content-Length", String(statSync(file).size));
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}


/** Chromium with a fresh temporary profile, removed on close. */
export async function launch(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "latent-chromium-"));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, userDataDir: profile, args: [...CHROMIUM_FLAGS], defaultViewport: { width: 1280, height: 900 } });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Intercepts every request of the browser — pages and their workers — at the browser's CDP
 * session: local ones continue, anything else is recorded in `blocked` and failed. (Puppeteer's
 * page-level interception does not see a dedicated worker's requests and can stall them.)
 */
export async function interceptRequests(browser: Browser, blocked: string[]): Promise<void> {
  const cdp = await browser.target().createCDPSession();
  cdp.on("Fetch.requestPaused", (e) => {
    const local = isLocal(e.request.url);
    if (!local) blocked.push(e.request.url);
    const done = local ? cdp.send("Fetch.continueRequest", { requestId: e.requestId }) : cdp.send("Fetch.failRequest", { requestId: e.requestId, errorReason: "BlockedByClient" });
    done.catch(() => undefined); // the target may have gone away
  });
  await cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] });
}

/** True for URLs that stay on this machine (or never touch the network). */
export function isLocal(url: string): boolean {
  if (/^(data|blob|about|chrome|devtools):/.test(url)) return true;
  try {
    const h = new URL(url).hostname;
    return h === "127.0.0.1" || h === "localhost" || h === "[::1]";
  } catch {
    return false;
  }
}
