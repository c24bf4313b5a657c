/**
 * Node-only checkpoint files: safetensors written atomically (engine/node-fs.ts), so a crash
 * mid-save never leaves a truncated checkpoint behind. Not exported from engine/index.ts, which
 * must stay importable in the browser; import this module directly in Node code.
 *
 * @example
 * await saveCheckpointFile("runs/vae/step-1000.safetensors", params, { step: "1000" });
 * const { tensors, metadata } = await loadCheckpointFile("runs/vae/step-1000.safetensors");
 */
import { loadSafetensorsWithMetadata, saveSafetensors, type LoadOptions } from "./checkpoint.js";
import { readFileBytes, writeFileAtomic } from "./node-fs.js";
import type { Tensor } from "./tensor.js";

/**
 * Reads the tensors back from the GPU and writes them to `path` as safetensors, atomically.
 * @throws CheckpointError naming `path` if the file cannot be written (an existing file is kept).
 */
export async function saveCheckpointFile(path: string, tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): Promise<void> {
  await writeFileAtomic(path, await saveSafetensors(tensors, metadata));
}

/**
 * Loads a safetensors file into new tensors (in the enclosing scope) plus its metadata.
 * @throws CheckpointError if the file is missing, unreadable, corrupt or has an unsupported dtype.
 */
export async function loadCheckpointFile(path: string, opts: LoadOptions = {}): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  return loadSafetensorsWithMetadata(await readFileBytes(path), opts);
}
