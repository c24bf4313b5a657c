import { defineConfig } from "vitest/config";

// GPU tests share two CPU cores with the software Vulkan driver: run files one at a time.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
