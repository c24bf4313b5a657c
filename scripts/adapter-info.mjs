// Prints the WebGPU adapter Node gets on each installed driver (used by scripts/setup.sh).
import { existsSync } from "node:fs";
import { create } from "webgpu";

const drivers = {
  lavapipe: "/usr/share/vulkan/icd.d/lvp_icd.json",
  swiftshader: "/usr/lib/chromium/vk_swiftshader_icd.json",
};
const which = process.argv[2];
let ok = false;
for (const [name, icd] of Object.entries(drivers)) {
  if (which && which !== name) continue;
  if (!existsSync(icd)) {
    console.log(`  ${name}: not installed (${icd})`);
    continue;
  }
  if (!which) {
    // each driver in its own process: the Vulkan loader reads VK_ICD_FILENAMES once
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, name], { env: { ...process.env, VK_ICD_FILENAMES: icd }, encoding: "utf8" });
    process.stdout.write(r.stdout);
    if (r.status === 0) ok = true;
    continue;
  }
  const adapter = await create([]).requestAdapter();
  if (!adapter) {
    console.log(`  ${name}: no adapter`);
    process.exit(1);
  }
  const i = adapter.info;
  console.log(`  ${name}: ${i.description || i.device || i.vendor} — ${adapter.limits.maxStorageBuffersPerShaderStage} storage buffers, ${adapter.limits.maxComputeInvocationsPerWorkgroup} invocations, f16=${adapter.features.has("shader-f16")}`);
  ok = true;
}
process.exit(ok ? 0 : 1);
