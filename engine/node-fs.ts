/**
 * Node-only file helpers for checkpoints. Kept out of safetensors.ts so the browser bundle
 * never imports `node:*` modules.
 */

import { randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CheckpointError } from "./errors.js";

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Writes `bytes` to `path` so that a reader sees either the old file or the complete new one,
 * never a partial write, even if the process dies or the machine loses power midway.
 *
 * How: write a temp file in the same directory (rename is only atomic within one file
 * system), fsync it so its data is on disk before the rename makes it visible, rename it over
 * `path`, then fsync the directory so the rename itself is durable. An existing file keeps its
 * permission bits.
 *
 * @throws CheckpointError naming `path` if any step before the rename fails (missing
 *   directory, `path` is a directory, disk full, ...). The temp file is removed and an
 *   existing file at `path` is left untouched.
 *
 * @example
 * await writeFileAtomic("runs/vae/step-1000.safetensors", encodeSafetensors(tensors));
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  // pid + random: concurrent writers (other processes, or other calls in this one) never share
  // a temp file. The leading dot keeps it out of casual directory listings.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const mode = await stat(path).then((s) => (s.isFile() ? s.mode & 0o777 : undefined), () => undefined);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, "wx", 0o666);           // "wx": fail rather than reuse an existing file
    if (mode !== undefined) await handle.chmod(mode);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);        // may never have been created
    throw new CheckpointError(`could not write ${path}: ${reason(e)}`, { cause: e });
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename inside it survives a crash. Not every platform can open a
 * directory for fsync (Windows refuses), and the data is already safe then, so errors are
 * ignored. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // best effort: see above
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Reads a whole file as bytes.
 *
 * @throws CheckpointError naming `path` when it is missing, a directory or unreadable.
 *
 * @example
 * const { tensors } = decodeSafetensors(await readFileBytes("runs/vae/step-1000.safetensors"));
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : reason(e);
    throw new CheckpointError(`cannot read checkpoint ${path}: ${what}`, { cause: e });
  }
  // A plain Uint8Array view of the same memory: callers should not depend on Buffer's API.
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
