/**
 * How the project runs Chromium (tests and benchmarks alike): Debian's binary, never a
 * downloaded one, and the flags that give WebGPU on SwiftShader with no background traffic.
 */
export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless=new",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
