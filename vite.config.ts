import { defineConfig } from "vite";

// The demo page lives in demo/; `npm start` builds it to dist/demo and serves it.
export default defineConfig({
  root: "demo",
  base: "./",
  build: { outDir: "../dist/demo", emptyOutDir: true, target: "es2022" },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1", port: 5173 },
});
