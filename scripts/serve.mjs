// Serves the built demo (dist/demo) on localhost and prints its URL.
import { preview } from "vite";

const port = Number(process.env.PORT ?? 5173);
const server = await preview({ configFile: new URL("../vite.config.ts", import.meta.url).pathname, preview: { port, host: "127.0.0.1", strictPort: false } });
const url = server.resolvedUrls?.local?.[0] ?? `http://127.0.0.1:${port}/`;
console.log(`\nlatent demo: ${url}\n(open it in Chrome with WebGPU; Ctrl-C stops the server)`);
