/**
 * Runs the bench page in headless Chromium: Debian's /usr/bin/chromium through puppeteer-core
 * (no browser is ever downloaded), a fresh temporary profile, the page served from 127.0.0.1
 * (WebGPU needs a secure context; about:blank and data: URLs have no navigator.gpu).
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import puppeteer from "puppeteer-core";
import { CHROMIUM, CHROMIUM_FLAGS } from "../../scripts/chromium.js";
import type { EnvResult, RunOptions } from "./types.js";
import type { PageOptions } from "./page/main.js";

export { CHROMIUM };

/** The flags every run uses (scripts/chromium.ts); environments add to them. */
export const BASE_FLAGS = CHROMIUM_FLAGS;

export interface BrowserEnv {
  flags: string[];
  /** Flags of BASE_FLAGS to leave out. */
  dropFlags?: string[];
  /** Extra environment variables for the browser process (e.g. VK_ICD_FILENAMES). */
  vars?: Record<string, string>;
  page?: PageOptions;
}

const MIME: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json" };

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = resolve(dir, `.${path.endsWith("/") ? `${path}index.html` : path}`);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })));
}

export async function runInChromium(env: string, pageDir: string, opts: RunOptions, be: BrowserEnv, log: (s: string) => void): Promise<EnvResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (install Debian's chromium; this harness never downloads a browser)`);
  const { server, url } = await serve(pageDir);
  const profile = mkdtempSync(join(tmpdir(), "latent-bench-chromium-"));
  const args = [...BASE_FLAGS.filter((f) => !be.dropFlags?.includes(f)), ...be.flags, `--user-data-dir=${profile}`];
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args,
    env: { ...process.env, ...be.vars },
    protocolTimeout: 2 * 60 * 60 * 1000,
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    page.on("console", (m) => {
      const t = m.text();
      if (t !== "ready") log(t);
    });
    page.on("pageerror", (e) => log(`[${env}] page error: ${String(e)}`));
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => typeof window.latentBench === "function");
    const result = await page.evaluate((e, o, p) => window.latentBench(e, o, p), env, opts, be.page ?? {});
    result.context.chromium = { version: await browser.version(), flags: args.filter((a) => !a.startsWith("--user-data-dir")), vars: be.vars ?? {} };
    return result;
  } finally {
    await browser.close().catch(() => undefined);
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
