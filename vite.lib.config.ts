import { defineConfig } from "vite";

/**
 * The library build (`npm run build:lib`): ES modules for the engine, the models and the web
 * components in dist/lib, with shared chunks, so an app that imports the engine and the components
 * gets one engine (one device, one set of scopes). Lit stays external: the app's own copy is used.
 * The .d.ts files come from `tsc -p tsconfig.lib.json` into the same tree.
 */
export default defineConfig({
  build: {
    outDir: "dist/lib",
    emptyOutDir: true,
    target: "es2022",
    minify: false,
    sourcemap: true,
    lib: {
      entry: {
        "engine/index": "engine/index.ts",
        "models/model": "models/model.ts",
        "models/registry": "models/registry.ts",
        "models/data/index": "models/data/index.ts",
        "demo/components/index": "demo/components/index.ts",
      },
      formats: ["es"],
    },
    rollupOptions: {
      // node: built-ins are only reached on Node code paths (the Dawn binding, file helpers)
      external: [/^lit(\/|$)/, /^@lit\//, /^node:/, "webgpu"],
    },
  },
});
